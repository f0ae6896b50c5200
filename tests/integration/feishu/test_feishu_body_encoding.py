"""A verified Feishu body that is JSON but not UTF-8 (UTF-16, UTF-32, a UTF-8 BOM), outside or inside the
encryption: refused with 400 like any verified event of the wrong shape, nothing handled. The guard read
it with json.loads(bytes), which takes those encodings, and handed it to the SDK, which decodes UTF-8 only
and answered 500 (Feishu retries a 500 for hours). Without an encrypt key the verification token alone
was enough to cause it.

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
    served_feishu_bot,
    stored,
    wait_until,
)

pytestmark = pytest.mark.slow

ENCODINGS = {"utf-16": lambda text: text.encode("utf-16"), "utf-32": lambda text: text.encode("utf-32"),
             "utf-8 BOM": lambda text: text.encode("utf-8-sig")}


@pytest.fixture(params=["encrypted", "plain"])
def served(request, sqlite_db, app_config, clock):
    """(bot, url, client, fake, encrypted) with an encrypt key, and with a verification token only."""
    encrypted = request.param == "encrypted"
    with served_feishu_bot(sqlite_db, app_config, clock,
                           feishu_encrypt_key=ENCRYPT_KEY if encrypted else None) as (bot, url, client, fake):
        yield bot, url, client, fake, encrypted


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_a_verified_body_that_is_not_utf8_json_is_a_400_not_a_500(served, clock, encoding):
    bot, url, client, fake, encrypted = served
    events = FeishuEvents(clock)
    text = json.dumps(events.message("/help"), ensure_ascii=False)
    if encrypted:
        # the plaintext inside the encryption, signed as Feishu signs
        body = json.dumps({"encrypt": crypto.encrypt(ENCRYPT_KEY, ENCODINGS[encoding](text))}).encode()
        headers = crypto.signed_headers(ENCRYPT_KEY, body, timestamp=int(clock.now().timestamp()))
    else:
        body, headers = ENCODINGS[encoding](text), {"Content-Type": "application/json"}
    response = client.post(url + "/feishu/events", content=body, headers=headers)
    assert response.status_code == 400
    assert "UTF-8" in response.json()["msg"]
    # nothing handed over; a well-formed event right after it is handled, and only it
    good = events.message("/help")
    assert post_event(client, url, events, good, encrypt=encrypted).status_code == 200
    wait_until(lambda: fake.sent(), what="the /help reply")
    bot.services.dispatcher.shutdown()
    assert stored(bot, ProcessedEvent) == 1 and stored(bot, InboundItem) == 0
    assert [m.parent_id for m in fake.sent()] == [good["event"]["message"]["message_id"]]

