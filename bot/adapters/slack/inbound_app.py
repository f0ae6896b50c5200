"""Inbound Slack: a slack-bolt AsyncApp that journals what Slack sends, acknowledges, and lets the
dispatcher do the work.

Listeners translate the payload (pure), hand the Command/Action to the dispatcher and wait until it is in
the inbound journal (one small write; bounded by JOURNAL_WAIT_S), and only then `ack()`: Slack never sends
an acknowledged slash command again, so a crash after the ack must find it in the journal. Bolt runs with
`process_before_response`, so events (app mentions, acknowledged by Bolt itself) get the same order. No
listener waits on Slack's Web API before its answer. The dispatcher (not this module) runs the handler,
deduplicates event ids durably, and queues replies into the outbox.

HTTP: `POST /slack/events` on the bot's Starlette app; every request's signature and timestamp are
checked here first (forged, stale, unsigned or malformed -> 401, nothing handed over; the body is read
only up to 1 MiB -> 413, and for at most 10 s -> 408), a signed payload of a shape Slack never sends is refused with 400, then Bolt
checks again. With SLACK_TEAM_ID / SLACK_APP_ID set, a request of another workspace or app is refused with
403 by a Bolt middleware (HTTP and Socket Mode). Refusals are counted exactly and logged through a RefusalLog
(bot/log_limits.py): the first of each reason, then one line a minute, so forgeries cannot fill the log.
Socket Mode: `SocketModeRunner` runs Bolt's aiohttp Socket Mode handler in its own thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import slack_bolt
import slack_sdk
from prometheus_client import Counter
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.http_body import BodyError, ClientGone, read_limited
from bot.log_limits import RefusalLog
from bot.messages import Action, Command

from .inbound import (
    InstallPins,
    action_from_view_submission,
    actions_from_block_actions,
    command_from_mention,
    command_from_slash,
    form_metadata,
    mention_duplicate_key,
    payload_problem,
    slack_channel,
    written_by_a_bot,
)
from .port import normalise_base_url
from .render import FORM_CALLBACK_ID, build_modal, form_spec_for, form_word

log = logging.getLogger("crisisbot.slack")

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024  # Slack payloads are a few KiB; modal states stay far below this
# Slack sends its small bodies at once and gives up on an answer after 3 s: a body still arriving after
# this long is someone holding a connection (and up to MAX_BODY_BYTES) open, not Slack.
BODY_DEADLINE_S = 10.0
# How long a listener waits for the dispatcher's journal row before it acknowledges anyway (Slack gives 3 s).
JOURNAL_WAIT_S = 1.5

# What the person is told when the dispatcher could not take their command, press or form (the database
# unavailable): Slack sends none of those again, so they have to.
NOT_TAKEN_TEXT = ("⚠️ 暂时无法处理，请稍后重试（数据库暂时不可用，这次操作没有执行）。\n"
                  "⚠️ Temporarily unavailable, please try again (the database is down; nothing was done).")

SLACK_INBOUND = Counter("crisisbot_slack_inbound_total", "Slack deliveries by kind and outcome", ["kind", "outcome"])

Submit = Callable[[Command | Action], Any]


class InboundBridge:
    """Hands translated items to the dispatcher, once per delivery in this process, and waits (bounded) until
    each is journalled, so the listener acknowledges Slack only once a crash can no longer lose the item.

    The dispatcher's durable dedup (event ids stored in the database) is the authority across restarts;
    this small in-memory filter drops the common case (Slack's immediate retry, duplicate events under
    different ids for the same message) before it costs a thread or a database round trip.
    """

    def __init__(self, submit: Submit, *, remember: int = 10_000, journal_wait_s: float = JOURNAL_WAIT_S,
                 language: Callable[[str], str] | None = None) -> None:
        self._submit = submit
        # the language of a channel ('zh' or 'en', config `language`), which the forms it opens speak
        self.language: Callable[[str], str] = language or (lambda _channel: "zh")
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._remember = remember
        self._journal_wait_s = journal_wait_s

    def first_time(self, keys: Iterable[str]) -> bool:
        """True when none of the keys was seen before; remembers them all."""
        keys = [k for k in keys if k]
        with self._lock:
            if any(k in self._seen for k in keys):
                return False
            for key in keys:
                self._seen[key] = None
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
            return True

    async def hand_over(self, item: Command | Action, *, kind: str, extra_keys: Iterable[str] = ()) -> bool:
        """Give `item` to the dispatcher unless already handed over, and wait until it is journalled (at
        most `journal_wait_s`: Slack wants its ack within 3 s, and a database lock held longer than that
        must not turn into an error the person sees). Never raises.

        Called before `ack()`. If the dispatcher fails the item (e.g. the database is down), its keys are
        forgotten so a Slack retry gets through. None when the dispatcher did not take it (database
        unavailable: nothing runs, nothing is kept): the listener must not answer as if it had.
        """
        journalled = self.give(item, kind=kind, extra_keys=extra_keys)
        if journalled is False:
            return False
        return None if await self.until_journalled([(item, kind, journalled)]) else True

    def give(self, item: Command | Action, *, kind: str, extra_keys: Iterable[str] = ()) -> Any:
        """Hand `item` over without waiting: False when it was handed over before, else the future that
        says it is journalled (None when the dispatcher gives none). Never raises."""
        keys = [k for k in (item.event_id or "", *getattr(item, "also_event_ids", ()), *extra_keys) if k]
        if not self.first_time(keys):
            SLACK_INBOUND.labels(kind, "duplicate").inc()
            log.info("slack: duplicate %s %s dropped", kind, item.event_id)
            return False
        SLACK_INBOUND.labels(kind, "submitted").inc()
        future = self._submit_one(item, keys)
        self._watch(future, keys)
        return getattr(future, "journalled", None)

    async def until_journalled(self, handed: list[tuple[Command | Action, str, Any]]) -> list[Command | Action]:
        """Wait for the journal rows of items handed over together, under one deadline (a payload with
        several actions must not wait `journal_wait_s` for each in turn). Returns the items the dispatcher
        did not take (database unavailable), which the listener must not acknowledge as received."""
        waiting = [(item, kind, f, asyncio.shield(asyncio.wrap_future(f)))
                   for item, kind, f in handed if f is not None]
        if not waiting:
            return []
        _, pending = await asyncio.wait([w for *_, w in waiting], timeout=self._journal_wait_s)
        refused: list[Command | Action] = []
        for item, kind, journalled, w in waiting:
            if w in pending:
                # the dispatcher refuses an item only while nobody answered for it: one of the two decides
                answer_anyway = getattr(journalled, "answer_anyway", None)
                if answer_anyway is None or answer_anyway():
                    SLACK_INBOUND.labels(kind, "acked_before_journal").inc()
                    log.warning("slack: %s %s not journalled within %.1f s (database busy); acknowledging anyway, "
                                "a crash before it is written would lose it", kind, item.event_id,
                                self._journal_wait_s)
                    continue
                w.add_done_callback(lambda done: done.cancelled() or done.exception())  # seen: no asyncio warning
            elif w.exception() is None:
                continue
            refused.append(item)
            SLACK_INBOUND.labels(kind, "not_taken").inc()
            log.warning("slack: %s %s not taken (the dispatcher could not journal it: database unavailable); "
                        "not acknowledged as received", kind, item.event_id)
        return refused

    def _submit_one(self, item: Command | Action, keys: list[str]) -> Any:
        try:
            return self._submit(item)
        except Exception:  # Slack is still acknowledged (nothing it could retry); the operator needs the log line
            SLACK_INBOUND.labels("any", "submit_failed").inc()
            log.exception("slack: could not hand %s to the dispatcher", item.event_id)
            self._unsee(keys)
            return None

    def _watch(self, future: Any, keys: list[str]) -> None:
        if future is None or not hasattr(future, "add_done_callback"):
            return

        def done(finished: Any) -> None:
            if not finished.cancelled() and finished.exception() is not None:
                log.error("slack: the dispatcher failed %s (%s); a retry will be accepted",
                          keys[0] if keys else "?", finished.exception())
                self._unsee(keys)

        future.add_done_callback(done)

    def _unsee(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._seen.pop(key, None)


class _NotOurTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and, since `authorize` hands it the token,
    warns at every start that the variable "will be unused" (we give it a client, and `authorize` hands
    it the token): our own variable, used as meant."""

    def filter(self, record: logging.LogRecord) -> bool:
        from slack_bolt.logger.messages import (
            warning_client_prioritized_and_token_skipped,
            warning_token_skipped,
        )

        return record.getMessage() not in (warning_token_skipped(), warning_client_prioritized_and_token_skipped())


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("crisisbot.slack.bolt")
    if not any(isinstance(f, _NotOurTokenWarning) for f in logger.filters):
        logger.addFilter(_NotOurTokenWarning())
    return logger


