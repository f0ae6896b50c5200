"""Cost and outcome of importing a month of history: what `crisisbot ingest FILE` then `serve` do.

    python -m bench.alerts.history_import [--comments 20000] [--streams 500] [--days 30] [--url postgresql+psycopg://...]

A realistic import: `--comments` comments over the last `--days` days, spread over `--streams` content
streams (videos; 20 per account, so the account-level streams come on top), with a daily cycle, ingested
in 1,000-row batches as `crisisbot ingest` does. The history holds a few sharp negative pile-ons (25 and
5 days ago, 20 hours ago, and one that ended 45 minutes before the import): they are history and must post nothing.

Printed: CPU (and wall) of the import batches (each batch also closes the streams that are in step), of
serve's first tick after the import settles (it judges every stream's history up to now), the buckets the
detector observed, and the alerts queued (expected: 0). `--observe-all` observes every empty bucket of
the catch-up (IDLE_OBSERVED set to infinity in this process) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.alerts import bench_database

NOW = datetime(2026, 11, 22, 12, 0, 25, tzinfo=UTC)
NEGATIVE = "垃圾产品，用了烂脸过敏，退款！太差了，再也不买"
CALM = "今天直播几点开始呀"
PER_ACCOUNT = 20


def make_records(comments: int, streams: int, days: int, seed: int = 3) -> list[dict]:
    """`comments` background comments over `days` days before NOW plus four historical pile-ons."""
    rng = np.random.default_rng(seed)
    # a daily cycle: evenings busy, nights quiet (accepted by thinning uniform times)
    span = days * 86400
    times = []
    while len(times) < comments:
        t = rng.uniform(0, span, size=comments)
        hours = ((t / 3600.0) + 8) % 24  # Beijing time
        keep = rng.uniform(size=comments) < 0.25 + 0.75 * np.exp(-0.5 * ((hours - 21.0) / 3.0) ** 2)
        times.extend(t[keep].tolist())
    times = sorted(times[:comments])
    weights = rng.lognormal(0.0, 1.0, size=streams)
    weights /= weights.sum()
    which = rng.choice(streams, size=comments, p=weights)
    start = NOW - timedelta(days=days)
    records = []
    for i, (t, s) in enumerate(zip(times, which, strict=True)):
        records.append(_record(i, s, start + timedelta(seconds=t), negative=rng.uniform() < 0.08))
    # pile-ons in the history: 200 negative comments in 30 minutes on one video each
    n = len(records)
    for k, ago in enumerate((timedelta(days=25), timedelta(days=5), timedelta(hours=20), timedelta(hours=1, minutes=15))):
        if ago >= timedelta(days=days):
            continue
        for j in range(200):
            records.append(_record(n + k * 1000 + j, k * 7 % streams, NOW - ago + timedelta(seconds=9 * j), negative=True))
    records.sort(key=lambda r: r["created_at"])
    return records


def _record(i: int, stream: int, at: datetime, *, negative: bool) -> dict:
    account, video = divmod(int(stream), PER_ACCOUNT)
    return {"platform": "douyin", "account_id": f"acc{account}", "content_id": f"v{account}_{video}",
            "comment_id": f"h{i}", "text": NEGATIVE if negative else CALM, "created_at": at.isoformat(),
            "like_count": 0}


def bench_history_import(comments: int, streams: int, days: int, *, url: str | None = None,
                         observe_all: bool = False) -> dict:
    from sqlalchemy import func, select

    import bot.alerts.service as service
    from bot.alerts.models import AlertEpisode, AlertStream
    from bot.app import build_app
    from bot.clock import FakeClock
    from bot.config import Settings, parse_config
    from bot.importer import BATCH
    from bot.storage.models import OutboxMessage

    if observe_all:
        service.IDLE_OBSERVED = 10**9
    records = make_records(comments, streams, days)
    with bench_database(url) as db:
        clock = FakeClock(NOW)
        config = parse_config({"default_channel": "console:general"}, source="bench")
        app = build_app(Settings(_env_file=None), config, clock=clock, db=db, upgrade=False)  # type: ignore[call-arg]
        svc = app.services.extra["alerts"]
        svc._uses_placeholder_sentiment()  # the scorer loads once per process, not in the figures
        wall, cpu = time.perf_counter(), time.process_time()
        for at in range(0, len(records), BATCH):
            app.services.ingest.ingest_records(records[at:at + BATCH], source="file")
        import_wall, import_cpu = time.perf_counter() - wall, time.process_time() - cpu
        clock.advance(service.IMPORT_SETTLE + timedelta(seconds=1))
        wall, cpu = time.perf_counter(), time.process_time()
        judged = svc.evaluate()
        tick_wall, tick_cpu = time.perf_counter() - wall, time.process_time() - cpu
        svc.tick()
        app.services.outbox.drain()
        with db.session() as session:
            count = lambda q: session.exec(q).one()[0]  # noqa: E731
            stream_rows = count(select(func.count()).select_from(AlertStream))
            behind = count(select(func.count()).select_from(AlertStream).where(
                AlertStream.last_closed < NOW - timedelta(minutes=15), ~AlertStream.stream_key.endswith("|curve")))
            opened = count(select(func.count()).select_from(AlertEpisode))
            alerts = count(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.update_of.is_(None)))
        app.close()
    engine = "PostgreSQL" if url else "SQLite"
    mode = "every empty bucket observed" if observe_all else f"IDLE_OBSERVED={service.IDLE_OBSERVED}"
    print(f"history import ({engine}, {mode}): {len(records)} comments, {streams} videos, {days} days; "
          f"import {import_cpu:.2f} s CPU / {import_wall:.2f} s wall; first tick after it settled "
          f"{tick_cpu:.2f} s CPU / {tick_wall:.2f} s wall, {judged} buckets observed over {stream_rows} stream rows "
          f"({behind} still behind); episodes {opened}, messages queued {alerts} [expected 0: all of it is history]")
    return {"import_cpu": import_cpu, "tick_cpu": tick_cpu, "judged": judged, "episodes": opened, "messages": alerts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--comments", type=int, default=20_000)
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--url", help="PostgreSQL URL (default: a temporary SQLite file)")
    ap.add_argument("--observe-all", action="store_true", help="observe every empty bucket (before/after)")
    a = ap.parse_args()
    bench_history_import(a.comments, a.streams, a.days, url=a.url, observe_all=a.observe_all)


if __name__ == "__main__":
    main()
