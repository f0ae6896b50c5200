"""Quiet old videos sleep: the tick stops visiting them, and their next comment wakes them.

Every video ever seen keeps its stream row. Each bucket close used to find every one of them due again
and write each row (a video quiet for two days was skipped ahead one bucket per pass): 50,000 old videos
beside 10,000 live streams cost 18.7 s CPU per tick instead of 0.8 s (bench.alerts.service_tick
--dormant). Now a stream gone quiet is flagged dormant once and left alone; a comment on it wakes it
where the tick would have skipped it to, so an old video that suddenly draws a pile-on still alerts at
its first bucket close.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.alerts.models import AlertBucket, AlertStream
from bot.alerts.service import _Stream, floor_bucket
from tests.integration.alerts.test_alert_service import NEGATIVE, alert_posts, comment, episodes, tick

BUCKET = timedelta(minutes=5)


def _stream(db, content: str) -> AlertStream:
    with db.session() as session:
        return session.exec(select(AlertStream).where(AlertStream.content_id == content,
                                                      ~AlertStream.stream_key.endswith("|curve"))).one()


def _old_video_gone_quiet(bot, clock) -> None:
    """A day of calm comments on video "old", the last one three days ago, then hourly ticks up to now."""
    now = clock.now()
    start = now - timedelta(days=4)
    bot.services.ingest.ingest_records(
        [comment(start + i * BUCKET + timedelta(seconds=30), content="old") for i in range(288)], source="history")
    tick(bot)
    for _ in range(3):  # the tick runs as time goes by (hourly here: each pass closes what is due)
        clock.advance(timedelta(hours=1))
        tick(bot)


def test_a_quiet_old_video_sleeps_and_the_tick_leaves_its_row_alone(bot, clock, db):
    # the history arrived just now (an import): awake for two days after that, like any active video
    _old_video_gone_quiet(bot, clock)
    assert _stream(db, "old").dormant is False
    clock.advance(timedelta(days=2, hours=1))
    tick(bot)  # closes the two days it had not judged yet
    assert _stream(db, "old").dormant is False
    clock.advance(BUCKET)
    tick(bot)  # its next bucket is now more than two days after its last comment
    asleep = _stream(db, "old")
    assert asleep.dormant is True
    for _ in range(5):  # bucket after bucket, nothing is written for it any more
        clock.advance(BUCKET)
        tick(bot)
    row = _stream(db, "old")
    assert row.dormant is True
    assert (row.last_closed, row.state) == (asleep.last_closed, asleep.state)
    assert _stream(db, "").dormant is False  # the account's own stream never sleeps


def test_a_pile_on_wakes_the_old_video_and_alerts_at_its_first_bucket_close(bot, clock, db):
    _old_video_gone_quiet(bot, clock)
    clock.advance(timedelta(days=3))
    tick(bot)
    clock.advance(BUCKET)
    tick(bot)
    assert _stream(db, "old").dormant is True  # precondition
    clock.set(floor_bucket(clock.now(), BUCKET) + BUCKET + timedelta(seconds=40))
    # a comment dated 10 minutes ago (its bucket closed while the video slept): counted in the open bucket
    late = clock.now() - timedelta(minutes=10)
    bot.services.ingest.ingest_records([comment(late, content="old", text=NEGATIVE)], source="test")
    woken = _stream(db, "old")
    assert woken.dormant is False
    open_bucket = floor_bucket(clock.now(), BUCKET)
    assert woken.last_closed == open_bucket - BUCKET  # resumes at the first bucket still open
    with db.session() as session:
        counted = session.exec(select(AlertBucket).where(AlertBucket.content_id == "old",
                                                         AlertBucket.bucket_start == open_bucket)).one()
    assert counted.negative == 1
    # the pile-on, in the same bucket: alerted when that bucket closes (plus the close grace), not later
    bot.services.ingest.ingest_records([comment(clock.now() + timedelta(seconds=i), content="old", text=NEGATIVE)
                                        for i in range(30)], source="test")
    tick(bot)
    assert alert_posts(db) == []
    clock.set(open_bucket + BUCKET + timedelta(seconds=25))
    tick(bot)
    posts = alert_posts(db)
    assert len(posts) == 1
    [episode] = [e for e in episodes(db) if e.content_id == "old"]
    assert episode.started_at == open_bucket


def test_a_comment_arriving_while_a_pass_puts_the_video_to_sleep_keeps_it_awake(bot, clock, db):
    """Another process stores a comment between the pass reading the row and the pass flagging it: the
    flag is not written (the row's activity time changed), so the video is judged as usual."""
    _old_video_gone_quiet(bot, clock)
    clock.advance(timedelta(days=3))
    service = bot.services.extra["alerts"]
    row = _stream(db, "old")
    seen = _Stream(row.id, row.stream_key, row.platform, row.account_id, row.content_id, row.first_bucket,
                   row.last_closed, row.content_title, row.content_url, row.updated_at)
    seen.asleep_after = floor_bucket(clock.now(), BUCKET) - BUCKET
    bot.services.ingest.ingest_records([comment(clock.now(), content="old")], source="test")  # the other process
    with db.session() as session:
        service._put_to_sleep(session, [seen])
    assert _stream(db, "old").dormant is False
