"""How late a queue item is reads as /crisis words late steps: "刚刚逾期 / just overdue" under a minute (it
read "逾期 0分钟 / OVERDUE"), whole minutes after that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.replies.models import ReplyQueueItem

from .conftest import cmd, rec


def _head(rq_bot) -> str:
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue --overdue"))
    (section,) = reply.sections
    return section.text.splitlines()[0]


def test_a_just_late_item_says_so_and_later_whole_minutes(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q1", clock.now(), "几点开播")], source="test")
    with db.session() as session:
        item = session.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == "q1")).one()
    due = datetime.fromtimestamp(item.due_ts, UTC)
    clock.advance(due - clock.now() + timedelta(seconds=30))
    head = _head(rq_bot)
    assert "刚刚逾期 / just overdue" in head and "0分" not in head, head
    clock.advance(timedelta(minutes=5))
    head = _head(rq_bot)
    assert "逾期 5 分钟 / 5 min overdue" in head, head
