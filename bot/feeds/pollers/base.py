"""Pure building blocks shared by every poller: errors, pages, persisted state, backoff, time parsing."""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from bot.messages import inert
from bot.storage.secrets import LockedSecret

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------- errors

TRANSIENT = "transient"  # network, timeout, 5xx, platform "busy": retry with exponential backoff
RATE_LIMITED = "rate_limited"  # 429 or the platform's own frequency code: honour Retry-After
RISK_CONTROL = "risk_control"  # Bilibili 412 / -412 / -352: one long pause, not a retry storm
AUTH_EXPIRED = "auth_expired"  # access token expired: refresh and retry once
REAUTH_REQUIRED = "reauth_required"  # refresh token expired / revoked: a human must re-authorise
CONFIG = "config"  # bad parameters or missing credentials: fix the config; retried slowly
TARGET = "target"  # this one video/post failed (comments closed, deleted): other targets go on


class PollError(Exception):
    """A failed request, classified so the service knows how long to wait and whom to tell.

    `detail` is safe to log and show: it never contains a token, a signed URL or a comment author.
    """

    def __init__(self, kind: str, detail: str, *, retry_after: float | None = None, code: Any = None):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after
        self.code = code

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"PollError({self.kind!r}, {self.detail!r}, retry_after={self.retry_after!r})"


#: the most of a platform's own error text kept in a PollError's detail (logged, stored, shown in chat)
PLATFORM_TEXT_MAX = 200


def platform_text(value: Any) -> str:
    """A platform's own error text (or an error value) as it may go into a PollError's detail. Outside data:
    on one line and cut short, so that a page of it cannot fill every log line, the source's status and the
    chat notice; inert in chat markup, so that a link it writes stays text."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    if len(text) > PLATFORM_TEXT_MAX:
        text = text[:PLATFORM_TEXT_MAX] + "…"
    return inert(text)


def raise_for_code(code: Any, detail: str, kinds: Sequence[tuple[Container[Any], str]]) -> NoReturn:
    """Raise the PollError for a platform error code: the kind of the first code set holding it, else
    TRANSIENT (an unknown code is retried, never taken as success)."""
    for codes, kind in kinds:
        if code in codes:
            raise PollError(kind, detail, code=code)
    raise PollError(TRANSIENT, detail, code=code)


def listed(value: Any, where: str) -> list[Any]:
    """The list a platform's answer holds at `where` (missing, null or another empty value, such as the `{}`
    some backends write for an empty array: none). Anything else is a malformed answer, a transient failure
    like a body that is not JSON: iterated, a text became one junk record per character (dead-lettered, the
    source warning that its "records" were all rejected) and a number an internal error with a traceback."""
    if not value:
        return []
    if isinstance(value, list):
        return value
    kind = type(value).__name__
    raise PollError(TRANSIENT, f"答复中的 {where} 不是列表（{kind}）/ {where} in the answer is not a list ({kind})")


# ---------------------------------------------------------------------------------------------- pages


@dataclass
class Item:
    """One platform record mapped to a neutral ingestion record (possibly incomplete: ingest judges)."""

    record: dict[str, Any]
    created_at: datetime | None
    # Outside the list's newest-first order (pinned/top comments, nested replies): never stops paging.
    unordered: bool = False


@dataclass
class Page:
    items: list[Item]
    next_cursor: Any = None
    is_end: bool = True
    # Memory updates to apply only once this page's records are stored (e.g. thread reply totals),
    # so a storage failure never marks anything as already read.
    after_store: list[Any] = field(default_factory=list)
    # How many comments the whole list holds now, where the platform says (Bilibili's `all_count`): a scan
    # resumed in a later poll finding fewer knows some were deleted meanwhile (see resume_cursor)
    total: int | None = None


# ---------------------------------------------------------------------------------------------- state


@dataclass
class TargetState:
    """High-water mark of one video/post, and where an unfinished scan must continue."""

    hwm: float | None = None  # epoch seconds of the newest comment stored (or the backfill start)
    pending: dict[str, Any] | None = None  # {"cursor", "stop_at", "new_hwm"} while a scan is unfinished
    error: str | None = None  # last target-specific error (comments closed, deleted)
    # Comments stored within the overlap window below the mark (key -> epoch): a late-appearing comment
    # (held in review, clock skew) is still read, and a known one is not sent again.
    recent: dict[str, float] = field(default_factory=dict)
    # the endpoint lists this target's comments oldest first (seen on a page): every scan reads to the end
    oldest_first: bool = False

    def to_json(self) -> dict[str, Any]:
        data = {"hwm": self.hwm, "pending": self.pending, "error": self.error, "recent": self.recent}
        if self.oldest_first:
            data["oldest_first"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TargetState:
        data = data or {}
        return cls(
            hwm=data.get("hwm"), pending=data.get("pending"), error=data.get("error"),
            recent=dict(data.get("recent") or {}), oldest_first=bool(data.get("oldest_first")),
        )


HEALTH_OK = "ok"
HEALTH_NEW = "new"
HEALTH_FAILING = "failing"  # failed recently, below the unhealthy threshold
HEALTH_UNHEALTHY = "unhealthy"
HEALTH_REAUTH = "reauth_required"
# Polls succeed but every record the last one sent was rejected (dead-lettered): a mapping or data problem
HEALTH_WARNING = "warning"


@dataclass
class SourceState:
    """Everything a source remembers between polls and restarts (persisted by the service)."""

    source_id: str
    targets: dict[str, TargetState] = field(default_factory=dict)
    # Refreshed credential pairs (Douyin). Encrypted at rest when CRISISBOT_SECRET_KEY is set; read them
    # through PollContext.stored_token, which turns an undecryptable value into a credential error.
    tokens: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # per-type memory (WBI keys, seen announcements)
    health: str = HEALTH_NEW
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = None
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    newest_item_at: datetime | None = None
    unhealthy_notified: bool = False
    polls: int = 0
    fetched: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def target(self, target: str) -> TargetState:
        if target not in self.targets:
            self.targets[target] = TargetState()
        return self.targets[target]


# -------------------------------------------------------------------------------------------- backoff


def backoff_delay(
    failures: int,
    *,
    base: float,
    maximum: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after the `failures`-th consecutive failure: base * 2^(n-1), capped, with
    "equal jitter" (half fixed, half random) so many sources failing together do not retry together.
    A server's Retry-After is a floor."""
    rng = rng or random
    ceiling = min(maximum, base * (2 ** max(0, failures - 1)))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


