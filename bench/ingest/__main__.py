"""Ingestion throughput (scoring included) on SQLite and PostgreSQL, and the serve process's memory.

    python -m bench.ingest [--n 20000] [--rss-comments 100000] [--stall-records 50000] [--postgres URL]
    python -m bench.ingest --import-memory 200000 [--format jsonl|csv|json] [--truncated] [--compare OTHER_CHECKOUT]

Prints a table: comments/s for file import (in-process, the `crisisbot ingest` code path) and for the
webhook (real HTTP into a `crisisbot serve` subprocess, 4 concurrent clients, 500 records a request),
then the slowest /metrics answer while one webhook batch of --stall-records empty records is handled (the
event loop Slack's acks share), then the serve process's RSS after ingesting --rss-comments comments with
Slack and Feishu enabled. Targets on a 2-core machine: webhook >= 2,000/s, file import >= 3,000/s, event
loop < 1 s, RSS < 500 MiB.
With --import-memory N it only measures `crisisbot ingest` of one generated file of N comments (SQLite, in
a subprocess of its own): the import's peak RSS and comments/s, and with --compare the same for another
checkout of the code (e.g. `git archive <commit> | tar -x -C /tmp/before`), for a before/after figure. The
import streams the file in batches, so its peak should not grow with the file's size. --truncated cuts the
file inside its last record (a download that stopped): a broken file, whose complete records are stored too.
The comments are stamped within the last hour (live traffic); importing old history also pays a
one-time catch-up of the alert detector per new stream (see docs/alerts.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bot.feeds.webhook import MAX_RECORDS

REPO = Path(__file__).resolve().parents[2]
PHRASES = [
    "这个面霜真的好用，回购第三次了[赞]", "用了两天脸上起红疹子，过敏了，怎么退款？", "主播好可爱哈哈哈",
    "发货太慢了吧，等了一周还没到", "价格有点贵，等双十一再买", "客服根本不回消息，差评", "已下单，期待效果~",
    "烂脸了！！！要去12315投诉", "请问敏感肌能用吗？", "包装很精致，送人很合适", "上次买的锅涂层掉了",
    "666 学到了", "这期视频做得真用心", "虚假宣传吧，根本没效果", "求链接", "笑死我了[捂脸]",
]


def comments(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    # Live traffic: the comments are from the last hour or so, as a webhook or poller delivers them.
    base = time.time() - n * 0.2
    return [
        {
            "platform": "douyin",
            "account_id": f"acct{i % 20}",
            "content_id": f"v{i % 200}",
            "comment_id": f"{run}-{i}",
            "text": rng.choice(PHRASES) + ("" if rng.random() < 0.7 else rng.choice(PHRASES)),
            "created_at": round(base + i * 0.2, 3),
            "like_count": rng.randint(0, 500),
            "author_id": f"u{rng.randint(0, 10**6)}",
            "author_name": "用户" + str(rng.randint(0, 9999)),
        }
        for i in range(n)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_file(n: int, url: str) -> float:
    from bot.config import Settings, parse_config
    from bot.importer import import_files

    records = comments(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.jsonl"
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
        settings = Settings(database_url=url)  # type: ignore[call-arg]
        config = parse_config({}, source="bench")
        from rich.console import Console

        quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115
        # Warm up the model load outside the timed part (a long import pays it once).
        import_files(settings, config, [_tiny(Path(tmp))], console=quiet)
        started = time.perf_counter()
        import_files(settings, config, [path], console=quiet)
        return n / (time.perf_counter() - started)


def _tiny(folder: Path) -> Path:
    path = folder / "warm.jsonl"
    path.write_text(json.dumps(comments(1, seed=99)[0], ensure_ascii=False), encoding="utf-8")
    return path


#: run in a subprocess (PYTHONPATH: the checkout measured): warm up on a tiny file, then import the big one
_IMPORT_CHILD = r"""
import os, sys, time
from pathlib import Path
from rich.console import Console
from bot.config import Settings, parse_config
from bot.importer import import_files

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")

