"""The checks beyond lark-oapi: signature on every request, stale timestamps, unencrypted bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.adapters.feishu import crypto
from bot.adapters.feishu.inbound import FeishuEventGuard, event_type_of
from bot.adapters.feishu.settings import FeishuSettings, settings_from_values
from bot.clock import FakeClock

KEY = "encrypt-key-for-tests"
TOKEN = "verification-token"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def guard() -> FeishuEventGuard:
    settings = FeishuSettings("cli_a", "secret", verification_token=TOKEN, encrypt_key=KEY)
    return FeishuEventGuard(settings, FakeClock(NOW))


def signed(payload: dict, *, at: datetime = NOW, key: str = KEY) -> tuple[dict, bytes]:
    body = crypto.encrypted_body(key, payload)
    return crypto.signed_headers(key, body, timestamp=int(at.timestamp())), body


CHALLENGE = {"type": "url_verification", "challenge": "c-123", "token": TOKEN}


def test_a_good_challenge_passes(guard):
    headers, body = signed(CHALLENGE)
    verdict = guard.check({k.lower(): v for k, v in headers.items()}, body)
    assert verdict.ok and verdict.payload["challenge"] == "c-123"


def test_challenge_with_a_forged_signature_is_refused(guard):
    headers, body = signed(CHALLENGE)
    headers[crypto.SIGNATURE_HEADER] = "0" * 64
    assert guard.check(headers, body).status == 401


EVENT = {"schema": "2.0", "header": {"token": TOKEN, "event_type": "im.message.receive_v1"}, "event": {}}


def test_missing_signature_headers_are_refused(guard):
    _, body = signed(EVENT)
    assert guard.check({}, body).status == 401
    headers, body = signed(CHALLENGE)  # some of the headers only: a forgery, even for a challenge
    del headers[crypto.SIGNATURE_HEADER]
    assert guard.check(headers, body).status == 401


def test_an_unsigned_challenge_passes_only_encrypted_with_the_key_and_the_token(guard):
    # Feishu sends url_verification without signature headers even when the app has an Encrypt Key
    _, body = signed(CHALLENGE)
    verdict = guard.check({}, body)
    assert verdict.ok and verdict.payload["challenge"] == "c-123"
    assert guard.check({}, signed({**CHALLENGE, "token": "nope"})[1]).status == 401
    assert guard.check({}, signed(CHALLENGE, key="another-key")[1]).status == 401
    assert guard.check({}, json.dumps(CHALLENGE).encode()).status == 401
    for junk in (b"", b"[]", b"5", b'{"encrypt": 5}', b'{"encrypt": "QUJD"}'):
        assert guard.check({}, junk).status == 401


def test_stale_and_future_timestamps_are_refused(guard):
    for seconds in (-301, 301):
        headers, body = signed(CHALLENGE, at=datetime.fromtimestamp(NOW.timestamp() + seconds, UTC))
        verdict = guard.check(headers, body)
        assert verdict.status == 401 and "stale" in verdict.reason
    headers, body = signed(CHALLENGE, at=datetime.fromtimestamp(NOW.timestamp() - 299, UTC))
    assert guard.check(headers, body).ok


def test_unencrypted_body_is_refused_even_when_signed(guard):
    body = json.dumps(CHALLENGE).encode()
    headers = crypto.signed_headers(KEY, body, timestamp=int(NOW.timestamp()))
    verdict = guard.check(headers, body)
    assert verdict.status == 401 and "unencrypted" in verdict.reason


def test_wrong_verification_token_is_refused(guard):
    headers, body = signed({**CHALLENGE, "token": "nope"})
    assert guard.check(headers, body).status == 401
    headers, body = signed({"schema": "2.0", "header": {"token": "nope", "event_type": "x"}, "event": {}})
    assert guard.check(headers, body).status == 401


def test_body_encrypted_with_another_key_but_signed_is_a_bad_request(guard):
    body = crypto.encrypted_body("other-key", CHALLENGE)
    headers = crypto.signed_headers(KEY, body, timestamp=int(NOW.timestamp()))
    assert guard.check(headers, body).status == 400


def test_no_verification_token_means_http_events_are_off():
    guard = FeishuEventGuard(FeishuSettings("cli_a", "s"), FakeClock(NOW))
    assert guard.check({}, b"{}").status == 503


def test_token_only_setup_still_refuses_replays():
    guard = FeishuEventGuard(FeishuSettings("cli_a", "s", verification_token=TOKEN), FakeClock(NOW))
    body = json.dumps(CHALLENGE).encode()
    assert guard.check({}, body).ok
    old = {crypto.TIMESTAMP_HEADER: str(int(NOW.timestamp()) - 3600)}
    assert guard.check(old, body).status == 401


def test_crypto_matches_the_sdk():
    from lark_oapi.core.utils import AESCipher

    encrypted = crypto.encrypt(KEY, "飞书 payload".encode())
    assert AESCipher(KEY).decrypt_str(encrypted) == "飞书 payload"
    assert crypto.decrypt(KEY, encrypted) == "飞书 payload".encode()
    # a fixed IV: with a random one, the wrong key's garbage ends in a valid padding byte (0x01) about
    # once in 256 runs, and the test failed then
    fixed = crypto.encrypt(KEY, "飞书 payload".encode(), iv=bytes(range(16)))
    assert crypto.decrypt(KEY, fixed) == "飞书 payload".encode()
    with pytest.raises(ValueError):
        crypto.decrypt("wrong", fixed)


def test_event_type_of():
    assert event_type_of(CHALLENGE) == "url_verification"
    assert event_type_of({"header": {"event_type": "card.action.trigger"}}) == "card.action.trigger"
    assert event_type_of({"event": {"type": "message"}}) == "message"


def test_settings_from_values():
    class Values:
        feishu_app_id = "a"
        feishu_app_secret = "b"
        feishu_domain = "http://127.0.0.1:9/"
        feishu_mode = "WS"

    assert settings_from_values(object()) is None
    settings = settings_from_values(Values())
    assert settings.domain == "http://127.0.0.1:9" and settings.long_connection
    assert settings.verification_token == "" and settings.encrypt_key == ""
    Values.feishu_mode = "pull"
    with pytest.raises(ValueError):
        settings_from_values(Values())


def test_an_event_of_another_app_is_refused_even_with_our_token(guard):
    # v2 events and card callbacks name their app in the header, v1 events inside the event
    for app_id, status in (("cli_a", 200), ("cli_b", 403), ("", 403), (7, 403), (None, 200)):
        headers, body = signed({**EVENT, "header": {**EVENT["header"], "app_id": app_id}})
        verdict = guard.check(headers, body)
        assert verdict.status == status, (app_id, verdict)
        if status == 403:
            assert "app" in verdict.reason and TOKEN not in verdict.reason and KEY not in verdict.reason
    # a v2 event with no app id at all: the app id is public, its absence proves nothing
    headers, body = signed(EVENT)
    assert guard.check(headers, body).ok
    v1 = {"token": TOKEN, "type": "event_callback", "event": {"type": "message", "app_id": "cli_b"}}
    headers, body = signed(v1)
    assert guard.check(headers, body).status == 403
    headers, body = signed({**v1, "event": {"type": "message", "app_id": "cli_a"}})
    assert guard.check(headers, body).ok
    headers, body = signed(CHALLENGE)
    assert guard.check(headers, body).ok
    long_id = "cli_" + "x" * 5000  # logged cut short
    headers, body = signed({**EVENT, "header": {**EVENT["header"], "app_id": long_id}})
    assert len(guard.check(headers, body).reason) < 200
