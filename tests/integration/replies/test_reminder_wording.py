"""Overdue reminders say what they show, name who holds a claimed item, and do not page through the backlog.

With 8 overdue items one reminder named 5, and the next tick sent "最紧急的 3 条如下" for the other 3: not
the most urgent, just the ones not named yet; with a long backlog a new card came every interval until
every item had been named once. A reminder now counts every overdue item (listed or not), lists the most
urgent, says how many more there are; the next comes when something new goes overdue or after
`repeat_minutes`.
"""

from __future__ import annotations

from datetime import timedelta

from .conftest import ago, cmd, rec


def _reminders(bot):
    bot.services.outbox.drain()
    return [m for m in bot.console.messages("lanji") if (m.title or "").startswith("⏰")]


def test_eight_overdue_one_card_then_quiet_until_something_new(rq_bot, clock):
    service = rq_bot.services.replies
    rq_bot.services.ingest.ingest_records([rec(f"late{i}", ago(clock, 20 + i), "用了过敏", like_count=100 * i)
                                           for i in range(8)], source="test")
    clock.advance(timedelta(hours=1))
    assert service.overdue_reminders() == 1
    (first,) = _reminders(rq_bot)
    assert "有 8 条评论超过回复时限" in first.text and "最紧急的 5 条如下；另有 3 条逾期未在此列出" in first.text, first.text
    assert "3 more overdue not listed here" in first.text
    shown = first.meta["reply_queue_card"]["items"]
    assert len(shown) == 5

    clock.advance(timedelta(minutes=15))  # the next tick: nothing new went overdue
    assert service.overdue_reminders() == 0
    assert len(_reminders(rq_bot)) == 1

    rq_bot.dispatcher.handle(cmd(f"/reply-queue claim {shown[0]}", user="console:frank", name="frank"))
    rq_bot.services.ingest.ingest_records([rec("fresh", ago(clock, 20), "用了过敏")], source="test")
    clock.advance(timedelta(minutes=14))  # "fresh" is overdue now (frank's 15-minute claim still holds)
    assert service.overdue_reminders() == 1
    second = _reminders(rq_bot)[-1]
    assert "有 9 条评论超过回复时限，其中 1 条是上次提醒后新逾期的" in second.text, second.text
    assert f"#{shown[0]} frank" in second.text, second.text  # the claimer, named

    clock.advance(timedelta(minutes=30))
    assert service.overdue_reminders() == 0  # all counted 30 minutes ago
    clock.advance(timedelta(minutes=30, seconds=1))  # repeat_minutes (60) after the last reminder
    assert service.overdue_reminders() == 1
    assert len(_reminders(rq_bot)) == 3


def test_more_items_than_a_card_holds_go_out_as_several_cards(make_bot, clock):
    bot = make_bot(replies={"reminders": {"max_items": 12}})
    bot.services.ingest.ingest_records([rec(f"late{i}", ago(clock, 10 + i), "用了过敏") for i in range(12)],
                                       source="test")
    clock.advance(timedelta(hours=1))
    assert bot.services.replies.overdue_reminders() == 1
    cards = _reminders(bot)
    assert [len(c.sections) for c in cards] == [5, 5, 2]
    assert "最紧急的 12 条如下" in cards[0].text and "另有" not in cards[0].text
