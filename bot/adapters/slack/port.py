"""`SlackChatPort`: the outbox worker's way to post, update and upload into Slack (slack_sdk WebClient).

Short rate limits and 5xx are retried in place by slack_sdk's retry handlers; anything longer becomes a
`TransientChatError` (with `retry_after`) so the durable outbox retries later and nothing is lost.
Errors a person must fix about one channel or message (`channel_not_found`, `not_in_channel`, ...) become
`PermanentChatError` with one clear log line and a metric. A refused bot token (`invalid_auth`,
`token_revoked`, `not_allowed_token_type`, ...) concerns every message, not this one: it becomes
`CredentialChatError`, and the outbox holds Slack's messages until the token is fixed (it logs what to fix).
A scope the app lacks (`missing_scope`, e.g. files:write for charts) concerns every message that needs it:
it becomes `PermissionChatError`, and the outbox holds those messages (only those) until the scope is added
and the app reinstalled.

chat.postMessage has no idempotency key, so a retry after a lost answer (timeout, reset connection, 5xx
after Slack accepted the message) would post twice. Instead: every message carries Slack message
metadata naming its outbox key; such failures are not retried in place but reported as
`maybe_delivered`; and the outbox's next attempt (told `maybe_sent_since`) first reads the channel's
recent history (`conversations.history`, or `conversations.replies` in a thread), page after page until
the window since the first uncertain attempt is read (bounded), for a message with that key and returns
its ts. PNG and file uploads (files_upload_v2) cannot carry metadata: their file name carries a short hash
of the outbox key instead ("trend.png" -> "trend-<hash>.png", "crisis-3-review.md" -> "crisis-3-review-<hash>.md"),
and a retry looks for a shared file of that name before uploading again. The check never blocks a message for good: if it is refused (missing
history scope, ...), the port logs once and posts anyway; if Slack cannot answer it (an outage), the
attempt is retried later like any other.

People a text names by address ('slack:U123': status cards, timelines, reviews) show by name (users.info,
scope users:read; cached NAME_TTL_S per person, failures NAME_RETRY_S or NAME_OUTAGE_RETRY_S), not as
<@U123>: a mention in a new message notifies the person, and every status post pinged every assignee again.
`Message.mentions` are meant to notify and stay mentions (never looked up). Without the scope, or when the
lookup fails, the person shows as <@U123> as before (the missing scope logged once); a lookup never fails a post.
"""

from __future__ import annotations

import hashlib
import logging
import random
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator
from datetime import datetime
from http.client import HTTPException
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

from prometheus_client import Counter
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from bot.adapters.name_cache import NAME_CACHE_MAX, NAME_RETRY_S, NAME_TTL_S, NameCache
from bot.messages import (
    CredentialChatError,
    File,
    Image,
    Message,
    PermanentChatError,
    PermissionChatError,
    TransientChatError,
)

from .render import NameOf, render_message

log = logging.getLogger("crisisbot.slack")

SLACK_API_ERRORS = Counter(
    "crisisbot_slack_api_errors_total",
    "Slack Web API calls that failed, by method and Slack error code",
    ["method", "error", "kind"],
)
SLACK_API_CALLS = Counter("crisisbot_slack_api_calls_total", "Slack Web API calls made by the chat port", ["method"])
SLACK_DUPLICATES_AVOIDED = Counter(
    "crisisbot_slack_duplicate_posts_avoided_total",
    "Retried posts found already in Slack (an earlier answer was lost), so not posted again",
)
SLACK_DUPLICATES_DELETED = Counter(
    "crisisbot_slack_duplicate_posts_deleted_total",
    "Extra copies of a post deleted (two attempts of unknown outcome both landed; the oldest copy stays)",
)

# Message metadata naming the outbox key (invisible to people; readable with the history scopes).
METADATA_EVENT_TYPE = "crisisbot_outbox_message"
MAX_METADATA_KEY = 64  # keep the metadata small: longer outbox keys are sent as a stable hash
# How far before the first uncertain attempt the lookup starts: Slack's clock and ours may disagree.
HISTORY_LOOKBACK_S = 60.0
# Messages per page of the lookup (Slack: default 100, at most 999, no more than 200 recommended). History
# comes newest first and the message looked for is the oldest in the window, so the lookup pages on
# (`cursor`) until the window is read or the message found; the outbox holds later bot messages for the
# channel back while this one is pending, so only people's messages can come in between.
HISTORY_LIMIT = 100
# At most this many pages per lookup (conversations.history is Tier 3, about 50 calls a minute): a window
# with more people's messages than that is not read to its end, and the message is posted anyway.
HISTORY_MAX_PAGES = 10
# A post whose answer was lost may still be stored by Slack after the client gave up (a slow Slack answers
# late but keeps the message): the retry's history check waits the client timeout plus this much after the
# lost answer (`unknown_outcome_settle_s`, read by the outbox), else it misses the late message and posts a
# second copy. A re-send after an unknown outcome is checked once more and any extra copy deleted (below).
SLACK_SETTLE_S = 10.0
# Slack's own words for these codes: "it's possible some aspect of the operation succeeded".
MAYBE_APPLIED_ERRORS = frozenset({"internal_error", "fatal_error"})

# Slack error codes that mean "try again later"; everything else needs a person.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}
)
# The bot token itself is refused: no message can get through until a person fixes SLACK_BOT_TOKEN.
# `not_allowed_token_type`: SLACK_BOT_TOKEN is no bot token (a user or app-level token): every method we call
# takes a bot token, so it is the token that is wrong, whatever the message.
CREDENTIAL_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
                               "not_allowed_token_type"})
