"""Dev-only: score the spike detector on the shared NAB data (and synthetic count streams).

Never used by tests or at run time. Reads /work/shared (tuning data, not shipped).

    .venv/bin/python scripts/nab_eval.py                      # default settings, per category
    .venv/bin/python scripts/nab_eval.py --grid --loo         # grid + leave-one-category/file-out
    .venv/bin/python scripts/nab_eval.py --synthetic DIR      # also score synthetic streams (labels.json)

Scoring is the shared tools/nabscore.py (NAB standard profile, binary alerts, threshold 0.5).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.alerts.backtest import read_series, run_backtest  # noqa: E402
from bot.alerts.detector import DetectorSettings  # noqa: E402

NAB = Path(os.environ.get("NAB_ROOT", "/work/shared/data/nab"))
TOOLS = Path(os.environ.get("NAB_TOOLS", "/work/shared/tools/nabscore.py"))
COUNT_LIKE = ("realKnownCause/nyc_taxi.csv", "realAWSCloudwatch/elb_request_count_8c0756.csv",
              "realKnownCause/rogue_agent_key_updown.csv", "realKnownCause/rogue_agent_key_hold.csv")


def _nabscore():
    spec = importlib.util.spec_from_file_location("nabscore", TOOLS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_ROWS_CACHE: dict = {}


CLI = ROOT / ".venv" / "bin" / "crisisbot"


def _run_cli(path):
    """The acceptance path itself: `crisisbot backtest SERIES.csv --out OUT.csv` in a subprocess."""
    import csv
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.csv"
        subprocess.run([str(CLI), "backtest", str(path), "--out", str(out)], check=True, capture_output=True)
        with open(out, newline="") as handle:
            rows = list(csv.DictReader(handle))
    with open(path, newline="", encoding="utf-8-sig") as handle:
        n_in = sum(1 for _ in csv.DictReader(handle))
    if len(rows) != n_in:
        raise SystemExit(f"{path}: {n_in} input rows but {len(rows)} output rows")
    return [int(r["alert"]) for r in rows]


def _run_file(args):
    path, settings_dict = args
    if settings_dict is None:
        return _run_cli(path)
    settings = DetectorSettings.from_dict(settings_dict)
    if path not in _ROWS_CACHE:  # each worker parses a file once
        _ROWS_CACHE[path] = read_series(path)
    rows = _ROWS_CACHE[path]
    return [r.alert for r in run_backtest(rows, settings=settings)]


class Corpus:
    """Data files + window geometry, scored per file so leave-one-out can re-sum."""

    def __init__(self, root: Path, windows: dict, subset=None):
        self.ns = _nabscore()
        self.cost = self.ns.PROFILES["standard"]
        self.root = root
        self.items = []
        for rel in sorted(windows):
            if subset and not any(rel.startswith(s) for s in subset):
                continue
            if self.ns.pd.read_csv(root / "data" / rel)["value"].min() < 0:
                print(f"skipped (negative values, not counts): {rel}", file=sys.stderr)
                continue
            g = self.ns.FileGeometry(self.ns.load_timestamps(str(root), rel), windows[rel], self.cost)
            self.items.append((rel, g, len(windows[rel])))

    def score_files(self, alerts_by_rel):
        out = {}
        for rel, g, nwin in self.items:
            r = g.score(alerts_by_rel[rel], 0.5, self.cost)
            n = len(alerts_by_rel[rel])
            onsets_out = int(sum(1 for i, a in enumerate(alerts_by_rel[rel]) if a and g.win_id[i] < 0 and g.scorable[i]))
            days = max(n * self._step_days(rel), 1e-9)
            out[rel] = dict(raw=r["score"], nwin=nwin, nscored=g.n_windows_scored, fp=r["fp"],
                            fp_per_day=onsets_out / days, first=r["first_det"])
        return out

    _steps: dict = {}

    def _step_days(self, rel):
        if rel not in self._steps:
            ts = self.ns.load_timestamps(str(self.root), rel)
            span = (ts[-1] - ts[0]).astype("timedelta64[s]").astype(float)
            self._steps[rel] = span / 86400.0 / max(len(ts) - 1, 1)
        return self._steps[rel]


def normalized(per_file, rels):
    raw = sum(per_file[r]["raw"] for r in rels)
    perfect = sum(per_file[r]["nwin"] for r in rels)
    null = -sum(per_file[r]["nscored"] for r in rels)
    if perfect - null == 0:
        return float("nan")
    return 100.0 * (raw - null) / (perfect - null)


def run_corpus(corpus: Corpus, settings: DetectorSettings | None, pool):
    """``settings=None`` runs the real CLI (default settings) on every file instead of the in-process path."""
    jobs = [(corpus.root / "data" / rel, None if settings is None else settings.to_dict())
            for rel, _, _ in corpus.items]
    results = list(pool.map(_run_file, jobs))
    alerts = {rel: res for (rel, _, _), res in zip(corpus.items, results, strict=True)}
    return corpus.score_files(alerts)


def category(rel):
    return rel.split("/")[0]


def grid_configs(base: DetectorSettings) -> list[DetectorSettings]:
    """The tuning grid: per-window thresholds, window sets, ratio floor, cooldown, level half-life."""
    out = []
    for t1, tsum, windows, min_ratio, cooldown, level_hl in itertools.product(
            [9.0, 12.0], [5.0, 6.0, 7.0], [(1, 3, 12), (1, 3, 12, 36)], [1.3], [12, 48],
            [12.0]):
        thresholds = (t1,) + (tsum,) * (len(windows) - 1)
        out.append(replace(base, threshold=tsum, windows=windows, window_thresholds=thresholds,
                           min_ratio=min_ratio, cooldown_buckets=cooldown, level_halflife_hours=level_hl))
    return out


GRID_KEYS = ["window_thresholds", "windows", "min_ratio", "cooldown_buckets", "level_halflife_hours"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--subset", nargs="*", default=None)
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--loo", action="store_true")
    ap.add_argument("--set", nargs="*", default=[], help="key=value overrides of DetectorSettings")
    ap.add_argument("--per-file", action="store_true")
    ap.add_argument("--nab", default=str(NAB))
    ap.add_argument("--cli", action="store_true",
                    help="run `crisisbot backtest` in a subprocess per file (the acceptance path; defaults only)")
    a = ap.parse_args()
    if a.cli and (a.grid or a.set):
        ap.error("--cli runs the shipped defaults: no --grid or --set")
    root = Path(a.nab)
    windows = json.load(open(root / "labels" / "combined_windows.json"))
    corpus = Corpus(root, windows, a.subset)
    base = DetectorSettings()
    overrides = {}
    for kv in a.set:
        k, v = kv.split("=", 1)
        cur = getattr(base, k)
        if isinstance(cur, tuple):
            overrides[k] = tuple(float(x) if k == "window_thresholds" else int(x) for x in v.split(",") if x)
        elif isinstance(cur, bool):
            overrides[k] = v.lower() in ("1", "true", "yes")
        else:
            overrides[k] = type(cur)(v)
    base = replace(base, **overrides)  # all at once: windows and their thresholds must agree
    rels = [r for r, _, _ in corpus.items]
    cats = sorted({category(r) for r in rels})
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        if not a.grid:
            per = run_corpus(corpus, None if a.cli else base, pool)
            report(per, rels, cats, a.per_file)
            return
        keys = GRID_KEYS
        configs = grid_configs(base)
        results = []
        for i, cfg in enumerate(configs):
            per = run_corpus(corpus, cfg, pool)
            results.append((cfg, per))
            print(f"[{i + 1}/{len(configs)}] {dict(zip(keys, [getattr(cfg, k) for k in keys], strict=True))} "
                  f"all={normalized(per, rels):.2f} " + " ".join(
                      f"{c[:10]}={normalized(per, [r for r in rels if category(r) == c]):.1f}" for c in cats),
                  flush=True)
        if a.loo:
            loo(results, rels, cats, keys)
        best = max(results, key=lambda cp: normalized(cp[1], rels))
        print("\nbest in-sample (for reference only):", {k: getattr(best[0], k) for k in keys},
              f"NAB={normalized(best[1], rels):.2f}")


def loo(results, rels, cats, keys):
    """Leave-one-category-out and leave-one-file-out: pick the config on the rest, score the held-out part."""
    print("\nleave-one-category-out (config chosen on the other categories):")
    held = {}
    for c in cats:
        train = [r for r in rels if category(r) != c]
        test = [r for r in rels if category(r) == c]
        best = max(results, key=lambda cp: normalized(cp[1], train))
        per = best[1]
        held.update({r: per[r] for r in test})
        fpd = sum(per[r]["fp_per_day"] for r in test) / len(test)
        print(f"  {c:22s} NAB={normalized(per, test):6.2f} fp_onsets/day={fpd:.2f} "
              f"chosen={ {k: getattr(best[0], k) for k in keys} }")
    print(f"  pooled held-out NAB={normalized(held, rels):.2f}")
    print("\nleave-one-file-out (config chosen on all other files):")
    held = {}
    for r in rels:
        train = [x for x in rels if x != r]
        best = max(results, key=lambda cp: normalized(cp[1], train))
        held[r] = best[1][r]
    for c in cats:
        test = [r for r in rels if category(r) == c]
        print(f"  {c:22s} NAB={normalized(held, test):6.2f}")
    print(f"  pooled held-out NAB={normalized(held, rels):.2f}")


def report(per, rels, cats, per_file):
    for c in cats:
        test = [r for r in rels if category(r) == c]
        fpd = sum(per[r]["fp_per_day"] for r in test) / len(test)
        print(f"{c:22s} NAB={normalized(per, test):6.2f} fp_onsets/day={fpd:.2f}")
        if per_file:
            for r in test:
                x = per[r]
                print(f"    {r:60s} raw={x['raw']:7.3f} win={x['nwin']} fp={x['fp']} "
                      f"fp/day={x['fp_per_day']:.2f} first={x['first']}")
    counts = [r for r in rels if r in COUNT_LIKE]
    if counts:
        print(f"{'count-like files':22s} NAB={normalized(per, counts):6.2f}")
    print(f"{'ALL':22s} NAB={normalized(per, rels):6.2f}")


if __name__ == "__main__":
    main()
