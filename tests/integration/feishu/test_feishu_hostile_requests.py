"""Forged, oversized and malformed requests into the running bot's /feishu/events: refused with 401,
413 or 400, or (content we cannot read) answered 200 and ignored — never the SDK's 500, which makes
Feishu retry for hours — while the well-formed events around them still work.

Real encrypted, signed HTTP into the bot served by uvicorn on 127.0.0.1, as in test_feishu_e2e; replies
go to the fake Open API.
"""

from __future__ import annotations

import json
import time

import pytest

from bot.adapters.feishu import crypto
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import (
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    FeishuEvents,
    post_event,
    served_feishu_bot,
    wait_until,
)
from tests.support.chunked import answer_before_body_ends

pytestmark = pytest.mark.slow


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


@pytest.fixture
def served(fake, sqlite_db, app_config, clock):
    """(url, client) of the bot with an encrypt key (signed, encrypted events)."""
    with served_feishu_bot(sqlite_db, app_config, clock, fake=fake) as (_bot, url, client, _fake):
        yield url, client


@pytest.fixture
def served_plain(fake, sqlite_db, app_config, clock):
    """(url, client) of the bot with a verification token only (plain JSON events, no signature)."""
    with served_feishu_bot(sqlite_db, app_config, clock, fake=fake,
                           feishu_encrypt_key=None) as (_bot, url, client, _fake):
        yield url, client


@pytest.fixture
def events(clock):
    return FeishuEvents(clock)


def assert_commands_still_answered(url, client, events, fake) -> None:
    payload = events.message("/help")
    assert post_event(client, url, events, payload).status_code == 200
    message_id = payload["event"]["message"]["message_id"]
    wait_until(lambda: [m for m in fake.sent() if m.parent_id == message_id], what="the /help reply")


# ---- 1. forged requests: 401, not 500 ------------------------------------------------------------
def test_a_non_ascii_signature_is_refused_with_401(served, events, fake):
    url, client = served
    headers, body = events.request(events.challenge())
    raw_headers = {k: v.encode() for k, v in headers.items()}
    raw_headers[crypto.SIGNATURE_HEADER] = b"\xe9" * 64  # hmac.compare_digest raised TypeError on it
    response = client.post(url + "/feishu/events", content=body, headers=raw_headers)
    assert response.status_code == 401
    assert_commands_still_answered(url, client, events, fake)


