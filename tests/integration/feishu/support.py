"""Helpers for the Feishu end-to-end tests: real encrypted, signed events and a uvicorn-run bot."""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import func, select

from bot.adapters.feishu import crypto
from bot.app import build_app
from bot.clock import Clock
from bot.config import Settings
from bot.messages import Message
from tests.fakes.feishu_api import FakeFeishuApi
from tests.support.asgi_server import running_server

__all__ = [
    "FeishuEvents",
    "assert_alerts_and_report_sent_in_order",
    "feishu_settings",
    "json_text",
    "private_answers",
    "post_event",
    "queue_alerts_and_a_report_for_half_an_hour",
    "running_server",
    "served_feishu_bot",
    "stored",
    "wait_until",
]

ENCRYPT_KEY = "e2e-encrypt-key"
VERIFICATION_TOKEN = "e2e-verification-token"
BOT_OPEN_ID = "ou_crisisbot"
# The app id of the bot feishu_settings() made last: Feishu puts the app's id in every v2 event's header, and
# the bot refuses events of another app, so the events a test builds name the bot it runs (one at a time).
_LATEST_APP_ID = ["cli_e2e"]


def feishu_settings(fake: FakeFeishuApi, **overrides: Any) -> Settings:
    """Settings of a bot on Feishu's HTTP callbacks, its Open API being `fake`: the test verification token
    and encrypt key, and a new app id each time (the SDK caches tenant tokens process-wide, by app id).
    An override of None leaves that setting out (`feishu_encrypt_key=None`: a verification token only)."""
    values = {
        "feishu_app_id": f"cli_{uuid.uuid4().hex[:12]}",
        "feishu_app_secret": "e2e-secret",
        "feishu_verification_token": VERIFICATION_TOKEN,
        "feishu_encrypt_key": ENCRYPT_KEY,
        "feishu_domain": fake.url,
        **overrides,
    }
    if values["feishu_app_id"]:
        _LATEST_APP_ID[0] = values["feishu_app_id"]
    return Settings(_env_file=None, **{k: v for k, v in values.items() if v is not None})  # type: ignore[call-arg]


@contextmanager
def served_feishu_bot(
    db, app_config, clock, *, fake: FakeFeishuApi | None = None, **settings: Any
) -> Iterator[tuple[Any, str, httpx.Client, FakeFeishuApi]]:
    """(bot, url, client, fake): the bot built with feishu_settings(fake, **settings) and served by uvicorn
    on 127.0.0.1, an HTTP client for it, and the fake Open API its replies go to (a new one unless given).
    The bot is stopped on the way out."""
    with nullcontext(fake) if fake is not None else FakeFeishuApi() as api:
        bot = build_app(feishu_settings(api, **settings), app_config, clock=clock, db=db, upgrade=False)
        try:
            with running_server(bot.web) as url, httpx.Client(timeout=10) as client:
                yield bot, url, client, api
        finally:
            bot.stop()


def stored(bot, model) -> int:
    """How many rows of `model` the bot's database holds."""
    with bot.services.db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def queue_alerts_and_a_report_for_half_an_hour(outbox, clock, caplog) -> None:
    """Three alerts for oc_ops and a report for oc_other, then 30 rounds of delivery a minute apart, the
    outbox's errors captured in `caplog`."""
    for n in range(3):
        outbox.send(channel="feishu:oc_ops", message=Message(text=f"告警 {n}"), key=f"alert:{n}")
    outbox.send(channel="feishu:oc_other", message=Message(text="周报"), key="report:1")
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        for _ in range(30):
            clock.advance(timedelta(minutes=1))
            outbox.deliver_due()


def assert_alerts_and_report_sent_in_order(fake: FakeFeishuApi) -> None:
    """What queue_alerts_and_a_report_for_half_an_hour queued reached Feishu in order, each once."""
    assert [json_text(m) for m in fake.sent("oc_ops")] == [f"告警 {n}" for n in range(3)]
    assert [json_text(m) for m in fake.sent("oc_other")] == ["周报"]


def json_text(message) -> str:
    """The text of a card the port sent (its first markdown element)."""
    card = message.card
    elements = card.get("body", {}).get("elements") or card.get("elements") or []
    for element in elements:
        if element.get("tag") in ("markdown", "div"):
            return (element.get("content") or element.get("text", {}).get("content") or "").strip()
    return ""


def private_answers(fake: FakeFeishuApi, open_id: str, chat_id: str = "oc_ops") -> list[str]:
    """The cards (as JSON text) shown to one person only in a group (ephemeral.v1.send), oldest first."""
    return [json.dumps(e["card"], ensure_ascii=False) for e in fake.ephemerals
            if e.get("open_id") == open_id and e.get("chat_id") == chat_id]


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

    def __init__(self, clock: Clock, *, encrypt_key: str = ENCRYPT_KEY, token: str = VERIFICATION_TOKEN,
                 app_id: str | None = None) -> None:
        """`app_id`: the app the events are for (header.app_id); by default the bot feishu_settings() made
        last, looked up when each event is built."""
        self.clock = clock
        self.encrypt_key = encrypt_key
        self.token = token
        self.app_id = app_id
        self._n = itertools.count(1)

    def _header(self, event_type: str, event_id: str | None) -> dict[str, Any]:
        return {
            "event_id": event_id or uuid.uuid4().hex,
            "token": self.token,
            "create_time": str(int(self.clock.now().timestamp() * 1000)),
            "event_type": event_type,
            "tenant_key": "tenant-1",
            "app_id": self.app_id or _LATEST_APP_ID[0],
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
        button_value: dict[str, Any] | None = None,
        form_value: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A click on a card button; `button_value` is the callback value as the card carries it (default
        {action_id, value}); `form_value` what was typed into the button's form, which makes the click a
        form submission (action.name is the submit button's name, as Feishu sends it)."""
        action: dict[str, Any] = {"value": button_value or {"action_id": action_id, "value": value}, "tag": "button"}
        if form_value is not None:
            action["form_value"] = form_value
            action["name"] = "submit_1"
        return {
            "schema": "2.0",
            "header": self._header("card.action.trigger", event_id),
            "event": {
                "operator": {"tenant_key": "tenant-1", "open_id": open_id, "union_id": f"on_{open_id}"},
                "token": "c-update-token",
                "action": action,
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
