"""Inbound Feishu events over HTTP: `POST /feishu/events` on the bot's Starlette app.

lark-oapi's EventDispatcherHandler decodes and dispatches, but it skips checks a public endpoint needs,
so every request first passes `FeishuEventGuard`:
- the signature (X-Lark-Signature) is verified on every request, a signed url_verification challenge too;
  Feishu sends the challenge unsigned, so an unsigned one passes when it decrypts with the Encrypt Key and
  carries the Verification Token (it changes nothing), and nothing else passes unsigned;
- a timestamp more than 300 s away from now is refused (replays);
- with an encrypt key set, an unencrypted body is refused; without one, an encrypted body is refused;
- the body is read up to 1 MiB (413) and for at most 10 s (408), and must be UTF-8 JSON (400);
- the verification token must match;
- an event or card callback naming another app (`header.app_id`, v1 `event.app_id`) than FEISHU_APP_ID
  is refused with 403: a shared or leaked verification token must not let another app's events in;
- with FEISHU_TENANT_KEY set, one naming another tenant (`header.tenant_key`, v1 `event.tenant_key` or a
  top-level `tenant_key`) is refused with 403: an app installed by other tenants (a store app) gets their
  events, signed with the same keys (on the long connection such an event is ignored in the callbacks);
and any other refused request gets 401 (the SDK would answer 500, which makes Feishu retry a forgery). A verified
event the SDK's model cannot parse, or with an object or list where the bot reads text (an id, a name, a
mention key), gets 400; a message whose content is not readable text is ignored
with 200, as an image would be. url_verification is answered here, with the challenge JSON-escaped.
Messages become neutral Commands and card clicks neutral Actions, handed to the dispatcher's `submit`;
the answer (and the card's toast) goes back once the item is in the dispatcher's journal (a crash after
Feishu's 200 must not lose it; at most JOURNAL_WAIT_S, well within Feishu's 3 s). The HTTP route awaits
that on the event loop after the SDK's dispatch; the long connection's callbacks wait on their own thread.
Refusals are counted exactly in crisisbot_feishu_inbound_total and logged through a RefusalLog
(bot/log_limits.py): the first of each reason, then one line a minute, so forgeries cannot fill the log.
When the dispatcher could not take the item (the database unavailable: nothing runs, nothing is kept), a
message is answered 503 so that Feishu sends it again, and a card press gets an error toast instead of
"received" (Feishu does not send a press again; the person is asked to try again).
"""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from bot.adapters.feishu import crypto
from bot.adapters.feishu.cards import FORM_FIELDS_KEY, bilingual
from bot.adapters.feishu.events import action_from_card_event, callback_value, command_from_message_event
from bot.adapters.feishu.settings import FeishuSettings
from bot.adapters.forms import form_spec_for
from bot.clock import Clock, SystemClock
from bot.http_body import BodyError, read_limited
from bot.log_limits import RefusalLog
from bot.messages import Action, Command

log = logging.getLogger(__name__)

# Refusals by reason, as Slack's crisisbot_slack_inbound_total counts bad signatures: a forged-request flood
# or a misconfigured app (wrong token, another app's events) shows on /metrics, not only in the log.
FEISHU_INBOUND = Counter("crisisbot_feishu_inbound_total", "Feishu HTTP deliveries by outcome", ["outcome"])
_REFUSAL_OUTCOME = {400: "malformed", 401: "unauthenticated", 403: "other_app", 503: "not_configured"}
# A 403 for another tenant (FEISHU_TENANT_KEY) is counted apart from another app's.
OTHER_TENANT_OUTCOME = "other_tenant"
# A verified delivery the dispatcher could not take (the database unavailable): 503, or a card's error toast.
NOT_TAKEN_OUTCOME = "unavailable"