def test_refusals_are_counted_on_the_metrics_page(served, events):
    # Slack counted its bad signatures; Feishu's refusals showed only in the log
    url, client = served
    before = client.get(url + "/metrics").text
    headers, body = events.request(events.message("/help"))
    headers[crypto.SIGNATURE_HEADER] = "0" * 64
    assert client.post(url + "/feishu/events", content=body, headers=headers).status_code == 401
    after = client.get(url + "/metrics").text

    def count(text: str) -> float:
        for line in text.splitlines():
            if line.startswith('crisisbot_feishu_inbound_total{outcome="unauthenticated"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    assert count(after) == count(before) + 1


@pytest.mark.parametrize("timestamp", ["nan", "inf", "1e9", "-0"])
def test_a_timestamp_that_is_not_whole_seconds_is_refused_with_401(served, events, timestamp):
    # float("nan") passed the 300 s staleness check: every comparison with NaN is false
    url, client = served
    body = crypto.encrypted_body(ENCRYPT_KEY, events.message("/help"))
    headers = crypto.signed_headers(ENCRYPT_KEY, body, timestamp=0)
    headers[crypto.TIMESTAMP_HEADER] = timestamp
    headers[crypto.SIGNATURE_HEADER] = crypto.signature(timestamp, headers[crypto.NONCE_HEADER], ENCRYPT_KEY, body)
    assert client.post(url + "/feishu/events", content=body, headers=headers).status_code == 401


def test_a_right_top_level_token_does_not_cover_a_wrong_header_token(served, events, fake):
    url, client = served
    payload = events.message("/help")
    payload["header"]["token"] = "not-the-token"
    payload["token"] = VERIFICATION_TOKEN
    assert post_event(client, url, events, payload).status_code == 401
    assert fake.sent() == []


@pytest.mark.parametrize("body", [b'{"header":"x"}', b'{"header":[1]}', b'{"header":null}'])
def test_without_an_encrypt_key_a_header_that_is_not_an_object_is_refused(served_plain, body):
    url, client = served_plain
    response = client.post(url + "/feishu/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_without_an_encrypt_key_a_nan_timestamp_is_refused(served_plain, events):
    url, client = served_plain
    body = json.dumps(events.message("/help")).encode()
    headers = {"Content-Type": "application/json", crypto.TIMESTAMP_HEADER: "nan"}
    assert client.post(url + "/feishu/events", content=body, headers=headers).status_code == 401


DEEP = b"[" * 5000 + b"]" * 5000


@pytest.mark.parametrize("body", [b'{"a":' + DEEP + b"}", b'{"encrypt":' + DEEP + b"}"])
def test_an_unsigned_body_nested_past_the_parser_is_refused_not_a_500(served, events, fake, body):
    # with no credentials at all: parsed for the unsigned url_verification challenge, it raised RecursionError
    # (500 and a 60-line traceback in the log for every such request)
    url, client = served
    response = client.post(url + "/feishu/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert_commands_still_answered(url, client, events, fake)


def test_without_an_encrypt_key_a_body_nested_past_the_parser_is_400(served_plain):
    url, client = served_plain
    response = client.post(url + "/feishu/events", content=b'{"a":' + DEEP + b"}",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400


# ---- 2. the body limit is enforced while reading ---------------------------------------------------
def test_a_chunked_body_over_the_limit_is_refused_before_it_ends(served):
    url, _ = served
    assert answer_before_body_ends(url + "/feishu/events", send_bytes=2 * 1024 * 1024) == 413


# ---- 3. verified but malformed ------------------------------------------------------------------------
def _message(events, **message_fields):
    payload = events.message("/help")
    payload["event"]["message"].update(message_fields)
    return payload


def _card(events, **action_fields):
    payload = events.card_action("hostile.press", "7")
    payload["event"]["action"].update(action_fields)
    return payload


def _with(payload, **top):
    payload.update(top)
    return payload


def _without(payload, key):
    payload.pop(key)
    return payload


# Shapes the Feishu SDK cannot parse into its event model: 400 (it answered 500)
REFUSED = {
    "mentions-a-string": lambda e: _message(e, mentions="abc"),
    "mention-id-a-string": lambda e: _message(e, mentions=[{"key": "@_user_1", "id": "x", "name": "x"}]),
    "event-a-string": lambda e: _with(e.message("/help"), event="str"),
    "v2-without-schema": lambda e: _without(e.message("/help"), "schema"),
    "card-value-a-string": lambda e: _card(e, value="just-a-string"),
    "card-value-a-list": lambda e: _card(e, value=[1, 2]),
    "card-form-value-a-list": lambda e: _card(e, form_value=[1]),
    "card-action-a-string": lambda e: _with(e.card_action("x", "1"), event={
        "operator": {"open_id": "ou_bob"}, "action": "str", "context": {"open_chat_id": "oc_ops"}}),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_verified_event_of_the_wrong_shape_gets_400(served, events, fake, name):
    url, client = served
    response = post_event(client, url, events, REFUSED[name](events))
    assert response.status_code == 400, response.text
    assert response.json()["msg"].startswith("malformed event")
    assert_commands_still_answered(url, client, events, fake)


# Messages whose content is not text we can read: ignored like an image, answered 200 (no retries)
IGNORED = {
    "post-lines-not-lists": lambda e: _message(e, message_type="post",
                                               content=json.dumps({"content": [["str"], 5, [7, {"tag": "text"}]]})),
    "post-content-an-object": lambda e: _message(e, message_type="post", content=json.dumps({"content": {"a": 1}})),
    "content-not-a-string": lambda e: _message(e, content={"text": "/help"}),
    "content-a-json-list": lambda e: _message(e, content=json.dumps([1])),
}


@pytest.mark.parametrize("name", sorted(IGNORED))
def test_a_message_whose_content_cannot_be_read_is_ignored_with_200(served, events, fake, name):
    url, client = served
    response = post_event(client, url, events, IGNORED[name](events))
    assert response.status_code == 200, response.text
    assert_commands_still_answered(url, client, events, fake)
    assert len(fake.sent()) == 1  # only the /help reply


def test_a_well_formed_post_message_still_becomes_a_command(served, events, fake):
    url, client = served
    content = {"content": [[{"tag": "at", "user_id": "@_user_1"}, {"tag": "text", "text": " /help"}]]}
    payload = _message(events, message_type="post", content=json.dumps(content))
    assert post_event(client, url, events, payload).status_code == 200
    message_id = payload["event"]["message"]["message_id"]
    wait_until(lambda: [m for m in fake.sent() if m.parent_id == message_id], what="the /help reply")


# ---- 4. url_verification is answered as valid JSON whatever the challenge holds ----------------------
def test_the_challenge_is_echoed_as_valid_json(served, events):
    url, client = served
    challenge = 'a"b\\ 中文 </script>'
    response = post_event(client, url, events, events.challenge(challenge))
    assert response.status_code == 200
    assert json.loads(response.content) == {"challenge": challenge}


def test_a_forged_challenge_is_still_refused(served, events):
    url, client = served
    started = time.monotonic()
    assert post_event(client, url, events, events.challenge('a"b'), forge=True).status_code == 401
    assert time.monotonic() - started < 1
