"""Sentiment speed and memory figures: `python -m bench.sentiment [--texts N] [--json]`.

All ratios are measured in the same run on the same texts:
- batch throughput of the default scorer vs `SnowNLP(text).sentiments` (target >= 15x);
- batch time of the default scorer vs `jieba.lcut` alone (target <= 2.5x);
- one text per call, texts/s (target >= 1,000);
- cold start in a fresh subprocess that loads only the scorer and scores one text
  (target <= 2 s and <= 150 MiB RSS added over the bare interpreter).
Texts: social comments from ../shared/data/sentiment when present (bench only), else the bundled sample.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# ../shared beside the repository (main checkout) or two levels up (a worktree under wt/); env var wins
_CANDIDATES = [REPO.parent / "shared" / "data" / "sentiment", REPO.parent.parent / "shared" / "data" / "sentiment"]
SHARED = Path(os.environ.get("CRISISBOT_BENCH_DATA")
              or next((c for c in _CANDIDATES if c.is_dir()), _CANDIDATES[0]))
SOCIAL_FILES = ("weibo2018_test.csv", "smp2020_virus_3class.csv", "douyin_gpt_aito_3class.csv",
                "bili_genshin_3class.csv")

COLD_START = r"""
import json, sys, time
def rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
base = rss()
t0 = time.perf_counter()
from bot.sentiment import get_scorer
scorer = get_scorer()
scorer.score("冷启动测试，不高兴")
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "rss_added_mib": rss() - base, "snownlp_loaded": "snownlp" in sys.modules,
                  "sklearn_loaded": "sklearn" in sys.modules}))
"""


def load_texts(limit: int) -> tuple[list[str], str]:
    texts: list[str] = []
    if SHARED.is_dir():
        per_file = max(1, limit // len(SOCIAL_FILES))
        for name in SOCIAL_FILES:
            path = SHARED / name
            if not path.is_file():
                continue
            with path.open(encoding="utf-8") as fh:
                rows = [r["text"] for r in csv.DictReader(fh) if r["text"].strip()]
            step = max(1, len(rows) // per_file)
            texts.extend(rows[::step][:per_file])
        if texts:
            return texts[:limit], f"shared social files ({', '.join(SOCIAL_FILES)})"
    sample = [line.strip() for line in (HERE / "sample_comments.txt").read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    while len(texts) < limit:
        texts.extend(sample)
    return texts[:limit], "bundled sample (bench/sentiment/sample_comments.txt)"


def timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def cold_start() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    runs = []
    for _ in range(2):  # the first run may build jieba's cache in the temp dir; report both
        out = subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, text=True, env=env,
                             cwd=REPO, check=True, timeout=120)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"first": runs[0], "second": runs[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=4000, help="texts for the jieba/batch/single figures")
    parser.add_argument("--snownlp-texts", type=int, default=400, help="texts for the SnowNLP comparison")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()

    cold = cold_start()  # first, before this process warms any cache of its own
    texts, source = load_texts(args.texts)
    import jieba

    from bot.sentiment import get_scorer

    jieba.setLogLevel(60)
    jieba.initialize()
    scorer = get_scorer()
    scorer.score_batch(texts[:50])  # warm up
    jieba_s = min(timed(lambda: [jieba.lcut(t) for t in texts]) for _ in range(2))
    batch_s = min(timed(lambda: [scorer.score_batch(texts[i:i + 1000]) for i in range(0, len(texts), 1000)])
                  for _ in range(2))
    single_s = timed(lambda: [scorer.score(t) for t in texts])

    from snownlp import SnowNLP

    subset = [t for t in texts if t.strip()][: args.snownlp_texts]
    snow_s = timed(lambda: [SnowNLP(t).sentiments for t in subset])
    ours_subset_s = min(timed(lambda: scorer.score_batch(subset)) for _ in range(2))

    figures = {
        "texts": len(texts),
        "text_source": source,
        "mean_chars": round(sum(len(t) for t in texts) / len(texts), 1),
        "jieba_lcut_texts_per_s": round(len(texts) / jieba_s),
        "batch_texts_per_s": round(len(texts) / batch_s),
        "single_texts_per_s": round(len(texts) / single_s),
        "batch_time_vs_jieba": round(batch_s / jieba_s, 2),
        "snownlp_texts": len(subset),
        "snownlp_texts_per_s": round(len(subset) / snow_s, 1),
        "speedup_vs_snownlp": round(snow_s / ours_subset_s, 1),
        "cold_start_s": round(cold["second"]["seconds"], 2),
        "cold_start_rss_added_mib": round(cold["second"]["rss_added_mib"], 1),
        "cold_start_first_run_s": round(cold["first"]["seconds"], 2),
        "cold_start_loads_snownlp": cold["second"]["snownlp_loaded"],
        "cold_start_loads_sklearn": cold["second"]["sklearn_loaded"],
    }
    checks = {
        "speedup_vs_snownlp >= 15": figures["speedup_vs_snownlp"] >= 15,
        "batch_time_vs_jieba <= 2.5": figures["batch_time_vs_jieba"] <= 2.5,
        "single_texts_per_s >= 1000": figures["single_texts_per_s"] >= 1000,
        "cold_start_s <= 2": figures["cold_start_s"] <= 2,
        "cold_start_rss_added_mib <= 150": figures["cold_start_rss_added_mib"] <= 150,
    }
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    print()
    for name, ok in checks.items():
        print(f"{'OK  ' if ok else 'MISS'}  {name}")
    if args.json:
        print(json.dumps({**figures, "checks": checks}, ensure_ascii=False))


if __name__ == "__main__":
    main()
