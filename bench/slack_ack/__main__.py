"""Slack ack latency: signed slash commands into a real `crisisbot serve` (SQLite), work included.

    python -m bench.slack_ack [--n 1000] [--warmup 100] [--concurrency 50] [--keep]

Starts a local fake Slack Web API (replies land there, never on the internet), starts
`crisisbot serve` on SQLite with the bundled sample feed imported, then sends --warmup and --n signed
`/crisis status` and `/reply-queue` commands, --concurrency at a time, from this process. Prints ack
latency p50/p90/p99/max, ack throughput, and how long the work behind the commands took to be answered
(replies seen by the fake Slack). Target: ack p99 <= 300 ms (Slack allows 3,000 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parents[2]
SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test-token"
CHANNEL = "CBENCH01"
CONFIG = """
timezone: Asia/Shanghai
default_channel: slack:CBENCH01
clients:
  - {id: lanji, name: 澜肌护肤}
  - {id: xiaochu, name: 小厨科技}
accounts:
  - {platform: douyin, account_id: lanji_official, name: 澜肌官方旗舰店, client: lanji}
  - {platform: bilibili, account_id: xiaochu_kitchen, name: 小厨科技官方, client: xiaochu}
channels:
  - {id: "slack:CBENCH01", client: lanji}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(body: str, timestamp: str) -> str:
    return "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()


def command_body(i: int, response_url: str) -> str:
    command, text = ("/crisis", "status") if i % 2 == 0 else ("/reply-queue", "")
    return urlencode({
        "team_id": "T1", "channel_id": CHANNEL, "user_id": f"U{i % 7:03d}", "user_name": f"ops{i % 7}",
        "command": command, "text": text, "response_url": f"{response_url}/bench{i}",
        "trigger_id": f"{i}.{uuid.uuid4().hex}",
    })


async def send_all(url: str, bodies: list[str], concurrency: int) -> tuple[list[float], dict[int, int], float]:
    """Send every body, `concurrency` at a time (aiohttp: a load generator light enough not to be the
    bottleneck on a 2-core machine); returns per-request ack latencies, status counts and wall time."""
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                ts = str(int(time.time()))
                headers = {"Content-Type": "application/x-www-form-urlencoded",
                           "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(body, ts)}
                started = time.perf_counter()
                async with client.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    latencies.append(time.perf_counter() - started)
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, statuses, elapsed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, log)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="slack-ack-"))
    (tmp / "crisisbot.yaml").write_text(CONFIG, encoding="utf-8")
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    crisisbot = [sys.executable, "-m", "bot.cli"] if not _has_script() else [_script()]
    # The fake Slack the tests use, in its own process so it does not share the load generator's CPU.
    fake_proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.slack_api"], cwd=REPO,
                                 stdout=subprocess.PIPE, text=True)
    fake_base = (fake_proc.stdout.readline() if fake_proc.stdout else "").strip()
    fake_root = fake_base.removesuffix("/api/")
    try:
        env = {
            **os.environ,
            "CRISISBOT_CONFIG": str(tmp / "crisisbot.yaml"), "CRISISBOT_DATABASE_URL": db_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
            "CRISISBOT_SLACK_API_URL": fake_base, "CRISISBOT_LOG_LEVEL": "WARNING",
        }
        env.pop("SLACK_APP_TOKEN", None)
        feed = REPO / "bot" / "demo" / "sample_feed.jsonl"
        if feed.exists():
            subprocess.run([*crisisbot, "ingest", str(feed)], env=env, check=True, cwd=tmp,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        log = open(tmp / "serve.log", "w")  # noqa: SIM115
        server = subprocess.Popen([*crisisbot, "serve", "--port", str(port)], env=env, cwd=tmp,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    print("crisisbot serve did not start; see", tmp / "serve.log", file=sys.stderr)
                    return 1
                time.sleep(0.1)
            url = base + "/slack/events"
            response_root = fake_root + "/response"
            warm = [command_body(i, response_root) for i in range(args.warmup)]
            asyncio.run(send_all(url, warm, args.concurrency))
            warm_deadline = time.monotonic() + 120
            while _replies(fake_root) < args.warmup and time.monotonic() < warm_deadline:
                time.sleep(0.05)  # let the warm-up's work finish so it is not counted below
            replies_before = _replies(fake_root)
            bodies = [command_body(args.warmup + i, response_root) for i in range(args.n)]
            work_started = time.perf_counter()
            latencies, statuses, elapsed = asyncio.run(send_all(url, bodies, args.concurrency))
            expected = replies_before + args.n
            work_deadline = time.monotonic() + 300
            while _replies(fake_root) < expected and time.monotonic() < work_deadline:
                time.sleep(0.05)
            work_elapsed = time.perf_counter() - work_started
            answered = _replies(fake_root) - replies_before
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
    finally:
        fake_proc.terminate()
        fake_proc.wait(10)

    ms = [v * 1000 for v in latencies]
    print(f"slack ack bench: {args.n} signed commands (/crisis status, /reply-queue), "
          f"{args.concurrency} concurrent, after {args.warmup} warm-up; crisisbot serve on SQLite")
    load = os.getloadavg()
    print(f"  machine         {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          f"(other processes share these cores)")
    try:
        import uvloop  # noqa: F401

        print("  event loop      uvloop (uvicorn picks it when installed)")
    except ImportError:
        print("  event loop      asyncio (no uvloop installed)")
    print(f"  statuses        {dict(sorted(statuses.items()))}")
    print(f"  ack p50         {statistics.median(ms):8.1f} ms")
    print(f"  ack p90         {percentile(ms, 90):8.1f} ms")
    print(f"  ack p99         {percentile(ms, 99):8.1f} ms   (target <= 300 ms)")
    print(f"  ack max         {max(ms):8.1f} ms")
    print(f"  ack throughput  {args.n / elapsed:8.1f} req/s")
    print(f"  work: {answered}/{args.n} answered in {work_elapsed:.1f} s "
          f"({answered / work_elapsed:.1f} replies/s, replies via chat.postMessage/response_url)")
    if args.keep:
        print(f"  kept {tmp}")
    return 0 if percentile(ms, 99) <= 300 and statuses.get(200) == args.n else 2


def _replies(fake_root: str) -> int:
    count = 0
    for method in ("chat.postMessage", "response_url"):
        count += httpx.get(f"{fake_root}/_fake/count/{method}", timeout=5).json()["count"]
    return count


def _script() -> str:
    return str(Path(sys.executable).parent / "crisisbot")


def _has_script() -> bool:
    return Path(_script()).exists()


if __name__ == "__main__":
    raise SystemExit(main())