#: the longest Retry-After honoured: a broken proxy's "99999999999" must not park a source for centuries
MAX_RETRY_AFTER = 86400.0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds (both forms: delta-seconds and an HTTP date), at most MAX_RETRY_AFTER."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


# ---------------------------------------------------------------------------------------------- paths


_MISSING = object()


def dig(obj: Any, path: str | None, default: Any = None) -> Any:
    """Follow a dotted path (`data.cursor.next`, `list.0.id`) through dicts and lists."""
    if path is None or path == "":
        return obj
    current = obj
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        else:
            current = _MISSING
        if current is _MISSING:
            return default
    return current


def text_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------------------------- time

SHANGHAI = ZoneInfo("Asia/Shanghai")
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
_WEIBO_TIME = re.compile(
    r"^(?:[A-Z][a-z]{2}) ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})$"
)


def parse_weibo_time(value: str) -> datetime:
    """Weibo's `created_at`, e.g. 'Sat Nov 22 20:15:00 +0800 2026' (locale-independent)."""
    match = _WEIBO_TIME.match(value.strip())
    if not match or match.group(1) not in _MONTHS:
        raise ValueError(f"not a Weibo time: {value!r}")
    month = _MONTHS[match.group(1)]
    day, hour, minute, second = (int(match.group(i)) for i in range(2, 6))
    sign = 1 if match.group(6) == "+" else -1
    offset = timedelta(hours=int(match.group(7)), minutes=int(match.group(8))) * sign
    return datetime(int(match.group(9)), month, day, hour, minute, second, tzinfo=timezone(offset))


def _is_decimal(text: str) -> bool:
    """Epoch text as ingestion reads it: ASCII digits with at most one decimal point ("1764900000.5";
    "²" passes str.isdigit() but is no number)."""
    return text.isascii() and text.replace(".", "", 1).isdigit()


