"""Refusals whose reasons sent an operator the wrong way (statuses unchanged, found by an outside probe):
- a stale (but correctly signed) event: "replay refused" alone, when a drifted server clock refuses every event
  so; now how far its timestamp is from this server's clock, in which direction, and the clock as a cause;
- the url_verification challenge Feishu sends unsigned when a request URL is saved, with an Encrypt Key that
  differs from FEISHU_ENCRYPT_KEY, or in plain text (the app has none) while FEISHU_ENCRYPT_KEY is set: both
  were "missing signature headers"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.adapters.feishu import crypto
from bot.adapters.feishu.inbound import FeishuEventGuard
from bot.adapters.feishu.settings import FeishuSettings
from bot.clock import FakeClock

KEY = "encrypt-key-for-tests"
TOKEN = "verification-token"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EVENT = {"schema": "2.0", "header": {"token": TOKEN, "event_type": "im.message.receive_v1"}, "event": {}}


CHALLENGE = {"type": "url_verification", "challenge": "c-123", "token": TOKEN}


def _guard() -> FeishuEventGuard:
    return FeishuEventGuard(FeishuSettings("cli_a", "secret", verification_token=TOKEN, encrypt_key=KEY),
                            FakeClock(NOW))


def _verdict(sent_at: datetime):
    body = crypto.encrypted_body(KEY, EVENT)
    return _guard().check(crypto.signed_headers(KEY, body, timestamp=int(sent_at.timestamp())), body)


def test_a_stale_event_names_the_clock_difference_and_the_clock():
    behind = _verdict(NOW - timedelta(seconds=420))
    assert behind.status == 401 and behind.kind == "bad or stale timestamp"
    assert "-420 s from this server's clock" in behind.reason and "check its time sync" in behind.reason
    ahead = _verdict(NOW + timedelta(seconds=420))
    assert ahead.status == 401 and "+420 s from this server's clock" in ahead.reason


def test_within_the_window_passes():
    assert _verdict(NOW - timedelta(seconds=299)).ok


def test_the_unsigned_challenge_encrypted_with_another_key_names_the_encrypt_key():
    verdict = _guard().check({}, crypto.encrypted_body("the-app's-real-key", CHALLENGE))
    assert verdict.status == 401 and "FEISHU_ENCRYPT_KEY cannot decrypt" in verdict.reason, verdict


def test_the_plain_challenge_of_an_app_without_encrypt_key_says_so():
    verdict = _guard().check({}, json.dumps(CHALLENGE).encode())
    assert verdict.status == 401 and "the app has no Encrypt Key" in verdict.reason, verdict


def test_other_unsigned_bodies_are_still_missing_signature_headers():
    for body in (json.dumps(EVENT).encode(), b"junk", b"[]", crypto.encrypted_body(KEY, EVENT)):
        verdict = _guard().check({}, body)
        assert verdict.status == 401 and verdict.reason == "missing signature headers", (body, verdict)
    assert _guard().check({}, crypto.encrypted_body(KEY, CHALLENGE)).ok  # the challenge itself passes
