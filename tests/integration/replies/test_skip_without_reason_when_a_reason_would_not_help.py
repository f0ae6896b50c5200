"""A skip without a reason is answered "a skip needs a reason" only when a reason would let it through. For an
item that does not exist here (or is another client's), is claimed by someone else or is already handled, the
answer is that refusal itself: asking for a reason sent people to type one only to be refused anyway."""

from __future__ import annotations

import itertools

from sqlmodel import select

from bot.messages import Action, Command
from bot.replies.models import ReplyQueueItem

from .conftest import ago, rec

_events = itertools.count(1)


def _say(bot, text: str, *, user: str = "console:alice", channel: str = "console:lanji"):
    (answer,) = bot.dispatcher.handle(Command("console", channel, user, text, user_name=user.partition(":")[2],
                                              event_id=f"skipr-{next(_events)}"))
    return answer.text


def _press_skip(bot, item_id: int, *, user: str) -> str:
    (answer,) = bot.dispatcher.handle(Action("console", "console:lanji", user, f"reply.skip:{item_id}",
                                             str(item_id), user_name=user.partition(":")[2], form={},
                                             event_id=f"skipr-{next(_events)}"))
    return answer.text


def _ids(db) -> dict[str, int]:
    with db.session() as s:
        return {i.comment_id: i.id for i in s.exec(select(ReplyQueueItem)).all()}


def test_a_reasonless_skip_says_why_a_reason_would_not_help(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([
        rec("mine", ago(clock, 10), "什么时候发货"),
        rec("held", ago(clock, 10), "能退吗"),
        rec("other", ago(clock, 5), "坏了", platform="bilibili", account_id="xiaochu_kitchen"),
    ], source="test")
    ids = _ids(db)
    # still asks for a reason where one would do
    assert "需要说明原因" in _say(rq_bot, f"/reply-queue skip {ids['mine']}")
    # no such item, and another client's item, read alike
    assert "没有编号为 #99999 的评论" in _say(rq_bot, "/reply-queue skip 99999")
    other = _say(rq_bot, f"/reply-queue skip {ids['other']}")
    assert f"没有编号为 #{ids['other']} 的评论" in other and "原因" not in other
    # claimed by bob: alice is told so, typed or pressed
    assert "认领了" in _say(rq_bot, f"/reply-queue claim {ids['held']}", user="console:bob")
    for answer in (_say(rq_bot, f"/reply-queue skip {ids['held']}"), _press_skip(rq_bot, ids["held"], user="console:alice")):
        assert "已被 bob 认领" in answer and "需要说明原因" not in answer
    # already replied: said so, not "type a reason"
    _say(rq_bot, f"/reply-queue done {ids['mine']}")
    done = _say(rq_bot, f"/reply-queue skip {ids['mine']}", user="console:carol")
    assert f"#{ids['mine']} 已处理" in done and "需要说明原因" not in done
    with db.session() as s:
        assert s.get(ReplyQueueItem, ids["held"]).state == "open"
