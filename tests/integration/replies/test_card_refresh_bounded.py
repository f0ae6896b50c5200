"""A press re-renders a bounded number of queue cards, and a card's waiting refresh takes the newer version.

One press used to re-render every card of the channel's last 60 posts that showed the item: up to 60
chat.update / card patches queued in the channel (Slack allows about 50 a minute), ahead of whatever was
queued next there, a crisis alert included. Now: the pressed card, plus the CARD_REFRESH_OTHERS newest
other cards showing the item; a card whose refresh has not gone out yet gets the newer version in place of
it, not a second edit behind it; and a message queued after the press goes out before the card edits.
"""

from __future__ import annotations

import io
import itertools

from sqlmodel import select

from bot.messages import Action, Command, Message
from bot.replies.models import ReplyQueueItem
from bot.replies.service import CARD_REFRESH_OTHERS
from bot.storage.models import OutboxMessage

from .conftest import ago, rec

_events = itertools.count(1)
CARDS = 12  # more cards showing the item than a press refreshes


def _ids(db) -> dict[str, int]:
    with db.session() as s:
        return {i.comment_id: i.id for i in s.exec(select(ReplyQueueItem)).all()}


def _cards(bot):
    return [e for e in (bot.console.entries[i] for i in bot.console.order)
            if e.channel_id == "lanji" and (e.message.title or "").startswith("回复队列")]


def _handle(bot, event, *, drain: bool = True):
    bot.dispatcher.handle(event)
    if drain:
        bot.services.outbox.drain()


def _run(bot, text: str, *, user: str = "console:alice", drain: bool = True):
    _handle(bot, Command("console", "console:lanji", user, text, user_name=user.partition(":")[2],
                         event_id=f"b-{next(_events)}"), drain=drain)


def _press(bot, action_id: str, value: str, *, message_ref: str | None = None, user: str = "console:alice",
           drain: bool = True):
    _handle(bot, Action("console", "console:lanji", user, action_id, value, message_ref=message_ref,
                        user_name=user.partition(":")[2], event_id=f"b-{next(_events)}"), drain=drain)


def _pending_edits(db) -> list[OutboxMessage]:
    with db.session() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.status == "pending",
                                                       OutboxMessage.kind == "refresh")).all())


def _section_text(message, item_id: int) -> str:
    return next(s.text for s in message.sections if s.text.startswith(f"**#{item_id}**"))


def _channel_with_cards(bot, db, clock, n: int = CARDS):
    bot.services.ingest.ingest_records(
        [rec("a", ago(clock, 10), "用了过敏"), rec("b", ago(clock, 20)), rec("c", ago(clock, 30))], source="test")
    for _ in range(n):
        _run(bot, "/reply-queue")  # each posts a card showing a, b and c
    cards = _cards(bot)
    assert len(cards) == n and all(card.updates == 0 for card in cards)
    return _ids(db), cards


def test_a_press_on_an_old_card_refreshes_it_and_only_the_newest_others(rq_bot, db, clock):
    ids, cards = _channel_with_cards(rq_bot, db, clock)
    oldest = cards[0]
    _press(rq_bot, f"reply.claim:{ids['a']}", str(ids["a"]), message_ref=oldest.message_id)
    refreshed = [card for card in _cards(rq_bot) if card.updates]
    newest = {card.message_id for card in cards[-CARD_REFRESH_OTHERS:]}
    assert {card.message_id for card in refreshed} == {oldest.message_id} | newest
    assert all("alice 认领中" in _section_text(card.message, ids["a"]) for card in refreshed)
    untouched = [card for card in _cards(rq_bot) if not card.updates]
    assert len(untouched) == CARDS - CARD_REFRESH_OTHERS - 1
    assert all("认领中" not in _section_text(card.message, ids["a"]) for card in untouched)


def test_a_typed_subcommand_refreshes_the_newest_cards_only(rq_bot, db, clock):
    ids, cards = _channel_with_cards(rq_bot, db, clock)
    queued = rq_bot.services.replies.refresh_cards([ids["b"]], channel="console:lanji")
    assert queued == CARD_REFRESH_OTHERS + 1  # no pressed card: the newest one stands in for it
    _run(rq_bot, f"/reply-queue skip {ids['b']} 广告")
    refreshed = {card.message_id for card in _cards(rq_bot) if card.updates}
    assert refreshed == {card.message_id for card in cards[-(CARD_REFRESH_OTHERS + 1):]}


def test_presses_before_the_cards_go_out_leave_one_edit_per_card_with_both_changes(rq_bot, db, clock):
    ids, cards = _channel_with_cards(rq_bot, db, clock, n=3)
    pressed = cards[-1].message_id
    _press(rq_bot, f"reply.claim:{ids['a']}", str(ids["a"]), message_ref=pressed, drain=False)
    first = {row.update_of: row.id for row in _pending_edits(db)}
    assert len(first) == 3
    _press(rq_bot, f"reply.claim:{ids['b']}", str(ids["b"]), message_ref=pressed, user="console:bob", drain=False)
    _run(rq_bot, f"/reply-queue skip {ids['c']} 广告", drain=False)
    pending = _pending_edits(db)
    assert len(pending) == 3, f"{len(pending)} edits queued for 3 cards"
    assert {row.update_of: row.id for row in pending} == first  # the same rows, in their place in the queue
    rq_bot.services.outbox.drain()
    for card in _cards(rq_bot):
        assert card.updates == 1
        assert "alice 认领中" in _section_text(card.message, ids["a"])
        assert "bob 认领中" in _section_text(card.message, ids["b"])
        assert "已跳过" in _section_text(card.message, ids["c"])


def test_a_message_queued_after_a_press_goes_out_before_the_card_edits(rq_bot, db, clock):
    ids, cards = _channel_with_cards(rq_bot, db, clock, n=8)
    _press(rq_bot, f"reply.claim:{ids['a']}", str(ids["a"]), message_ref=cards[0].message_id, drain=False)
    assert len(_pending_edits(db)) == CARD_REFRESH_OTHERS + 1
    rq_bot.services.outbox.send(channel="console:lanji", message=Message(title="🚨 负面评论激增 / negative spike"),
                                key="alert:test")
    rq_bot.console.echo = transcript = io.StringIO()  # the console prints each post and edit as it is made
    rq_bot.services.outbox.drain()
    calls = ["edit" if "（已更新 / updated）" in block else "alert" if "负面评论激增" in block
             else "answer" if "alice 认领了" in block else block
             for block in transcript.getvalue().split("\n#lanji\n")[1:]]
    # New messages in the order they were queued (the press's answer, then the alert), then the card edits.
    assert calls == ["answer", "alert"] + ["edit"] * (CARD_REFRESH_OTHERS + 1)