settings = Settings(_env_file=None, database_url=sys.argv[1])
config = parse_config({}, source="bench")
quiet = Console(file=open(os.devnull, "w"))
import_files(settings, config, [Path(sys.argv[2])], console=quiet)  # the model and the schema, once
warm = status("VmRSS")
started = time.perf_counter()
code = import_files(settings, config, [Path(sys.argv[3])], console=quiet)
print(code, warm, status("VmHWM"), time.perf_counter() - started)
"""


def write_feed(path: Path, n: int, fmt: str) -> None:
    """n generated comments as JSONL, CSV or one pretty-printed JSON array (json.dumps(..., indent=2), as an
    export tool writes it), written a slice at a time (the writer stays small too)."""
    step = 10_000
    with open(path, "w", encoding="utf-8", newline="") as handle:
        if fmt == "csv":
            import csv

            fields = list(comments(1)[0])
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
        if fmt == "json":
            handle.write("[")
        for start in range(0, n, step):
            part = comments(min(step, n - start), seed=start)
            for i, record in enumerate(part):  # ids unique across slices
                record["comment_id"] = f"m{start + i}"
            if fmt == "csv":
                writer.writerows(part)
            elif fmt == "json":
                handle.write(("," if start else "") + ",".join(
                    "\n  " + json.dumps(r, ensure_ascii=False, indent=2).replace("\n", "\n  ") for r in part))
            else:
                handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part))
        if fmt == "json":
            handle.write("\n]" if n else "]")


def truncate_feed(path: Path) -> None:
    """Cut the file inside its last record, before its "comment_id" key (on a character boundary: the
    bytes stay text), as an export whose download stopped."""
    size = path.stat().st_size
    with open(path, "rb+") as handle:
        handle.seek(max(0, size - 4096))
        tail = handle.read()
        cut = tail.rfind(b'"comment_id"')
        if cut < 0:
            raise RuntimeError("no record to cut")
        handle.truncate(size - len(tail) + cut)


def bench_import_memory(n: int, fmt: str, repo: Path, *, truncated: bool = False) -> tuple[float, float, float, float]:
    """(RSS after warm-up MiB, peak RSS MiB, comments/s, seconds) of importing n comments with `repo`'s code."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        feed = folder / f"feed.{fmt}"
        write_feed(feed, n, fmt)
        if truncated:
            truncate_feed(feed)
        env = {**os.environ, "PYTHONPATH": str(repo), "CRISISBOT_LOG_LEVEL": "WARNING"}
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_CHILD, f"sqlite:///{folder}/import.db", str(_tiny(folder)), str(feed)],
            env=env, cwd=tmp, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"import failed ({repo}): {done.stderr[-2000:]}")
        code, warm, peak, seconds = done.stdout.split()[-4:]
        if code != "0":
            raise RuntimeError(f"import exited {code} ({repo}): {done.stdout[-2000:]}")
        size = feed.stat().st_size
    print(f"  {repo}: {size / 2**20:,.0f} MiB file", file=sys.stderr)
    return float(warm), float(peak), n / float(seconds), float(seconds)


def import_memory(args) -> None:
    runs = [("this checkout", REPO)] + ([("compared", Path(args.compare).resolve())] if args.compare else [])
    cut = ", cut inside its last record" if args.truncated else ""
    print(f"\nfile import of {args.import_memory:,} generated comments ({args.format}{cut}, SQLite), in a subprocess")
    print(f"{'code':<16}{'RSS warm MiB':>14}{'peak RSS MiB':>14}{'peak - warm':>13}{'comments/s':>12}{'seconds':>10}")
    for name, repo in runs:
        warm, peak, rate, seconds = bench_import_memory(args.import_memory, args.format, repo,
                                                        truncated=args.truncated)
        print(f"{name:<16}{warm:>14,.0f}{peak:>14,.0f}{peak - warm:>13,.0f}{rate:>12,.0f}{seconds:>10,.1f}")