def parse_time(value: Any, fmt: str | None = None, zone: str | None = None) -> datetime | None:
    """A timezone-aware datetime from epoch seconds/ms, ISO 8601, Weibo's format or a strptime pattern.

    Returns None when the value is missing or unreadable (the record then fails ingest validation).
    Naive values are read in `zone` (default Asia/Shanghai: what Chinese platforms mean).
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    tz = ZoneInfo(zone) if zone else SHANGHAI
    try:
        if fmt in (None, "auto", "epoch", "epoch_ms") and (
            isinstance(value, int | float) or (isinstance(value, str) and _is_decimal(value.strip()))
        ):
            number = float(value)
            if fmt == "epoch_ms" or (fmt in (None, "auto") and number > 1e11):
                number /= 1000.0
            return datetime.fromtimestamp(number, tz=UTC)
        if not isinstance(value, str):
            return None
        if fmt == "weibo" or (fmt in (None, "auto") and _WEIBO_TIME.match(value.strip())):
            return parse_weibo_time(value)
        if fmt in (None, "auto", "iso"):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        elif fmt in ("epoch", "epoch_ms"):
            return None
        else:
            parsed = datetime.strptime(value.strip(), fmt)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed
    except (ValueError, OverflowError, OSError):
        return None


def epoch(value: datetime) -> float:
    return value.timestamp()


def from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def fingerprint(*values: str | None) -> str:
    """A short, one-way tag of secrets, to notice that an env var changed without storing or logging it."""
    digest = hashlib.sha256("\x1f".join(v or "" for v in values).encode()).hexdigest()
    return digest[:16]


# -------------------------------------------------------------------------------------------- context


@dataclass
class IngestTally:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    #: why the first rejected record was rejected (names the cause of a poll whose records all were)
    first_rejection: str | None = None
    #: the positions (in the batch sent) of the rejected records: they must not move a high-water mark
    rejected_indexes: frozenset[int] = frozenset()

    def add(self, other: IngestTally) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.first_rejection = self.first_rejection or other.first_rejection


@dataclass
class Notice:
    """A message for the team channel; `key` makes it idempotent (the outbox drops a repeated key)."""

    key: str
    text: str
    title: str | None = None
    url: str | None = None
    severity: str = "info"
    channel: str | None = None  # None: the source's notify_channel / the account's channels / default
    # Run once the notice is safely queued (e.g. remember the announcement as posted); not run when
    # queueing failed, so the next poll tries again.
    commit: Any = None


@dataclass
class PollContext:
    """What an adapter may use during one poll: config, state, HTTP, time, secrets, and the sinks."""

    source: Any  # one of bot.feeds.settings.*Source
    state: SourceState
    http: Any  # PoliteHttp
    now: Any  # Callable[[], datetime]
    env: Any  # Mapping[str, str]
    ingest: Any  # Callable[[list[dict]], IngestTally]
    save: Any  # Callable[[], None]: persist `state` now (after every page)
    notices: list[Notice] = field(default_factory=list)

    def credential(self, role: str, *, required: bool = True) -> str | None:
        """The secret for `role` from the env var the config names; a clear CONFIG error when unset."""
        name = self.source.credentials.get(role)
        # stripped: a line end from an env file or a paste kept in the token made every request 401
        value = (self.env.get(name) or "").strip() if name else None
        if required and not value:
            # Chinese first, as every user-facing text: the detail reaches `crisisbot poll`, `sources` and the
            # channel notice
            if name:
                zh, en = f"请设置环境变量 {name}", f"set the environment variable {name}"
            else:
                zh, en = f"请在配置中添加 credentials.{role}: 环境变量名", f"add credentials.{role}: ENV_VAR_NAME"
            raise PollError(CONFIG, f"缺少凭据 '{role}'：{zh} / missing credential '{role}': {en}")
        return value or None

    def stored_token(self, name: str) -> Any:
        """A token this source stored earlier (e.g. a refreshed access token), or None.

        A stored token that cannot be decrypted (CRISISBOT_SECRET_KEY unset or wrong) is a CONFIG error
        naming the env var, never None: reading it as missing would drop a refreshed credential and fall
        back to an older one without anyone noticing."""
        value = self.state.tokens.get(name)
        if isinstance(value, LockedSecret):
            raise PollError(CONFIG, value.reason)
        return value

    @property
    def account_id(self) -> str | None:
        return self.source.account.account_id if self.source.account else None

    @property
    def platform(self) -> str | None:
        return self.source.account.platform if self.source.account else None


#: How long a source stops calling an optional endpoint its server answered with HTTP 404 (e.g. a Douyin
#: reply list or a Bilibili thread list behind a proxy or a vendor's mirror that does not serve it)
MISSING_ENDPOINT_PAUSE = 6 * 3600.0


def endpoint_missing(ctx: PollContext, name: str) -> bool:
    """Whether this source's server answered `name` with 404 less than MISSING_ENDPOINT_PAUSE ago."""
    until = (ctx.state.extra.get("missing_endpoints") or {}).get(name)
    return until is not None and ctx.now().timestamp() < float(until)


def mark_endpoint_missing(ctx: PollContext, name: str, detail: str) -> None:
    """Stop calling the optional endpoint `name` for MISSING_ENDPOINT_PAUSE (logged once per pause)."""
    missing = ctx.state.extra.setdefault("missing_endpoints", {})
    missing[name] = ctx.now().timestamp() + MISSING_ENDPOINT_PAUSE
    log.warning(
        "source=%s: the server answered %s with %s; not asking it for %.0f h (the comments themselves are "
        "still polled)", ctx.source.id, name, detail, MISSING_ENDPOINT_PAUSE / 3600,
    )