EVENTS_PATH = "/feishu/events"
MESSAGE_EVENT = "im.message.receive_v1"
CARD_EVENT = "card.action.trigger"
HANDLED_EVENTS = (MESSAGE_EVENT, CARD_EVENT)
# The SDK looks headers up with this exact casing; Starlette hands them over lower-cased.
CANONICAL_HEADERS = {
    h.lower(): h
    for h in (crypto.SIGNATURE_HEADER, crypto.TIMESTAMP_HEADER, crypto.NONCE_HEADER, "X-Request-Id", "Content-Type")
}
MAX_TIMESTAMP_DIGITS = 12
MAX_BODY_BYTES = 1024 * 1024  # Feishu events are a few KB; refuse anything absurd before reading it
# Feishu sends its small bodies at once and wants an answer within 3 s: a body still arriving after this
# long is someone holding a connection (and up to MAX_BODY_BYTES) open, not Feishu.
BODY_DEADLINE_S = 10.0
# How long a callback waits for the journal row before answering anyway (Feishu waits 3 s, then retries).
JOURNAL_WAIT_S = 1.5
# On the long connection the wait blocks the SDK's one event loop (its pings, the next frames): a burst
# of events waits one after another, so each gets less.
LONG_CONNECTION_JOURNAL_WAIT_S = 0.5
TOAST_RECEIVED = {"zh_cn": "已收到，处理中…", "en_us": "Received, working on it…"}
TOAST_UNKNOWN = {"zh_cn": "这个按钮已失效", "en_us": "This button is no longer valid"}
TOAST_NOT_TAKEN = {"zh_cn": "暂时无法处理，请稍后重试（这次没有执行）",
                   "en_us": "Temporarily unavailable, please try again (nothing was done)"}

