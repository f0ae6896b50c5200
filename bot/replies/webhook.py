"""The generic outgoing reply webhook: posts approved reply texts to a URL a team configures.

It is a ChatPort for the outbox (channel address `replyhook:<platform>:<account_id>`), so a reply is
committed with the change that caused it and delivered with retries; an outage delays it, never loses
it. The receiving service (e.g. a small bridge to Douyin's comment-reply endpoint) gets JSON:

    {"idempotency_key", "platform", "account_id", "content_id", "comment_id", "thread_root_id",
     "text", "written_by", "approved_by", "content_url"}

with `Authorization: Bearer <secret>` (from the environment), `Idempotency-Key`, `User-Agent: crisisbot/<version>` and
a body signature the receiver can check without trusting whatever terminated TLS in front of it:
`X-Crisisbot-Timestamp: <unix seconds>` and `X-Crisisbot-Signature: v1=<hex HMAC-SHA256 of
b"v1:<timestamp>:" + the raw body bytes, keyed by the same secret>` (see `signature`). Without a secret (a warning
in `config check` and once in the log) the request carries neither the bearer header nor a signature. It answers 2xx
(optionally {"reply_id": "..."}); 408/429/5xx are retried (Retry-After in seconds or as an HTTP-date, at most
MAX_RETRY_AFTER_S); other 4xx fail for good and reopen the item, the channel shown their JSON `error` /
`message`. Only the first MAX_RESPONSE_BYTES of an answer are read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from bot.messages import Image, Message, PermanentChatError, TransientChatError

log = logging.getLogger(__name__)

ResultCallback = Callable[..., None]

# What of the receiver's answer is read: a status and maybe {"reply_id": ...} (or an error text) fit easily.
MAX_RESPONSE_BYTES = 64 * 1024
# The longest wait a receiver's Retry-After may ask for; longer (or "inf") is read as this much.
MAX_RETRY_AFTER_S = 3600.0

TIMESTAMP_HEADER = "X-Crisisbot-Timestamp"
SIGNATURE_HEADER = "X-Crisisbot-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Crisisbot-Signature` value: `v1=` and the hex HMAC-SHA256 of b"v1:<timestamp>:<body>" keyed by the
    secret. The receiver computes the same over the raw bytes it received (before parsing them) and compares in
    constant time; a changed body, timestamp or secret gives another value."""
    message = b"v1:" + timestamp.encode("ascii") + b":" + body
    return "v1=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def user_agent() -> str:
    """`crisisbot/<version>`: receivers and their proxies see who is calling (it was httpx's default)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("crisisbot")
    except PackageNotFoundError:  # run from a checkout that was never installed: the constant in bot/__init__
        from bot import __version__ as number
    return f"crisisbot/{number}"


class ReplyWebhookPort:
    platform = "replyhook"
    # what the outbox's log line advises when a reply is refused (not the chat ports' channel advice)
    refusal_hint = "the reply webhook refused this reply: the item is back in the queue and its channel was told"

    def __init__(self, url: str, *, secret: str | None, timeout: float, on_result: ResultCallback,
                 on_delay: ResultCallback | None = None) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.on_result = on_result
        self.on_delay = on_delay  # (key, error=...) after each failure that will be retried
        self.user_agent = user_agent()
        if not secret:
            # Documented as allowed (a local bridge without a secret; `config check` warns too), but it should
            # not go unnoticed in the log: such requests carry no bearer header and no signature.
            log.warning("回复 webhook 未设置密钥：回复将以未签名方式发送（没有 Authorization 和 %s）/ the reply webhook "
                        "has no secret: replies are posted unsigned (no Authorization, no %s)",
                        SIGNATURE_HEADER, SIGNATURE_HEADER)

    def _delayed(self, idempotency_key: str, error: str) -> None:
        """Tell the service a retry is coming (it tells the channel once when a reply stays unposted). Never
        lets its own failure turn a retry into a crashed delivery."""
        if self.on_delay is None:
            return
        try:
            self.on_delay(idempotency_key, error=error)
        except Exception:  # noqa: BLE001
            log.exception("could not record the delay of reply %s", idempotency_key)

    def post(
        self, channel_id: str, message: Message, *, idempotency_key: str, maybe_sent_since: datetime | None = None
    ) -> str:
        # maybe_sent_since is not needed: the receiver deduplicates on the Idempotency-Key header.
        import httpx  # only deployments that post replies pay for the import

        details = dict(message.meta.get("reply_post") or {})
        payload = {"idempotency_key": idempotency_key, **details, "text": message.text}
        # Serialized once (as httpx's json= would) so the signature covers exactly the bytes sent.
        content = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json",
                   "User-Agent": self.user_agent}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
            # signed at each attempt: a retry an hour later carries a fresh timestamp
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(self.secret, timestamp, content)
        try:
            # Streamed and read only up to MAX_RESPONSE_BYTES: the answer is a status and maybe a reply id,
            # and a receiver answering with a huge page (an error page, a proxy's dump) was read whole into
            # memory (a 30 MB body cost the bot ~95 MB).
            with httpx.stream("POST", self.url, content=content, headers=headers, timeout=self.timeout) as response:
                body = _bounded_body(response)
        except httpx.HTTPError as exc:
            self._delayed(idempotency_key, f"webhook 无法连接 / unreachable: {type(exc).__name__}")
            raise TransientChatError(f"reply webhook unreachable: {type(exc).__name__}") from exc
        # 408 Request Timeout is the receiver giving up on a slow request, no verdict on the reply (RFC 9110:
        # the client may repeat it); it used to fail for good and reopen the item.
        if response.status_code in (408, 429) or response.status_code >= 500:
            self._delayed(idempotency_key, f"HTTP {response.status_code}")
            retry_after = _retry_after(response.headers.get("Retry-After"), response.headers.get("Date"))
            raise TransientChatError(f"reply webhook answered {response.status_code}", code=str(response.status_code),
                                     retry_after=retry_after)
        if response.status_code >= 300:
            # A redirect is no success: the POST was not followed, so the receiver never posted the reply
            # (a 301 from http:// to https:// used to be recorded as posted). Like other 4xx it fails for
            # good and reopens the item, naming where the webhook points to.
            if response.status_code < 400:
                location = response.headers.get("Location") or "?"
                error = (f"HTTP {response.status_code}: webhook 重定向到 {location}，请把 replies.posting.webhook_url "
                         f"改为最终地址 / the webhook redirects to {location}: set replies.posting.webhook_url to it")
            else:
                error = f"HTTP {response.status_code}: {_refusal_text(body, response.charset_encoding)}"
            self.on_result(idempotency_key, ok=False, error=error)
            raise PermanentChatError(f"reply webhook refused the reply: {error}", code=str(response.status_code))
        reply_id = None
        try:
            answer = json.loads(body) if body else None
            if isinstance(answer, dict):
                reply_id = answer.get("reply_id") or answer.get("id")
        except ValueError:
            pass
        reply_id = str(reply_id) if reply_id else idempotency_key
        self.on_result(idempotency_key, ok=True, platform_reply_id=reply_id)
        return reply_id

    def update(self, channel_id: str, message_id: str, message: Message) -> None:
        raise PermanentChatError("a posted comment reply cannot be edited through the webhook")

    def upload(self, channel_id: str, image: Image, *, idempotency_key: str,
               maybe_sent_since: datetime | None = None) -> str:
        raise PermanentChatError("the reply webhook takes text only")


def _bounded_body(response) -> bytes:
    """At most MAX_RESPONSE_BYTES of the answer; the rest is never read (the connection is closed)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk[:MAX_RESPONSE_BYTES - size])
        size += len(chunks[-1])
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)