# The app lacks a permission for a method, whatever the channel: every message calling that method waits until
# a person adds the scope and reinstalls the app (`accesslimited`: the token's IP allowlist refuses this host).
# Not here, as they concern one channel or one message and stay PermanentChatError: not_in_channel,
# channel_not_found, is_archived, restricted_action, no_permission (legacy workspace tokens: the app is not a
# member of that conversation), ekm_access_denied (an admin revoked access, possibly for one channel only).
PERMISSION_ERRORS = frozenset({"missing_scope", "accesslimited"})
# What to tell the operator (Chinese first). Used in the log line and, where possible, in the channel.
FIX_HINTS: dict[str, str] = {
    "channel_not_found": "找不到频道：检查配置里的频道 ID；私有频道需先邀请机器人 / "
    "channel not found: check the channel id in config; invite the bot to private channels",
    "not_in_channel": "机器人不在该频道：请在频道中输入 /invite @crisisbot / "
    "the bot is not in this channel: type /invite @crisisbot there",
    "is_archived": "频道已归档：请在配置中换一个频道 / the channel is archived: map the account to another channel",
    "invalid_auth": "SLACK_BOT_TOKEN 无效：重新复制 Bot User OAuth Token / SLACK_BOT_TOKEN is invalid: copy the Bot token again",
    "not_authed": "未设置 SLACK_BOT_TOKEN / SLACK_BOT_TOKEN is not set",
    "token_revoked": "令牌已被撤销：重新安装应用 / the token was revoked: reinstall the app",
    "account_inactive": "令牌所属账号已停用：重新安装应用 / the token's account is inactive: reinstall the app",
    "token_expired": "令牌已过期（开启了令牌轮换）：重新安装应用并设置新的 SLACK_BOT_TOKEN / the token expired "
    "(token rotation is on): reinstall the app and set the new SLACK_BOT_TOKEN",
    "not_allowed_token_type": "SLACK_BOT_TOKEN 不是机器人令牌：请设置以 xoxb- 开头的 Bot User OAuth Token 并重启 / "
    "SLACK_BOT_TOKEN is not a bot token: set the Bot User OAuth Token (xoxb-...) and restart",
    "missing_scope": "缺少权限：在 OAuth & Permissions 中按 config/slack-manifest.yaml 补上所需 scope 并重新安装应用"
    "（重新安装后若令牌变了，请更新 SLACK_BOT_TOKEN 并重启）/ missing scope: add the needed scope under OAuth & "
    "Permissions as in config/slack-manifest.yaml and reinstall the app (if the token changed, set the new "
    "SLACK_BOT_TOKEN and restart)",
    "accesslimited": "该网络无权调用 Slack API（令牌设置了 IP 白名单）：请管理员将本机出口 IP 加入白名单 / "
    "Slack refuses API calls from this network (the token has an IP allowlist): ask an admin to add this host's IP",
    "invalid_blocks": "消息格式被 Slack 拒绝（Block Kit）：请报告此问题 / Slack rejected the Block Kit layout: please report",
    "msg_too_long": "消息过长 / message too long",
    "message_not_found": "要更新的消息已不存在（已被删除），新版本将作为新消息发出 / the message to update no longer "
    "exists (deleted): the new version is posted as a new message",
    "cant_update_message": "机器人只能更新自己发的消息 / the bot can only update its own messages",
    "expired_url": "response_url 已过期（30 分钟）/ the response_url expired (30 minutes)",
}
# Errors the bot can explain in the channel itself through the command's response_url.
SAY_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found", "is_archived"})

RESPONSE_URL_PREFIX = "rurl:"

# People's names (users.info, scope users:read): a text naming someone by address ('slack:U123') shows the
# name instead of a mention, which would notify the person again with every status card or timeline.
# NAME_TTL_S, NAME_RETRY_S (after a refused lookup: no users:read, unknown user) and NAME_CACHE_MAX are shared
# with the Feishu port (bot.adapters.name_cache).
NAME_OUTAGE_RETRY_S = 60  # after a lookup Slack could not answer (5xx, 429, no connection)
NAME_LOOKUP_TIMEOUT_S = 3  # a name is not worth holding a post back for long: the mention stands in
MISSING_NAMES_HINT = (
    "slack: 缺少 users:read 权限，无法读取成员名字：消息里提到的人仍以 @提及 显示，每条状态卡片和时间线都会再次通知他们。"
    "请按 config/slack-manifest.yaml 添加 users:read 并重新安装应用 / cannot read people's names (missing scope "
    "users:read): texts still show people as mentions, which notify them again with every status card and "
    "timeline; add users:read as in config/slack-manifest.yaml and reinstall the app"
)


class _PatientRateLimitHandler(RateLimitErrorRetryHandler):
    """Honours Retry-After in place only when the wait is short; longer waits go back to the outbox."""

    def __init__(self, *, max_retry_count: int, max_wait: float, sleep: Callable[[float], None]) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        return retry_after_seconds(response.headers) <= self.max_wait

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        assert response is not None
        state.next_attempt_requested = True
        self.sleep(retry_after_seconds(response.headers))
        state.increment_current_attempt()


class _ConnectionErrorHandler(ConnectionErrorRetryHandler):
    """Retries a reset/refused connection once, through an injectable sleep.

    Not for chat.postMessage when the request may have arrived (reset, not refused): a blind retry could
    post twice; the outbox retries it after checking the channel instead.
    """

    def __init__(self, *, sleep: Callable[[float], None]) -> None:
        super().__init__(max_retry_count=1)
        self.sleep = sleep

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        return not _posts_a_message(request) or _never_sent(error)

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self.sleep(0.2 + random.random() * 0.1)
        state.increment_current_attempt()