def start_serve(url: str, *, chat: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CRISISBOT_DATABASE_URL": url,
        "CRISISBOT_INGEST_TOKEN": "bench",
        "CRISISBOT_INGEST_MAX_BYTES": str(50 * 1024 * 1024),
        "CRISISBOT_LOG_LEVEL": "WARNING",
    }
    if chat:  # both adapters on, pointed at a closed local port: nothing leaves the machine
        env.update({
            "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench-secret",
            "CRISISBOT_SLACK_API_URL": "http://127.0.0.1:9/api/",
            "FEISHU_APP_ID": "cli_bench", "FEISHU_APP_SECRET": "bench", "FEISHU_VERIFICATION_TOKEN": "v",
            "FEISHU_ENCRYPT_KEY": "k", "CRISISBOT_FEISHU_DOMAIN": "http://127.0.0.1:9",
        })
    cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=tempfile.mkdtemp(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("serve did not start: " + proc.stderr.read().decode()[-2000:])


def post_all(base: str, records: list[dict], *, batch: int = 500, clients: int = 4) -> float:
    chunks = [records[i : i + batch] for i in range(0, len(records), batch)]
    headers = {"Authorization": "Bearer bench"}
    with httpx.Client(timeout=120) as client:
        client.post(base + "/api/v1/comments", json=comments(10, seed=1), headers=headers)  # warm-up
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            for response in pool.map(lambda c: client.post(base + "/api/v1/comments", json=c, headers=headers), chunks):
                response.raise_for_status()
        return len(records) / (time.perf_counter() - started)


def loop_stall(base: str, n: int) -> tuple[float, int]:
    """The slowest /metrics answer while one batch of `n` empty records (each rejected) is parsed, stored and
    answered: that work runs off the event loop, so the other endpoints (Slack's 3 s acks) keep answering."""
    body = ("[" + ",".join(["{}"] * n) + "]").encode()
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    done = threading.Event()

    def post() -> None:
        try:
            httpx.post(base + "/api/v1/comments", content=body, headers=headers, timeout=600).raise_for_status()
        finally:
            done.set()

    worker = threading.Thread(target=post)
    worker.start()
    worst, probes = 0.0, 0
    with httpx.Client(timeout=60) as probe:
        time.sleep(0.1)
        while not done.is_set():
            started = time.perf_counter()
            probe.get(base + "/metrics").raise_for_status()
            worst = max(worst, time.perf_counter() - started)
            probes += 1
            time.sleep(0.02)
    worker.join()
    return worst, probes


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--rss-comments", type=int, default=100000)
    parser.add_argument("--stall-records", type=int, default=MAX_RECORDS,
                        help="records of the one big webhook batch (at most the webhook's per-request limit)")
    parser.add_argument("--postgres", default=os.environ.get("CRISISBOT_TEST_POSTGRES_URL"))
    parser.add_argument("--import-memory", type=int, metavar="N",
                        help="only: peak RSS and rate of `crisisbot ingest` of a generated file of N comments")
    parser.add_argument("--format", choices=("jsonl", "csv", "json"), default="jsonl",
                        help="the file for --import-memory (json: one pretty-printed array)")
    parser.add_argument("--truncated", action="store_true",
                        help="with --import-memory: cut the file inside its last record (a broken file)")
    parser.add_argument("--compare", metavar="CHECKOUT", help="with --import-memory: also measure this checkout")
    args = parser.parse_args()
    if args.import_memory:
        import_memory(args)
        return
    tmp = tempfile.mkdtemp()
    engines = [("SQLite", f"sqlite:///{tmp}/bench.db")]
    schema = None
    if args.postgres:
        schema, pg_url = pg_schema_url(args.postgres)
        engines.append(("PostgreSQL", pg_url))
    try:
        run_engines(args, engines, tmp)
    finally:
        if schema:
            drop_schema(args.postgres, schema)


def pg_schema_url(url: str) -> tuple[str, str]:
    """A throw-away schema, so the benchmark never touches the database's own tables."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return schema, f"{url}{sep}options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def run_engines(args, engines, tmp) -> None:
    rows = []
    for name, url in engines:
        file_rate = bench_file(args.n, url)
        proc, base = start_serve(url, chat=False)
        try:
            hook_rate = post_all(base, comments(args.n, seed=3))
        finally:
            proc.terminate()
            proc.wait(30)
        rows.append((name, file_rate, hook_rate))
    print(f"\ningest throughput, {args.n} comments, sentiment scoring included")
    print(f"{'engine':<12}{'file import /s':>16}{'webhook /s':>14}")
    for name, file_rate, hook_rate in rows:
        print(f"{name:<12}{file_rate:>16,.0f}{hook_rate:>14,.0f}")
    print("targets: file import >= 3,000/s, webhook >= 2,000/s")

    proc, base = start_serve(f"sqlite:///{tmp}/stall.db", chat=False)
    try:
        worst, probes = loop_stall(base, args.stall_records)
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"\nevent loop during one {args.stall_records:,}-record batch of empty records: slowest of {probes} "
          f"/metrics answers {worst * 1000:,.0f} ms (target < 1,000 ms: Slack acks wait on the same loop)")

    proc, base = start_serve(f"sqlite:///{tmp}/rss.db", chat=True)
    try:
        before = rss_mib(proc.pid)
        post_all(base, comments(args.rss_comments, seed=5))
        after = rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"\nserve RSS with Slack and Feishu enabled: {before:.0f} MiB at start, {after:.0f} MiB after "
          f"{args.rss_comments:,} comments (target < 500 MiB)")


if __name__ == "__main__":
    main()
