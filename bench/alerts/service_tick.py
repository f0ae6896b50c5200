"""CPU of the real service tick (what APScheduler runs in `serve`) when every stream has a bucket closing.

    python -m bench.alerts.service_tick [--streams 10000] [--dormant 0] [--url postgresql+psycopg://...] [--profile]

What it measures: `AlertService.tick()` (exactly the function `serve` schedules) at the moment one
bucket has closed on ALL streams: finding the due streams, reading the closed bucket's counts, loading
each due stream's detector state, running the detector, saving the states, opening episodes for the few
streams that spike in that bucket (`--spikes`), plus the tick's housekeeping (held alerts, escalation).
The measured tick is the second one of the process (a running `serve`); the first one after a start
(which decodes every detector state from the database) is printed too.
Every stream starts warmed (about three days of history in its detector state, as in production), so
the detector does its steady-state work. Figures are the CPU time of this process (`time.process_time`:
Python, SQLAlchemy, the SQLite engine; for PostgreSQL the server's own CPU is not included, so the wall
time is printed too). Then a second tick a few seconds later measures the idle case (nothing due).

`--dormant N` adds N video streams that went quiet a month ago (no comment since, no episode), as an
account accumulates them over the years: every video ever seen keeps its stream row. The warm-up tick
finds them dormant; the measured tick shows what they still cost on each bucket close.

Setup goes through plain table inserts (not the service), so this script runs unchanged against older
versions of the service for back-to-back comparisons.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.alerts import bench_database

START = datetime(2026, 11, 20, tzinfo=UTC)
WARM_DAYS = 3


def _warm_states(kinds: int, bucket: timedelta, until: datetime, seed: int = 5) -> tuple[list[dict], np.ndarray]:
    """`kinds` detector states warmed on WARM_DAYS of Poisson counts with a daily cycle, and their levels."""
    from bot.alerts.detector import DetectorSettings, SpikeDetector

    rng = np.random.default_rng(seed)
    levels = rng.lognormal(0.5, 1.2, size=kinds)
    settings = DetectorSettings(bucket_seconds=bucket.total_seconds())
    states = []
    steps = int(WARM_DAYS * 86400 / bucket.total_seconds())
    first = until - steps * bucket
    hours = ((np.arange(steps) * bucket.total_seconds() / 3600.0) + first.hour) % 24
    cycle = 0.4 + np.exp(-0.5 * ((hours - 21.0) / 3.0) ** 2)
    for level in levels:
        det = SpikeDetector(settings=settings)
        counts = rng.poisson(level * cycle)
        for i, c in enumerate(counts):
            det.observe(first + i * bucket, float(c), total=float(c) * 4)
        states.append(det.to_state())
    return states, levels


def _setup(db, streams: int, spikes: int, bucket: timedelta, now: datetime, dormant: int = 0) -> None:
    """Streams warmed up to two buckets ago; counts for the bucket the warm-up tick closes and the one the
    measured tick closes. Streams [0, spikes) spike in both (an episode opens, then is updated), streams
    [spikes, 2 * spikes) only in the measured one (a new episode)."""
    from bot.alerts.models import AlertBucket, AlertStream
    from bot.alerts.service import stream_key

    closing = now - bucket  # the bucket that closes in the measured tick
    states, levels = _warm_states(100, bucket, closing - bucket)
    rng = np.random.default_rng(7)
    stream_rows, bucket_rows = [], []
    for i in range(streams):
        kind = i % len(states)
        stream_rows.append({"stream_key": stream_key("douyin", f"acc{i}", ""), "platform": "douyin",
                            "account_id": f"acc{i}", "content_id": "", "first_bucket": START,
                            "last_closed": closing - 2 * bucket, "state": states[kind], "updated_at": closing})
        for start in (closing - bucket, closing):
            neg = int(rng.poisson(levels[kind]))
            if i < spikes or (spikes <= i < 2 * spikes and start == closing):
                neg = int(levels[kind] * 20 + 40)
            bucket_rows.append({"platform": "douyin", "account_id": f"acc{i}", "content_id": "",
                                "bucket_start": start, "total": neg * 4, "negative": neg,
                                "negative_weight": float(neg), "likes": 0, "risk_hits": 0})
    quiet_since = now - timedelta(days=30)
    for i in range(dormant):
        stream_rows.append({"stream_key": stream_key("douyin", f"acc{i % max(streams, 1)}", f"old{i}"),
                            "platform": "douyin", "account_id": f"acc{i % max(streams, 1)}",
                            "content_id": f"old{i}", "first_bucket": quiet_since - timedelta(days=3),
                            "last_closed": closing - 2 * bucket, "state": states[i % len(states)],
                            "updated_at": quiet_since})
    with db.engine.begin() as conn:
        for table, rows in ((AlertStream.__table__, stream_rows), (AlertBucket.__table__, bucket_rows)):
            for at in range(0, len(rows), 1000):
                conn.execute(table.insert(), rows[at:at + 1000])


def bench_service_tick(streams: int = 10_000, *, url: str | None = None, spikes: int = 10,
                       profile: str | None = None, dormant: int = 0) -> float:
    from sqlalchemy import func, select

    from bot.alerts.models import AlertEpisode, AlertStream
    from bot.app import build_app
    from bot.clock import FakeClock
    from bot.config import Settings, parse_config

    bucket = timedelta(minutes=5)
    now = START + timedelta(days=10)  # a bucket boundary
    with bench_database(url) as db:
        _setup(db, streams, spikes, bucket, now, dormant)
        engine = "PostgreSQL" if url else "SQLite"
        # warm-up: the tick that closed the previous bucket in the same process (loads the sentiment
        # scorer, fills SQLAlchemy's statement cache), as in a running `serve`
        clock = FakeClock(now - bucket + timedelta(seconds=25))  # just after the close grace (20 s)
        app = build_app(Settings(_env_file=None), parse_config({}, source="bench"), clock=clock, db=db,  # type: ignore[call-arg]
                        upgrade=False)
        svc = app.services.extra["alerts"]
        svc._uses_placeholder_sentiment()  # loads the sentiment scorer (once per process, not per tick)
        first_cpu = time.process_time()
        svc.tick()
        first_cpu = time.process_time() - first_cpu
        clock.set(now + timedelta(seconds=25))
        profiler = cProfile.Profile() if profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        svc.tick()
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with db.session() as session:
            closed = session.exec(select(func.count()).select_from(AlertStream)
                                  .where(AlertStream.last_closed == now - bucket, AlertStream.content_id == "")).one()[0]
            opened = session.exec(select(func.count()).select_from(AlertEpisode)).one()[0]
        clock.advance(timedelta(seconds=5))
        idle_wall, idle_cpu = time.perf_counter(), time.process_time()
        svc.tick()
        idle_wall, idle_cpu = time.perf_counter() - idle_wall, time.process_time() - idle_cpu
        app.close()
    per_10k = cpu * 10_000 / max(streams, 1)
    beside = f" beside {dormant:,} dormant video streams" if dormant else ""
    print(f"service tick ({engine}{beside}): {closed}/{streams} streams closed a bucket ({opened} episodes so far), in "
          f"{cpu:.3f} s CPU / {wall:.3f} s wall = {per_10k:.2f} s CPU per 10,000 streams [target < 1 s]; "
          f"idle tick {idle_cpu * 1000:.0f} ms CPU; the first tick after a start (every state decoded from the "
          f"database) {first_cpu * 10_000 / max(streams, 1):.2f} s CPU per 10,000 streams")
    if profiler:
        profiler.dump_stats(profile)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    return per_10k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=10_000)
    ap.add_argument("--spikes", type=int, default=10, help="streams whose closing bucket spikes (episodes)")
    ap.add_argument("--dormant", type=int, default=0,
                    help="video streams quiet for a month beside the live ones (see the module docstring)")
    ap.add_argument("--url", help="PostgreSQL URL (default: a temporary SQLite file)")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the measured tick into FILE and print the top")
    a = ap.parse_args()
    bench_service_tick(a.streams, url=a.url, spikes=a.spikes, profile=a.profile, dormant=a.dormant)


if __name__ == "__main__":
    main()
