"""`python -m bench.feishu_ack`: how fast `crisisbot serve` acknowledges Feishu events.

Starts the fake Feishu Open API and `crisisbot serve` (SQLite, Feishu on) as separate processes, then
sends encrypted, signed `im.message.receive_v1` commands and `card.action.trigger` callbacks, N at a
time, after a warm-up whose replies are let through first (see `main`), and prints the HTTP answer latency (p50/p90/p99/max). The work behind each event
is included: the dispatcher runs the command/button handler and the outbox delivers its reply to the
fake Open API; the time until every reply has arrived is printed too. Target: p99 <= 300 ms (Feishu
allows 3 s for card callbacks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bot.adapters.feishu import crypto

REPO_ROOT = Path(__file__).resolve().parents[2]  # the fake Open API lives in tests/fakes
ENCRYPT_KEY = "bench-encrypt-key"
TOKEN = "bench-verification-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def message_event(i: int) -> dict:
    text = "@_user_1 /help" if i % 4 else "@_user_1 /help help"
    return {
        "schema": "2.0",
        "header": {"event_id": f"bench-{uuid.uuid4().hex}", "token": TOKEN, "event_type": "im.message.receive_v1",
                   "create_time": str(int(time.time() * 1000)), "tenant_key": "t", "app_id": "cli_bench"},
        "event": {
            "sender": {"sender_id": {"open_id": f"ou_user{i % 17}"}, "sender_type": "user"},
            "message": {
                "message_id": f"om_bench_{i}", "chat_id": f"oc_bench{i % 5}", "chat_type": "group",
                "message_type": "text", "content": json.dumps({"text": text}),
                "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "crisisbot"}],
            },
        },
    }


def card_event(i: int) -> dict:
    return {
        "schema": "2.0",
        "header": {"event_id": f"bench-{uuid.uuid4().hex}", "token": TOKEN, "event_type": "card.action.trigger",
                   "create_time": str(int(time.time() * 1000)), "tenant_key": "t", "app_id": "cli_bench"},
        "event": {
            "operator": {"open_id": f"ou_user{i % 17}"},
            "action": {"tag": "button", "value": {"action_id": "bench.press", "value": str(i)}},
            "context": {"open_message_id": f"om_card_{i}", "open_chat_id": f"oc_bench{i % 5}"},
        },
    }


def build_requests(count: int) -> list[tuple[str, dict, bytes]]:
    """Encrypted, signed (kind, headers, body) requests: half commands, half button presses."""
    out = []
    now = int(time.time())
    for i in range(count):
        kind, payload = ("message", message_event(i)) if i % 2 == 0 else ("card", card_event(i))
        body = crypto.encrypted_body(ENCRYPT_KEY, payload)
        out.append((kind, crypto.signed_headers(ENCRYPT_KEY, body, timestamp=now), body))
    return out


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect_all(url: str, count: int) -> list[Connection]:
    """`count` keep-alive connections, opened once and used for the warm-up and the measured run alike."""
    host, _, port = url.removeprefix("http://").partition(":")
    return list(await asyncio.gather(*(asyncio.open_connection(host, int(port)) for _ in range(count))))


async def fire(url: str, requests: list, connections: list[Connection]) -> tuple[list[tuple[str, float]], int]:
    """Each connection sends its next request as soon as the last one was answered.

    A bare asyncio HTTP/1.1 client rather than httpx: on a busy 2-core machine httpx's own per-request
    cost showed up in the latencies; this one does little more than write bytes and read the answer.
    """
    host, _, port = url.removeprefix("http://").partition(":")
    latencies: list[tuple[str, float]] = []
    errors = 0
    queue: asyncio.Queue = asyncio.Queue()
    for kind, headers, body in requests:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        raw = (f"POST /feishu/events HTTP/1.1\r\nHost: {host}:{port}\r\n{head}"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        queue.put_nowait((kind, raw))

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal errors
        while not queue.empty():
            kind, raw = queue.get_nowait()
            start = time.perf_counter()
            writer.write(raw)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            elapsed = time.perf_counter() - start
            if b" 200 " not in status_line:
                errors += 1
            latencies.append((kind, elapsed))

    await asyncio.gather(*(worker(reader, writer) for reader, writer in connections))
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of a process (Linux /proc), to report a figure the machine's load cannot skew."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up in {timeout} s")


def replies_delivered(api_port: int) -> int:
    """How many messages the fake Open API has received so far."""
    return httpx.get(f"http://127.0.0.1:{api_port}/_fake/stats", timeout=5).json()["messages"]


def wait_replies(api_port: int, expected: int, timeout: float) -> int:
    """Poll the fake Open API until `expected` replies arrived (or `timeout` s passed); returns the count."""
    deadline = time.perf_counter() + timeout
    sent = replies_delivered(api_port)
    while sent < expected and time.perf_counter() < deadline:
        time.sleep(0.05)
        sent = replies_delivered(api_port)
    return sent


def crisisbot_command() -> list[str]:
    prelude = os.environ.get("FEISHU_ACK_SERVE_PRELUDE")  # experiments: python run in serve before main()
    if prelude:
        code = f"import sys; {prelude}; sys.argv = ['crisisbot'] + sys.argv[1:]; from bot.cli import main; main()"
        return [sys.executable, "-c", code]
    script = Path(sys.executable).with_name("crisisbot")
    if script.exists():
        return [str(script)]
    found = shutil.which("crisisbot")
    return [found] if found else [sys.executable, "-c", "from bot.cli import main; main()"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Feishu event acknowledgement latency of crisisbot serve")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="feishu-ack-"))
    api_port, bot_port = free_port(), free_port()
    env = {
        **os.environ,
        "CRISISBOT_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "FEISHU_APP_ID": "cli_bench",
        "FEISHU_APP_SECRET": "bench-secret",
        "FEISHU_VERIFICATION_TOKEN": TOKEN,
        "FEISHU_ENCRYPT_KEY": ENCRYPT_KEY,
        "CRISISBOT_FEISHU_DOMAIN": f"http://127.0.0.1:{api_port}",
        "CRISISBOT_LOG_LEVEL": "WARNING",
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    procs = []
    try:
        api = subprocess.Popen([sys.executable, "-m", "tests.fakes.feishu_api", "--port", str(api_port)], env=env,
                               stdout=subprocess.DEVNULL, cwd=REPO_ROOT)
        procs.append(api)
        wait_http(f"http://127.0.0.1:{api_port}/_fake/stats", 20, api)
        log = open(workdir / "serve.log", "w")  # noqa: SIM115 - closed with the process
        bot = subprocess.Popen([*crisisbot_command(), "serve", "--host", "127.0.0.1", "--port", str(bot_port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        procs.append(bot)
        url = f"http://127.0.0.1:{bot_port}"
        wait_http(url + "/healthz", 120, bot)
        print(f"crisisbot serve pid {bot.pid} on {url}, log {workdir / 'serve.log'}", file=sys.stderr, flush=True)

        warm = build_requests(args.warmup)
        measured = build_requests(args.events)

        async def warm_then_measure() -> tuple[list[tuple[str, float]], int, float, float | None]:
            # The same keep-alive connections for both phases, as Feishu's pushers keep theirs. With 50
            # fresh connections opened at the start of the measured run, a busy server (uvloop re-takes
            # the GIL for every libuv callback while the dispatcher and outbox threads run) accepted them
            # one every 30-70 ms: the p99 then measured connection set-up, not the ack path.
            connections = await connect_all(url, args.concurrency)
            try:
                await fire(url, warm, connections)
                # Let the warm-up's work (handlers, outbox deliveries) finish before measuring.
                await asyncio.to_thread(wait_replies, api_port, args.warmup, 60)
                cpu_at_start = cpu_seconds(bot.pid)
                began = time.perf_counter()
                result, failures = await fire(url, measured, connections)
                return result, failures, began, cpu_at_start
            finally:
                for _, writer in connections:
                    writer.close()

        latencies, errors, start, cpu_before = asyncio.run(warm_then_measure())
        wall = time.perf_counter() - start
        expected = args.warmup + args.events  # one reply per command and per button press
        sent = wait_replies(api_port, expected, 120)
        drained = time.perf_counter() - start
        cpu_after = cpu_seconds(bot.pid)

        all_ms = [v * 1000 for _, v in latencies]
        print(f"feishu_ack: {args.events} events ({args.warmup} warm-up), {args.concurrency} concurrent, SQLite")
        load = os.getloadavg()
        print(f"  machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
              "(figures are only comparable on a quiet machine)")
        for label, values in (("all", all_ms),
                              ("message", [v * 1000 for k, v in latencies if k == "message"]),
                              ("card", [v * 1000 for k, v in latencies if k == "card"])):
            print(f"  {label:8s} n={len(values):5d}  p50={percentile(values, 50):7.1f} ms  "
                  f"p90={percentile(values, 90):7.1f} ms  p99={percentile(values, 99):7.1f} ms  "
                  f"max={max(values):7.1f} ms  mean={statistics.fmean(values):6.1f} ms")
        print(f"  non-200 answers: {errors}")
        if cpu_before is not None and cpu_after is not None:
            per_event = (cpu_after - cpu_before) / args.events * 1000
            print(f"  server CPU: {per_event:.2f} ms per event (ack + handler + outbox delivery), "
                  f"i.e. one core handles ~{1000 / per_event:.0f} events/s end to end")
        print(f"  throughput: {args.events / wall:.0f} events/s acknowledged")
        print(f"  replies delivered to the fake Open API: {sent}/{expected} after {drained:.1f} s "
              f"({'all' if sent >= expected else 'NOT all'})")
        verdict = "PASS" if percentile(all_ms, 99) <= 300 and errors == 0 else "FAIL"
        print(f"  target p99 <= 300 ms: {verdict}")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
