"""CPU of one service tick that closes a bucket on many streams (database included)."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def bench_service_tick(streams: int = 2000) -> None:
    from bot.alerts.models import AlertBucket, AlertStream
    from bot.alerts.service import stream_key
    from bot.app import build_app
    from bot.clock import FakeClock
    from bot.config import Settings, parse_config
    from bot.storage.db import Database

    start = datetime(2026, 11, 20, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.upgrade()
        clock = FakeClock(start)
        app = build_app(Settings(_env_file=None), parse_config({}, source="bench"), clock=clock, db=db, upgrade=False)  # type: ignore[call-arg]
        svc = app.services.extra["alerts"]
        with db.session() as session:
            for i in range(streams):
                session.add(AlertStream(stream_key=stream_key("douyin", f"acc{i}", ""), platform="douyin",
                                        account_id=f"acc{i}", content_id="", first_bucket=start, updated_at=start))
        warm = 40
        with db.session() as session:  # some comments in every bucket so the detectors have work to do
            for b in range(warm + 2):
                for i in range(streams):
                    session.add(AlertBucket(platform="douyin", account_id=f"acc{i}", content_id="",
                                            bucket_start=start + timedelta(minutes=5 * b), total=10, negative=2))
        clock.set(start + timedelta(minutes=5 * warm, seconds=30))
        svc.evaluate()  # warm-up: closes `warm` buckets per stream
        clock.advance(timedelta(minutes=5))
        cpu = time.process_time()
        judged = svc.evaluate()
        cpu = time.process_time() - cpu
        app.close()
    per_10k = cpu * 10_000 / max(streams, 1)
    print(f"service tick: {judged} streams closed one bucket in {cpu:.2f} s CPU incl. SQLite "
          f"(~{per_10k:.1f} s per 10,000 streams)")
