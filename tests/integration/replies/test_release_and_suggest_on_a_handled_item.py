"""A comment answered in the app (or by a teammate) while someone held it: their `release` said "#N 不是你认领的"
as if they never had, and `suggest` offered replies "to post" for a comment already answered. Both now say it
is handled, and by whom."""

from __future__ import annotations

import itertools

from sqlmodel import select

from bot.messages import Command
from bot.replies.models import ReplyEvent

from .conftest import ago, own, rec

_events = itertools.count(1)


def _say(bot, text: str, *, user: str = "console:alice", channel: str = "console:lanji"):
    (answer,) = bot.dispatcher.handle(Command("console", channel, user, text, user_name=user.partition(":")[2],
                                              event_id=f"rel-{next(_events)}"))
    return answer


def test_release_and_suggest_after_the_brand_answered_in_the_app(rq_bot, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 5), "请问哪里买")], source="test")
    assert "alice 认领了 #1" in _say(rq_bot, "/reply-queue claim 1").text
    rq_bot.services.ingest.ingest_records([own("r", clock.now(), "q", "您好，已私信")], source="test")
    released = _say(rq_bot, "/reply-queue release 1")
    assert released.text.startswith("#1 已处理（品牌账号在平台内回复") and "不是你认领的" not in released.text
    suggested = _say(rq_bot, "/reply-queue suggest 1")
    assert suggested.text.startswith("#1 已处理（") and not suggested.all_buttons()


def test_release_of_an_open_item_held_by_nobody_still_says_not_yours(rq_bot, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 5), "请问哪里买")], source="test")
    assert _say(rq_bot, "/reply-queue release 1").text == "#1 不是你认领的。\nYou do not hold #1."
    assert _say(rq_bot, "/reply-queue suggest 1").all_buttons()  # open: replies to pick from


def test_release_after_replying_oneself_says_handled_not_released(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 5), "请问哪里买")], source="test")
    _say(rq_bot, "/reply-queue claim 1", user="console:bob")
    _say(rq_bot, "/reply-queue done 1", user="console:bob")
    released = _say(rq_bot, "/reply-queue release 1", user="console:bob")
    assert released.text == "#1 已处理（bob）。\n#1 is already handled (bob)."
    with db.session() as s:
        kinds = [e.kind for e in s.exec(select(ReplyEvent).where(ReplyEvent.item_id == 1)).all()]
    assert "released" not in kinds