def _refusal_text(body: bytes, charset: str | None) -> str:
    """What the receiver said when refusing, for the channel: its JSON `error` / `message` as written (a
    Chinese reason arrived as \\u8bc4\\u8bba... escapes), else the start of the body."""
    try:
        text = body.decode(charset or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", "replace")
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        reason = next((answer[k] for k in ("error", "message", "msg", "detail") if isinstance(answer.get(k), str)),
                      None)
        if reason:
            text = reason
    return " ".join(text.split())[:200]


def _retry_after(value: str | None, date: str | None = None) -> float | None:
    """Retry-After in seconds (delay-seconds or an HTTP-date, RFC 9110), at most MAX_RETRY_AFTER_S; None when
    absent or unreadable. "inf" or "1e20" used to reach the outbox's timedelta and crash the delivery round
    (OverflowError: the reply and every later message stayed unsent); an HTTP-date was ignored."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        when, sent = _http_date(value), _http_date(date)
        if when is None:
            return None
        # from the receiver's own Date header when it sends one, so a skewed clock here does not matter
        seconds = (when - (sent or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None if math.isnan(seconds) else MAX_RETRY_AFTER_S
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _http_date(value: str | None) -> datetime | None:
    """An HTTP-date as an aware datetime; None when absent or unreadable."""
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