Submit = Callable[[Command | Action], Any]
# Set by the HTTP route around the SDK's (synchronous) dispatch: the callbacks leave their journal futures
# here for the route to await, instead of blocking the event loop.
_AWAITED_BY_ROUTE: ContextVar[list[tuple[Command | Action, Any]] | None] = ContextVar("feishu_journal", default=None)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the guard decided: refuse with `status`/`reason`, or go on with the decrypted `payload`."""

    status: int
    reason: str = ""
    payload: dict[str, Any] | None = None
    # what refusals are told apart by in the log's pacing and the metric, when the reason is not enough
    # (it holds a number or an id): e.g. "stale timestamp"
    code: str = ""
    # the crisisbot_feishu_inbound_total outcome, when not the status's usual one
    outcome: str = ""

    @property
    def kind(self) -> str:
        return self.code or self.reason

    @property
    def ok(self) -> bool:
        return self.status == 200


class FeishuEventGuard:
    """The checks lark-oapi does not do (pure apart from the clock; unit-tested on its own)."""

    def __init__(self, settings: FeishuSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()

    def check(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        key = self.settings.encrypt_key
        token = self.settings.verification_token
        if not token:
            # lark-oapi refuses every event that carries a token when it has none: say so plainly
            return Verdict(503, "set FEISHU_VERIFICATION_TOKEN (and FEISHU_ENCRYPT_KEY) to receive events over HTTP")
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp = lower.get(crypto.TIMESTAMP_HEADER.lower(), "")
        nonce = lower.get(crypto.NONCE_HEADER.lower(), "")
        given = lower.get(crypto.SIGNATURE_HEADER.lower(), "")
        if key:
            if not (timestamp or nonce or given):
                return self._unsigned_challenge(body, key, token)
            if not (timestamp and nonce and given):
                return Verdict(401, "missing signature headers")
            if not crypto.signature_matches(timestamp, nonce, key, body, given):
                return Verdict(401, "bad signature")
        if timestamp or key:
            stale = self._stale(timestamp)
            if stale:
                return Verdict(401, stale, code="bad or stale timestamp")
        try:
            # UTF-8 only, as Feishu sends it and as the SDK decodes it: json.loads(bytes) would also take
            # UTF-16/32 and a BOM, which the SDK then fails on with a 500 (Feishu retries those for hours).
            outer = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError included; nesting deeper than the parser goes
            return Verdict(400, "body is not UTF-8 JSON")
        if not isinstance(outer, dict):
            return Verdict(400, "body is not a JSON object")
        if key:
            encrypted = outer.get("encrypt")
            if not isinstance(encrypted, str) or not encrypted:
                return Verdict(401, "unencrypted body refused: an encrypt key is configured")
            try:
                plaintext = crypto.decrypt(key, encrypted)
            except ValueError:
                return Verdict(400, "cannot decrypt the body with the configured encrypt key")
            try:
                payload = json.loads(plaintext.decode("utf-8"))
            except (ValueError, RecursionError):
                return Verdict(400, "decrypted body is not UTF-8 JSON")
            if not isinstance(payload, dict):
                return Verdict(400, "decrypted body is not a JSON object")
        elif "encrypt" in outer:
            # Feishu encrypts only when the app has an Encrypt Key, and then we need it too. Passed on, the
            # SDK answers 500 ("encrypt_key not found"), which Feishu retries for hours.
            return Verdict(401, "encrypted body, but FEISHU_ENCRYPT_KEY is not set: set it to the app's Encrypt Key")
        else:
            payload = outer
        if token:
            # v1 events and url_verification carry the token at the top, v2 events in the header.
            # Every token present must match: the SDK reads header.token for a v2 event, so a right
            # top-level token next to a wrong header token is a forgery, not an event to pass on.
            header = payload.get("header")
            if isinstance(header, dict):
                sent = [header.get("token")] + ([payload["token"]] if "token" in payload else [])
            else:
                sent = [payload.get("token")]
            if not all(isinstance(value, str) and _same(value, token) for value in sent):
                return Verdict(401, "bad verification token")
        other_app = self._other_app(payload)
        if other_app:
            return Verdict(403, other_app, code="other_app")
        other_tenant = self._other_tenant(payload)
        if other_tenant:
            return Verdict(403, other_tenant[0], code=f"{OTHER_TENANT_OUTCOME} {other_tenant[1]}",
                           outcome=OTHER_TENANT_OUTCOME)
        return Verdict(200, payload=payload)

    def _other_tenant(self, payload: dict[str, Any]) -> tuple[str, str] | None:
        """(why, the tenant as logged) when FEISHU_TENANT_KEY is set and the event names another tenant; None
        when unset, listed, or naming none (url_verification names none; every other Feishu event names it).

        Every tenant_key at the event's level must be listed: `header.tenant_key` (v2 events and card
        callbacks), v1's `event.tenant_key`, a top-level `tenant_key` (old card callbacks). The sender's or
        operator's tenant (`event.sender.tenant_key`) is not checked: a person of another company may write
        in a group of ours."""
        ours = self.settings.tenant_keys
        if not ours:
            return None
        header = payload.get("header")
        holder = header if isinstance(header, dict) else payload.get("event")
        sent = [holder.get("tenant_key")] if isinstance(holder, dict) else []
        sent.append(payload.get("tenant_key"))
        for value in sent:
            if value is None or (isinstance(value, str) and value in ours):
                continue
            # tenant keys are no secret (every event carries one); cut short so a huge value cannot flood the log
            shown = value[:64] if isinstance(value, str) else type(value).__name__
            return f"event of another Feishu tenant ({shown!r}), not FEISHU_TENANT_KEY: refused", shown
        return None

    def _other_app(self, payload: dict[str, Any]) -> str:
        """Why an event addressed to another app is refused, or "" (ours, or no app id in it).

        A verification token can be shared between apps; the app id in the event says which app Feishu sent
        it for: v2 events and card callbacks in `header.app_id`, v1 events in `event.app_id`. An event
        naming another app must not run commands here. An event naming none passes: the app id is public,
        so whoever could sign an event with our key could also write ours into it; refusing its absence
        protected nothing and refused hand-built events (tests, replays) that were otherwise genuine."""
        ours = self.settings.app_id
        if not ours:
            return ""
        header = payload.get("header")
        holder = header if isinstance(header, dict) else payload.get("event")
        if not isinstance(holder, dict) or holder.get("app_id") is None:
            return ""
        sent = holder["app_id"]
        if isinstance(sent, str) and _same(sent, ours):
            return ""
        # App ids are no secret (they show in every event); cut short so a huge value cannot flood the log.
        shown = sent[:40] if isinstance(sent, str) else type(sent).__name__
        return f"event for another Feishu app ({shown!r}), not FEISHU_APP_ID: refused"

    @staticmethod
    def _unsigned_challenge(body: bytes, key: str, token: str) -> Verdict:
        """A request without any signature header: only Feishu's url_verification challenge may pass.

        Feishu sends that challenge (when a request URL is saved) unsigned even when the app has an Encrypt
        Key: requiring the signature there made the URL impossible to save. It passes only encrypted with
        the Encrypt Key and carrying the Verification Token, and it changes nothing (the answer echoes the
        challenge); every event and card callback still needs a valid signature."""
        refused = Verdict(401, "missing signature headers")
        try:
            outer = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):  # not UTF-8 JSON, or nested too deep
            return refused
        if not isinstance(outer, dict):
            return refused
        if "encrypt" not in outer:
            if outer.get("type") == "url_verification":
                # Feishu sends the challenge in plain text only when the app has no Encrypt Key: "missing
                # signature headers" sent the operator looking for a proxy that dropped headers
                return Verdict(401, "unencrypted url_verification challenge refused: FEISHU_ENCRYPT_KEY is set, but "
                               "the app has no Encrypt Key in the Feishu console (set the same key in both)",
                               code="unencrypted challenge")
            return refused
        try:
            payload = json.loads(crypto.decrypt(key, outer["encrypt"]).decode("utf-8"))
        except (ValueError, TypeError, RecursionError):  # not base64 / a ciphertext of this key, or not JSON
            # Unsigned and encrypted is how Feishu sends the challenge when a request URL is saved: with another
            # app's (or an old) key in FEISHU_ENCRYPT_KEY this is where saving the URL fails
            return Verdict(401, "unsigned encrypted body (Feishu's url_verification challenge?) that "
                           "FEISHU_ENCRYPT_KEY cannot decrypt: is it the app's Encrypt Key?",
                           code="undecryptable unsigned body")
        if not isinstance(payload, dict) or payload.get("type") != "url_verification":
            return refused
        sent = payload.get("token")
        if not (isinstance(sent, str) and _same(sent, token)):
            return Verdict(401, "bad verification token")
        return Verdict(200, payload=payload)

    def _stale(self, timestamp: str) -> str:
        # Feishu sends whole epoch seconds. float() would accept "nan" (every comparison with it is
        # false, so it passed as fresh), "inf" and "1e9"; only plain ASCII digits are a timestamp.
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
            return "bad timestamp"
        sent_at = int(timestamp)
        skew = sent_at - self.clock.now().timestamp()
        if abs(skew) > self.settings.max_clock_skew_s:
            # signed (with an encrypt key) yet stale: a replay, or this server's clock is off, which refuses
            # every event alike; the line must point the operator at the clock too
            return (f"stale timestamp ({skew:+.0f} s from this server's clock): replay refused; if every event "
                    "is refused so, this server's clock is wrong (check its time sync)")
        return ""


def _acked_unjournalled(item: Command | Action, waited_s: float = JOURNAL_WAIT_S) -> None:
    log.warning("feishu: %s not journalled within %.1f s (database busy); answering anyway, a crash before it is "
                "written would lose it", item.event_id, waited_s)


def _taken_after_wait(item: Command | Action, journalled: Any, waited_s: float) -> bool:
    """The wait for the journal row ran out: True when Feishu may be answered as usual (the dispatcher will
    handle the item, journalled or not), False when the item was refused meanwhile (database unavailable)."""
    answer_anyway = getattr(journalled, "answer_anyway", None)
    if answer_anyway is not None and not answer_anyway():
        return False
    _acked_unjournalled(item, waited_s)
    return True


def _not_taken(item: Command | Action) -> None:
    what = "card press" if isinstance(item, Action) else "message"
    reply = "an error toast" if isinstance(item, Action) else "503 so that Feishu sends it again"
    log.warning("feishu: %s %s not taken (the dispatcher could not journal it: database unavailable); answered "
                "with %s", what, item.event_id, reply)


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


def _translate(kind: str, translate: Callable[[Any], Any], data: Any) -> Any:
    """Last resort around the pure translation: HTTP events were shape-checked first, but the long
    connection's were not, and a translation bug must cost one logged event, not an SDK 500 that
    Feishu retries for hours. Handing over (`submit`) stays outside: if that fails, a retry is right."""
    try:
        return translate(data)
    except Exception:  # noqa: BLE001 - logged; the event is ignored like one that is not for us
        log.exception("feishu: could not translate a %s event; ignored", kind)
        return None


def blank_form_toast(action: Action, value: Any) -> dict[str, str] | None:
    """The toast for a card form whose required field (bot/adapters/forms.py: not optional) came back empty.

    Feishu stops an empty required field itself, but blanks, full-width spaces or a pair of quotes get
    through. Only a submission of our form is answered here (its callback `value` names the field); a press
    of an old card's plain button still reaches the handler, whose answer gives the command to type."""
    spec = form_spec_for(action.action_id)
    if spec is None or spec.optional or not isinstance(value, dict) or not isinstance(value.get(FORM_FIELDS_KEY), dict):
        return None
    typed = action.form.get(spec.key, "")
    if _has_text(typed) if spec.kind == "text" else typed.strip():
        return None
    label_zh, label_en = bilingual(spec.label)
    title_zh, _ = bilingual(spec.title)
    ask_zh, ask_en = ("填写", "Fill in") if spec.kind == "text" else ("选择", "Choose")
    return {"zh_cn": f"请先{ask_zh}「{label_zh}」，未{title_zh}",
            "en_us": f"{ask_en} “{label_en.lower()}” first: nothing was done"}


