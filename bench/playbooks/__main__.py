"""Playbook run figures on SQLite (and PostgreSQL with --postgres URL).

    python -m bench.playbooks [--runs 50] [--postgres URL]

Prints: time to start a run (steps copied, card enqueued), time per step transition (one command,
optimistic version check, timeline and card update), one reminder pass over all active runs, the
review + negative-share chart (with 10,000 scored comments), and contended 完成 presses (8 threads).
Targets on a 2-core machine: start < 50 ms, transition < 50 ms, a reminder pass over 50 runs that all
have 4 reminders, a nag and an exit hint due (300 messages) < 5 s, report < 2 s (the first one in a
process includes importing matplotlib and loading the CJK font).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from bench.database import bench_database
from bot.clock import FakeClock
from bot.config import parse_config
from bot.outbox import Outbox
from bot.playbooks.machine import Done, TransitionRejected
from bot.playbooks.service import PlaybookService
from bot.playbooks.validate import load_playbooks
from bot.scope import ChannelScope
from bot.storage.db import Database
from bot.storage.models import Comment

CONFIG = {
    "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店"}],
}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def bench(db: Database, runs: int, label: str) -> None:
    clock = FakeClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    config = parse_config(CONFIG, source="bench")
    service = PlaybookService(
        db=db,
        clock=clock,
        outbox=Outbox(db, clock),
        config=config,
        playbooks=load_playbooks(),
        scope=ChannelScope(config),
    )
    start = clock.now()
    with db.session() as session:
        for n in range(10_000):
            at = start - timedelta(hours=12) + timedelta(seconds=n * 8)
            session.add(
                Comment(
                    platform="douyin",
                    account_id="lanji_official",
                    content_id="v",
                    comment_id=f"b{n}",
                    text="x",
                    created_at=at,
                    ingested_at=at,
                    sentiment_label="neg" if n % 5 == 0 else "pos",
                )
            )
    starts, transitions = [], []
    for n in range(runs):
        t = time.perf_counter()
        view = service.start_run(
            "console:bench", "negative-outbreak", f"压测 {n}", 1, "douyin:lanji_official", "console:bench"
        )
        starts.append(time.perf_counter() - t)
        for step in ("triage", "monitor", "pause_content"):
            t = time.perf_counter()
            service.transition(view.id, Done(step, "console:bench"))
            transitions.append(time.perf_counter() - t)
    clock.advance(timedelta(hours=3))
    t = time.perf_counter()
    counts = service.tick()
    tick = time.perf_counter() - t
    t = time.perf_counter()
    report = service.build_report(1)
    report_s = time.perf_counter() - t

    view = service.start_run("console:bench2", "negative-outbreak", "争用", 1, None, "console:bench")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def press(i: int) -> None:
        barrier.wait()
        try:
            service.transition(view.id, Done("triage", f"console:u{i}"))
            outcomes.append("ok")
        except TransitionRejected:
            outcomes.append("rejected")

    threads = [threading.Thread(target=press, args=(i,)) for i in range(8)]
    t = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    contended = time.perf_counter() - t

    print(f"== {label} ({runs} runs)")
    print(
        f"start a run           median {ms(statistics.median(starts))}  p95 {ms(sorted(starts)[int(len(starts) * 0.95) - 1])}"
    )
    print(
        f"step transition       median {ms(statistics.median(transitions))}  p95 "
        f"{ms(sorted(transitions)[int(len(transitions) * 0.95) - 1])}"
    )
    print(f"reminder pass         {ms(tick)}  ({counts})")
    print(
        f"review + chart        {ms(report_s)}  (png {len(report.png) // 1024} KiB, md {len(report.markdown)} chars)"
    )
    print(
        f"8 contended presses   {ms(contended)}  outcomes ok={outcomes.count('ok')} rejected={outcomes.count('rejected')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--postgres", default=None, help="postgresql+psycopg://... (a scratch schema is used)"
    )
    args = parser.parse_args()
    with bench_database(None) as db:
        bench(db, args.runs, "SQLite")
    if args.postgres:
        with bench_database(args.postgres) as db:
            bench(db, args.runs, "PostgreSQL")

if __name__ == "__main__":
    main()
