"""Feishu event payloads -> neutral Command / Action (pure; plain dict payloads as Feishu sends)."""

from __future__ import annotations

import json

from bot.adapters.feishu.events import (
    action_from_card_event,
    command_from_message_event,
    message_text,
    strip_mentions,
)


def message_event(text: str, *, chat_type: str = "group", mentions=None, sender_type: str = "user", **kw) -> dict:
    return {
        "schema": "2.0",
        "header": {"event_id": kw.get("event_id", "ev-1"), "event_type": "im.message.receive_v1"},
        "event": {
            "sender": {"sender_id": {"open_id": "ou_alice"}, "sender_type": sender_type},
            "message": {
                "message_id": "om_1",
                "chat_id": "oc_ops",
                "chat_type": chat_type,
                "message_type": kw.get("message_type", "text"),
                "content": kw.get("content", json.dumps({"text": text})),
                "mentions": mentions
                if mentions is not None
                else [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "crisisbot"}],
            },
        },
    }


def test_group_command_with_bot_mention():
    cmd = command_from_message_event(message_event("@_user_1 /crisis start 负面舆情爆发 --severity 1"))
    assert cmd is not None
    assert cmd.platform == "feishu"
    assert cmd.channel == "feishu:oc_ops"
    assert cmd.user == "feishu:ou_alice"
    assert cmd.text == "/crisis start 负面舆情爆发 --severity 1"
    assert cmd.event_id == "ev-1"
    assert cmd.reply["message_id"] == "om_1"