#: SourceState.extra: name -> a Chinese-first note on something the source cannot read now although its
#: polls work (e.g. a failing optional endpoint); the health is `warning` and `sources` shows the notes
NOTES_KEY = "notes"
#: the longest an optional endpoint that keeps failing is left alone (its pause grows 1, 2, 4 ... polls)
FAILING_ENDPOINT_MAX_PAUSE = 3600.0


def source_notes(state: SourceState) -> list[str]:
    """The notes of `state` (see NOTES_KEY), oldest first."""
    notes = state.extra.get(NOTES_KEY)
    return [str(text) for text in notes.values()] if isinstance(notes, dict) else []


def endpoint_paused(ctx: PollContext, name: str) -> bool:
    """Whether the optional endpoint `name` failed in this poll or in a recent one and is left alone
    until its pause (a number of polls, see mark_endpoint_failed) is over."""
    entry = (ctx.state.extra.get("failing_endpoints") or {}).get(name)
    return isinstance(entry, dict) and ctx.state.polls <= int(entry.get("skip_through_poll") or 0)


def mark_endpoint_failed(
    ctx: PollContext, name: str, detail: str, *, what: tuple[str, str], unread: tuple[str, str]
) -> None:
    """The optional endpoint `name` failed (5xx, timeout, another 4xx): not asked again in this poll, nor
    in the next 1, 2, 4 ... polls (doubling with each poll that fails, at most FAILING_ENDPOINT_MAX_PAUSE
    of polls), and a note (`what` failed, `unread` is not read yet; each (zh, en)) shows it in `sources`
    until mark_endpoint_ok. Kept in the persisted state, so a restart keeps the pause."""
    failing = ctx.state.extra.setdefault("failing_endpoints", {})
    entry = failing.get(name) if isinstance(failing.get(name), dict) else {}
    failures = int(entry.get("failures") or 0) + 1
    interval = max(1.0, float(getattr(ctx.source, "interval", 300.0) or 300.0))
    cap = max(1, int(-(-FAILING_ENDPOINT_MAX_PAUSE // interval)))
    skip = min(cap, 2 ** min(failures - 1, 20))
    failing[name] = {"failures": failures, "skip_through_poll": ctx.state.polls + skip, "error": detail}
    ctx.state.extra.setdefault(NOTES_KEY, {})[name] = (
        f"{what[0]}请求失败（{detail}），{unread[0]}，跳过 {skip} 次轮询后重试（已连续失败 {failures} 次）/ "
        f"{what[1]} failed ({detail}): {unread[1]}, retried after {skip} skipped poll(s) "
        f"({failures} failure(s) in a row)"
    )
    log.warning(
        "source=%s: %s failed (%s); not asking it for the rest of this poll and the next %d poll(s) (the "
        "comments themselves are still polled)", ctx.source.id, name, detail, skip,
    )


def optional_endpoint_failed(ctx: PollContext, name: str, error: PollError, *, stops: tuple[str, ...],
                             what: tuple[str, str], unread: tuple[str, str]) -> None:
    """A request to the optional endpoint `name` (a thread's replies) failed: raise what stops the whole poll
    (`stops`: rate limits, risk control, credentials); else pause the endpoint (404: missing for hours;
    otherwise mark_endpoint_failed) and return, so the page's comments are still stored."""
    if error.kind in stops:
        raise error
    if error.code == 404:
        mark_endpoint_missing(ctx, name, error.detail)
    else:
        mark_endpoint_failed(ctx, name, error.detail, what=what, unread=unread)


def mark_endpoint_ok(ctx: PollContext, name: str) -> None:
    """The optional endpoint `name` answered: its pause and its note end."""
    failing = ctx.state.extra.get("failing_endpoints")
    if isinstance(failing, dict) and failing.pop(name, None) is not None:
        log.info("source=%s: %s answers again", ctx.source.id, name)
        if not failing:
            ctx.state.extra.pop("failing_endpoints", None)
    notes = ctx.state.extra.get(NOTES_KEY)
    if isinstance(notes, dict):
        notes.pop(name, None)
        if not notes:
            ctx.state.extra.pop(NOTES_KEY, None)


def token_env_vars(source: Any, roles: Any = None) -> list[str]:
    """The env var names (never the values) a human renews after re-authorising: those the source's
    `credentials:` maps token-like roles to (access_token, refresh_token), else those of every role.
    `roles` limits the choice to the roles a request used; None means all of the source's roles."""
    mapping = source.credentials
    chosen = [role for role in (mapping if roles is None else roles) if role in mapping]
    tokens = [role for role in chosen if "token" in role.lower()]
    return list(dict.fromkeys(mapping[role] for role in (tokens or chosen)))


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
