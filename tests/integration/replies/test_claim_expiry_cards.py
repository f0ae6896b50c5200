"""A claim that ran out stops showing as held on the cards, without anyone pressing a button.

After frank's 15-minute claim ended at 09:46 the cards still said "🔒 frank 认领中，至 09:46", and changed
only when someone else claimed the item. The minute job `expire_claims` lets go of claims whose time ran
out and re-renders the cards that show them.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.replies.models import ReplyEvent, ReplyQueueItem

from .conftest import ago, cmd, rec


def _queue_card(bot):
    bot.services.outbox.drain()
    (card,) = [e for e in (bot.console.entries[i] for i in bot.console.order)
               if (e.message.title or "").startswith("回复队列")]
    return card


def test_an_expired_claim_leaves_the_card_without_a_button_press(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("a", ago(clock, 10)), rec("b", ago(clock, 12))], source="test")
    rq_bot.dispatcher.handle(cmd("/reply-queue"))
    item_id = _queue_card(rq_bot).message.meta["reply_queue_card"]["items"][0]
    rq_bot.dispatcher.handle(cmd(f"/reply-queue claim {item_id}", user="console:frank", name="frank"))
    card = _queue_card(rq_bot)
    assert "frank 认领中" in card.message.text + "".join(s.text for s in card.message.sections)

    clock.advance(timedelta(minutes=10))
    assert rq_bot.services.replies.expire_claims() == 0  # still held: nothing to do
    clock.advance(timedelta(minutes=6))  # past the 15 minutes
    assert rq_bot.services.replies.expire_claims() == 1
    card = _queue_card(rq_bot)
    shown = card.message.text + "".join(s.text for s in card.message.sections)
    assert "认领中" not in shown and "已认领" not in shown, shown
    assert rq_bot.services.replies.expire_claims() == 0  # once
    with db.session() as s:
        item = s.get(ReplyQueueItem, item_id)
        assert item.claimed_by is None and item.state == "open"
        assert s.exec(select(ReplyEvent.actor).where(ReplyEvent.kind == "claim_expired")).all() == ["console:frank"]
    # free for anyone now
    (claimed,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue claim {item_id}", user="console:bob", name="bob"))
    assert "bob 认领了" in claimed.text


def test_the_job_is_scheduled(rq_bot):
    job = rq_bot.wiring.scheduler.get_job("reply-queue-claims-expire")
    assert job is not None and job.trigger.interval == timedelta(minutes=1)
