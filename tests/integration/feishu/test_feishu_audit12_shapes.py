"""Audit 12, found from outside with real encrypted, signed events into the served bot (uvicorn, the real
dispatcher and outbox, the fake Open API):

- a verified event refused with 400 for its shape was counted as `verified` on /metrics, not `malformed`;
- a message whose mention `name` (or another field the bot reads as text: an id, a mention key) was an
  object or a list got 200 {"msg":"success"} and an ERROR traceback, and the command was silently dropped:
  the SDK's model checks objects and lists but takes any JSON value where a string belongs.
"""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.integration.feishu.support import FeishuEvents, post_event, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def events(clock):
    return FeishuEvents(clock)


def inbound_counts(client, url: str) -> dict[str, float]:
    text = client.get(url + "/metrics").text
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^crisisbot_feishu_inbound_total\{outcome="(\w+)"\} ([\d.]+)$', text, re.M)}


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) != before.get(k, 0)}


def answered(fake, payload) -> list:
    message_id = payload["event"]["message"]["message_id"]
    return [m for m in fake.sent() if m.parent_id == message_id]


# ---- 6. refusals for the event's shape are counted as `malformed` ---------------------------------------
def test_a_verified_event_refused_for_its_shape_is_counted_malformed_not_verified(served_bot, events):
    _bot, url, client, _fake = served_bot
    before = inbound_counts(client, url)
    shape = events.message("/help")
    shape["event"]["message"]["mentions"] = "x"  # the SDK's model refuses it
    assert post_event(client, url, events, shape).status_code == 400
    no_challenge = {"type": "url_verification", "token": events.token}
    assert post_event(client, url, events, no_challenge).status_code == 400
    assert delta(before, inbound_counts(client, url)) == {"malformed": 2}


def test_accepted_deliveries_are_still_counted_verified(served_bot, events):
    _bot, url, client, fake = served_bot
    before = inbound_counts(client, url)
    payload = events.message("/help")
    assert post_event(client, url, events, payload).status_code == 200
    assert post_event(client, url, events, events.challenge()).status_code == 200
    assert delta(before, inbound_counts(client, url)) == {"verified": 2}
    wait_until(lambda: answered(fake, payload), what="the /help reply")


# ---- 7. an object or list where the bot reads text gets 400, never a silent 200 -------------------------
def _mention(events, **fields):
    payload = events.message("/crisis status")
    payload["event"]["message"]["mentions"][0].update(fields)
    return payload


def _message_field(events, name, value):
    payload = events.message("/help")
    payload["event"]["message"][name] = value
    return payload


def _header(events, **fields):
    payload = events.message("/help")
    payload["header"].update(fields)
    return payload


def _sender(events, **fields):
    payload = events.message("/help")
    payload["event"]["sender"]["sender_id"].update(fields)
    return payload


def _card_context(events, **fields):
    payload = events.card_action("alert.ack", "1")
    payload["event"]["context"].update(fields)
    return payload


def _operator(events, **fields):
    payload = events.card_action("alert.ack", "1")
    payload["event"]["operator"].update(fields)
    return payload


NOT_TEXT = {
    "mention-name-an-object": lambda e: _mention(e, name={"x": 1}),
    "mention-name-a-list": lambda e: _mention(e, name=["x"]),
    "mention-name-a-number": lambda e: _mention(e, name=5),
    "mention-key-an-object": lambda e: _mention(e, key={"k": "@_user_1"}),
    "mention-open-id-a-list": lambda e: _mention(e, id={"open_id": ["ou_x"], "union_id": "on_x"}),
    "mention-type-an-object": lambda e: _mention(e, mentioned_type={"bot": True}),
    "event-id-an-object": lambda e: _header(e, event_id={"id": 1}),
    "chat-id-a-number": lambda e: _message_field(e, "chat_id", 12345),
    "chat-type-a-list": lambda e: _message_field(e, "chat_type", ["group"]),
    "message-id-an-object": lambda e: _message_field(e, "message_id", {"id": "om_1"}),
    "sender-open-id-a-list": lambda e: _sender(e, open_id=["ou_alice"]),
    "card-chat-id-an-object": lambda e: _card_context(e, open_chat_id={"id": "oc_ops"}),
    "card-message-id-a-list": lambda e: _card_context(e, open_message_id=["om_card_1"]),
    "card-operator-a-number": lambda e: _operator(e, open_id=7),
}


@pytest.mark.parametrize("name", sorted(NOT_TEXT))
def test_an_object_or_list_where_text_belongs_is_refused_with_400(served_bot, events, caplog, name):
    _bot, url, client, fake = served_bot
    with caplog.at_level(logging.WARNING):
        response = post_event(client, url, events, NOT_TEXT[name](events))
    assert response.status_code == 400, response.text
    assert response.json()["msg"].startswith("malformed event"), response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text  # no traceback
    # and the events around it are still handled
    payload = events.message("/help")
    assert post_event(client, url, events, payload).status_code == 200
    wait_until(lambda: answered(fake, payload), what="the /help reply")


def test_a_mention_with_a_null_name_or_without_one_is_still_a_command(served_bot, events):
    # null counts as absent (Feishu sends null for fields it has no value for): not refused
    _bot, url, client, fake = served_bot
    for name in (None, ...):
        payload = events.message("/help")
        if name is ...:
            payload["event"]["message"]["mentions"][0].pop("name")
        else:
            payload["event"]["message"]["mentions"][0]["name"] = name
        assert post_event(client, url, events, payload).status_code == 200
        wait_until(lambda p=payload: answered(fake, p), what="the /help reply")


def test_the_long_connection_translates_a_mention_name_that_is_not_text_without_failing(served_bot, events, caplog):
    """The long connection's events do not pass the HTTP route's shape check: a mention whose name is an
    object must not fail the translation there (a traceback, the command dropped); the name is ignored."""
    bot, _url, _client, fake = served_bot
    feishu = bot.services.extra["feishu"]
    handler = feishu.build_dispatcher("", "")  # as longconn.LongConnection builds it
    payload = events.message("/help")
    payload["event"]["message"]["mentions"][0]["name"] = {"x": 1}
    with caplog.at_level(logging.WARNING):
        handler._do_without_validation(json.dumps(payload).encode())  # what lark.ws.Client calls
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    wait_until(lambda: answered(fake, payload), what="the /help reply")