def _has_text(text: str) -> bool:
    # as the handlers judge a reason (bot/handlers/crisis.py _has_text): blanks and bare quotes say nothing
    return bool(unicodedata.normalize("NFKC", text).strip().strip("\"'“”‘’「」『』").strip())


def event_type_of(payload: Mapping[str, Any]) -> str | None:
    """'url_verification', 'im.message.receive_v1', 'card.action.trigger', ... (v2 and v1 shapes)."""
    if payload.get("type") == "url_verification":
        return "url_verification"
    header = payload.get("header")
    if isinstance(header, dict):
        return header.get("event_type")
    event = payload.get("event")
    return event.get("type") if isinstance(event, dict) else None


# The fields the translation (events.py) reads as text, by event type: the SDK's models check objects and
# lists but take any JSON value where a string belongs, so an object there reached the translation (a mention
# whose name was an object failed it: a logged traceback and a 200, the command silently dropped).
_TEXT_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    MESSAGE_EVENT: (
        ("header", "event_id"),
        ("event", "sender", "sender_type"),
        ("event", "sender", "sender_id", "open_id"),
        ("event", "message", "message_id"),
        ("event", "message", "chat_id"),
        ("event", "message", "chat_type"),
        # message_type and content are not here: content the bot cannot read is ignored (200), as an image is
    ),
    CARD_EVENT: (
        ("header", "event_id"),
        ("event", "operator", "open_id"),
        ("event", "context", "open_chat_id"),
        ("event", "context", "open_message_id"),
    ),
}
_MENTION_TEXT_FIELDS = (("key",), ("name",), ("mentioned_type",), ("id", "open_id"))


