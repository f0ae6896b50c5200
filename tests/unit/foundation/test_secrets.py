"""Encryption at rest of stored secrets: the pure parts (no database)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.feeds.pollers.base import CONFIG, PollContext, PollError, SourceState
from bot.feeds.pollers.store import open_tokens, seal_tokens
from bot.storage.secrets import LockedSecret, SecretBox, SecretKeyError, is_sealed, open_value, seal_value

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def test_seal_and_open_any_json_value():
    box = SecretBox([KEY_A])
    for value in ("act.抖音", {"nested": [1, 2]}, 42):
        sealed = box.seal(value)
        assert is_sealed(sealed) and "act" not in str(sealed)
        assert box.open(sealed) == value
    assert box.seal("x") != box.seal("x")  # a fresh IV each time: equal tokens do not look equal


def test_first_key_encrypts_every_key_decrypts():
    old = SecretBox([KEY_A]).seal("rft.1")
    rotated = SecretBox.from_setting(f" {KEY_B} , {KEY_A} ,")
    assert rotated is not None and rotated.open(old) == "rft.1"
    assert SecretBox([KEY_B]).open(rotated.seal("rft.1")) == "rft.1"
    with pytest.raises(SecretKeyError, match="CRISISBOT_SECRET_KEY"):
        SecretBox([KEY_A]).open(rotated.seal("rft.1"))


def test_unset_or_blank_setting_means_no_encryption():
    assert SecretBox.from_setting(None) is None and SecretBox.from_setting(" , ") is None
    assert seal_value(None, "plain") == "plain"


def test_malformed_key_names_the_env_var_and_not_the_key():
    with pytest.raises(SecretKeyError) as caught:
        SecretBox.from_setting("short-secret-typo")
    assert "CRISISBOT_SECRET_KEY" in str(caught.value) and "short-secret-typo" not in str(caught.value)


def test_plain_values_still_read_and_undecryptable_ones_are_kept_locked():
    assert open_value(SecretBox([KEY_A]), "plain-from-before") == "plain-from-before"
    sealed = SecretBox([KEY_A]).seal("act.1")
    no_key = open_value(None, sealed)
    wrong_key = open_value(SecretBox([KEY_B]), sealed)
    for locked in (no_key, wrong_key):
        assert isinstance(locked, LockedSecret) and "CRISISBOT_SECRET_KEY" in locked.reason
        assert seal_value(SecretBox([KEY_B]), locked) == sealed  # written back exactly as read
        assert sealed["$fernet"] not in repr(locked)
    assert "未设置" in no_key.reason and "未设置" not in wrong_key.reason


def test_tokens_metadata_stays_readable_and_everything_else_is_sealed():
    box = SecretBox([KEY_A])
    tokens = {"access_token": "a", "refresh_token": "r", "open_id": "o", "env_fingerprint": "f",
              "refreshed_at": "2026-11-22T12:00:00+00:00", "expires_in": 1296000}
    stored = seal_tokens(box, tokens)
    assert all(is_sealed(stored[k]) for k in ("access_token", "refresh_token", "open_id"))
    assert stored["env_fingerprint"] == "f" and stored["expires_in"] == 1296000
    assert open_tokens(box, stored) == tokens
    assert open_tokens(None, None) == {}


def test_a_locked_stored_token_is_a_config_error_for_the_poller():
    state = SourceState(source_id="dy", tokens=open_tokens(None, seal_tokens(SecretBox([KEY_A]), {"access_token": "a"})))
    ctx = PollContext(source=None, state=state, http=None, now=None, env={}, ingest=None, save=None)
    with pytest.raises(PollError) as caught:
        ctx.stored_token("access_token")
    assert caught.value.kind == CONFIG and "CRISISBOT_SECRET_KEY" in caught.value.detail
    assert ctx.stored_token("refresh_token") is None