def _in_a_slack_channel(channel: str) -> bool:
    """'slack:C1' and the like: a channel of this platform, with an id."""
    return channel.startswith(slack_channel("")) and channel != slack_channel("")


def _blank_required_field(action: Action | None) -> str | None:
    """The block id of a required text field the submitted form left blank (spaces only), or None."""
    if action is None:
        return None
    spec = form_spec_for(action.action_id)
    if spec is None or spec.kind != "text" or spec.optional:
        return None
    value = (action.form or {}).get(spec.key, "")
    return spec.key if not value.replace("\u3000", " ").strip() else None


_BACKGROUND: set[asyncio.Task[Any]] = set()


def _in_background(work: Any) -> None:
    """Run a coroutine after the listener returns, holding a reference until it ends (asyncio keeps only
    weak ones, so an unreferenced task can vanish mid-way)."""
    task = asyncio.ensure_future(work)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


def _obj_get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


async def _tell_not_taken(respond: Any) -> None:
    try:
        await respond(text=NOT_TAKEN_TEXT, response_type="ephemeral", replace_original=False)
    except Exception as error:  # noqa: BLE001 - Slack unreachable too: the log says the press was not taken
        log.warning("slack: could not tell the person their press was not taken: %s", error)


def _translate(kind: str, translate: Callable[[], Any]) -> Any:
    """Last resort around the pure translation, before the ack: the HTTP route already refuses payloads
    of the wrong shape with 400, but Socket Mode has no such route, and a translation bug must cost
    one logged delivery, not the listener (an exception there left Bolt answering 404 after 3 s)."""
    try:
        return translate()
    except Exception:  # noqa: BLE001 - logged; the delivery is dropped, nothing else is affected
        SLACK_INBOUND.labels(kind, "untranslatable").inc()
        log.exception("slack: could not translate a %s payload; dropped", kind)
        return None