class _ServerErrorHandler(ServerErrorRetryHandler):
    """Retries 500/502/503/504 with a short backoff through an injectable sleep."""

    def __init__(self, *, max_retry_count: int, sleep: Callable[[float], None]) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        # A 5xx on chat.postMessage may come after Slack stored the message: the outbox retries that one
        # after checking the channel, never blindly here.
        return (response is not None and response.status_code in (500, 502, 503, 504)
                and not _posts_a_message(request))

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self.sleep(0.2 * (2 ** state.current_attempt) + random.random() * 0.1)
        state.increment_current_attempt()


def _posts_a_message(request: HttpRequest) -> bool:
    return request.url.split("?", 1)[0].rstrip("/").endswith("/chat.postMessage")


def _never_sent(error: BaseException | None) -> bool:
    """True when the request surely never reached Slack (refused connection, unknown host)."""
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def metadata_key(idempotency_key: str) -> str:
    """The outbox key as carried in message metadata (<= 64 chars; long keys hashed, stable across retries)."""
    if len(idempotency_key) <= MAX_METADATA_KEY:
        return idempotency_key
    return "h-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[: MAX_METADATA_KEY - 2]


def outbox_metadata(idempotency_key: str) -> dict[str, Any]:
    """chat.postMessage `metadata` naming the outbox key, so a retry can find a message Slack already has."""
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": metadata_key(idempotency_key)}}


