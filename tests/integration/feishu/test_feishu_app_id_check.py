"""Events and card callbacks of another Feishu app are refused, even signed with our secrets.

A verification token (and an encrypt key) can be shared between apps or leak. Feishu names the app an event
is for (v2: `header.app_id`, card callbacks too; v1: `event.app_id`): when it is present and is not
FEISHU_APP_ID, /feishu/events answers 403, logs why without the secrets, and runs nothing. Events without the
field (url_verification, v1 events, a v2 event without `header.app_id`) are handled: the app id is public, so
leaving it out proves nothing either way. Through the real endpoint with
encrypted, signed requests, and with plain token-verified ones.
"""

from __future__ import annotations

import json
import logging

import pytest

from bot.messages import Message
from bot.storage.models import InboundItem, ProcessedEvent
from tests.integration.feishu.support import (
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    FeishuEvents,
    post_event,
    served_feishu_bot,
    stored,
    wait_until,
)

pytestmark = pytest.mark.slow

JSON = {"Content-Type": "application/json"}


def _register_press(bot) -> list:
    pressed = []

    def on_press(ctx, action):
        pressed.append(action)
        return Message(text=f"pressed {action.value}")

    bot.services.registry.add_action("e2e.", on_press)
    return pressed


def _replies(fake, message_id: str) -> list:
    return [m for m in fake.sent() if m.parent_id == message_id]


def test_an_event_and_a_card_callback_of_another_app_are_refused(served_bot, clock, caplog):
    bot, url, client, fake = served_bot
    pressed = _register_press(bot)
    ours = bot.services.settings.feishu_app_id
    other = FeishuEvents(clock, app_id="cli_other_app")  # our token and encrypt key, another app's events
    message = other.message("/help")
    press = other.card_action("e2e.claim", "42", message_id="om_other_card")
    with caplog.at_level(logging.WARNING, logger="bot.adapters.feishu.inbound"):
        for payload in (message, press):
            response = post_event(client, url, other, payload)
            assert response.status_code == 403, response.text
            assert "another Feishu app" in response.json()["msg"]
    refusals = [r.getMessage() for r in caplog.records if "refused (403)" in r.getMessage()]
    # the second refusal of the same kind within a minute is only counted (bot/log_limits.py)
    assert len(refusals) == 1 and "cli_other_app" in refusals[0], refusals
    assert not any(secret in r.getMessage() for r in caplog.records
                   for secret in (VERIFICATION_TOKEN, ENCRYPT_KEY, "e2e-secret"))

    # ours are handled as before, and so is a (signed) v2 event naming no app
    events = FeishuEvents(clock, app_id=ours)
    named = events.message("/help")
    unnamed = events.message("/help")
    del unnamed["header"]["app_id"]
    assert post_event(client, url, events, named).status_code == 200
    assert post_event(client, url, events, unnamed).status_code == 200
    good_press = events.card_action("e2e.claim", "7", message_id="om_our_card")
    response = post_event(client, url, events, good_press)
    assert response.status_code == 200 and response.json()["toast"]["type"] == "info"
    for message_id in (named["event"]["message"]["message_id"], unnamed["event"]["message"]["message_id"],
                       "om_our_card"):
        wait_until(lambda m=message_id: _replies(fake, m), what=f"the answer to {message_id}")
    bot.services.dispatcher.shutdown()
    assert [a.value for a in pressed] == ["7"]
    assert _replies(fake, message["event"]["message"]["message_id"]) == [] and _replies(fake, "om_other_card") == []
    assert stored(bot, ProcessedEvent) == 3 and stored(bot, InboundItem) == 0


def test_the_challenge_still_passes(served_bot, clock):
    _bot, url, client, _fake = served_bot
    events = FeishuEvents(clock, app_id="cli_other_app")
    response = post_event(client, url, events, events.challenge("c-7"))  # carries no app id
    assert response.status_code == 200 and response.json() == {"challenge": "c-7"}


@pytest.mark.parametrize("app_id", ["cli_other_app", "", 5, ["cli_x"]], ids=["other", "empty", "number", "list"])
def test_token_verified_plain_events_of_another_app_are_refused(sqlite_db, app_config, clock, app_id):
    with served_feishu_bot(sqlite_db, app_config, clock, feishu_encrypt_key=None) as (bot, url, client, fake):
        events = FeishuEvents(clock)
        payload = events.message("/help")
        payload["header"]["app_id"] = app_id
        response = client.post(url + "/feishu/events", content=json.dumps(payload).encode(), headers=JSON)
        assert response.status_code == 403
        # a v1 event names its app inside the event: another app's is refused, ours (or none) goes on as before
        v1 = {"uuid": "u-1", "token": VERIFICATION_TOKEN, "ts": "1", "type": "event_callback",
              "event": {"type": "message", "app_id": app_id, "text": "/help"}}
        response = client.post(url + "/feishu/events", content=json.dumps(v1).encode(), headers=JSON)
        assert response.status_code == 403
        for event in ({**v1["event"], "app_id": bot.services.settings.feishu_app_id},
                      {k: v for k, v in v1["event"].items() if k != "app_id"}):
            response = client.post(url + "/feishu/events", content=json.dumps({**v1, "event": event}).encode(),
                                   headers=JSON)
            assert response.status_code == 200 and response.json() == {"msg": "ignored"}  # v1: not handled
        assert stored(bot, ProcessedEvent) == 0 and fake.sent() == []