def test_people_mentioned_in_the_command_become_user_addresses():
    mentions = [
        {"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "crisisbot"},
        {"key": "@_user_2", "id": {"open_id": "ou_zhang"}, "name": "张三"},
        {"key": "@_user_3", "id": {}, "name": "所有人"},
    ]
    line = "@_user_1  /crisis assign verify @_user_2 @_user_3"
    cmd = command_from_message_event(message_event(line, mentions=mentions))
    assert cmd.text == "/crisis assign verify feishu:ou_zhang @所有人"
    assert cmd.reply["mentions"]["张三"] == "feishu:ou_zhang"


def test_group_chatter_is_not_a_command_but_a_direct_chat_is():
    assert command_from_message_event(message_event("@_user_1 大家好")) is None
    assert command_from_message_event(message_event("今天怎么样", mentions=[])) is None
    direct = command_from_message_event(message_event("帮助", chat_type="p2p", mentions=[]))
    assert direct is not None and direct.text == "/help"
    direct = command_from_message_event(message_event("crisis status", chat_type="p2p", mentions=[]))
    assert direct is not None and direct.text == "/crisis status"
    assert command_from_message_event(message_event("／help", mentions=[])).text == "／help"


def test_bots_images_and_empty_messages_are_ignored():
    assert command_from_message_event(message_event("/help", sender_type="app")) is None
    image = message_event("", message_type="image", content=json.dumps({"image_key": "img_1"}))
    assert command_from_message_event(image) is None
    assert command_from_message_event(message_event("@_user_1")) is None
    assert command_from_message_event({"header": {}, "event": {}}) is None


def test_rich_text_post_commands():
    content = json.dumps(
        {"title": "", "content": [[{"tag": "at", "user_id": "@_user_1"}, {"tag": "text", "text": " /help crisis"}]]}
    )
    cmd = command_from_message_event(message_event("", message_type="post", content=content))
    assert cmd.text == "/help crisis"


def test_message_text_and_strip_mentions_edge_cases():
    assert message_text("text", "not json") is None
    assert message_text("text", json.dumps({"text": 3})) is None
    assert strip_mentions("@_user_1 @_user_2 /x", []) == "/x"


def card_event(value, **kw) -> dict:
    return {
        "schema": "2.0",
        "header": {"event_id": "ev-card-1", "event_type": "card.action.trigger"},
        "event": {
            "operator": {"open_id": "ou_bob"},
            "action": {"tag": "button", "value": value, "form_value": kw.get("form")},
            "context": {"open_message_id": "om_card", "open_chat_id": "oc_ops"},
        },
    }


def test_card_button_becomes_an_action():
    action = action_from_card_event(card_event({"action_id": "alert.ack", "value": "42"}, form={"note": "ok"}))
    assert action.channel == "feishu:oc_ops"
    assert action.user == "feishu:ou_bob"
    assert (action.action_id, action.value) == ("alert.ack", "42")
    assert action.message_ref == "om_card"
    assert action.reply == {"message_id": "om_card"}
    assert action.form == {"note": "ok"}
    assert action.event_id == "ev-card-1"


def test_foreign_card_values_are_ignored():
    assert action_from_card_event(card_event({"foo": "bar"})) is None
    assert action_from_card_event(card_event("text")) is None


def test_the_bots_own_mention_after_the_command_is_stripped_too():
    # Feishu marks a bot's mention with mentioned_type "bot"; typed at the end it used to become the
    # argument "feishu:ou_bot" ("/crisis status feishu:ou_bot": no run by that name).
    bot = {"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "crisisbot", "mentioned_type": "bot"}
    person = {"key": "@_user_2", "id": {"open_id": "ou_zhang"}, "name": "张三", "mentioned_type": "user"}
    cmd = command_from_message_event(message_event("/crisis status @_user_1", mentions=[bot]))
    assert cmd is not None and cmd.text == "/crisis status"
    cmd = command_from_message_event(message_event("/crisis assign verify @_user_2 @_user_1", mentions=[bot, person]))
    assert cmd is not None and cmd.text == "/crisis assign verify feishu:ou_zhang"


def test_a_group_message_that_mentions_the_bot_is_always_answered_like_a_slack_mention():
    # "@crisisbot help" in a group was silently ignored (no "/"), while Slack answers it with /help.
    bot = {"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "crisisbot", "mentioned_type": "bot"}
    for text, expected in (("@_user_1 help", "/help"), ("@_user_1 帮助", "/help"), ("@_user_1", "/help"),
                           ("@_user_1 crisis status", "/crisis status"), ("@_user_1 /crisis status", "/crisis status")):
        cmd = command_from_message_event(message_event(text, mentions=[bot]))
        assert cmd is not None and cmd.text == expected, text
    # Talk that mentions only people (or an unmarked mention) is still nobody's command.
    person = {"key": "@_user_2", "id": {"open_id": "ou_zhang"}, "name": "张三", "mentioned_type": "user"}
    assert command_from_message_event(message_event("@_user_2 看一下", mentions=[person])) is None
    assert command_from_message_event(message_event("@_user_1 大家好")) is None


def test_a_card_form_submission_carries_the_typed_text_under_the_neutral_key():
    # input names are unique per card ("reason_2"); the submit button's value maps them to the handler's key
    value = {"action_id": "crisis.skip", "value": "1:spread", "form": {"reason_2": "reason"}}
    action = action_from_card_event(card_event(value, form={"reason_2": "已由客服私信处理"}))
    assert (action.action_id, action.value) == ("crisis.skip", "1:spread")
    assert action.form == {"reason": "已由客服私信处理"}
    # a name it does not map is kept; values that are not text (a multi-select's list) are left out
    action = action_from_card_event(card_event(value, form={"other": "x", "tags": ["a", "b"], "reason_2": 3}))
    assert action.form == {"other": "x", "reason": "3"}
    assert action_from_card_event(card_event({**value, "form": "junk"}, form={"reason_2": "x"})).form == {"reason_2": "x"}


def test_a_person_picked_in_a_card_form_becomes_the_neutral_address_as_from_slack():
    # Slack's users_select arrives as "slack:U1"; Feishu's select_person sends the open_id
    value = {"action_id": "crisis.assign", "value": "1:verify", "form": {"user_3": "user"}}
    assert action_from_card_event(card_event(value, form={"user_3": "ou_zhang"})).form == {"user": "feishu:ou_zhang"}


def test_an_optional_field_left_empty_arrives_as_an_empty_string_as_from_slack():
    value = {"action_id": "reply.reject:7", "value": "7", "form": {"reason_1": "reason"}}
    assert action_from_card_event(card_event(value, form={})).form == {"reason": ""}
    chosen = {"action_id": "comments.relabel", "value": "weibo:1", "form": {"label_2": "label"}}
    assert action_from_card_event(card_event(chosen, form={"label_2": "neg"})).form == {"label": "neg"}
