"""A queue card is updated in place when one of its items is claimed, replied to or skipped.

Pressing 认领 / 已回复 / 跳过 (or typing the same subcommand) used to post an answer while the card kept
showing the item with all its buttons; the card now shows who did what and drops the buttons of a
handled item, on the same message (console entry updated, nothing re-posted).
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.messages import Action, Command
from bot.replies.models import ReplyQueueItem
from tests.fakes.slack_api import FakeSlack, SlackSender
from tests.integration.slack.conftest import SIGNING_SECRET, running_bot, slack_settings

from .conftest import ago, rec

_events = itertools.count(1)


def _ids(db) -> dict[str, int]:
    with db.session() as s:
        return {i.comment_id: i.id for i in s.exec(select(ReplyQueueItem)).all()}


def _cards(bot, channel: str = "lanji"):
    return [e for e in (bot.console.entries[i] for i in bot.console.order)
            if e.channel_id == channel and (e.message.title or "").startswith("回复队列")]


def _run(bot, text: str, *, user: str = "console:alice"):
    bot.dispatcher.handle(Command("console", "console:lanji", user, text, user_name=user.partition(":")[2],
                                  event_id=f"t-{next(_events)}"))
    bot.services.outbox.drain()


def _press(bot, action_id: str, value: str, *, user: str = "console:alice", message_ref: str | None = None,
           form: dict | None = None):
    bot.dispatcher.handle(Action("console", "console:lanji", user, action_id, value, message_ref=message_ref,
                                 user_name=user.partition(":")[2], form=form or {}, event_id=f"t-{next(_events)}"))
    bot.services.outbox.drain()


def _section(message, item_id: int):
    return next(s for s in message.sections if s.text.startswith(f"**#{item_id}**"))


def test_skip_claim_and_reply_update_the_card_in_place(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records(
        [rec("a", ago(clock, 10), "用了过敏"), rec("b", ago(clock, 20)), rec("c", ago(clock, 30))], source="test")
    ids = _ids(db)
    _run(rq_bot, "/reply-queue")
    (card,) = _cards(rq_bot)
    assert all(_section(card.message, i).buttons for i in ids.values())

    # A press on the card itself (Slack and Feishu say which message carried the button).
    _press(rq_bot, f"reply.skip:{ids['a']}", str(ids["a"]), message_ref=card.message_id, form={"reason": "广告"})
    (card,) = _cards(rq_bot)  # still one card: updated, not posted again
    assert card.updates == 1
    skipped = _section(card.message, ids["a"])
    assert "已跳过" in skipped.text and "alice" in skipped.text and "广告" in skipped.text
    assert skipped.buttons == ()
    assert _section(card.message, ids["b"]).buttons  # the others keep theirs

    # The console's /press names no message: the card listing the item is found all the same.
    _press(rq_bot, f"reply.claim:{ids['b']}", str(ids["b"]), user="console:bob")
    (card,) = _cards(rq_bot)
    claimed = _section(card.message, ids["b"])
    assert "bob 认领中" in claimed.text and claimed.buttons  # the holder still needs 已回复
    assert "已跳过" in _section(card.message, ids["a"]).text  # the earlier change is kept

    # A typed subcommand updates the card too.
    _run(rq_bot, f"/reply-queue done {ids['c']}")
    (card,) = _cards(rq_bot)
    replied = _section(card.message, ids["c"])
    assert "已回复" in replied.text and replied.buttons == ()
    assert card.updates == 3


def test_approval_card_loses_its_buttons_once_decided(make_bot, db, clock):
    bot = make_bot(replies={"approval": {"accounts": ["douyin:lanji_official"]}},
                   roles={"approver": ["console:bob"]})
    bot.services.ingest.ingest_records([rec("a", ago(clock, 10), "用了过敏")], source="test")
    item = _ids(db)["a"]
    _run(bot, "/reply-queue")
    _run(bot, f'/reply-queue done {item} "非常抱歉，请私信我们订单号。"')
    approval = next(e for e in bot.console.entries.values() if (e.message.title or "").startswith("待审批"))
    assert approval.message.buttons
    draft = approval.message.buttons[0].value
    _press(bot, f"reply.approve:{draft}", draft, user="console:bob", message_ref=approval.message_id)
    approval = bot.console.entries[approval.message_id]
    assert approval.message.buttons == () and "已由 bob 批准" in approval.message.text
    (card,) = _cards(bot)
    assert "已回复" in _section(card.message, item).text



@pytest.mark.slow
def test_slack_skip_updates_the_queue_card_with_chat_update(sqlite_db, clock):
    config = parse_config({
        "clients": [{"id": "lanji", "name": "澜肌护肤"}],
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌", "client": "lanji"}],
        "channels": [{"id": "slack:C1", "client": "lanji"}],
    }, source="tests")
    with FakeSlack() as fake, running_bot(slack_settings(fake), config, sqlite_db, clock) as (bot, url):
        now = clock.now()
        bot.services.ingest.ingest_records([
            {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": f"q{i}",
             "text": text, "created_at": (now - timedelta(minutes=10 + i)).isoformat(), "like_count": 50 - i}
            for i, text in enumerate(["用了过敏了，怎么退款？", "客服一直不回消息"])
        ], source="test")
        sender = SlackSender(url + "/slack/events", SIGNING_SECRET, fake)
        try:
            assert sender.command("/reply-queue", "").status_code == 200
            (card,) = fake.wait_for("chat.postMessage")
            elements = [e for b in card.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
            skip = next(e for e in elements if e["action_id"].startswith("reply.skip:"))
            item = skip["action_id"].partition(":")[2]
            assert sender.button(skip["action_id"], skip.get("value", ""), message_ts=card.answer["ts"]).status_code == 200
            (opened,) = fake.wait_for("views.open")
            view = opened.args["view"] if isinstance(opened.args["view"], dict) else json.loads(opened.args["view"])
            assert sender.view_submission(view, {"reason": {"reason": {"type": "plain_text_input",
                                                                       "value": "广告"}}}).status_code == 200
            (updated,) = fake.wait_for("chat.update")
            assert updated.args["ts"] == card.answer["ts"] and updated.args["channel"] == "C1"
            blocks = json.dumps(updated.args["blocks"], ensure_ascii=False)
            assert "已跳过" in blocks and f"reply.skip:{item}\"" not in blocks
            assert f"reply.claim:{item}\"" not in blocks
            assert "reply.skip:" in blocks  # the other item keeps its buttons
        finally:
            sender.close()


@pytest.mark.slow
def test_feishu_claim_patches_the_queue_card(db, clock):
    import httpx

    from bot.app import build_app
    from tests.fakes.feishu_api import FakeFeishuApi
    from tests.integration.feishu.support import (
        FeishuEvents,
        feishu_settings,
        post_event,
        running_server,
        wait_until,
    )

    config = parse_config({
        "clients": [{"id": "lanji", "name": "澜肌护肤"}],
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌", "client": "lanji"}],
        "channels": [{"id": "feishu:oc_ops", "client": "lanji"}],
    }, source="tests")
    with FakeFeishuApi() as fake:
        app = build_app(feishu_settings(fake), config, clock=clock, db=db, upgrade=False)
        try:
            app.services.ingest.ingest_records([rec("a", ago(clock, 10), "用了过敏"), rec("b", ago(clock, 20))],
                                               source="test")
            ids = _ids(db)
            events = FeishuEvents(clock)
            with running_server(app.web) as url, httpx.Client(timeout=10) as client:
                assert post_event(client, url, events, events.message("/reply-queue", chat_id="oc_ops")).status_code == 200
                # (the answer to a command is a reply to it: the fake files it under the command's chat)
                card = wait_until(lambda: next((m for m in fake.sent() if m.msg_type == "interactive"
                                                and f"reply.claim:{ids['a']}" in json.dumps(m.card)), None),
                                  what="the queue card")
                press = events.card_action(f"reply.claim:{ids['a']}", str(ids["a"]), chat_id="oc_ops",
                                           message_id=card.message_id, open_id="ou_alice")
                assert post_event(client, url, events, press).status_code == 200
                patched = wait_until(lambda: fake.messages[card.message_id].updates, what="the queue card patched")
                text = json.dumps(json.loads(patched[-1]), ensure_ascii=False)
                assert "alice 认领中" in text or "ou_alice 认领中" in text, text[:500]
                assert len([m for m in fake.sent() if f"reply.claim:{ids['b']}" in m.content]) == 1  # not re-posted
        finally:
            app.stop()
