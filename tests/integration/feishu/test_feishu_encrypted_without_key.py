"""The bot without FEISHU_ENCRYPT_KEY (verification token only) receiving a body with an "encrypt" field:
refused with 401 and a message naming FEISHU_ENCRYPT_KEY, nothing handled or stored. Handed to the SDK,
a token-verified body carrying "encrypt" was answered 500 ("encrypt_key not found", with a traceback in
the log), which Feishu retries for hours; and a real encrypted event (the app has an Encrypt Key the bot
was not given) was refused as a "bad verification token", pointing the operator at the wrong setting.

Real HTTP into the bot served by uvicorn on 127.0.0.1; replies go to the fake Open API.
"""

from __future__ import annotations

import json

import pytest

from bot.adapters.feishu import crypto
from bot.storage.models import InboundItem, ProcessedEvent
from tests.integration.feishu.support import FeishuEvents, served_feishu_bot, stored, wait_until

pytestmark = pytest.mark.slow

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def served_plain(sqlite_db, app_config, clock):
    """(bot, url, client, fake) of the bot with a verification token and no encrypt key."""
    with served_feishu_bot(sqlite_db, app_config, clock, feishu_encrypt_key=None) as served:
        yield served


@pytest.mark.parametrize("encrypt", ["QUJD", crypto.encrypt("some-key", b"{}", iv=bytes(16)), 5, ["x"]],
                         ids=["base64", "ciphertext", "number", "list"])
def test_a_token_verified_body_with_an_encrypt_field_is_refused_not_a_500(served_plain, clock, encrypt):
    bot, url, client, fake = served_plain
    events = FeishuEvents(clock)
    payload = {**events.message("/help"), "encrypt": encrypt}
    response = client.post(url + "/feishu/events", content=json.dumps(payload).encode(), headers=JSON)
    assert response.status_code == 401
    assert "FEISHU_ENCRYPT_KEY" in response.json()["msg"]
    # nothing handed over; a plain event right after it is handled as usual, and only it
    good = events.message("/help")
    assert client.post(url + "/feishu/events", content=json.dumps(good).encode(), headers=JSON).status_code == 200
    wait_until(lambda: fake.sent(), what="the /help reply")
    bot.services.dispatcher.shutdown()
    assert stored(bot, ProcessedEvent) == 1 and stored(bot, InboundItem) == 0
    assert [m.parent_id for m in fake.sent()] == [good["event"]["message"]["message_id"]]


def test_an_encrypted_event_says_the_encrypt_key_is_missing(served_plain, clock):
    # Feishu encrypts and signs once the app has an Encrypt Key: the body then shows no token at all
    bot, url, client, fake = served_plain
    events = FeishuEvents(clock)
    headers, body = events.request(events.message("/help"))
    response = client.post(url + "/feishu/events", content=body, headers=headers)
    assert response.status_code == 401
    assert "FEISHU_ENCRYPT_KEY" in response.json()["msg"]
    assert stored(bot, ProcessedEvent) == 0 and fake.sent() == []