def _not_text(data: Any, paths: tuple[tuple[str, ...], ...], where: str = "") -> str | None:
    """The first of `paths` whose value is present but not a string (null counts as absent), or None."""
    for path in paths:
        value = data
        for depth, name in enumerate(path):
            if value is None:
                break
            if not isinstance(value, dict):
                return f"{where}{'.'.join(path[:depth])} is not an object"
            value = value.get(name)
        if value is not None and not isinstance(value, str):
            return f"{where}{'.'.join(path)} is {type(value).__name__}, not a string"
    return None


def _mentions_problem(message: Any) -> str | None:
    mentions = message.get("mentions") if isinstance(message, dict) else None
    if not isinstance(mentions, list):
        return None  # absent or null; another type the SDK's model has refused already
    for n, mention in enumerate(mentions):
        if not isinstance(mention, dict):
            return f"event.message.mentions[{n}] is not an object"
        problem = _not_text(mention, _MENTION_TEXT_FIELDS, f"event.message.mentions[{n}].")
        if problem:
            return problem
    return None


def _not_taken_toast() -> dict[str, Any]:
    return {"toast": {"type": "error", "content": TOAST_NOT_TAKEN["zh_cn"], "i18n": TOAST_NOT_TAKEN}}


class FeishuEvents:
    """Translates SDK-dispatched events to neutral items and hands them to `submit` (non-blocking)."""

    def __init__(self, settings: FeishuSettings, submit: Submit, *, clock: Clock | None = None,
                 bot_open_id: Callable[[], str | None] | None = None) -> None:
        """`bot_open_id`: this bot's open_id, None while unknown (FeishuChatPort.bot_open_id), so that a
        mention of another bot in a group is not taken for a command to this one."""
        import lark_oapi as lark

        self._lark = lark
        self.settings = settings
        self.submit = submit
        self.bot_open_id = bot_open_id or (lambda: None)
        self.guard = FeishuEventGuard(settings, clock)
        self.refusals = RefusalLog(log, clock=clock)
        self.handler = self.build_dispatcher(settings.encrypt_key, settings.verification_token)

    def build_dispatcher(self, encrypt_key: str, verification_token: str) -> Any:
        """An EventDispatcherHandler with our two events; the long connection builds one with ("", "")."""
        return (
            self._lark.EventDispatcherHandler.builder(encrypt_key, verification_token)
            .register_p2_im_message_receive_v1(self.on_message)
            .register_p2_card_action_trigger(self.on_card_action)
            .build()
        )

    # ---- SDK callbacks (run in the request, so they only translate and submit) -----------------
    def _other_tenant(self, data: Any) -> bool:
        """True (counted and logged) when FEISHU_TENANT_KEY is set and the SDK's event names another tenant.

        Over HTTP the guard has refused those with 403 already; the long connection's events reach the SDK
        without it, and an app other tenants installed gets theirs there too."""
        if not self.settings.tenant_keys:
            return False
        sent = getattr(getattr(data, "header", None), "tenant_key", None)
        if sent is None or (isinstance(sent, str) and sent in self.settings.tenant_keys):
            return False
        shown = sent[:64] if isinstance(sent, str) else type(sent).__name__
        FEISHU_INBOUND.labels(OTHER_TENANT_OUTCOME).inc()
        self.refusals.refused("long connection", f"{OTHER_TENANT_OUTCOME} {shown}",
                              "feishu: ignored an event of another tenant (%r), not FEISHU_TENANT_KEY", shown)
        return True

    def on_message(self, data: Any) -> None:
        if self._other_tenant(data):
            return  # answered as handled: nothing to send again, nothing run
        bot_open_id = self.bot_open_id()
        command = _translate("message", lambda event: command_from_message_event(event, bot_open_id), data)
        if command is None:
            return
        # %r: the text is any chat member's, and a line break in it must not forge a log line of its own
        log.info("feishu command from %s in %s: %r", command.user, command.channel, command.text[:80])
        if not self._submit_journalled(command):
            # long connection: an error answer, so that Feishu sends the event again (the HTTP route answers 503)
            raise RuntimeError(f"feishu message {command.event_id} not taken: database unavailable")

    def on_card_action(self, data: Any) -> Any:
        from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse

        if self._other_tenant(data):
            return P2CardActionTriggerResponse({})  # nothing useful for another tenant's person
        action = _translate("card action", action_from_card_event, data)
        if action is None:
            toast = {"type": "warning", "content": TOAST_UNKNOWN["zh_cn"], "i18n": TOAST_UNKNOWN}
            return P2CardActionTriggerResponse({"toast": toast})
        blank = blank_form_toast(action, callback_value(data))
        if blank is not None:
            # nothing is handed over (so nothing is done): the person is still at the card, with the form
            log.info("feishu: %s from %s submitted without text; answered with a toast", action.action_id, action.user)
            return P2CardActionTriggerResponse({"toast": {"type": "error", "content": blank["zh_cn"], "i18n": blank}})
        if not self._submit_journalled(action):
            return P2CardActionTriggerResponse(_not_taken_toast())
        toast = {"type": "info", "content": TOAST_RECEIVED["zh_cn"], "i18n": TOAST_RECEIVED}
        return P2CardActionTriggerResponse({"toast": toast})

    def _submit_journalled(self, item: Command | Action) -> bool:
        """Hand over, and have Feishu answered only once the dispatcher has journalled it: the HTTP route
        awaits it before its 200; on the long connection (the SDK answers when this returns) it waits here.
        False when the dispatcher did not take it (long connection only; the route decides for itself)."""
        submission = self.submit(item)
        journalled = getattr(submission, "journalled", None)
        if journalled is None:
            return True
        awaited = _AWAITED_BY_ROUTE.get()
        if awaited is not None:
            awaited.append((item, journalled))
            return True
        try:
            journalled.result(timeout=LONG_CONNECTION_JOURNAL_WAIT_S)
        except TimeoutError:
            if _taken_after_wait(item, journalled, LONG_CONNECTION_JOURNAL_WAIT_S):
                return True
        except Exception:  # noqa: BLE001 - not taken (database unavailable): the dispatcher logged why
            pass
        else:
            return True
        _not_taken(item)
        return False

    # ---- HTTP ----------------------------------------------------------------------------------
    def handle(self, headers: Mapping[str, str], body: bytes, uri: str = EVENTS_PATH) -> tuple[int, bytes]:
        """Check, then dispatch one HTTP event; returns (status, JSON body)."""
        verdict = self.guard.check(headers, body)
        if not verdict.ok:
            FEISHU_INBOUND.labels(
                verdict.outcome or _REFUSAL_OUTCOME.get(verdict.status, f"refused_{verdict.status}")).inc()
            self.refusals.refused(EVENTS_PATH, f"{verdict.status} {verdict.kind}", "feishu event refused (%d): %s",
                                  verdict.status, verdict.reason)
            return verdict.status, json.dumps({"msg": verdict.reason}).encode()
        payload = verdict.payload or {}
        kind = event_type_of(payload)
        if kind == "url_verification":
            # Answered here, not by the SDK: it pastes the challenge into '{"challenge":"%s"}' without
            # escaping, so a challenge holding a quote or backslash came back as invalid JSON. The
            # guard has already checked the signature and the token.
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                return self._malformed(kind, "url_verification without a string challenge")
            FEISHU_INBOUND.labels("verified").inc()
            return 200, json.dumps({"challenge": challenge}, ensure_ascii=False).encode()
        if kind not in HANDLED_EVENTS:
            # subscribed by mistake or new: answer 200 so Feishu does not retry it for 6 hours
            FEISHU_INBOUND.labels("verified").inc()
            log.info("feishu event %s ignored (not handled by crisisbot)", kind)
            return 200, b'{"msg":"ignored"}'
        problem = self.shape_problem(kind, payload)
        if problem:
            return self._malformed(kind, problem)
        request = self._lark.RawRequest()
        request.uri = uri
        request.body = body
        request.headers = {CANONICAL_HEADERS.get(k.lower(), k): v for k, v in headers.items()}
        response = self.handler.do(request)
        if not _AWAITED_BY_ROUTE.get():
            # else counted by the route once the dispatcher took the item (or `unavailable`)
            FEISHU_INBOUND.labels("verified").inc()
        if response.status_code != 200:
            log.error("feishu event %s failed in dispatch: %s", kind, (response.content or b"")[:300])
        return response.status_code, response.content or b"{}"

    def shape_problem(self, kind: str, payload: dict[str, Any]) -> str | None:
        """Why a verified event of a type we handle cannot be dispatched, or None.

        The SDK would answer 500 to all of these (which makes Feishu retry for hours): a v2 event needs
        schema "2.0" for the SDK to route it, and its model rejects objects and lists of the wrong JSON
        type. The model is built here once, on the decrypted payload, to find out first."""
        if payload.get("schema") != "2.0" or not isinstance(payload.get("header"), dict):
            return "not a schema 2.0 event"
        if not isinstance(payload.get("event"), dict):
            return "event is not an object"
        model = self._event_models()[kind]
        try:
            model(payload)
        except Exception as error:  # noqa: BLE001 - the SDK's own parser on untrusted input
            return f"unreadable {kind} event: {error}"
        return _not_text(payload, _TEXT_FIELDS[kind]) or (
            _mentions_problem(payload["event"].get("message")) if kind == MESSAGE_EVENT else None)

    def _event_models(self) -> dict[str, Any]:
        from lark_oapi.api.im.v1 import P2ImMessageReceiveV1
        from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTrigger

        return {MESSAGE_EVENT: P2ImMessageReceiveV1, CARD_EVENT: P2CardActionTrigger}

    def _malformed(self, kind: str | None, reason: str) -> tuple[int, bytes]:
        # Verified, so it came from someone holding our secrets: tell them plainly with 400.
        FEISHU_INBOUND.labels(_REFUSAL_OUTCOME[400]).inc()
        self.refusals.refused(EVENTS_PATH, f"400 malformed {kind}", "feishu event %s refused (400): %s", kind, reason)
        return 400, json.dumps({"msg": f"malformed event: {reason}"}, ensure_ascii=False).encode()

    async def endpoint(self, request: Any) -> Any:
        """The Starlette endpoint for POST /feishu/events."""
        from starlette.responses import Response

        try:
            # Stops reading at the limit: a chunked body without Content-Length is never held whole;
            # and at the deadline: a body that trickles in does not hold the connection for ever.
            body = await read_limited(request, MAX_BODY_BYTES, deadline=BODY_DEADLINE_S)
        except BodyError as error:
            message = "body too large" if error.status == 413 else error.error
            return Response(json.dumps({"msg": message}).encode(), status_code=error.status,
                            media_type="application/json", headers={"Connection": "close"})
        awaited: list[tuple[Command | Action, Any]] = []
        token = _AWAITED_BY_ROUTE.set(awaited)
        try:
            status, content = self.handle(request.headers, body, str(request.url.path))
        finally:
            _AWAITED_BY_ROUTE.reset(token)
        refused = [item for item, journalled in awaited if not await self._taken(item, journalled)]
        if awaited:
            FEISHU_INBOUND.labels(NOT_TAKEN_OUTCOME if refused else "verified").inc()
        if refused:
            _not_taken(refused[0])
            if isinstance(refused[0], Action):
                # Feishu does not send a card press again: the person is told, at the card
                status, content = 200, self._lark.JSON.marshal(_not_taken_toast()).encode()
            else:
                status, content = 503, json.dumps({"msg": "database unavailable: not taken, send it again later"}).encode()
        return Response(content, status_code=status, media_type="application/json; charset=utf-8")

    @staticmethod
    async def _taken(item: Command | Action, journalled: Any) -> bool:
        """Wait (at most JOURNAL_WAIT_S) for the item's journal row: False when the dispatcher did not take
        the item (database unavailable: it logged why), else True (journalled, or handled without it)."""
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(journalled)), JOURNAL_WAIT_S)
        except TimeoutError:
            return _taken_after_wait(item, journalled, JOURNAL_WAIT_S)
        except Exception:  # noqa: BLE001 - not taken; a retry of the delivery is right
            return False
        return True

    def route(self) -> Any:
        from starlette.routing import Route

        return Route(EVENTS_PATH, self.endpoint, methods=["POST"])
