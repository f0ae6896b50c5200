"""Feishu fixes from an outside-in audit: other bots' mentions, answers for one person, 14-day-old cards.

- With the "read all group messages" scope, "@天气机器人 明天北京天气" was taken for a command to crisisbot
  ("未知命令 /帮我查一下明天北京天气"): every bot's @ counted as ours. The bot now learns its own open_id
  (bot.v3.info) and only its own @ addresses it.
- Answers meant for one person ("步骤 triage 已是「完成」" on each press, "这个按钮已失效", a refusal in the
  wrong chat) were posted to the whole group: they are now cards only that person sees (ephemeral.v1.send),
  a reply as before when Feishu refuses one.
- Feishu patches only messages sent within 14 days (230031): an old run or queue card's update failed and
  was marked failed; it is now posted as a new card, as for a recalled one.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlmodel import select

from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.messages import Button, Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import FeishuEvents, post_event, private_answers, wait_until


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


def _port(fake: FakeFeishuApi) -> FeishuChatPort:
    # a fresh app id each time: the SDK caches tenant tokens process-wide, by app id
    return FeishuChatPort(FeishuSettings(f"cli_{uuid.uuid4().hex[:12]}", "secret", domain=fake.url))


def _answer(text: str, *, chat_type: str | None = None) -> Message:
    reply = {"message_id": "om_card_7", **({"chat_type": chat_type} if chat_type else {})}
    return Message(text=text, ephemeral=True, meta={"reply": reply, "in_reply_to_user": "feishu:ou_bob"})


# ---- answers for one person --------------------------------------------------------------------------
def test_an_answer_for_one_person_is_a_card_only_they_see_in_the_group(fake):
    port = _port(fake)
    for _ in range(3):  # the same press, three times
        message_id = port.post("feishu:oc_ops", _answer("步骤 triage 已是「完成」/ step triage is already done"),
                               idempotency_key=f"k{uuid.uuid4().hex}")
        assert message_id.startswith("ephemeral:")
    assert fake.sent() == []  # nothing in the group
    (body, *_rest) = fake.ephemerals
    assert (body["chat_id"], body["open_id"], body["msg_type"]) == ("oc_ops", "ou_bob", "interactive")
    assert "已是「完成」" in private_answers(fake, "ou_bob")[0] and len(fake.ephemerals) == 3
    # it cannot be patched: an update of it is skipped, never re-posted into the group
    port.update("feishu:oc_ops", message_id, Message(text="v2"))
    assert fake.calls("message.patch") == []
    assert not port.update_target_gone(_gone(), message_id)


def _gone():
    from bot.messages import PermanentChatError

    return PermanentChatError("gone", code="230011")


def test_when_feishu_refuses_the_private_card_the_answer_is_a_reply_as_before(fake):
    port = _port(fake)
    fake.fail_next("ephemeral.send", "code", code=230002)  # e.g. a topic group or a direct chat
    message_id = port.post("feishu:oc_ops", _answer("这个按钮已失效"), idempotency_key="k-fallback")
    (reply,) = fake.sent()
    assert reply.message_id == message_id and reply.parent_id == "om_card_7"
    assert fake.ephemerals == []


def test_in_a_direct_chat_the_answer_is_an_ordinary_reply(fake):
    port = _port(fake)
    port.post("feishu:oc_dm", _answer("未知命令", chat_type="p2p"), idempotency_key="k-dm")
    assert fake.calls("ephemeral.send") == [] and len(fake.sent()) == 1


# ---- cards older than 14 days ------------------------------------------------------------------------
def _row(db, key: str) -> OutboxMessage:
    with db.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def test_a_card_too_old_to_patch_comes_back_as_a_new_card(db, clock, fake):
    outbox = Outbox(db, clock)
    outbox.register_port(_port(fake))
    card = lambda n: Message(title="危机预案", text=f"v{n}", buttons=(Button("完成", "crisis.done", "1:s"),))  # noqa: E731
    outbox.send(channel="feishu:oc_ops", message=card(1), key="crisis:9:card")
    outbox.drain()
    first_id = _row(db, "crisis:9:card").platform_message_id
    fake.expired.add(first_id)  # sent more than 14 days ago: patch answers 230031

    outbox.send(channel="feishu:oc_ops", message=card(2), key="crisis:9:card:v2", update_of="crisis:9:card")
    outbox.drain()

    new_id = _row(db, "crisis:9:card:v2").platform_message_id
    assert fake.calls("message.patch") and new_id != first_id
    assert _row(db, "crisis:9:card:v2").status == "sent"
    assert '"v2"' in json.dumps(fake.messages[new_id].card["body"]["elements"][0]["content"])


# ---- mentions of other bots --------------------------------------------------------------------------
def test_the_bot_learns_its_own_open_id(fake):
    fake.bot_open_id = "ou_ours"
    port = _port(fake)
    assert port.learn_bot_open_id() == "ou_ours" and port.bot_open_id() == "ou_ours"
    assert len(fake.calls("bot.info")) == 1


def test_a_message_to_another_bot_in_the_group_is_not_a_command(served_bot, clock):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    # learnt in the background from the start (the fake answers "ou_crisisbot", the tests' bot)
    wait_until(bot.services.outbox.ports["feishu"].bot_open_id, what="the bot's open_id")
    weather = events.message("帮我查一下明天北京天气", mention_bot=False)
    weather["event"]["message"]["content"] = json.dumps({"text": "@_user_1 帮我查一下明天北京天气"})
    weather["event"]["message"]["mentions"] = [
        {"key": "@_user_1", "id": {"open_id": "ou_weatherbot"}, "name": "天气机器人", "mentioned_type": "bot"}]
    other_help = events.message("help", mention_bot=False)
    other_help["event"]["message"]["content"] = json.dumps({"text": "@_user_1 help"})
    other_help["event"]["message"]["mentions"] = weather["event"]["message"]["mentions"]
    assert post_event(client, url, events, weather).status_code == 200
    assert post_event(client, url, events, other_help).status_code == 200
    ours = events.message("help")  # our own @ (the fake's bot open_id): answered
    post_event(client, url, events, ours)
    wait_until(lambda: [m for m in fake.sent() if m.parent_id == ours["event"]["message"]["message_id"]],
               what="the answer to our own mention")
    assert [m.parent_id for m in fake.sent()] == [ours["event"]["message"]["message_id"]]
    assert fake.ephemerals == []  # no "未知命令" to anyone either


def test_when_the_open_id_cannot_be_learnt_it_is_said_once(fake, caplog):
    port = _port(fake)
    fake.fail_next("bot.info", "code", times=2, code=230006)  # the bot ability off, say
    with caplog.at_level("WARNING", logger="bot.adapters.feishu.port"):
        assert port.learn_bot_open_id() is None and port.learn_bot_open_id() is None
    assert sum("own open_id" in r.getMessage() for r in caplog.records) == 1
    assert port.learn_bot_open_id() == "ou_crisisbot"  # once Feishu tells, it is known
