"""Benchmark: one bot process polling N Bilibili-shaped sources against a local server.

    python -m bench.pollers [--sources 200] [--interval 60] [--duration 180] [--database-url URL]

The server (a separate process, so its CPU is not counted) returns 20 new comments per poll of each
source, newest first, WBI-signed endpoint included. The bot side is the real thing: `build_app`, the
APScheduler jobs from `bot.feeds.wiring`, the ingestion service and the database (SQLite file by default).

Prints: comments/s stored, CPU per poll (bot process), worst lateness of a poll start against its
scheduled time, and the worst gap between two polls of one source (target: <= 2x the interval).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import sys
import threading
import time
from collections import defaultdict
from contextlib import ExitStack
from datetime import UTC, datetime

from bench.database import bench_database
from bench.pollers.server import NEW_PER_POLL, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--interval", type=float, default=60.0, help="poll interval in seconds (default 60)")
    parser.add_argument("--duration", type=float, default=180.0, help="measured run time in seconds")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp dir")
    args = parser.parse_args(argv)

    ctx = multiprocessing.get_context("spawn")
    port_queue, stop_event = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(port_queue, stop_event), daemon=True)
    server.start()
    base_url = port_queue.get(timeout=30)

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    from bot.app import build_app
    from bot.clock import SystemClock
    from bot.config import Settings, parse_config
    from bot.storage.db import Database

    databases = ExitStack()  # closed at the end: a PostgreSQL schema of its own is dropped with it
    url = args.database_url
    if url and not url.startswith("postgresql"):
        db = Database(url)
        db.upgrade()
        databases.callback(db.dispose)
    else:
        db = databases.enter_context(bench_database(url, "bench_pollers"))
    sources = [
        {"id": f"bili-{i:03d}", "type": "bilibili", "account": {"platform": "bilibili", "account_id": "42"},
         "targets": [str(100000 + i)], "base_url": base_url, "interval": args.interval, "backfill": "10m"}
        for i in range(args.sources)
    ]
    config = parse_config({"default_channel": "console:general", "feeds": {"sources": sources}}, source="bench")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = build_app(settings, config, clock=SystemClock(), db=db, upgrade=False)
    service = app.services.sources
    scheduler = app.wiring.scheduler
    # The scheduler exactly as bot.app builds it (APScheduler's default pool of 10 threads).

    starts: dict[str, list[float]] = defaultdict(list)
    last_start: dict[str, datetime] = {}
    lateness: list[float] = []
    outcomes: list = []
    lock = threading.Lock()

    def on_done(event) -> None:
        # Dispatched after the run ended (max_instances=1): the source's last start belongs to this run.
        if event.job_id.startswith("feeds-poll-"):
            with lock:
                started = last_start.get(event.job_id.removeprefix("feeds-poll-"))
                if started is not None:
                    lateness.append((started - event.scheduled_run_time).total_seconds())

    scheduler.add_listener(on_done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    original_poll = service.poll

    def timed_poll(source_id: str, *, force: bool = False):
        with lock:
            starts[source_id].append(time.monotonic())
            last_start[source_id] = datetime.now(UTC)
        outcome = original_poll(source_id, force=force)
        with lock:
            outcomes.append(outcome)
        return outcome

    service.poll = timed_poll  # type: ignore[method-assign]

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_start = time.monotonic()
    scheduler.start()
    time.sleep(args.duration)
    scheduler.shutdown(wait=True)
    wall = time.monotonic() - wall_start
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    stop_event.set()
    server.join(timeout=10)

    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    polls = [o for o in outcomes if o.status != "skipped"]
    ok = [o for o in polls if o.status == "ok"]
    accepted = sum(o.accepted for o in polls)
    duplicates = sum(o.duplicates for o in polls)
    gaps = [b - a for times in starts.values() for a, b in zip(times, times[1:], strict=False)]
    polled_sources = sum(1 for times in starts.values() if times)
    never = args.sources - polled_sources
    rss_mib = cpu_after.ru_maxrss / 1024

    print(f"pollers benchmark: {args.sources} sources, interval {args.interval:.0f}s, run {wall:.0f}s, "
          f"database {url.split(':', 1)[0]}, {NEW_PER_POLL} new comments per poll")
    print(f"{'polls (ok / failed)':<38}{len(ok)} / {len(polls) - len(ok)}")
    print(f"{'comments stored (new / duplicate)':<38}{accepted} / {duplicates}")
    print(f"{'comments/s stored':<38}{accepted / wall:.1f}")
    if polls:
        print(f"{'CPU per poll (bot process)':<38}{cpu / len(polls) * 1000:.1f} ms  (total CPU {cpu:.1f}s, "
              f"{cpu / wall * 100:.0f}% of one core)")
    if lateness:
        print(f"{'poll start lateness vs schedule':<38}median {statistics.median(lateness):.3f}s, "
              f"p99 {sorted(lateness)[int(len(lateness) * 0.99) - 1]:.3f}s, worst {max(lateness):.3f}s")
    if gaps:
        print(f"{'gap between polls of one source':<38}median {statistics.median(gaps):.1f}s, worst {max(gaps):.1f}s "
              f"(target <= {2 * args.interval:.0f}s: {'met' if max(gaps) <= 2 * args.interval else 'MISSED'})")
    print(f"{'sources never polled in the run':<38}{never}")
    print(f"{'peak RSS (bot process)':<38}{rss_mib:.0f} MiB")
    service.close()
    app.close()
    databases.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
