"""Saving the request URL in the Feishu console with an Encrypt Key set: Feishu sends the url_verification
challenge encrypted but without X-Lark-Signature / -Timestamp / -Nonce headers (reported and captured on
the wire: openclaw/openclaw#58905, larksuite/oapi-sdk-python#79; the SDKs answer the challenge before any
signature check). The bot refused it with 401 "missing signature headers", so the URL could never be
saved. It is answered now when it decrypts with the Encrypt Key and carries the Verification Token;
anything else unsigned (events, card clicks, a challenge with the wrong token or key) is still 401 and
changes nothing.

Real HTTP into the bot served by uvicorn on 127.0.0.1; replies go to the fake Open API.
"""

from __future__ import annotations

import json

import pytest

from bot.adapters.feishu import crypto
from bot.storage.models import InboundItem, ProcessedEvent
from tests.integration.feishu.support import (
    ENCRYPT_KEY,
    FeishuEvents,
    post_event,
    stored,
    wait_until,
)

pytestmark = pytest.mark.slow

# as Feishu sends the challenge: no X-Lark-* headers at all
UNSIGNED = {"Content-Type": "application/json; charset=utf-8"}


def test_the_unsigned_encrypted_challenge_feishu_sends_is_answered(served_bot, clock):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    body = crypto.encrypted_body(ENCRYPT_KEY, events.challenge("d2a4-challenge"))
    response = client.post(url + "/feishu/events", content=body, headers=UNSIGNED)
    assert response.status_code == 200
    assert response.json() == {"challenge": "d2a4-challenge"}
    assert stored(bot, ProcessedEvent) == 0 and stored(bot, InboundItem) == 0 and fake.sent() == []


@pytest.mark.parametrize("case", ["wrong-token", "other-key", "plain-json", "message-event", "card-click"])
def test_nothing_else_passes_unsigned(served_bot, clock, case):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    body = {
        "wrong-token": lambda: crypto.encrypted_body(ENCRYPT_KEY, {**events.challenge(), "token": "not-it"}),
        "other-key": lambda: crypto.encrypted_body("another-key", events.challenge()),
        "plain-json": lambda: json.dumps(events.challenge()).encode(),
        "message-event": lambda: crypto.encrypted_body(ENCRYPT_KEY, events.message("/help")),
        "card-click": lambda: crypto.encrypted_body(ENCRYPT_KEY, events.card_action("e2e.claim", "7")),
    }[case]()
    response = client.post(url + "/feishu/events", content=body, headers=UNSIGNED)
    assert response.status_code == 401
    # the same kind of request, signed, still works; only it was handled
    good = events.message("/help")
    assert post_event(client, url, events, good).status_code == 200
    wait_until(lambda: fake.sent(), what="the /help reply")
    bot.services.dispatcher.shutdown()
    assert stored(bot, ProcessedEvent) == 1 and stored(bot, InboundItem) == 0
    assert [m.parent_id for m in fake.sent()] == [good["event"]["message"]["message_id"]]
