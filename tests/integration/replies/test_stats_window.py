"""/reply-queue stats: the window is checked, and actions count by when they happened.

Probe findings: `stats --since 0d` was accepted (an empty window whose figures read "nothing happened")
while `report --period 0d` was refused; `stats --since 1d` left out today's manual replies and skips on
older comments because everything was counted by the comment's date.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.replies.models import ReplyQueueItem

from .conftest import ago, cmd, own, rec


def item_id(db, comment_id: str) -> int:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == comment_id)).one()


def test_a_zero_negative_or_future_window_is_refused_like_a_report_period(rq_bot, clock):
    for since in ("0d", "0h", "0m", "-1d", "0天", (clock.now() + timedelta(days=2)).date().isoformat()):
        (reply,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue stats --since {since}"))
        assert not reply.fields, since  # no figures for an empty window
        assert "不是有效的时间段" in reply.text and "is not a period" in reply.text, (since, reply.text)
    (ok,) = rq_bot.dispatcher.handle(cmd("/reply-queue stats --since 1d"))
    assert ok.fields


def test_since_1d_counts_todays_replies_skips_and_claims_on_older_comments(rq_bot, db, clock):
    ingest, service = rq_bot.services.ingest, rq_bot.services.replies
    start = clock.now()
    clock.set(start - timedelta(days=3))  # the comments came in three days ago
    ingest.ingest_records([
        rec("old_a", ago(clock, 5), "几点开播"),
        rec("old_b", ago(clock, 5), "哈哈"),
        rec("old_c", ago(clock, 5), "请问敏感肌能用吗"),
        rec("old_feed", ago(clock, 5), "这个颜色适合黄皮吗"),
        rec("early", ago(clock, 5), "有赠品吗"),
    ], source="test")
    clock.set(start - timedelta(days=3) + timedelta(minutes=30))
    service.mark_replied(item_id(db, "early"), user="console:carol", user_name="carol", channel="console:lanji")
    clock.set(start - timedelta(hours=2))  # today: alice replies by hand, bob skips, dave claims
    service.claim(item_id(db, "old_c"), user="console:dave", user_name="dave", channel="console:lanji")
    rq_bot.dispatcher.handle(cmd(f"/reply-queue done {item_id(db, 'old_a')}"))
    rq_bot.dispatcher.handle(cmd(f"/reply-queue skip {item_id(db, 'old_b')} 无需回复", user="console:bob", name="bob"))
    ingest.ingest_records([own("feed_reply", clock.now() - timedelta(minutes=5), "old_feed")], source="test")
    clock.set(start)
    ingest.ingest_records([rec("new", ago(clock, 10), "几点发货")], source="test")  # arrived today

    stats = service.stats(channel="console:lanji", since=start - timedelta(days=1))
    assert stats.responded == 2  # alice's reply by hand and the brand's reply in the app, both today
    assert stats.skipped == 1 and stats.claimed == 1
    assert stats.per_responder["alice"] == {"replied": 1, "skipped": 0, "claimed": 0}
    assert stats.per_responder["bob"] == {"replied": 0, "skipped": 1, "claimed": 0}
    assert stats.per_responder["dave"] == {"replied": 0, "skipped": 0, "claimed": 1}
    assert "carol" not in stats.per_responder  # replied three days ago: outside the window
    assert stats.arrived == 1  # comments count by when they reached the bot: only "new"
    # first responses in the window (both ~3 days late) and old_c's deadline (passed 3 days ago, not in it)
    assert (stats.sla_met, stats.sla_total) == (0, 2)

    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue stats --since 1d"))
    fields = {f.label: f.value for f in reply.fields}
    assert fields["已回复 Responded"] == "2" and fields["已跳过 Skipped"] == "1" and fields["认领 Claimed"] == "1"
    assert fields["新到评论 Arrived"] == "1"
    # the text says what each figure counts
    assert "按操作发生的时间计" in reply.text and "按评论到达机器人的时间计" in reply.text
    assert "count actions taken in the window" in reply.text
    assert "dave：回复 0，跳过 0，认领 1" in reply.text
