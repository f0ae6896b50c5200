"""Feishu's event encryption and request signature (documented scheme), for checks the SDK skips.

- Encrypted body: {"encrypt": base64(iv16 || AES-256-CBC(key=sha256(encrypt_key), PKCS7(plaintext)))}.
- Signature: X-Lark-Signature = sha256(timestamp + nonce + encrypt_key + raw body).hexdigest().

AES comes from pycryptodome (a dependency of lark-oapi), imported only when needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

SIGNATURE_HEADER = "X-Lark-Signature"
TIMESTAMP_HEADER = "X-Lark-Request-Timestamp"
NONCE_HEADER = "X-Lark-Request-Nonce"
BLOCK = 16


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """The X-Lark-Signature Feishu sends for this body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def signature_matches(timestamp: str, nonce: str, encrypt_key: str, body: bytes, given: str) -> bool:
    """Constant-time comparison of the expected and the given signature.

    Compared as bytes: `hmac.compare_digest` raises TypeError on a str holding non-ASCII characters,
    and a header of such bytes is a forgery to refuse, not a server error."""
    expected = signature(timestamp, nonce, encrypt_key, body).encode()
    return hmac.compare_digest(expected, (given or "").encode("utf-8", "surrogateescape"))


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode()).digest()


def encrypt(encrypt_key: str, plaintext: bytes, *, iv: bytes | None = None) -> str:
    """base64(iv || AES-256-CBC(PKCS7(plaintext))) as Feishu builds the "encrypt" field."""
    from Crypto.Cipher import AES

    iv = iv if iv is not None else os.urandom(BLOCK)
    pad = BLOCK - len(plaintext) % BLOCK
    cipher = AES.new(_key(encrypt_key), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(plaintext + bytes([pad]) * pad)).decode()


def decrypt(encrypt_key: str, encrypted: str) -> bytes:
    """Reverse of `encrypt`; ValueError when the data is not a well-formed ciphertext for this key."""
    from Crypto.Cipher import AES

    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("encrypt field is not base64") from exc
    if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
        raise ValueError("invalid ciphertext length")
    cipher = AES.new(_key(encrypt_key), AES.MODE_CBC, raw[:BLOCK])
    padded = cipher.decrypt(raw[BLOCK:])
    pad = padded[-1]
    if not 1 <= pad <= BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise ValueError("invalid padding: wrong encrypt key?")
    return padded[:-pad]


def encrypted_body(encrypt_key: str, payload: dict[str, Any]) -> bytes:
    """The raw HTTP body Feishu sends for an event payload when an encrypt key is set."""
    plaintext = json.dumps(payload, ensure_ascii=False).encode()
    return json.dumps({"encrypt": encrypt(encrypt_key, plaintext)}).encode()


def signed_headers(encrypt_key: str, body: bytes, *, timestamp: int, nonce: str | None = None) -> dict[str, str]:
    """The signature headers Feishu sends with `body` (used by tests, the bench and the docs)."""
    nonce = nonce or base64.urlsafe_b64encode(os.urandom(12)).decode()
    ts = str(int(timestamp))
    return {
        TIMESTAMP_HEADER: ts,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(ts, nonce, encrypt_key, body),
        "Content-Type": "application/json; charset=utf-8",
    }
