"""跳过 (skip with reason): a press of the skip button whose form never opened (Slack's trigger expired, views.open
failed) or came back blank is refused with the command that gives a reason; the item stays open. It used to be
skipped with the reason "—"."""

from __future__ import annotations

import itertools

from sqlmodel import select

from bot.messages import Action
from bot.replies.models import ReplyQueueItem

from .conftest import ago, rec

_events = itertools.count(1)


def _press(bot, action_id: str, value: str, form: dict) -> list:
    return bot.dispatcher.handle(Action("console", "console:lanji", "console:alice", action_id, value,
                                        user_name="alice", form=form, event_id=f"skip-{next(_events)}"))


def test_a_skip_press_without_a_reason_is_refused_and_the_item_stays_open(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("a", ago(clock, 10), "什么时候发货")], source="test")
    with db.session() as s:
        item = s.exec(select(ReplyQueueItem)).one()
    for form in ({}, {"reason": "   "}):
        (answer,) = _press(rq_bot, f"reply.skip:{item.id}", str(item.id), form)
        assert answer.ephemeral and "需要说明原因" in answer.text and f"/reply-queue skip {item.id} 原因" in answer.text
    with db.session() as s:
        assert s.get(ReplyQueueItem, item.id).state == "open"
    (answer,) = _press(rq_bot, f"reply.skip:{item.id}", str(item.id), {"reason": "广告"})
    assert "已跳过：广告" in answer.text
