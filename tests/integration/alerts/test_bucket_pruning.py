"""Old bucket counts are pruned: every live stream adds an alert_bucket row per closed bucket, and nothing
reads them after the detector's catch-up horizon (8 days) plus its longest window, so rows older than
`alerts.bucket_retention_days` (14 by default) go, a bounded chunk per transaction. The comments stay
(reports and backtests read them), and so do the stream rows, dormant ones included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func
from sqlmodel import select

from bot.alerts.models import AlertBucket, AlertStream
from bot.alerts.service import PRUNE_LOCK_KEY, floor_bucket
from bot.storage.models import Comment
from tests.integration.alerts.test_alert_service import NEGATIVE, alert_posts, comment, episodes, tick
from tests.integration.alerts.test_dormant_videos import _old_video_gone_quiet, _stream

BUCKET = timedelta(minutes=5)
DAY = timedelta(days=1)


def _bucket_starts(db, content: str = "") -> list:
    """The buckets a stream has rows for."""
    with db.session() as session:
        starts = session.exec(select(AlertBucket.bucket_start).where(AlertBucket.content_id == content)
                              .order_by(AlertBucket.bucket_start)).all()
    return starts


def _count(db, model) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_rows_past_the_retention_go_and_those_alerts_read_stay(bot, clock, db):
    now = clock.now()
    # history at 20 days, just past 14 days, just inside 14 days, 9 days (about the farthest alerts read: the 8-day
    # catch-up plus the hour-long window) and yesterday
    ages = [DAY * 20, DAY * 14 + BUCKET, DAY * 14 - BUCKET, DAY * 9, DAY]
    bot.services.ingest.ingest_records([comment(now - age, text=NEGATIVE) for age in ages], source="history")
    comments = _count(db, Comment)
    service = bot.services.extra["alerts"]

    chunks: list[int] = []

    def deleted(_conn, cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM ALERT_BUCKET"):
            chunks.append(cursor.rowcount)

    event.listen(db.engine, "after_cursor_execute", deleted)
    try:
        assert service.prune_buckets(chunk_rows=3) == 4  # two rows each (account and video)
    finally:
        event.remove(db.engine, "after_cursor_execute", deleted)
    assert chunks == [3, 1]  # a bounded chunk per statement (and transaction)
    kept = {floor_bucket(now - age, BUCKET) for age in ages[2:]}
    assert set(_bucket_starts(db, "")) == kept
    assert set(_bucket_starts(db, "v1")) == kept
    assert _count(db, Comment) == comments  # reports and backtests read these

    assert service.prune_buckets() == 0  # idempotent: the second run finds nothing
    assert set(_bucket_starts(db, "")) == kept


def test_a_dormant_video_whose_buckets_were_pruned_wakes_and_alerts_on_a_pile_on_only(bot, clock, db):
    _old_video_gone_quiet(bot, clock)
    streams = _count(db, AlertStream)
    clock.advance(DAY * 20)
    tick(bot)
    clock.advance(BUCKET)
    tick(bot)
    asleep = _stream(db, "old")
    assert asleep.dormant is True
    bot.services.extra["alerts"].prune_buckets()
    assert _bucket_starts(db, "old") == []  # all of its buckets were over two weeks old
    assert _stream(db, "old").state == asleep.state  # its stream row and learnt baseline stay
    assert _count(db, AlertStream) == streams

    # one calm comment wakes it: no alert for the weeks of missing rows
    clock.set(floor_bucket(clock.now(), BUCKET) + BUCKET + timedelta(seconds=40))
    bot.services.ingest.ingest_records([comment(clock.now(), content="old")], source="test")
    woken = _stream(db, "old")
    assert woken.dormant is False
    open_bucket = floor_bucket(clock.now(), BUCKET)
    assert woken.last_closed == open_bucket - BUCKET
    for _ in range(3):
        clock.advance(BUCKET)
        tick(bot)
    assert alert_posts(db) == []
    assert _stream(db, "old").last_closed == floor_bucket(clock.now(), BUCKET) - BUCKET  # judged bucket by bucket

    # a pile-on on it alerts at its first bucket close, as on a video that kept its rows
    pile_on = floor_bucket(clock.now(), BUCKET)
    bot.services.ingest.ingest_records([comment(clock.now() + timedelta(seconds=i), content="old", text=NEGATIVE)
                                        for i in range(30)], source="test")
    clock.set(pile_on + BUCKET + timedelta(seconds=25))
    tick(bot)
    assert len(alert_posts(db)) == 1
    [episode] = [e for e in episodes(db) if e.content_id == "old"]
    assert episode.started_at == pile_on


def test_serve_prunes_on_a_schedule(bot):
    job = bot.wiring.scheduler.get_job("alerts-bucket-prune")
    assert job is not None
    assert job.trigger.interval == timedelta(hours=6)
    assert job.max_instances == 1


def test_one_process_prunes_at_a_time_on_postgresql(bot, clock, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time anyway")
    now = clock.now()
    bot.services.ingest.ingest_records([comment(now - DAY * 20)], source="history")
    service = bot.services.extra["alerts"]
    with db.engine.connect() as other, other.begin():  # another `serve`, pruning right now
        other.execute(select(func.pg_advisory_xact_lock(PRUNE_LOCK_KEY, func.hashtext(func.current_schema()))))
        assert service.prune_buckets() == 0
    assert _count(db, AlertBucket) == 2
    assert service.prune_buckets() == 2  # its lock went with its transaction
