"""CPU and wall time of counting one ingest batch into the alert buckets, beside many dormant videos.

    python -m bench.alerts.ingest_counts [--videos 2000] [--dormant 50000] [--batches 30] [--batch 1000]
                                         [--url postgresql+psycopg://...]

What it measures: `AlertService._add_counts` (the alert listener's write for each ingest batch: wake the
dormant streams the batch has comments for, carry late comments to the next open bucket, upsert the
bucket counts, touch the stream rows), in its own transaction, once per batch. Each batch holds
`--batch` comments on live videos (a fifth of them dated in the bucket that just closed: late), and a
few on videos that had gone dormant (each woken once). Scoring, the risk notices and the evaluation the
listener runs afterwards are left out: they do not depend on this step.

Setup goes through plain table inserts (not the service), so this script runs unchanged against older
versions of the service for back-to-back comparisons (`git archive <commit> | tar -x -C /tmp/before`, then
run it from there).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from bench.alerts import bench_database

START = datetime(2026, 11, 20, tzinfo=UTC)


def _setup(db, videos: int, dormant: int, bucket: timedelta, now: datetime) -> None:
    from bot.alerts.models import AlertStream
    from bot.alerts.service import stream_key

    rows = []
    in_step = now - 2 * bucket  # the tick closed the bucket before the open one
    for i in range(videos):
        rows.append({"stream_key": stream_key("douyin", "acc", f"v{i}"), "platform": "douyin", "account_id": "acc",
                     "content_id": f"v{i}", "first_bucket": START, "last_closed": in_step, "state": None,
                     "updated_at": now - bucket, "dormant": False})
    rows.append({"stream_key": stream_key("douyin", "acc", ""), "platform": "douyin", "account_id": "acc",
                 "content_id": "", "first_bucket": START, "last_closed": in_step, "state": None,
                 "updated_at": now - bucket, "dormant": False})
    asleep = now - timedelta(days=30)
    for i in range(dormant):
        rows.append({"stream_key": stream_key("douyin", "acc", f"old{i}"), "platform": "douyin", "account_id": "acc",
                     "content_id": f"old{i}", "first_bucket": asleep - timedelta(days=3), "last_closed": asleep,
                     "state": None, "updated_at": asleep - timedelta(days=2), "dormant": True})
    with db.engine.begin() as conn:
        for at in range(0, len(rows), 1000):
            conn.execute(AlertStream.__table__.insert(), rows[at:at + 1000])


def _batch(rng: random.Random, n: int, videos: int, woken: list[int], now: datetime, bucket: timedelta):
    """The counts and meta `on_comments` builds for one batch (same shapes)."""
    from bot.alerts.service import floor_bucket

    counts: dict = defaultdict(lambda: [0, 0, 0.0, 0, 0])
    meta: dict = {}
    current = floor_bucket(now, bucket)
    contents = [f"v{rng.randrange(videos)}" for _ in range(n)] + [f"old{i}" for i in woken]
    for content in contents:
        start = current - bucket if rng.random() < 0.2 else current  # late: its bucket was just judged
        negative = rng.random() < 0.2
        for scope in ("", content):
            row = counts[("douyin", "acc", scope, start)]
            row[0] += 1
            row[1] += 1 if negative else 0
            row[2] += 1.0 if negative else 0.0
        meta[("douyin", "acc", content)] = ("标题", "https://www.douyin.com/video/x")
    return counts, meta


def bench_ingest_counts(*, videos: int, dormant: int, batches: int, batch: int, wake: int, url: str | None) -> None:
    from bot.app import build_app
    from bot.clock import FakeClock
    from bot.config import Settings, parse_config

    bucket = timedelta(minutes=5)
    now = START + timedelta(days=40, minutes=2)  # two minutes into the open bucket
    rng = random.Random(11)
    with bench_database(url) as db:
        _setup(db, videos, dormant, bucket, now)
        app = build_app(Settings(_env_file=None), parse_config({}, source="bench"), clock=FakeClock(now), db=db,  # type: ignore[call-arg]
                        upgrade=False)
        svc = app.services.extra["alerts"]
        sleepers = iter(range(dormant))
        cpus, walls = [], []
        for i in range(batches + 1):  # the first batch warms SQLAlchemy's statement cache
            woken = [next(sleepers) for _ in range(wake)]
            counts, meta = _batch(rng, batch, videos, woken, now, bucket)
            wall, cpu = time.perf_counter(), time.process_time()
            with db.session() as session:
                svc._add_counts(session, counts, meta, now)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if i:
                cpus.append(cpu)
                walls.append(wall)
        app.close()
    engine = "PostgreSQL" if url else "SQLite"
    print(f"alert counts per ingest batch ({engine}; {batch} comments on {videos:,} live videos + {wake} waking, "
          f"{dormant:,} dormant videos): median {statistics.median(cpus) * 1000:.1f} ms CPU / "
          f"{statistics.median(walls) * 1000:.1f} ms wall, mean {statistics.fmean(cpus) * 1000:.1f} ms CPU "
          f"over {batches} batches")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=2000)
    ap.add_argument("--dormant", type=int, default=50_000)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--batch", type=int, default=1000, help="comments per batch (the import's batch size)")
    ap.add_argument("--wake", type=int, default=5, help="dormant videos each batch has a comment for")
    ap.add_argument("--url", help="PostgreSQL URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    bench_ingest_counts(videos=args.videos, dormant=args.dormant, batches=args.batches, batch=args.batch,
                        wake=args.wake, url=args.url)


if __name__ == "__main__":
    main()
