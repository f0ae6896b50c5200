"""A refreshed queue card counts its items anew, and finding the cards to refresh reads only those that
show the changed item.

The summary line ("前 3 条待回复，其中 2 条逾期", now the backlog's totals) used to keep the counts of the card as posted: after
both overdue items were answered the card still said two were overdue (and kept its alarm colour). And
every press decoded the whole payload of the channel's last 60 posts to find the cards to refresh.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import event
from sqlmodel import select

from bot.messages import Action, Command
from bot.replies.models import ReplyQueueItem
from bot.storage.models import OutboxMessage

from .conftest import ago, rec

_events = itertools.count(1)


def _ids(db) -> dict[str, int]:
    with db.session() as s:
        return {i.comment_id: i.id for i in s.exec(select(ReplyQueueItem)).all()}


def _entries(bot, title: str):
    return [e for e in (bot.console.entries[i] for i in bot.console.order)
            if e.channel_id == "lanji" and (e.message.title or "").startswith(title)]


def _run(bot, text: str, *, user: str = "console:alice"):
    bot.dispatcher.handle(Command("console", "console:lanji", user, text, user_name=user.partition(":")[2],
                                  event_id=f"s-{next(_events)}"))
    bot.services.outbox.drain()


def _press(bot, action_id: str, value: str, *, user: str = "console:alice", form: dict | None = None):
    bot.dispatcher.handle(Action("console", "console:lanji", user, action_id, value,
                                 user_name=user.partition(":")[2], form=form or {}, event_id=f"s-{next(_events)}"))
    bot.services.outbox.drain()


def test_the_summary_of_a_refreshed_card_counts_its_items_as_they_are_now(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([
        rec("a", ago(clock, 60), "用了过敏"),   # negative: 30-minute deadline, overdue
        rec("b", ago(clock, 50), "烂脸了"),     # overdue
        rec("c", ago(clock, 10)),               # ordinary, fresh
    ], source="test")
    ids = _ids(db)
    _run(rq_bot, "/reply-queue")
    (card,) = _entries(rq_bot, "回复队列")
    assert "待回复 3 条，其中 **逾期 2 条**" in card.message.text and "以下为全部 3 条" in card.message.text
    assert card.message.severity == 2

    _press(rq_bot, f"reply.skip:{ids['a']}", str(ids["a"]), form={"reason": "广告"})
    (card,) = _entries(rq_bot, "回复队列")
    text = card.message.text
    assert "本卡 3 条中 2 条待回复" in text and "1 条逾期" in text and "1 条已处理" in text, text
    assert "2 条逾期" not in text and "待回复 3 条" not in text
    assert "2 of 3 unanswered, 1 overdue" in text

    _press(rq_bot, f"reply.claim:{ids['c']}", str(ids["c"]), user="console:bob")
    (card,) = _entries(rq_bot, "回复队列")
    assert "1 条已认领" in card.message.text

    _run(rq_bot, f"/reply-queue done {ids['b']}")  # the last overdue one: no alarm colour any more
    (card,) = _entries(rq_bot, "回复队列")
    text = card.message.text
    assert "本卡 3 条中 1 条待回复" in text and "逾期" not in text and "2 条已处理" in text, text
    assert card.message.severity is None

    clock.advance(timedelta(minutes=16))  # bob's 15-minute claim runs out
    _run(rq_bot, f"/reply-queue release {ids['c']}", user="console:bob")  # (his claim is gone already)
    (card,) = _entries(rq_bot, "回复队列")
    assert "已认领" not in card.message.text

    _run(rq_bot, f"/reply-queue done {ids['c']}")
    (card,) = _entries(rq_bot, "回复队列")
    assert "本卡 3 条评论已全部处理" in card.message.text and "All 3 comment(s) on this card are handled" in card.message.text
    assert card.updates == 5  # one card, edited in place each time


def test_an_item_turning_overdue_is_counted_when_the_card_is_next_refreshed(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("a", ago(clock, 20), "用了过敏"), rec("b", ago(clock, 10))],
                                          source="test")
    ids = _ids(db)
    _run(rq_bot, "/reply-queue")
    (card,) = _entries(rq_bot, "回复队列")
    assert "逾期" not in card.message.text and card.message.severity is None
    clock.advance(timedelta(minutes=15))  # "a" (30-minute deadline) is overdue now
    _press(rq_bot, f"reply.claim:{ids['b']}", str(ids["b"]))
    (card,) = _entries(rq_bot, "回复队列")
    assert "1 条逾期" in card.message.text and card.message.severity == 2


def test_a_reminder_card_says_how_many_are_overdue_now(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec(f"late{i}", ago(clock, 20 + i), "用了过敏") for i in range(3)],
                                          source="test")
    clock.advance(timedelta(hours=3))  # overdue while the bot watched (late on arrival is not reminded about)
    ids = _ids(db)
    assert rq_bot.services.replies.overdue_reminders() == 1
    rq_bot.services.outbox.drain()
    (reminder,) = _entries(rq_bot, "⏰")
    assert "有 3 条评论超过回复时限" in reminder.message.text
    _run(rq_bot, f"/reply-queue done {ids['late0']}")
    (reminder,) = _entries(rq_bot, "⏰")
    assert "现有 2 条评论超过回复时限" in reminder.message.text and "1/3 条已处理" in reminder.message.text
    assert "有 3 条" not in reminder.message.text
    _run(rq_bot, f"/reply-queue skip {ids['late1']} 重复")
    _run(rq_bot, f"/reply-queue done {ids['late2']}")
    (reminder,) = _entries(rq_bot, "⏰")
    assert "已没有超过回复时限的评论" in reminder.message.text and reminder.message.severity is None


def test_finding_the_cards_to_refresh_loads_only_the_cards_that_show_the_item(rq_bot, db, clock):
    """60 queue cards in the channel, one of them showing the item pressed: one outbox row is read whole."""
    rq_bot.services.ingest.ingest_records(
        [rec(f"c{i}", ago(clock, 5 + i), f"第{i}条：请问敏感肌能用吗") for i in range(30)], source="test")
    for _ in range(59):
        _run(rq_bot, "/reply-queue --limit 20")  # the 20 oldest: c10 .. c29
    ids = _ids(db)
    rq_bot.services.ingest.ingest_records([rec("new", ago(clock, 1), "用了过敏")], source="test")
    _run(rq_bot, "/reply-queue --limit 1")  # the negative newcomer ranks first: the one card showing it
    new_id = _ids(db)["new"]
    loaded: list[int] = []

    def on_load(target, _context):
        loaded.append(target.id)

    event.listen(OutboxMessage, "load", on_load)
    try:
        queued = rq_bot.services.replies.refresh_cards([ids["c0"]], channel="console:lanji")  # on no card
        assert queued == 0 and loaded == []
        queued = rq_bot.services.replies.refresh_cards([new_id], channel="console:lanji")
    finally:
        event.remove(OutboxMessage, "load", on_load)
    assert queued == 1
    assert len(loaded) == 1, f"{len(loaded)} outbox rows read whole to refresh one card"
