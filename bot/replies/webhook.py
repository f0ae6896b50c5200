"""The generic outgoing reply webhook: posts approved reply texts to a URL a team configures.

It is a ChatPort for the outbox (channel address `replyhook:<platform>:<account_id>`), so a reply is
committed with the change that caused it and delivered with retries; an outage delays it, never loses
it. The receiving service (e.g. a small bridge to Douyin's comment-reply endpoint) gets JSON:

    {"idempotency_key", "platform", "account_id", "content_id", "comment_id", "thread_root_id",
     "text", "written_by", "approved_by", "content_url"}

with `Authorization: Bearer <secret>` (from the environment) and `Idempotency-Key`. It answers 2xx
(optionally {"reply_id": "..."}); 429/5xx are retried; other 4xx fail for good and reopen the item.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.messages import Image, Message, PermanentChatError, TransientChatError

log = logging.getLogger(__name__)

ResultCallback = Callable[..., None]


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
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
        if self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        try:
            response = httpx.post(self.url, json=payload, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            self._delayed(idempotency_key, f"webhook 无法连接 / unreachable: {type(exc).__name__}")
            raise TransientChatError(f"reply webhook unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            self._delayed(idempotency_key, f"HTTP {response.status_code}")
            retry_after = _retry_after(response.headers.get("Retry-After"))
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
                error = f"HTTP {response.status_code}: {response.text[:200]}"
            self.on_result(idempotency_key, ok=False, error=error)
            raise PermanentChatError(f"reply webhook refused the reply: {error}", code=str(response.status_code))
        reply_id = None
        try:
            body = response.json()
            if isinstance(body, dict):
                reply_id = body.get("reply_id") or body.get("id")
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


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
