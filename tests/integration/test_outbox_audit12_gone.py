"""Audit 12, item 6: an update whose message was deleted (Slack) or recalled (Feishu) posts its version as a
new message, and later updates edit that one.

Before, once a run card or an alert was deleted on the platform's side, every later state change failed
(`message_not_found` on chat.update, 230011 on Feishu's patch), one failed row per change for the rest of the
run, and the card with its buttons stayed gone. The outbox and the real ports (slack_sdk, lark-oapi) against
the local fake Slack and Feishu servers.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.adapters.slack.port import SlackChatPort
from bot.messages import Button, Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.feishu_api import FakeFeishuApi
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack, ScriptedAnswer, lost_response


@pytest.fixture
def slack(clock):
    # Message ts follow the test clock, as Slack's follow real time, so `oldest` means the same to both.
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        yield fake


@pytest.fixture
def feishu():
    with FakeFeishuApi() as fake:
        yield fake


def slack_outbox(db, clock, slack: FakeSlack) -> Outbox:
    outbox = Outbox(db, clock)
    outbox.register_port(SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None))
    return outbox


def feishu_outbox(db, clock, feishu: FakeFeishuApi) -> Outbox:
    outbox = Outbox(db, clock)
    # a fresh app id per test: the SDK caches tenant tokens process-wide, keyed by app id
    settings = FeishuSettings(f"cli_{uuid.uuid4().hex[:12]}", "secret", domain=feishu.url)
    outbox.register_port(FeishuChatPort(settings))
    return outbox


def card(version: int, state: str) -> Message:
    return Message(title="危机预案：负面舆情爆发", text=f"v{version} {state}",
                   buttons=(Button("完成步骤", "crisis.done", f"1:step{version}"),))


def row_for(db, key: str) -> OutboxMessage:
    with db.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def bot_posts(slack: FakeSlack, channel: str = "C1") -> list[dict]:
    """What the channel shows (only the bot writes in these tests)."""
    return slack.channel_messages(channel)


def test_a_deleted_slack_card_comes_back_at_its_next_change_and_later_changes_edit_it(db, clock, slack):
    outbox = slack_outbox(db, clock, slack)
    outbox.send(channel="slack:C1", message=card(1, "已启动"), key="crisis:1:card")
    outbox.drain()
    first_ts = row_for(db, "crisis:1:card").platform_message_id
    assert slack.delete_message("C1", first_ts)  # someone deleted the run card in Slack

    outbox.send(channel="slack:C1", message=card(2, "triage 完成"), key="crisis:1:card:v2", update_of="crisis:1:card")
    outbox.drain()

    (reposted,) = bot_posts(slack)  # the card is back, with its buttons, showing the latest state
    assert reposted["text"].endswith("v2 triage 完成") and reposted["ts"] != first_ts
    (post,) = [c for c in slack.successful("chat.postMessage") if c.answer["ts"] == reposted["ts"]]
    assert any(block["type"] == "actions" for block in post.args["blocks"])
    assert post.args["metadata"]["event_payload"]["key"] == "crisis:1:card:v2"
    v2 = row_for(db, "crisis:1:card:v2")
    assert (v2.status, v2.platform_message_id, v2.last_error) == ("sent", reposted["ts"], None)
    assert row_for(db, "crisis:1:card").platform_message_id == reposted["ts"]  # later updates target it

    outbox.send(channel="slack:C1", message=card(3, "monitor 完成"), key="crisis:1:card:v3", update_of="crisis:1:card")
    outbox.drain()

    edit = slack.successful("chat.update")[-1]
    assert edit.args["ts"] == reposted["ts"]  # edited in place, not posted again
    (shown,) = bot_posts(slack)
    assert shown["text"].endswith("v3 monitor 完成")
    with db.session() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert failed == []


def test_a_lost_answer_to_the_repost_does_not_post_it_twice_after_a_restart(db, clock, slack):
    """The repost is keyed by the update's row: its answer lost, the process restarted (nothing in memory),
    the retry meets the deleted message again and finds the repost in the channel instead of posting it a
    second time (the maybe-sent mark was written when the row was claimed)."""
    outbox = slack_outbox(db, clock, slack)
    outbox.send(channel="slack:C1", message=card(1, "已启动"), key="crisis:2:card")
    outbox.drain()
    slack.delete_message("C1", row_for(db, "crisis:2:card").platform_message_id)
    slack.script("chat.postMessage", lost_response())  # Slack stores the repost, the answer is lost
    outbox.send(channel="slack:C1", message=card(2, "triage 完成"), key="crisis:2:card:v2", update_of="crisis:2:card")
    outbox.drain()
    pending = row_for(db, "crisis:2:card:v2")
    assert pending.status == "pending" and pending.maybe_sent_since is not None
    assert len(bot_posts(slack)) == 1

    restarted = slack_outbox(db, clock, slack)
    clock.advance(timedelta(minutes=6))  # past the backoff
    restarted.drain()

    (reposted,) = bot_posts(slack)  # still one card
    assert row_for(db, "crisis:2:card:v2").status == "sent"
    assert row_for(db, "crisis:2:card:v2").platform_message_id == reposted["ts"]
    assert row_for(db, "crisis:2:card").platform_message_id == reposted["ts"]
    assert len(slack.calls("conversations.history")) == 1


def test_other_refusals_of_an_update_still_fail_without_a_post(db, clock, slack):
    outbox = slack_outbox(db, clock, slack)
    outbox.send(channel="slack:C1", message=card(1, "已启动"), key="crisis:3:card")
    outbox.drain()
    slack.script("chat.update", ScriptedAnswer(200, {"ok": False, "error": "cant_update_message"}))
    outbox.send(channel="slack:C1", message=card(2, "triage 完成"), key="crisis:3:card:v2", update_of="crisis:3:card")
    outbox.drain()

    row = row_for(db, "crisis:3:card:v2")
    assert row.status == "failed" and row.last_error.startswith("cant_update_message")
    assert len(slack.successful("chat.postMessage")) == 1  # only the card itself


def test_an_answer_through_a_response_url_is_never_reposted_into_the_channel(db, clock, slack):
    """Only the person who asked saw it: a refused replacement must not show it to the whole channel."""
    outbox = slack_outbox(db, clock, slack)
    url = slack.response_url("cmd1")
    outbox.send(channel="slack:C1", key="answer:1",
                message=Message(text="只给你看", ephemeral=True, meta={"reply": {"response_url": url}}))
    outbox.drain()
    assert row_for(db, "answer:1").platform_message_id == "rurl:" + url
    slack.script("response_url", ScriptedAnswer(404, "message_not_found"))
    outbox.send(channel="slack:C1", key="answer:1:v2", update_of="answer:1",
                message=Message(text="只给你看 v2", ephemeral=True, meta={"reply": {"response_url": url}}))
    outbox.drain()

    assert row_for(db, "answer:1:v2").status == "failed"
    assert slack.calls("chat.postMessage") == [] and slack.calls("chat.postEphemeral") == []


def test_a_recalled_feishu_card_comes_back_and_later_updates_patch_the_new_one(db, clock, feishu):
    outbox = feishu_outbox(db, clock, feishu)
    outbox.send(channel="feishu:oc_ops", message=card(1, "已启动"), key="crisis:4:card")
    outbox.drain()
    first_id = row_for(db, "crisis:4:card").platform_message_id
    feishu.withdrawn.add(first_id)  # someone recalled the card in Feishu

    outbox.send(channel="feishu:oc_ops", message=card(2, "triage 完成"), key="crisis:4:card:v2",
                update_of="crisis:4:card")
    outbox.drain()

    (patch,) = feishu.calls("message.patch")
    assert patch.path.endswith(first_id)  # tried in place first: 230011
    new_id = row_for(db, "crisis:4:card:v2").platform_message_id
    assert new_id != first_id and row_for(db, "crisis:4:card:v2").status == "sent"
    assert "v2 triage 完成" in json.dumps(feishu.messages[new_id].card, ensure_ascii=False)
    assert row_for(db, "crisis:4:card").platform_message_id == new_id

    outbox.send(channel="feishu:oc_ops", message=card(3, "monitor 完成"), key="crisis:4:card:v3",
                update_of="crisis:4:card")
    outbox.drain()

    assert feishu.calls("message.patch")[-1].path.endswith(new_id)
    assert "v3 monitor 完成" in json.dumps(feishu.messages[new_id].card, ensure_ascii=False)
    assert len(feishu.calls("message.create")) == 2  # the card and its one repost
    assert row_for(db, "crisis:4:card:v3").status == "sent"
