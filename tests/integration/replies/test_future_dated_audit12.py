"""Audit 12, finding 6: a comment dated ahead of the bot's clock waits from when the bot received it.

A source that stamps Beijing time as UTC dates its comments 8 hours ahead (docs/alerts.md names the
case; ingest accepts dates up to 7 days ahead). Clock 12:00Z, a complaint dated 20:00Z: the queue showed
it as "0分钟前" for hours and two hours later `/reply-queue --overdue` was empty and no reminder came,
although the negative-comment SLA is 30 minutes. Age, deadline and first-response time now count from
min(comment time, received time). Also the stats header names its zone and its durations are written in
the shared words (finding 7 and 8c).
"""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlmodel import select

from bot.config import parse_config
from bot.replies.models import ReplyQueueItem
from tests.conftest import TEST_CONFIG

from .conftest import ago, cmd, own, rec


def _queue_text(bot, text: str) -> str:
    (reply,) = bot.dispatcher.handle(cmd(text))
    return "\n".join([reply.text or "", *(s.text for s in reply.sections)])


def _item(db, comment_id: str) -> ReplyQueueItem:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == comment_id)).one()


def test_a_comment_dated_ahead_of_the_clock_waits_from_its_arrival(rq_bot, db, clock):
    service = rq_bot.services.replies
    arrived = clock.now()
    ahead = arrived + timedelta(hours=8)  # Beijing time written as UTC
    result = rq_bot.services.ingest.ingest_records([rec("skew", ahead, "太差了，过敏了，退款")], source="webhook")
    assert result.accepted == 1

    item = _item(db, "skew")
    assert abs(item.due_ts - (arrived + timedelta(minutes=30)).timestamp()) < 1  # negative: 30 minutes
    listing = _queue_text(rq_bot, "/reply-queue")
    assert "刚刚 / just now" in listing and "0分钟前" not in listing, listing

    clock.advance(timedelta(hours=2))
    overdue = _queue_text(rq_bot, "/reply-queue --overdue")
    assert "太差了，过敏了，退款" in overdue, overdue
    assert "逾期 1 小时 30 分钟 / 1 h 30 min overdue" in overdue and "2 小时前 / ago" in overdue, overdue
    assert service.overdue_reminders() == 1

    # the first response counts from the arrival too (from the comment's own date it was "0 minutes")
    service.mark_replied(item.id, user="console:alice", user_name="alice", channel="console:lanji")
    stats = service.stats(channel="console:lanji", since=arrived - timedelta(hours=1))
    assert stats.median_first_response == timedelta(hours=2)
    assert (stats.sla_met, stats.sla_total) == (0, 1)


def test_a_correctly_dated_comment_keeps_its_own_time(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("plain", ago(clock, 20), "用了过敏")], source="webhook")
    item = _item(db, "plain")
    assert abs(item.created_ts - ago(clock, 20).timestamp()) < 1
    assert abs(item.due_ts - (ago(clock, 20) + timedelta(minutes=30)).timestamp()) < 1
    assert "20 分钟前 / ago" in _queue_text(rq_bot, "/reply-queue")


def test_a_redelivery_keeps_the_wait_started_at_the_first_arrival(rq_bot, db, clock):
    arrived = clock.now()
    ahead = arrived + timedelta(hours=8)
    ingest = rq_bot.services.ingest
    ingest.ingest_records([rec("again", ahead, "用了过敏", like_count=1)], source="webhook")
    clock.advance(timedelta(hours=1))
    ingest.ingest_records([rec("again", ahead, "用了过敏", like_count=5)], source="webhook")  # likes grew
    item = _item(db, "again")
    assert abs(item.created_ts - arrived.timestamp()) < 1
    assert abs(item.due_ts - (arrived + timedelta(minutes=30)).timestamp()) < 1


def test_the_stats_header_names_its_zone_and_writes_durations_in_the_shared_words(rq_bot, db, clock):
    service = rq_bot.services.replies
    rq_bot.services.ingest.ingest_records([rec("s", ago(clock, 200), "几点开播")], source="webhook")
    service.mark_replied(_item(db, "s").id, user="console:alice", user_name="alice", channel="console:lanji")
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue stats --since 2026-11-20"))
    head = reply.text.splitlines()[0]
    assert head.endswith("自 2026-11-20 00:00 Asia/Shanghai（UTC+08:00）起 / since then"), head
    assert reply.text.count("Asia/Shanghai") == 1  # once, in the header
    fields = {f.label: f.value for f in reply.fields}
    assert fields["首次响应中位数 Median first response"] == "3 小时 20 分钟 / 3 h 20 min"


def test_the_stats_header_zone_follows_the_channel(db, settings, clock):
    from bot.app import build_app

    data = copy.deepcopy(TEST_CONFIG)
    data["channels"][0]["timezone"] = "Europe/London"  # console:lanji; the bot's zone stays Asia/Shanghai
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    try:
        (reply,) = app.dispatcher.handle(cmd("/reply-queue stats --since 2026-11-22"))
    finally:
        app.stop()
    assert "，自 2026-11-22 00:00 Europe/London（UTC+00:00）起 / since then" in reply.text.splitlines()[0]


def _state_of(db, comment_id):
    with db.session() as s:
        item = s.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == comment_id)).first()
        return None if item is None else item.state


def test_a_follow_up_written_after_our_reply_in_a_skewed_source_stays_open(rq_bot, db, clock):
    # review finding: matched against the items' wait start, our older reply (8 h ahead, like every date of
    # this source) "answered" the customer's follow-up written after it
    ingest = rq_bot.services.ingest
    skew = timedelta(hours=8)  # the source writes Beijing time as UTC
    ingest.ingest_records([rec("A", clock.now() + skew, "太差了，过敏了")], source="webhook")
    clock.advance(timedelta(minutes=10))
    ingest.ingest_records([own("R", clock.now() + skew, "A")], source="webhook")
    assert _state_of(db, "A") == "answered"
    clock.advance(timedelta(hours=1))
    ingest.ingest_records([rec("B", clock.now() + skew, "还是没人处理，我要投诉", parent_id="R"),
                           rec("C", clock.now() + skew, "还是没人处理，我要投诉", parent_id="A")], source="webhook")
    assert _state_of(db, "B") in (None, "open") and _state_of(db, "C") in (None, "open")


def test_the_first_response_time_of_a_skewed_source_is_not_stretched_by_its_skew(rq_bot, clock):
    ingest = rq_bot.services.ingest
    skew = timedelta(hours=8)
    start = clock.now()
    ingest.ingest_records([rec("A", clock.now() + skew, "太差了，过敏了")], source="webhook")
    clock.advance(timedelta(minutes=10))
    ingest.ingest_records([own("R", clock.now() + skew, "A")], source="webhook")
    stats = rq_bot.services.replies.stats(channel="console:lanji", since=start - timedelta(hours=1))
    assert stats.median_first_response == timedelta(minutes=10)