def retry_after_seconds(headers: dict[str, Any] | None, default: float = 1.0) -> float:
    """Retry-After from response headers (values may be lists, names any case)."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return default
    return default


def normalise_base_url(url: str | None) -> str | None:
    """slack_sdk needs the trailing slash: 'http://127.0.0.1:8888/api' -> 'http://127.0.0.1:8888/api/'."""
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


class SlackChatPort:
    """ChatPort for Slack. Thread-safe; meant to be called by the outbox worker."""

    platform = "slack"

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        max_rate_limit_wait: float = 5.0,
        max_retries: int = 2,
        monotonic: Callable[[], float] = time.monotonic,
        language: Callable[[str], str] | None = None,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        # the language of a channel ('zh' or 'en', config `language`, by its address 'slack:<id>'), which the
        # adapter's own notes in its messages speak (render_message)
        self.language: Callable[[str], str] = language or (lambda _channel: "zh")
        self._sleep = sleep
        self._monotonic = monotonic
        self._retry_handlers = [
            _ConnectionErrorHandler(sleep=sleep),
            _PatientRateLimitHandler(max_retry_count=max_retries, max_wait=max_rate_limit_wait, sleep=sleep),
            _ServerErrorHandler(max_retry_count=max_retries, sleep=sleep),
        ]
        kwargs: dict[str, Any] = {"token": token, "timeout": int(max(1, timeout)), "retry_handlers": self._retry_handlers}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        self.client = WebClient(**kwargs)
        # Name lookups: a short timeout and no retries in place; a failed one shows the mention instead.
        self._people_client = WebClient(**{**kwargs, "timeout": int(max(1, min(timeout, NAME_LOOKUP_TIMEOUT_S))),
                                           "retry_handlers": []})
        self.timeout = timeout
        # How long the outbox waits after an unknown outcome before the retry (and its history check).
        self.unknown_outcome_settle_s = timeout + SLACK_SETTLE_S
        # Slack user id -> name, or None after a failed lookup
        self._names = NameCache(ttl_s=NAME_TTL_S, max_entries=NAME_CACHE_MAX, monotonic=monotonic)
        self._names_lock = threading.Lock()  # guards the missing-scope window below
        # users:read is missing: no lookup for anyone until then (the scope is the app's, not a person's)
        self._names_refused_until = 0.0
        self._names_warned = False
        # Called with (channel_id, error code, hint) when a channel cannot be posted to and no response_url
        # can say so there; the wiring uses it to tell the operator in the default channel.
        self.on_channel_error: Callable[[str, str, str], None] | None = None
        # Parts of a multi-call post already done, by idempotency key, so an outbox retry after a
        # failed image upload does not post the text twice (bounded; process-local by design).
        self._done: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._done_lock = threading.Lock()
        # (method, channel, error) of failed duplicate checks already logged: one line each, not one per retry.
        self._lookup_failures_logged: set[tuple[str, str, str]] = set()

    # ------------------------------------------------------------------ ChatPort

    def post(
        self, channel_id: str, message: Message, *, idempotency_key: str, maybe_sent_since: datetime | None = None
    ) -> str:
        """Post a message (and upload its PNG images); return its ts, or 'rurl:…' for response_url answers.

        With `maybe_sent_since` (an earlier attempt's answer was lost), first look for the message in the
        channel, or in its thread, and return the ts found instead of posting it a second time.
        """
        progress = self._progress(idempotency_key)
        reply = message.meta.get("reply") or {}
        response_url = reply.get("response_url")
        if progress.get("id") is None:
            payload = self._render(message, channel_id)
            message_id = None
            if message.ephemeral:
                # No duplicate check here: ephemeral answers (response_url or chat.postEphemeral) never
                # show in conversations.history, and a repeat reaches only the one person who asked.
                message_id = self._post_ephemeral(channel_id, message, payload, reply, idempotency_key)
            thread_ts = reply.get("thread_ts") or None
            window_read = False
            if message_id is None and maybe_sent_since is not None:
                copies, window_read = self._posted_copies(channel_id, idempotency_key, since=maybe_sent_since,
                                                          thread_ts=thread_ts)
                if copies:
                    message_id = self._keep_oldest(channel_id, idempotency_key, copies)
                    self._duplicate_avoided(idempotency_key, channel_id, f"ts {message_id}")
                # else: none yet; `window_read` asks for a second look after the re-send (`_settle_resend`)
            if message_id is not None:
                progress["id"] = message_id
            else:
                try:
                    thread = {"thread_ts": thread_ts} if thread_ts else {}
                    response = self._call("chat.postMessage", self.client.chat_postMessage,
                                          channel=channel_id, **payload, **thread,
                                          metadata=outbox_metadata(idempotency_key))
                    progress["id"] = str(response.get("ts"))
                    if window_read:
                        progress["id"] = self._settle_resend(channel_id, idempotency_key, progress["id"],
                                                             since=maybe_sent_since, thread_ts=thread_ts)
                except PermanentChatError as error:
                    if not (response_url and error.code in SAY_IN_CHANNEL and self.response_url_allowed(response_url)):
                        self._notify_channel_error(channel_id, error)
                        raise
                    # The command's response_url still reaches the channel: answer there and say what to fix.
                    hint = FIX_HINTS.get(error.code or "", error.code or "")
                    payload = dict(payload)
                    payload["blocks"] = [*payload["blocks"], {
                        "type": "context", "elements": [{"type": "mrkdwn", "text": f":warning: {hint}"}]}]
                    self._respond(response_url, {**payload, "response_type": "in_channel"}, method="response_url")
                    progress["id"] = RESPONSE_URL_PREFIX + response_url
        for index, image in enumerate(message.images):
            if image.png and index not in progress.setdefault("images", set()):
                try:
                    self.upload(channel_id, image, idempotency_key=f"{idempotency_key}:image:{index}",
                                maybe_sent_since=maybe_sent_since)
                except PermissionChatError as error:
                    # The text is out; the image waits for its scope, maybe across a restart (which forgets
                    # `progress`): the retry must look for the text before posting it again.
                    error.maybe_delivered = True
                    raise
                progress["images"].add(index)
        for index, file in enumerate(message.files):
            if index not in progress.setdefault("files", set()):
                try:
                    self.upload_file(channel_id, file, idempotency_key=f"{idempotency_key}:file:{index}",
                                     maybe_sent_since=maybe_sent_since)
                except (PermissionChatError, TransientChatError) as error:
                    # The text (and the images) are out: whatever stopped the file, the retry, maybe after a
                    # restart that forgets `progress`, must look for them before posting them again.
                    error.maybe_delivered = True
                    raise
                progress["files"].add(index)
        return str(progress["id"])

    def _notify_channel_error(self, channel_id: str, error: PermanentChatError) -> None:
        if self.on_channel_error is None or error.code not in SAY_IN_CHANNEL:
            return
        try:
            self.on_channel_error(channel_id, error.code or "", FIX_HINTS.get(error.code or "", ""))
        except Exception:  # telling the operator must never break delivery bookkeeping
            log.exception("slack: could not report the %s error for %s", error.code, channel_id)

    def _post_ephemeral(self, channel_id: str, message: Message, payload: dict[str, Any], reply: dict[str, Any],
                        idempotency_key: str) -> str | None:
        """Only for the person who asked: response_url first, then chat.postEphemeral; None if neither works
        (the caller then posts in the channel rather than lose the answer)."""
        response_url = reply.get("response_url")
        user_id = reply.get("user_id") or _slack_user_id(message.meta.get("in_reply_to_user"))
        if response_url and self.response_url_allowed(response_url):
            try:
                self._respond(response_url, {**payload, "response_type": "ephemeral"}, method="response_url")
                return RESPONSE_URL_PREFIX + response_url
            except (TransientChatError, PermanentChatError) as error:
                if not user_id:
                    raise
                log.warning("slack: response_url failed (%s); answering with chat.postEphemeral", error.code)
        elif response_url:
            log.warning("slack: ignoring a response_url outside Slack: %s", response_url[:80])
        if user_id:
            # Asked inside a thread (a mention there): the answer belongs in that thread too.
            thread = {"thread_ts": reply["thread_ts"]} if reply.get("thread_ts") else {}
            self._call("chat.postEphemeral", self.client.chat_postEphemeral, channel=channel_id, user=user_id,
                       **payload, **thread)
            return "ephemeral:" + _short_hash(idempotency_key)
        return None

    def response_url_allowed(self, url: str) -> bool:
        """Only Slack's own hosts (https) or loopback/the configured API host (local tests) get our answers."""
        parsed = urlsplit(url)
        host = (parsed.hostname or "").lower()
        if parsed.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
            return True
        if host in ("127.0.0.1", "localhost", "::1"):
            return True
        return bool(self.base_url) and urlsplit(self.base_url).netloc == parsed.netloc

    def update(self, channel_id: str, message_id: str, message: Message) -> None:
        """Replace a message in place (chat.update; response_url answers are replaced through their URL)."""
        payload = self._render(message, channel_id)
        # chat.update keeps the old attachments unless told otherwise: clear a severity bar that went away.
        payload.setdefault("attachments", [])
        if message_id.startswith(RESPONSE_URL_PREFIX):
            url = message_id[len(RESPONSE_URL_PREFIX):]
            self._respond(url, {**payload, "replace_original": True}, method="response_url")
            return
        if message_id.startswith("ephemeral:"):
            log.warning("slack: ephemeral message %s cannot be updated; skipped", message_id)
            return
        self._call("chat.update", self.client.chat_update, channel=channel_id, ts=message_id, **payload)

    @staticmethod
    def update_target_gone(error: PermanentChatError, message_id: str) -> bool:
        """Whether a refused `update` means the message is gone for good (deleted: chat.update answers
        `message_not_found`), so the outbox posts the update as a new message instead. Never for answers
        through a response_url or ephemeral ones: those reach only one person, never the channel."""
        return error.code == "message_not_found" and not message_id.startswith((RESPONSE_URL_PREFIX, "ephemeral:"))

    def upload(self, channel_id: str, image: Image, *, idempotency_key: str,
               maybe_sent_since: datetime | None = None) -> str:
        """Upload an image into the channel with files_upload_v2; return the file id.

        With `maybe_sent_since` (an earlier attempt's answer was lost), first look for a file already shared
        under this key's file name and return its id instead of uploading it a second time.
        """
        if image.png is None:
            if not image.url:
                raise PermanentChatError("image has neither PNG bytes nor a URL", code="no_image")
            if maybe_sent_since is not None:
                found = self._find_posted(channel_id, idempotency_key, since=maybe_sent_since, thread_ts=None)
                if found is not None:
                    return found
            block = {"type": "image", "image_url": image.url, "alt_text": image.alt or image.title or "image"}
            response = self._call("chat.postMessage", self.client.chat_postMessage,
                                  channel=channel_id, text=image.title or image.url, blocks=[block],
                                  metadata=outbox_metadata(idempotency_key))
            return str(response.get("ts"))
        return self._upload_once(channel_id, upload_filename(image.filename or "image.png", idempotency_key),
                                 image.png, maybe_sent_since, title=image.title or None, alt_txt=image.alt or None)

    def upload_file(self, channel_id: str, file: File, *, idempotency_key: str,
                    maybe_sent_since: datetime | None = None) -> str:
        """Share a document (a review's Markdown) into the channel with files_upload_v2; return the file id.

        Like a PNG upload: the name carries a short hash of the outbox key ("crisis-3-review.md" ->
        "crisis-3-review-<hash>.md", the title keeps the plain name), and with `maybe_sent_since` a file
        already shared under that name is found instead of being uploaded a second time.
        """
        filename = upload_filename(file.name or "file", idempotency_key, default_extension="")
        return self._upload_once(channel_id, filename, file.content, maybe_sent_since,
                                 title=file.title or file.name or filename)

    def _upload_once(self, channel_id: str, filename: str, content: bytes, maybe_sent_since: datetime | None,
                     **extra: Any) -> str:
        """files_upload_v2 under the key-derived `filename`; after an uncertain attempt, a file already
        shared under that name is returned instead of uploading it again. Returns the file id."""
        if maybe_sent_since is not None:
            found = self._find_uploaded(channel_id, filename, since=maybe_sent_since)
            if found is not None:
                return found
        response = self._call("files.upload_v2", self.client.files_upload_v2, channel=channel_id,
                              content=content, filename=filename, **extra)
        shared = response.get("file") or (response.get("files") or [{}])[0]
        return str(shared.get("id") or "")

    # ------------------------------------------------------------------ people

    def _render(self, message: Message, channel_id: str) -> dict[str, Any]:
        """The message's payload for `channel_id` (in its language), the people its texts name by address
        shown by name (looked up first, cached), not as mentions that would notify them. Only names in the
        texts are looked up, never `message.mentions` (meant to notify, always <@U…>); who has no name known
        stays a mention."""
        lang = self.language(f"slack:{channel_id}")
        named: list[str] = []

        def note(user_id: str) -> None:
            named.append(user_id)

        payload = render_message(message, note, lang)  # as without names, noting who the texts name
        if not named:
            return payload
        names: dict[str, str] = {}
        for user_id in dict.fromkeys(named):
            name = self.display_name(user_id)
            if name:
                names[user_id] = name
        name_of: NameOf = names.get
        return render_message(message, name_of, lang) if names else payload

    def display_name(self, user_id: str) -> str | None:
        """The person's name (users.info: profile.display_name, else profile.real_name, real_name, name), or
        None when Slack does not tell us. Never raises: a missing name only means the mention stays.

        Cached per user for NAME_TTL_S; a failed lookup is cached too (NAME_RETRY_S, or NAME_OUTAGE_RETRY_S
        when Slack could not answer), so each person costs at most one call per window. Without the
        users:read scope nobody is looked up for NAME_RETRY_S and the missing scope is logged once."""
        if not user_id:
            return None
        hit, name = self._names.cached(user_id)
        if hit:
            return name
        now = self._monotonic()
        with self._names_lock:
            if self._names_refused_until > now:
                return None
        name, retry_s = self._lookup_name(user_id, now)
        self._names.remember(user_id, name, retry_s)
        return name

    def _lookup_name(self, user_id: str, now: float) -> tuple[str | None, float]:
        """(name or None, how long to wait before asking again after a failure) from users.info."""
        method = "users.info"
        SLACK_API_CALLS.labels(method).inc()
        try:
            response = self._people_client.users_info(user=user_id)
        except SlackApiError as error:
            status = getattr(error.response, "status_code", 0) or 0
            data = getattr(error.response, "data", None)
            code = (data.get("error") if isinstance(data, dict) else None) or f"http_{status}"
            SLACK_API_ERRORS.labels(method, code, "lookup").inc()
            if code == "missing_scope":
                with self._names_lock:
                    self._names_refused_until = now + NAME_RETRY_S
                    warn, self._names_warned = not self._names_warned, True
                if warn:
                    log.warning(MISSING_NAMES_HINT)
                return None, NAME_RETRY_S
            if status == 429 or status >= 500 or code in TRANSIENT_ERRORS or code.startswith("Received"):
                log.info("slack %s for %s failed (%s): shown as a mention this time", method, user_id, code)
                return None, NAME_OUTAGE_RETRY_S
            log.info("slack %s for %s refused (%s): shown as a mention", method, user_id, code)
            return None, NAME_RETRY_S
        except Exception as error:  # noqa: BLE001 - connection, timeout, anything: a name never stops a post
            SLACK_API_ERRORS.labels(method, "connection_error", "lookup").inc()
            log.info("slack %s for %s failed (%s): shown as a mention this time", method, user_id,
                     type(error).__name__)
            return None, NAME_OUTAGE_RETRY_S
        user = response.get("user")
        return (_name_of_user(user) if isinstance(user, dict) else None), NAME_RETRY_S

    # ------------------------------------------------------------------ helpers

    def _find_posted(self, channel_id: str, idempotency_key: str, *, since: datetime,
                     thread_ts: str | None) -> str | None:
        """The ts of the message already in the channel (or thread) carrying this outbox key (the oldest, any
        extra copy deleted), else None."""
        copies, _complete = self._posted_copies(channel_id, idempotency_key, since=since, thread_ts=thread_ts)
        if not copies:
            return None
        found = self._keep_oldest(channel_id, idempotency_key, copies)
        self._duplicate_avoided(idempotency_key, channel_id, f"ts {found}")
        return found

    def _posted_copies(self, channel_id: str, idempotency_key: str, *, since: datetime,
                       thread_ts: str | None) -> tuple[list[str], bool]:
        """The ts of every message in the channel (or thread) carrying this outbox key since shortly before
        `since`, and whether that window was read to its end (False: the lookup was refused or too long).

        The whole (bounded) window, not the first match: two attempts of unknown outcome can both have
        landed, and only the oldest copy may stay."""
        wanted = metadata_key(idempotency_key)
        copies: list[str] = []
        reader = self._recent_messages(channel_id, since=since, thread_ts=thread_ts)
        complete = False
        while True:
            try:
                found = next(reader)
            except StopIteration as finished:
                complete = bool(finished.value)
                break
            metadata = found.get("metadata")
            if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
                continue
            if (metadata.get("event_payload") or {}).get("key") == wanted and found.get("ts"):
                copies.append(str(found["ts"]))
        return copies, complete

    def _keep_oldest(self, channel_id: str, idempotency_key: str, copies: list[str]) -> str:
        """Delete every copy of a message but the oldest (chat.delete: the bot's own messages, scope
        chat:write) and return the oldest's ts: people keep seeing the first one, which may have been
        read or reacted to already. A copy that cannot be deleted stays (logged): never worth a retry."""
        oldest, *extra = sorted(set(copies), key=float)
        for ts in extra:
            try:
                self._call("chat.delete", self.client.chat_delete, channel=channel_id, ts=ts)
            except (PermanentChatError, TransientChatError, CredentialChatError, PermissionChatError) as error:
                log.warning("slack: 无法删除重复消息 %s（%s）/ could not delete the extra copy %s of %s in %s: %s",
                            ts, error.code, ts, idempotency_key, channel_id, error)
                continue
            SLACK_DUPLICATES_DELETED.inc()
            log.warning("slack: 删除了一条重复消息 / deleted an extra copy (ts %s) of %s in %s: an earlier attempt "
                        "whose answer was lost landed too; the oldest copy (ts %s) stays",
                        ts, idempotency_key, channel_id, oldest)
        return oldest

    def _settle_resend(self, channel_id: str, idempotency_key: str, posted_ts: str, *, since: datetime | None,
                       thread_ts: str | None) -> str:
        """After a re-send that followed an unknown outcome: the earlier attempt may have landed after the
        history check (a slow Slack stores a message late), so look once more and keep only the oldest
        copy. Returns the ts of the copy that stays. The message is out either way: a failed look is logged."""
        if since is None:
            return posted_ts
        try:
            copies, _complete = self._posted_copies(channel_id, idempotency_key, since=since, thread_ts=thread_ts)
        except (TransientChatError, CredentialChatError) as error:
            log.warning("slack: could not re-check %s in %s for an earlier copy: %s", idempotency_key, channel_id,
                        error)
            return posted_ts
        if posted_ts not in copies:
            copies.append(posted_ts)  # history may lag behind the answer
        return self._keep_oldest(channel_id, idempotency_key, copies)

    def _find_uploaded(self, channel_id: str, filename: str, *, since: datetime) -> str | None:
        """The id of a file already shared into the channel under this (key-derived) name, else None."""
        for found in self._recent_messages(channel_id, since=since, thread_ts=None):
            for file in found.get("files") or ():
                if isinstance(file, dict) and file.get("name") == filename and file.get("id"):
                    self._duplicate_avoided(filename, channel_id, f"file {file['id']}")
                    return str(file["id"])
        return None

    @staticmethod
    def _duplicate_avoided(what: str, channel_id: str, found: str) -> None:
        SLACK_DUPLICATES_AVOIDED.inc()
        log.info("slack: %s is already in %s (%s) although its answer was lost; not sending it again",
                 what, channel_id, found)

    def _recent_messages(self, channel_id: str, *, since: datetime,
                         thread_ts: str | None) -> Generator[dict[str, Any], None, bool]:
        """Messages of the channel (or thread) from shortly before `since`, for the duplicate checks.

        Read a page at a time (`cursor` / `response_metadata.next_cursor`, HISTORY_LIMIT each, at most
        HISTORY_MAX_PAGES): history comes newest first, so in a busy channel the message looked for (the
        oldest in the window) is on a later page; one page only missed it and posted a second copy. A
        caller that finds what it looks for stops the reading there (a generator): a quiet channel costs
        one call. Each page is one Web API call with the client's retry handlers (short 429 waits, 5xx).

        A refused lookup (missing scope, ...) ends it after one log line per channel and error: the
        checks exist to avoid a duplicate and must never hold a message back for good. A lookup Slack
        could not answer (5xx, rate limit, connection) raises TransientChatError instead: posting blind in
        the middle of an outage duplicates the very message whose answer the outage swallowed, and the
        outbox tries again later anyway. A window still not read to its end after HISTORY_MAX_PAGES pages
        is logged and the message posted anyway, for the same reason as a refused lookup.
        """
        args: dict[str, Any] = {
            "channel": channel_id,
            "oldest": f"{since.timestamp() - HISTORY_LOOKBACK_S:.6f}",
            "include_all_metadata": True,
            "limit": HISTORY_LIMIT,
        }
        if thread_ts:
            # A thread reply is not in conversations.history: read the thread itself.
            method, fn = "conversations.replies", self.client.conversations_replies
            args["ts"] = thread_ts
        else:
            method, fn = "conversations.history", self.client.conversations_history
        for _page in range(HISTORY_MAX_PAGES):
            SLACK_API_CALLS.labels(method).inc()
            try:
                response = fn(**args)
                messages = response.get("messages") or []
                next_cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
            except SlackApiError as error:
                classified = self._classify_lookup_error(method, error)
                if classified is not None:
                    raise classified from error
                self._lookup_failed(method, channel_id, error)
                return False
            except (URLError, TimeoutError, ConnectionError, HTTPException, OSError, SlackRequestError) as error:
                detail = f"duplicate check: {type(error).__name__}: {error}"
                raise self._transient(method, "connection_error", detail) from error
            except Exception as error:  # noqa: BLE001 - whatever else went wrong, posting anyway beats holding back
                self._lookup_failed(method, channel_id, error)
                return False
            for found in messages:
                if isinstance(found, dict):
                    yield found
            if not next_cursor or not response.get("has_more", True):
                return True  # the window was read to its end
            args["cursor"] = next_cursor
        SLACK_API_ERRORS.labels(method, "window_too_long", "lookup").inc()
        log.warning(
            "slack %s in %s: %d 页（每页 %d 条）仍未读完上次尝试以来的消息，无法确认上次发送是否已成功，仍照常发送，"
            "可能出现一条重复消息 / the messages since the last attempt fill more than %d pages of %d: cannot tell "
            "whether it got through, posting anyway (a duplicate is possible)",
            method, channel_id, HISTORY_MAX_PAGES, HISTORY_LIMIT, HISTORY_MAX_PAGES, HISTORY_LIMIT,
        )
        return False

    def _classify_lookup_error(self, method: str, error: SlackApiError) -> TransientChatError | None:
        """The TransientChatError for a history lookup Slack could not answer now, else None (refused)."""
        response = error.response
        status = getattr(response, "status_code", 0) or 0
        data = getattr(response, "data", None)
        code = (data.get("error") if isinstance(data, dict) else None) or f"http_{status}"
        if code in CREDENTIAL_ERRORS:  # the post would be refused too: hold it instead of trying
            return self._credentials(method, code)
        # Not any non-JSON page: a proxy answering 404 for this method would otherwise hold posts forever.
        if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
            classified = self._classify_api_error(method, error, None)
            if isinstance(classified, TransientChatError):
                # This attempt sent nothing: only the earlier unknown outcome still needs the check.
                classified.maybe_delivered = False
                return classified
        return None

    def _lookup_failed(self, method: str, channel_id: str, error: Exception) -> None:
        data = getattr(getattr(error, "response", None), "data", None)
        code = (data.get("error") if isinstance(data, dict) else None) or type(error).__name__
        SLACK_API_ERRORS.labels(method, code, "lookup").inc()
        with self._done_lock:
            if (method, channel_id, code) in self._lookup_failures_logged:
                return
            self._lookup_failures_logged.add((method, channel_id, code))
        needed = f" (needed: {data['needed']})" if isinstance(data, dict) and data.get("needed") else ""
        log.warning(
            "slack %s failed in %s: %s%s. 无法确认上次发送是否已成功，仍照常发送，可能出现一条重复消息；"
            "请按 config/slack-manifest.yaml 添加 channels:history 和 groups:history 权限并邀请机器人进频道 / "
            "cannot tell whether the last attempt got through, posting anyway (a duplicate is possible); add the "
            "channels:history and groups:history scopes from config/slack-manifest.yaml and invite the bot",
            method, channel_id, code, needed,
        )

    def _progress(self, key: str) -> dict[str, Any]:
        with self._done_lock:
            progress = self._done.setdefault(key, {})
            self._done.move_to_end(key)
            while len(self._done) > 5000:
                self._done.popitem(last=False)
            return progress

    def _call(self, method: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        SLACK_API_CALLS.labels(method).inc()
        try:
            return fn(**kwargs)
        except SlackApiError as error:
            raise self._classify_api_error(method, error, kwargs.get("channel")) from error
        except (URLError, TimeoutError, ConnectionError, HTTPException, OSError) as error:
            # Unless the connection was refused, the request may have arrived and the answer got lost.
            raise self._transient(method, "connection_error", f"{type(error).__name__}: {error}",
                                  maybe_delivered=not _never_sent(error)) from error
        except SlackRequestError as error:
            # e.g. the file upload step answered non-200
            raise self._transient(method, "request_failed", str(error)) from error
        except SlackClientError as error:
            raise self._permanent(method, "client_error", str(error), kwargs.get("channel")) from error

    def _classify_api_error(self, method: str, error: SlackApiError, channel: str | None) -> Exception:
        response = error.response
        status = getattr(response, "status_code", 0) or 0
        data = getattr(response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        code = code or f"http_{status}"
        if status == 429 or code in ("ratelimited", "rate_limited"):
            retry_after = retry_after_seconds(getattr(response, "headers", None))
            return self._transient(method, "ratelimited", f"rate limited, retry after {retry_after:g}s",
                                   retry_after=retry_after)
        if code in CREDENTIAL_ERRORS:
            return self._credentials(method, code)
        if code in PERMISSION_ERRORS:
            return self._permission(method, code, data)
        if status >= 500 or code in TRANSIENT_ERRORS or code.startswith("Received a response in a non-JSON"):
            # A 5xx may come from behind the point where Slack stored the message; a JSON refusal such as
            # service_unavailable did nothing, but Slack says internal_error/fatal_error may have.
            return self._transient(method, code if not code.startswith("Received") else f"http_{status}",
                                   f"HTTP {status}", maybe_delivered=status >= 500 or code in MAYBE_APPLIED_ERRORS)
        return self._permanent(method, code, code, channel)

    def _transient(self, method: str, code: str, detail: str, *, retry_after: float | None = None,
                   maybe_delivered: bool = False) -> TransientChatError:
        SLACK_API_ERRORS.labels(method, code, "transient").inc()
        log.warning("slack %s failed, will retry: %s (%s)%s", method, code, detail,
                    " - it may have been applied" if maybe_delivered else "")
        return TransientChatError(f"slack {method}: {detail}", code=code, retry_after=retry_after,
                                  maybe_delivered=maybe_delivered)

    def _credentials(self, method: str, code: str) -> CredentialChatError:
        # Counted per call; the outbox logs it, once per period, with this hint (not once per message).
        SLACK_API_ERRORS.labels(method, code, "credentials").inc()
        log.debug("slack %s: bot token refused (%s)", method, code)
        return CredentialChatError(f"slack {method}: {code}. {FIX_HINTS.get(code, '')}".strip(), code=code)

    def _permission(self, method: str, code: str, data: Any) -> PermissionChatError:
        # Counted per call; the outbox logs it, once per period, with this hint (not once per message).
        SLACK_API_ERRORS.labels(method, code, "permission").inc()
        needed = data.get("needed") if isinstance(data, dict) else None
        detail = f"{code} (needed: {needed})" if needed else code
        log.debug("slack %s: the app lacks a permission (%s)", method, detail)
        return PermissionChatError(f"slack {method}: {detail}. {FIX_HINTS.get(code, '')}".strip(), code=code)

    def _permanent(self, method: str, code: str, detail: str, channel: str | None) -> PermanentChatError:
        SLACK_API_ERRORS.labels(method, code, "permanent").inc()
        hint = FIX_HINTS.get(code, "")
        where = f" channel={channel}" if channel else ""
        log.error("slack %s failed: %s%s — %s", method, detail, where, hint or "see Slack API docs for this error")
        return PermanentChatError(f"slack {method}: {detail}{where}. {hint}".strip(), code=code)

    def _respond(self, url: str, body: dict[str, Any], *, method: str) -> None:
        SLACK_API_CALLS.labels(method).inc()
        webhook = WebhookClient(url, timeout=int(max(1, self.timeout)), retry_handlers=self._retry_handlers)
        try:
            response = webhook.send_dict(body)
        except (URLError, TimeoutError, ConnectionError, HTTPException, OSError) as error:
            raise self._transient(method, "connection_error", f"{type(error).__name__}: {error}") from error
        status = response.status_code
        if status == 200:
            return
        if status == 429:
            retry_after = retry_after_seconds(response.headers)
            raise self._transient(method, "ratelimited", f"rate limited, retry after {retry_after:g}s",
                                  retry_after=retry_after)
        if status >= 500:
            raise self._transient(method, f"http_{status}", f"HTTP {status}")
        code = (response.body or f"http_{status}").strip()[:80]
        raise self._permanent(method, code, f"HTTP {status} {code}", None)


def _name_of_user(user: dict[str, Any]) -> str | None:
    """The name Slack shows for a person (users.info's `user`): the display name they chose, else their full
    name, else the account name; whitespace (line breaks too) collapsed. None when all are empty."""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    for candidate in (profile.get("display_name"), profile.get("real_name"), user.get("real_name"), user.get("name")):
        if isinstance(candidate, str) and candidate.split():
            return " ".join(candidate.split())
    return None


def _slack_user_id(address: Any) -> str | None:
    """'slack:U123' -> 'U123'; anything else -> None."""
    if isinstance(address, str) and address.startswith("slack:"):
        return address.partition(":")[2] or None
    return None


def upload_filename(filename: str, idempotency_key: str, *, default_extension: str = "png") -> str:
    """The name a PNG (or a file) is uploaded under: its own plus a short hash of the outbox key ("trend.png"
    -> "trend-1a2b3c4d.png"), stable across retries, so a retry can recognise a file Slack already shared.
    A name without an extension gets `default_extension` (none when empty)."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem:
        stem, extension = filename or ("image" if default_extension == "png" else "file"), default_extension
    suffix = f".{extension}" if extension else ""
    return f"{stem}-{_short_hash(idempotency_key)[:8]}{suffix}"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
