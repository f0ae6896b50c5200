"""Encryption at rest for secrets the bot writes to its own database (e.g. refreshed Douyin tokens).

The key comes from `CRISISBOT_SECRET_KEY`: one or more comma-separated Fernet keys. The first key
encrypts, every key decrypts (cryptography's MultiFernet), so a key is rotated by putting the new key
first, re-encrypting (`crisisbot secrets rotate`, or simply the next write), then dropping the old one.

A sealed value is stored as `{"$fernet": "<token>"}`: it fits in the existing JSON columns, and it is
told apart from a plain value written before a key was set, which still reads (and is sealed on the next
write). Without a key nothing is sealed: the two-command quick start needs no credentials.

Pure: no I/O. `cryptography` is imported only when a key is configured.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SECRET_KEY_ENV = "CRISISBOT_SECRET_KEY"
MARKER = "$fernet"
GENERATE_KEY_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

MISSING_KEY = (
    f"数据库中的令牌已加密，但未设置 {SECRET_KEY_ENV}：请设置写入时使用的密钥，或重新授权并导出新的令牌 / "
    f"a stored token is encrypted but {SECRET_KEY_ENV} is not set: set the key it was written with, "
    "or re-authorise and export a new token pair"
)
WRONG_KEY = (
    f"数据库中的令牌无法用 {SECRET_KEY_ENV} 中的任何密钥解密（密钥错误，或写入时的密钥已被移除）："
    f"请把写入时使用的密钥加回 {SECRET_KEY_ENV}，或重新授权并导出新的令牌 / "
    f"no key in {SECRET_KEY_ENV} decrypts a stored token (wrong key, or the key it was written with was "
    "removed): add that key back, or re-authorise and export a new token pair"
)


class SecretKeyError(Exception):
    """An invalid key setting, or a sealed value this process cannot decrypt. The message names the env
    var and never contains a secret."""


@dataclass(frozen=True)
class LockedSecret:
    """A stored secret that could not be decrypted (no key, or no key fits).

    Kept exactly as stored and written back unchanged, so a missing or wrong key never wipes a
    credential; whoever needs the value gets `reason` as an error instead.
    """

    sealed: dict[str, str] = field(repr=False)
    reason: str


class SecretBox:
    """Seals and opens JSON values with the keys of `CRISISBOT_SECRET_KEY`."""

    def __init__(self, keys: Sequence[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        if not keys:
            raise SecretKeyError(f"{SECRET_KEY_ENV} 为空 / {SECRET_KEY_ENV} is empty")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, TypeError, UnicodeEncodeError):
                # The key itself is not echoed: a typo'd key is still mostly a secret.
                raise SecretKeyError(
                    f"{SECRET_KEY_ENV} 的第 {position} 个密钥不是有效的 Fernet 密钥 / key {position} in "
                    f"{SECRET_KEY_ENV} is not a valid Fernet key (32 url-safe base64 bytes). "
                    f"生成 / generate: {GENERATE_KEY_COMMAND}"
                ) from None
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_setting(cls, value: str | None) -> SecretBox | None:
        """The box for the env var's value (comma-separated keys), or None when it is unset or blank."""
        keys = [part.strip() for part in (value or "").split(",") if part.strip()]
        return cls(keys) if keys else None

    def seal(self, value: Any) -> dict[str, str]:
        """Encrypt any JSON value with the first key."""
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return {MARKER: self._fernet.encrypt(plain).decode("ascii")}

    def open(self, sealed: dict[str, str]) -> Any:
        """Decrypt a sealed value with whichever key fits; SecretKeyError when none does."""
        from cryptography.fernet import InvalidToken

        try:
            plain = self._fernet.decrypt(sealed[MARKER].encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SecretKeyError(WRONG_KEY) from None
        return json.loads(plain)


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(MARKER), str)


def seal_value(box: SecretBox | None, value: Any) -> Any:
    """What to store for `value`: sealed with a key, as it is without one (a LockedSecret goes back as
    it was read)."""
    if isinstance(value, LockedSecret):
        return dict(value.sealed)
    if box is None or value is None or is_sealed(value):
        return value
    return box.seal(value)


def open_value(box: SecretBox | None, value: Any) -> Any:
    """The plain value of a stored one; a sealed value that cannot be opened becomes a LockedSecret."""
    if not is_sealed(value):
        return value  # written before a key was set: still readable
    if box is None:
        return LockedSecret(dict(value), MISSING_KEY)
    try:
        return box.open(value)
    except SecretKeyError as exc:
        return LockedSecret(dict(value), str(exc))