# Where a Bolt routing error comes from: raised inside the SDKs while they read the payload (a shape of
# a kind payload_problem does not know yet) it is the request's fault; anything our own code raised, or
# any other kind of error, is a fault of this server.
_OUR_CODE = str(Path(__file__).resolve().parents[2]) + "/"
_SDK_CODE = tuple(str(Path(m.__file__).resolve().parent) + "/" for m in (slack_bolt, slack_sdk))
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)


def _payload_shape_error(error: BaseException) -> bool:
    """True when `error` is Bolt tripping over the payload it was reading (e.g. a regex search on an int
    `action_id`, `actions[0]` of an empty list), False for a fault of this server."""
    if not isinstance(error, _SHAPE_ERRORS):
        return False
    frames = traceback.extract_tb(error.__traceback__)
    if not frames or any(str(Path(f.filename).resolve()).startswith(_OUR_CODE) for f in frames):
        return False
    return str(Path(frames[-1].filename).resolve()).startswith(_SDK_CODE)


def build_bolt_app(
    *,
    bot_token: str,
    signing_secret: str | None,
    bridge: InboundBridge,
    api_url: str | None = None,
    pins: InstallPins | None = None,
    refusals: RefusalLog | None = None,
) -> AsyncApp:
    """The Bolt app with crisisbot's listeners. No Web API call happens at construction or per request
    (a custom `authorize` replaces Bolt's auth.test), so an outage of Slack's API never blocks an ack.
    `pins` (SLACK_TEAM_ID, SLACK_APP_ID): another installation's requests are refused with 403, over HTTP
    and Socket Mode alike, before any listener runs."""
    pins = pins or InstallPins()
    refusals = refusals or RefusalLog(log)
    client_kwargs: dict[str, Any] = {}  # the token comes from `authorize` per request
    base_url = normalise_base_url(api_url)
    if base_url:
        client_kwargs["base_url"] = base_url
    client = AsyncWebClient(**client_kwargs)

    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None, **_: Any) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=bot_token)

    app = AsyncApp(
        name="crisisbot",
        logger=_bolt_logger(),
        client=client,
        signing_secret=signing_secret or None,
        authorize=authorize,
        request_verification_enabled=bool(signing_secret),
        process_before_response=True,  # see the module docstring: journal, then ack
        raise_error_for_unhandled_request=False,
    )

    @app.middleware
    async def only_pinned_installations(context: Any, body: Any, request: Any,
                                        next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's name
        refusal = pins.refusal(team_id=context.team_id, enterprise_id=context.enterprise_id,
                               api_app_id=_obj_get(body, "api_app_id"))
        if refusal is None:
            return await next()
        reason, shown = refusal
        where = "socket_mode" if getattr(request, "mode", "http") == "socket_mode" else "http"
        SLACK_INBOUND.labels(where, reason).inc()
        pin = "SLACK_APP_ID" if reason == "other_app" else "SLACK_TEAM_ID"
        # one line per workspace or app id first, then at most one a minute (never the payload or a token)
        refusals.refused(f"slack {where}", f"{reason} {shown}", "slack: refused a request of %s %s: not in %s (403)",
                         "app" if reason == "other_app" else "workspace", shown, pin)
        # Nothing useful for another workspace: no text for its user, no hint of what this bot is. Over
        # Socket Mode a non-200 is not acknowledged at all.
        return BoltResponse(status=403, body={"error": "forbidden"})

    @app.middleware
    async def not_for_listeners(body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's name
        if isinstance(body, dict) and body.get("type") == "app_rate_limited":
            # Slack's notice that it is dropping this workspace's events for a minute (more than 30,000 an
            # hour): nothing to hand over, but the operator should know events are being lost.
            SLACK_INBOUND.labels("event", "rate_limited").inc()
            log.warning("slack: Slack is rate-limiting this app's events (team %s, minute %s); events of that "
                        "minute are not delivered", body.get("team_id"), body.get("minute_rate_limited"))
            return BoltResponse(status=200, body="")
        return await next()

    @app.command(re.compile(r".*"))
    async def on_command(ack: Any, body: dict[str, Any], request: Any) -> None:
        timestamp = (request.headers.get("x-slack-request-timestamp") or [None])[0] if request else None
        command = _translate("command", lambda: command_from_slash(body, request_timestamp=timestamp))
        if command is not None and await bridge.hand_over(command, kind="command") is None:
            await ack(response_type="ephemeral", text=NOT_TAKEN_TEXT)  # not taken: Slack never sends it again
            return
        await ack()

    @app.action(re.compile(r".*"))
    async def on_action(ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        with_form: list[tuple[Action, Any]] = []
        handed: list[tuple[Action, str, Any]] = []
        for action in _translate("action", lambda: actions_from_block_actions(body)) or []:
            if action.channel == slack_channel(""):
                # a press outside any channel (a modal's own element, App Home): no channel to answer in or
                # to check the client's scope against; it used to fail in the dispatcher as an ERROR
                SLACK_INBOUND.labels("action", "no_channel").inc()
                log.info("slack: %s pressed outside a channel; ignored", action.action_id)
                continue
            spec = form_spec_for(action.action_id, bridge.language(action.channel))
            if spec is not None and body.get("trigger_id"):
                if bridge.first_time([f"form:{action.event_id}"]):
                    with_form.append((action, spec))
                continue
            journalled = bridge.give(action, kind="action")
            if journalled is not False:
                handed.append((action, "action", journalled))
        refused = await bridge.until_journalled(handed)
        await ack()
        if refused:
            # not taken (database unavailable), and Slack never sends a press again: the person is told, after
            # the ack (a block action's ack carries no message)
            _in_background(_tell_not_taken(respond))
        for action, spec in with_form:
            # After the ack, in the background: Bolt answers Slack only once this listener returns, and the
            # modal is a Web API call (its submission comes back as a view_submission, journalled then).
            _in_background(open_form(client, body["trigger_id"], action, spec, respond))

    async def open_form(client: AsyncWebClient, trigger_id: str, action: Action, spec: Any, respond: Any) -> None:
        try:
            await client.views_open(trigger_id=trigger_id, view=build_modal(spec, form_metadata(action)))
            SLACK_INBOUND.labels("action", "form_opened").inc()
        except Exception as error:  # no modal: run the action without the form rather than lose it
            # (journalled only now, after the ack: the one press a crash in the next moments could lose)
            log.warning("slack: could not open the %s form (%s); handing the action over without it",
                        action.action_id, error)
            if await bridge.hand_over(action, kind="action") is None:
                await _tell_not_taken(respond)  # not taken (database unavailable): the press is not sent again

    @app.view(FORM_CALLBACK_ID)
    async def on_form(ack: Any, body: dict[str, Any]) -> None:
        action = _translate("form", lambda: action_from_view_submission(body))
        if action is not None and not _in_a_slack_channel(action.channel):
            # form_metadata always names the Slack channel of the button; without one there is nowhere to answer
            # and no client scope to check (the dispatcher failed it with an ERROR after the form had closed).
            # Acknowledged, so the person sees the form close rather than an error.
            SLACK_INBOUND.labels("form", "no_channel").inc()
            log.info("slack: a submitted form (button %r) names no Slack channel; acknowledged and ignored",
                     action.action_id)
            await ack()
            return
        blank = _blank_required_field(action)
        if blank is not None:
            # Slack's own check lets "   " through: the form stays open and says what is missing, instead
            # of closing on a refusal that arrives as a separate message
            SLACK_INBOUND.labels("form", "blank").inc()
            await ack(response_action="errors", errors={blank: form_word("blank", bridge.language(action.channel))})
            return
        if action is not None and await bridge.hand_over(action, kind="form") is None:
            # not taken (database unavailable): the form stays open and says so; sending it again retries
            spec = form_spec_for(action.action_id)
            if spec is not None:
                await ack(response_action="errors", errors={spec.key: NOT_TAKEN_TEXT})
                return
        await ack()

    @app.view(re.compile(r".*"))
    async def on_other_view(ack: Any, body: dict[str, Any]) -> None:
        # A modal that is not ours (an older app version's, another callback id): Slack shows the person
        # an error unless the submission is acknowledged; nothing to hand over.
        SLACK_INBOUND.labels("form", "not_ours").inc()
        log.info("slack: a submitted view with callback_id %r is not ours; acknowledged and ignored",
                 _obj_get(body.get("view"), "callback_id"))
        await ack()

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any]) -> Any:
        # Bolt acknowledges the event when this returns (process_before_response), so after the journal.
        if written_by_a_bot(body):
            # another bot, an integration or this bot itself: answering could make two bots loop
            SLACK_INBOUND.labels("mention", "from_bot").inc()
            log.info("slack: a mention written by a bot (%s) ignored", _obj_get(body.get("event"), "bot_id"))
            return
        command = _translate("mention", lambda: command_from_mention(body))
        if command is not None and command.channel == slack_channel(""):
            # The HTTP route refuses this with 400; over Socket Mode it arrives here. Without a channel
            # there is nowhere to answer (the dispatcher failed it with an ERROR).
            SLACK_INBOUND.labels("mention", "no_channel").inc()
            log.warning("slack: a mention without a channel (event %s) ignored", body.get("event_id"))
            return
        if command is not None and await bridge.hand_over(
                command, kind="mention", extra_keys=[mention_duplicate_key(body)]) is None:
            # not taken (database unavailable): not acknowledged, so Slack sends the event again
            return BoltResponse(status=503, body={"error": "temporarily unavailable"})
        return None

    @app.event(re.compile(r".*"))
    async def on_other_event(body: dict[str, Any]) -> None:
        # Acknowledged (so Slack does not retry) and ignored: the manifest subscribes to app_mention only.
        SLACK_INBOUND.labels("event", "ignored").inc()

    @app.shortcut(re.compile(r".*"))
    async def on_shortcut(ack: Any) -> None:
        await ack()  # the manifest declares no shortcuts; acknowledge so Slack shows no error

    @app.options(re.compile(r".*"))
    async def on_options(ack: Any) -> None:
        await ack(options=[])

    @app.view_closed(re.compile(r".*"))
    async def on_view_closed(ack: Any) -> None:
        await ack()

    @app.error
    async def on_error(error: Exception) -> BoltResponse:
        # Bolt answers 500 after this unless it returns an answer of its own: decide which it is.
        if _payload_shape_error(error):
            SLACK_INBOUND.labels("bolt", "malformed").inc()
            log.warning("slack: Bolt could not route a signed payload (%s: %s); refused with 400",
                        type(error).__name__, error)
            log.debug("slack: where Bolt tripped over the payload", exc_info=error)
            return BoltResponse(status=400, body={"error": "malformed payload"})
        SLACK_INBOUND.labels("bolt", "server_error").inc()
        log.error("slack: server fault while handling a signed request; answered 500", exc_info=error)
        return BoltResponse(status=500, body={"error": "internal error"})

    return app


class _EpochClock:
    """Adapts crisisbot's Clock (aware datetimes) to slack_sdk's clock (epoch seconds)."""

    def __init__(self, clock: Any | None) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now().timestamp() if self._clock is not None else time.time()


# A real Slack timestamp is a plain epoch in seconds. Anything else is refused before slack_sdk sees
# it: `int()` there accepts non-ASCII digits and turns 400 nines into a number whose comparison with
# the clock raises OverflowError, which it does not catch (a forged request became a 500).
MAX_TIMESTAMP_DIGITS = 12
SIGNATURE_MAX_AGE_S = 60 * 5


def request_is_signed(verifier: SignatureVerifier, body: bytes, headers: Any) -> bool:
    """Signature and timestamp (300 s) check that never raises on junk headers.

    The HMAC is computed over the raw bytes: slack_sdk decodes the body as UTF-8 first, so a correctly
    signed body that is not UTF-8 would be reported as a forgery instead of as a bad encoding."""
    skew = signed_skew(verifier, body, headers)
    return skew is not None and abs(skew) <= SIGNATURE_MAX_AGE_S


def signed_skew(verifier: SignatureVerifier, body: bytes, headers: Any) -> float | None:
    """How many seconds the request's timestamp is ahead of this server's clock (negative: behind) when
    the signature matches the body and that timestamp; None when it is unsigned, junk or forged."""
    timestamp = (headers.get("x-slack-request-timestamp") or "").strip()
    signature = (headers.get("x-slack-signature") or "").strip()
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        return None
    if not signature.isascii():
        return None
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(verifier.signing_secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return int(timestamp) - verifier.clock.now()


def is_ssl_check(body: bytes, headers: Any) -> bool:
    """Slack's certificate probe: an unsigned form body `ssl_check=1&token=…` and nothing else.

    Slack sends it without a signature when a request URL is saved and expects 200 (Bolt answers it before
    verifying signatures). Only exactly this body passes, and it is answered with nothing done."""
    from urllib.parse import parse_qs

    if not (headers.get("content-type") or "").startswith("application/x-www-form-urlencoded"):
        return False
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return fields.get("ssl_check") == ["1"] and set(fields) <= {"ssl_check", "token"}


def _error(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


def build_events_route(
    *, app: AsyncApp | None, signing_secret: str | None, clock: Any | None = None, path: str = EVENTS_PATH,
    refusals: RefusalLog | None = None,
) -> Route:
    """`POST /slack/events`: 401 unless signed with the signing secret within 300 s (Slack's unsigned
    ssl_check probe alone gets an empty 200); 400 when the signed body is not a payload Slack would send;
    then Bolt. Refusals are logged through `refusals`: the first of each reason, then one line a minute."""
    verifier = SignatureVerifier(signing_secret, clock=_EpochClock(clock)) if signing_secret else None
    refusals = refusals or RefusalLog(log)

    async def slack_events(request: Request) -> Response:
        try:
            # Stops reading at the limit: a chunked body without Content-Length is never held whole;
            # and at the deadline: a body that trickles in does not hold the connection for ever.
            body = await read_limited(request, MAX_BODY_BYTES, deadline=BODY_DEADLINE_S)
        except BodyError as error:
            if not isinstance(error, ClientGone):
                SLACK_INBOUND.labels("http", "body_refused").inc()
            return JSONResponse({"error": error.error}, status_code=error.status, headers={"Connection": "close"})
        if verifier is None or app is None:
            SLACK_INBOUND.labels("http", "rejected").inc()
            refusals.refused(path, "not_configured", "slack: %s called but SLACK_SIGNING_SECRET is not set; rejected",
                             path)
            return _error(401, "signing secret not configured")
        if is_ssl_check(body, request.headers):
            SLACK_INBOUND.labels("http", "ssl_check").inc()
            return Response(status_code=200)
        skew = signed_skew(verifier, body, request.headers)
        if skew is None or abs(skew) > SIGNATURE_MAX_AGE_S:
            SLACK_INBOUND.labels("http", "bad_signature").inc()
            client = request.client.host if request.client else "?"
            if skew is None:
                refusals.refused(path, "bad_signature",
                                 "slack: rejected a request with a missing, forged or stale signature (from %s); if "
                                 "every request from Slack is refused so, SLACK_SIGNING_SECRET is not the app's "
                                 "Signing Secret (Basic Information)", client)
            else:
                # Signed with our secret, only too old or too new: a replay, or (when every request is
                # refused so) this server's clock is off, which the line must not blame on the secret.
                refusals.refused(path, "stale_signature",
                                 "slack: rejected a request with a stale signature (from %s): signed with the "
                                 "signing secret, but its timestamp is %+.0f s from this server's clock (over "
                                 "%d s: a replay, or this server's clock is wrong; check its time sync)",
                                 client, skew, SIGNATURE_MAX_AGE_S)
            return _error(401, "invalid signature")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            SLACK_INBOUND.labels("http", "malformed").inc()
            return _error(400, "bad encoding")
        try:
            # Bolt parses the body and reads ids out of it while building the request; it assumes
            # Slack's shapes, so junk from someone holding the secret raises here (ValueError,
            # TypeError, AttributeError ...). That is a bad request, not a server error.
            bolt_request = to_async_bolt_request(request, body)
        except Exception as error:  # noqa: BLE001 - third-party parsing of untrusted input
            SLACK_INBOUND.labels("http", "malformed").inc()
            refusals.refused(path, "unreadable", "slack: signed request with an unreadable payload refused: %s", error)
            return _error(400, "malformed payload")
        problem = payload_problem(bolt_request.body)
        if problem:
            SLACK_INBOUND.labels("http", "malformed").inc()
            refusals.refused(path, "malformed", "slack: signed request with a malformed payload refused: %s", problem)
            return _error(400, "malformed payload")
        try:
            bolt_response = await app.async_dispatch(bolt_request)
        except Exception:  # noqa: BLE001 - last resort, see below
            # Bolt indexes into payloads while routing them (e.g. view["type"]); a shape that
            # payload_problem does not know yet must still be a logged bad request, not a 500.
            SLACK_INBOUND.labels("http", "malformed").inc()
            log.exception("slack: Bolt could not route a signed payload; refused with 400")
            return _error(400, "malformed payload")
        return to_starlette_response(bolt_response)

    return Route(path, slack_events, methods=["POST"], name="slack_events")


class SocketModeRunner:
    """Runs Bolt's aiohttp Socket Mode handler in its own thread with its own event loop."""

    def __init__(self, *, app_token: str, app_factory: Callable[[], AsyncApp]) -> None:
        self.app_token = app_token
        self._app_factory = app_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._handler: Any = None
        self._started = threading.Event()
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start the Socket Mode thread; connecting (and reconnecting, as slack_sdk does) goes on there."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="slack-socket-mode", daemon=True)
        self._thread.start()
        self._started.wait(30)

    def _run(self) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        async def setup() -> None:
            # slack_sdk's aiohttp client must be built inside the running loop it will use.
            app = self._app_factory()
            self._handler = AsyncSocketModeHandler(app, self.app_token)
            task = asyncio.ensure_future(self._handler.connect_async())
            task.add_done_callback(self._connected)

        try:
            loop.run_until_complete(setup())
        except BaseException as error:  # keep serving HTTP; the operator sees why Socket Mode is off
            self.error = error
            log.error("slack: Socket Mode could not start: %s (check SLACK_APP_TOKEN)", error)
        finally:
            self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _connected(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.error = error
            log.error("slack: Socket Mode could not connect: %s (check SLACK_APP_TOKEN)", error)
        else:
            log.info("slack: Socket Mode connected")

    def stop(self) -> None:
        loop, handler = self._loop, self._handler
        if loop is None or self._thread is None:
            return
        async def shutdown() -> None:
            await handler.close_async()
            # A connect attempt may still be waiting to retry (e.g. a bad app token): end it cleanly.
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        if handler is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
            except Exception as error:
                log.warning("slack: Socket Mode close failed: %s", error)
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._thread = None
