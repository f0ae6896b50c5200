"""The reply webhook's body signature, seen from a loopback receiver that verifies it with the example in
docs/security.md: HMAC-SHA256 over b"v1:<timestamp>:" + the raw body, keyed by the shared secret. Also the
User-Agent, and what happens without a secret (documented as allowed: posted unsigned, warned about)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from bot.config import parse_config
from bot.replies.models import ReplyDraft, ReplyQueueItem

from .conftest import ago, cmd, rec

SECRET = "s3cret-for-signing"
SECURITY_DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"


def documented_verify():
    """The receiver's check exactly as docs/security.md shows it (the Python block under the reply webhook's
    signature heading), so the example teams copy is the one these tests run."""
    text = SECURITY_DOC.read_text(encoding="utf-8")
    section = text[text.index("## 回复 webhook 的签名"):]
    code = section[section.index("```python\n") + len("```python\n"):]
    namespace: dict = {}
    exec(code[:code.index("```")], namespace)  # noqa: S102 - the project's own documentation
    return namespace["verify"]


verify = documented_verify()


class Receiver:
    """A loopback reply bridge that keeps each request's headers and raw body bytes and answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append((dict(self.headers), body))
                payload = b'{"reply_id": "r1"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/replies"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def post_one_reply(make_bot, db, clock, receiver, text: str = "您好，请私信我们订单号") -> tuple[dict[str, str], bytes]:
    """A reply typed with /reply-queue done and delivered by the outbox: the request the receiver got."""
    bot = make_bot(replies={"posting": {"webhook_url": receiver.url}})
    bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    with db.session() as s:
        target = s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == "q")).one()
    bot.dispatcher.handle(cmd(f'/reply-queue done {target} "{text}"'))
    bot.services.outbox.drain()
    (request,) = receiver.requests
    with db.session() as s:
        assert s.exec(select(ReplyDraft)).one().status == "posted"
    return request


def test_the_receiver_verifies_the_signature_over_the_bytes_it_received(make_bot, db, clock, receiver, monkeypatch):
    """There was no signature: a receiver behind a TLS-terminating proxy had only the bearer header, which
    anyone on the inside path could replay with another body."""
    monkeypatch.setenv("CRISISBOT_REPLY_WEBHOOK_SECRET", SECRET)
    headers, body = post_one_reply(make_bot, db, clock, receiver, text="您好，敏感肌建议先耳后试用哦")
    assert headers["X-Crisisbot-Signature"].startswith("v1=")
    assert verify(SECRET, headers, body)
    assert headers["Authorization"] == f"Bearer {SECRET}"  # kept for receivers that check only this
    # the pinned JSON is unchanged and the Chinese text arrives as UTF-8 (signed exactly as sent)
    payload = json.loads(body)
    assert payload["text"] == "您好，敏感肌建议先耳后试用哦" and "敏感肌".encode() in body
    assert set(payload) >= {"idempotency_key", "platform", "account_id", "comment_id", "text"}
    assert headers["Idempotency-Key"] == payload["idempotency_key"]


def test_a_tampered_body_timestamp_or_secret_fails_verification(make_bot, db, clock, receiver, monkeypatch):
    monkeypatch.setenv("CRISISBOT_REPLY_WEBHOOK_SECRET", SECRET)
    headers, body = post_one_reply(make_bot, db, clock, receiver)
    tampered = body.replace("请私信".encode(), "加微信".encode())
    assert tampered != body and not verify(SECRET, headers, tampered)
    assert not verify(SECRET, {**headers, "X-Crisisbot-Timestamp": str(int(headers["X-Crisisbot-Timestamp"]) + 1)},
                      body)
    assert not verify("another-secret", headers, body)
    stale = int(headers["X-Crisisbot-Timestamp"]) - 3600  # an old request replayed: outside the window
    message = b"v1:" + str(stale).encode() + b":" + body
    old = {"X-Crisisbot-Timestamp": str(stale),
           "X-Crisisbot-Signature": "v1=" + hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()}
    assert not verify(SECRET, old, body)


def test_the_user_agent_names_crisisbot_and_its_version(make_bot, db, clock, receiver, monkeypatch):
    """It was httpx's default (python-httpx/…): a receiver's logs could not tell the bot from any script."""
    from importlib.metadata import version

    monkeypatch.setenv("CRISISBOT_REPLY_WEBHOOK_SECRET", SECRET)
    headers, _ = post_one_reply(make_bot, db, clock, receiver)
    assert headers["User-Agent"] == f"crisisbot/{version('crisisbot')}"


def test_without_a_secret_the_reply_is_posted_unsigned_and_that_is_warned_about(make_bot, db, clock, receiver,
                                                                                 monkeypatch, caplog):
    """Documented behaviour (a local bridge may do without a secret; `config check` warns): the reply is still
    posted, with neither a bearer header nor a signature that would be keyed by nothing, and the log says so."""
    monkeypatch.delenv("CRISISBOT_REPLY_WEBHOOK_SECRET", raising=False)
    with caplog.at_level(logging.WARNING, logger="bot.replies.webhook"):
        headers, body = post_one_reply(make_bot, db, clock, receiver)
    assert json.loads(body)["text"] == "您好，请私信我们订单号"
    assert not {"Authorization", "X-Crisisbot-Signature", "X-Crisisbot-Timestamp"} & set(headers)
    assert headers["User-Agent"].startswith("crisisbot/")
    unsigned = [r.getMessage() for r in caplog.records if r.name == "bot.replies.webhook" and "unsigned" in r.getMessage()]
    assert len(unsigned) == 1 and "未签名" in unsigned[0]


def test_config_check_says_a_missing_secret_means_unsigned_replies_chinese_first():
    from bot.replies.wiring import config_warnings

    config = parse_config(yaml.safe_load("replies: {posting: {webhook_url: 'http://127.0.0.1:9/replies'}}\n"),
                          source="c.yaml")
    (warning,) = [w for w in config_warnings(config, environ={}) if "CRISISBOT_REPLY_WEBHOOK_SECRET" in w]
    assert warning.index("未签名") < warning.index("unsigned")
    assert "X-Crisisbot-Signature" in warning
    assert not [w for w in config_warnings(config, environ={"CRISISBOT_REPLY_WEBHOOK_SECRET": "s"})
                if "CRISISBOT_REPLY_WEBHOOK_SECRET" in w]
