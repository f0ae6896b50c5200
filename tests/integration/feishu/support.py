"""Helpers for the Feishu end-to-end tests: real encrypted, signed events and a uvicorn-run bot."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from bot.adapters.feishu import crypto
from bot.clock import Clock
from tests.support.asgi_server import running_server

__all__ = ["FeishuEvents", "post_event", "running_server", "wait_until"]

ENCRYPT_KEY = "e2e-encrypt-key"
VERIFICATION_TOKEN = "e2e-verification-token"
BOT_OPEN_ID = "ou_crisisbot"


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll for background work (dispatcher, outbox) to finish; not a sleep for time to pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class FeishuEvents:
    """Builds the events Feishu would send (schema 2.0), encrypted and signed as documented."""

    def __init__(self, clock: Clock, *, encrypt_key: str = ENCRYPT_KEY, token: str = VERIFICATION_TOKEN) -> None:
        self.clock = clock
        self.encrypt_key = encrypt_key
        self.token = token
        self._n = itertools.count(1)

    def _header(self, event_type: str, event_id: str | None) -> dict[str, Any]:
        return {
            "event_id": event_id or uuid.uuid4().hex,
            "token": self.token,
            "create_time": str(int(self.clock.now().timestamp() * 1000)),
            "event_type": event_type,
            "tenant_key": "tenant-1",
            "app_id": "cli_e2e",
        }

    def challenge(self, value: str = "challenge-value") -> dict[str, Any]:
        return {"challenge": value, "token": self.token, "type": "url_verification"}

    def message(
        self,
        text: str,
        *,
        chat_id: str = "oc_ops",
        open_id: str = "ou_alice",
        chat_type: str = "group",
        event_id: str | None = None,
        mention_bot: bool = True,
    ) -> dict[str, Any]:
        n = next(self._n)
        mentions = (
            [{"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID, "union_id": "on_bot"}, "name": "crisisbot",
              "tenant_key": "tenant-1"}]
            if mention_bot
            else []
        )
        body = f"@_user_1 {text}" if mention_bot else text
        return {
            "schema": "2.0",
            "header": self._header("im.message.receive_v1", event_id),
            "event": {
                "sender": {"sender_id": {"open_id": open_id, "union_id": f"on_{open_id}"}, "sender_type": "user",
                           "tenant_key": "tenant-1"},
                "message": {
                    "message_id": f"om_cmd_{n}_{uuid.uuid4().hex[:6]}",
                    "create_time": str(int(self.clock.now().timestamp() * 1000)),
                    "chat_id": chat_id,
                    "chat_type": chat_type,
                    "message_type": "text",
                    "content": json.dumps({"text": body}, ensure_ascii=False),
                    "mentions": mentions,
                },
            },
        }

    def card_action(
        self,
        action_id: str,
        value: str,
        *,
        chat_id: str = "oc_ops",
        open_id: str = "ou_bob",
        message_id: str = "om_card_1",
        event_id: str | None = None,
    ) -> dict[str, Any]:
        return {
            "schema": "2.0",
            "header": self._header("card.action.trigger", event_id),
            "event": {
                "operator": {"tenant_key": "tenant-1", "open_id": open_id, "union_id": f"on_{open_id}"},
                "token": "c-update-token",
                "action": {"value": {"action_id": action_id, "value": value}, "tag": "button"},
                "host": "im_message",
                "context": {"open_message_id": message_id, "open_chat_id": chat_id},
            },
        }

    def request(
        self,
        payload: dict[str, Any],
        *,
        age_s: float = 0.0,
        encrypt: bool = True,
        forge: bool = False,
    ) -> tuple[dict[str, str], bytes]:
        """(headers, body) as Feishu sends them; `age_s` back-dates the timestamp, `forge` breaks the signature."""
        body = (
            crypto.encrypted_body(self.encrypt_key, payload)
            if encrypt
            else json.dumps(payload, ensure_ascii=False).encode()
        )
        timestamp = int(self.clock.now().timestamp() - age_s)
        headers = crypto.signed_headers(self.encrypt_key, body, timestamp=timestamp)
        if forge:
            headers[crypto.SIGNATURE_HEADER] = crypto.signature(
                headers[crypto.TIMESTAMP_HEADER], headers[crypto.NONCE_HEADER], "not-the-key", body
            )
        return headers, body


def post_event(client: httpx.Client, url: str, events: FeishuEvents, payload: dict[str, Any], **kw: Any) -> httpx.Response:
    headers, body = events.request(payload, **kw)
    return client.post(url + "/feishu/events", content=body, headers=headers)
