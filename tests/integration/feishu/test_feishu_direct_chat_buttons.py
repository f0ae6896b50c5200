"""Button presses in a Feishu direct (p2p) chat: an answer meant for one person is an ordinary reply there.

A command's event says its chat is p2p, but a button press's (card.action.trigger) names only the chat. Every
press answered for one person in a direct chat ("这个按钮已失效", "already claimed") first tried
ephemeral.v1.send, which Feishu refuses outside group chats: a wasted call before the reply on each press.
The port now remembers the direct chats whose commands it answered; in a group the card only that person
sees is sent as before.
"""

from __future__ import annotations

import uuid

import pytest

from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.messages import Message
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import FeishuEvents, post_event, private_answers, wait_until


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


def _port(fake: FakeFeishuApi) -> FeishuChatPort:
    # a fresh app id each time: the SDK caches tenant tokens process-wide, by app id
    return FeishuChatPort(FeishuSettings(f"cli_{uuid.uuid4().hex[:12]}", "secret", domain=fake.url))


def _command_answer(chat_type: str) -> Message:
    """The answer to a command typed in the chat: its event said the chat's type."""
    reply = {"message_id": f"om_cmd_{uuid.uuid4().hex[:6]}", "chat_type": chat_type}
    return Message(text="/help", meta={"reply": reply, "in_reply_to_user": "feishu:ou_bob"})


def _press_answer(card_id: str) -> Message:
    """The answer to a button press, for the presser only: the press's event names no chat type."""
    return Message(text="这个按钮已失效。", ephemeral=True,
                   meta={"reply": {"message_id": card_id}, "in_reply_to_user": "feishu:ou_bob"})


def test_a_press_in_a_direct_chat_is_answered_without_an_ephemeral_call(fake):
    port = _port(fake)
    port.post("feishu:oc_dm", _command_answer("p2p"), idempotency_key="k-help")
    message_id = port.post("feishu:oc_dm", _press_answer("om_card_dm"), idempotency_key="k-press")
    assert fake.calls("ephemeral.send") == []
    (reply,) = [m for m in fake.sent() if m.parent_id == "om_card_dm"]
    assert reply.message_id == message_id


def test_a_press_in_a_group_is_still_a_card_only_the_presser_sees(fake):
    port = _port(fake)
    port.post("feishu:oc_dm", _command_answer("p2p"), idempotency_key="k-dm")  # another chat's type
    port.post("feishu:oc_ops", _command_answer("group"), idempotency_key="k-help")
    message_id = port.post("feishu:oc_ops", _press_answer("om_card_ops"), idempotency_key="k-press")
    assert message_id.startswith("ephemeral:") and len(fake.calls("ephemeral.send")) == 1
    assert "按钮已失效" in private_answers(fake, "ou_bob", "oc_ops")[0]
    assert not [m for m in fake.sent() if m.parent_id == "om_card_ops"]  # nothing in the group for it


def test_through_the_served_bot_a_direct_chat_press_makes_no_ephemeral_request(served_bot, clock):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    typed = events.message("/help", chat_type="p2p", chat_id="oc_dm", open_id="ou_bob", mention_bot=False)
    assert post_event(client, url, events, typed).status_code == 200
    (card,) = wait_until(lambda: [m for m in fake.sent() if m.parent_id == typed["event"]["message"]["message_id"]],
                         what="the answer to /help")
    # a press on that card of a button no longer known
    stale = events.card_action("nosuch.action", "1", chat_id="oc_dm", message_id=card.message_id, open_id="ou_bob")
    assert post_event(client, url, events, stale).status_code == 200
    (answer,) = wait_until(lambda: [m for m in fake.sent() if m.parent_id == card.message_id],
                           what="the answer to the press")
    assert "未知按钮 nosuch.action" in str(answer.card)
    assert fake.calls("ephemeral.send") == []

    # the same press in a group: a card only the presser sees, as before
    in_group = events.card_action("nosuch.action", "1", chat_id="oc_ops", message_id="om_card_ops", open_id="ou_bob")
    assert post_event(client, url, events, in_group).status_code == 200
    wait_until(lambda: private_answers(fake, "ou_bob", "oc_ops"), what="the private answer in the group")
    assert [call.body["chat_id"] for call in fake.calls("ephemeral.send")] == ["oc_ops"]
