"""The alert service: counts comments into buckets, closes buckets through the detector, runs episodes.

Rules live here; the detector (pure) decides, render (pure) words the messages, the outbox delivers.
Every side effect is keyed: an episode's key is its stream plus the bucket it became detectable in, and
every outbox message key derives from it, so a retry, a restart or a second replica never posts twice.
A stream's detector state is saved with an optimistic check on the last closed bucket: when two workers
race, one wins and the other's transaction (episode and messages included) is rolled back.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import weakref
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import and_, bindparam, case, delete, false, func, or_, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.alerts import render
from bot.alerts.detector import Decision, DetectorSettings, SpikeDetector, severity_rank
from bot.alerts.models import ACCOUNT_SCOPE, AlertBucket, AlertEpisode, AlertStream, AlertWatch, RiskNotice
from bot.clock import ensure_aware
from bot.outbox import REWRITTEN
from bot.storage.bulk import pg_insert_rows
from bot.storage.handoffs import Handoff
from bot.storage.models import Comment, shows_as_negative

if TYPE_CHECKING:  # pragma: no cover
    from bot.alerts.settings import AlertsConfig
    from bot.storage.db import Database

log = logging.getLogger(__name__)

#: buckets that close longer ago than this are judged silently (history backfill warms the baseline)
STALE_AFTER = timedelta(minutes=30)
#: a content stream with no comments for this long is left dormant until a comment arrives: its row is
#: flagged and the tick stops visiting it (every video ever seen keeps a row; see _wake_and_carry_late)
DORMANT_AFTER = timedelta(days=2)
#: the prior curve for new content: hourly ages 0..47
PRIOR_HOURS = 48
CURVE_SUFFIX = "|curve"
MUTE_FOR = timedelta(hours=1)
#: an episode still going on and nobody muted it: its first post may call everyone (@here / @所有人)
LIVE_STATUSES = ("open", "acknowledged")
#: at most this much past is judged when a stream starts or resumes (enough for the weekly profile)
CATCH_UP = timedelta(days=8)
#: catching up on history (buckets judged silently, see STALE_AFTER), a stream with no episode and no
#: cooldown observes this many empty buckets of a run, then jumps to the next bucket with comments (the
#: detector sees a gap, as for a dormant video); a stream never judged starts at its first counted bucket.
#: Live buckets are always observed one by one. Costs ~25 ms less per idle day per stream on an import.
IDLE_OBSERVED = 12
#: a stream catching up on history waits while comments of its history keep arriving (an import in
#: progress), until none has come for this long
IMPORT_SETTLE = timedelta(seconds=30)
#: held (quiet-hours) alerts and escalations are checked at most this often
HOUSEKEEPING_EVERY = timedelta(seconds=20)
#: how often `serve` deletes the alert_bucket rows older than `alerts.bucket_retention_days`
PRUNE_EVERY = timedelta(hours=6)
#: bucket rows deleted per transaction: a first prune over months of rows (millions with 10,000 live
#: streams) must not hold SQLite's write lock, or a PostgreSQL transaction, while ingest waits
PRUNE_CHUNK_ROWS = 5_000
#: PostgreSQL advisory lock held by the pruning process (per chunk, with the schema's hash as its second
#: half): a second `serve` on the same tables finding it taken leaves the pruning to the first instead of
#: deleting the same rows beside it
PRUNE_LOCK_KEY = 0x616C6274  # "albt"


@dataclass(slots=True)
class _Stream:
    """The columns of a stream row that evaluation needs: a plain object, no ORM bookkeeping per stream."""

    id: int
    stream_key: str
    platform: str
    account_id: str
    content_id: str
    first_bucket: datetime
    last_closed: datetime | None
    content_title: str | None
    content_url: str | None
    updated_at: datetime
    next_bucket: datetime | None = None
    detector: SpikeDetector | None = None
    asleep_after: datetime | None = None  # gone dormant: the last bucket closed as it fell asleep


class StreamConflict(Exception):
    """Another worker closed the same buckets first; this attempt is rolled back."""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one evaluation pass.

    A pass over 10,000 streams keeps tens of thousands of short-lived containers (rows, decisions,
    parameter rows) alive until its single save, enough to trigger full collections that walk the whole
    heap (about 0.4 s of a 1.3 s tick measured). They are freed by reference counting when the pass ends;
    nothing here builds reference cycles, so collecting after the pass loses nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _execute_many(connection, statement, rows: list[dict[str, Any]], *, json_params: tuple[str, ...] = ()) -> int:
    """An executemany straight to the driver: the hot save of a tick (thousands of rows).

    SQLAlchemy's own executemany builds and converts a parameter dict per row; here each parameter's
    bind processor (the same conversion) runs once per distinct value for the repeated ones (the bucket
    times) and the JSON ones are serialised by orjson (the same JSON text as the column type's
    `json.dumps`, ~10x faster: with 10,000 detector states of ~5 KB, encoding was a quarter of the tick).
    Returns the rows affected.
    """
    if not rows:
        return 0
    dialect = connection.dialect
    compiled, names, processors = _compiled_for(statement, dialect, rows[0], json_params)
    columns = []
    for name, process, memoize in processors:
        memo: dict[Any, Any] | None = {} if memoize else None
        values = [row[name] for row in rows]
        if process is not None and memo is None:
            values = [None if v is None else process(v) for v in values]
        elif process is not None:
            converted = []
            for v in values:
                key = v
                if key not in memo:
                    memo[key] = process(v)
                converted.append(memo[key])
            values = converted
        columns.append(values)
    if compiled.positional:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    result = connection.exec_driver_sql(compiled.string, params)
    return result.rowcount


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


#: `_execute_many`'s compiled statements, per dialect object and statement: compiling cost more CPU than
#: the save it runs (once per evaluation pass, ~1,000 passes in the demo replay). Only the fixed module-level
#: statements below go through it (their SQL and bind processors depend on the dialect alone, never on data),
#: so the cache holds a handful of entries per engine and goes with the dialect (weak keys).
_COMPILED: weakref.WeakKeyDictionary[Any, dict[tuple[Any, tuple[str, ...]], tuple[Any, list[str], list]]] = \
    weakref.WeakKeyDictionary()


def _compiled_for(statement, dialect, first_row: dict[str, Any], json_params: tuple[str, ...]):
    """(compiled, parameter names in order, [(name, converter, memoize)]) of `statement` on `dialect`."""
    per_dialect = _COMPILED.setdefault(dialect, {})
    key = (statement, json_params)
    entry = per_dialect.get(key)
    if entry is None:
        compiled = statement.compile(dialect=dialect)
        names = list(compiled.positiontup) if compiled.positional else list(first_row)
        processors = []
        for name in names:
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if name in json_params:
                processors.append((name, _json_text, False))
            else:
                processors.append((name, process, process is not None))
        entry = per_dialect[key] = (compiled, names, processors)
    return entry


_STREAMS = AlertStream.__table__
# Fixed statements of the evaluation pass, built once (bind parameters for the values): building them from
# column expressions on every pass cost more CPU than running them on SQLite.
#: due: the bucket after last_closed has ended (or, never judged, the first bucket has)
_IS_DUE = and_(_STREAMS.c.dormant == false(), ~_STREAMS.c.stream_key.endswith(CURVE_SUFFIX),
               or_(_STREAMS.c.last_closed <= bindparam("closed_by"),
                   and_(_STREAMS.c.last_closed.is_(None), _STREAMS.c.first_bucket <= bindparam("first_by"))))
#: due and not history (``evaluate(live_only=True)``)
_IS_LIVE = and_(_IS_DUE, or_(_STREAMS.c.last_closed >= bindparam("live_closed_from"),
                             and_(_STREAMS.c.last_closed.is_(None), _STREAMS.c.first_bucket >= bindparam("live_from"))))
#: {live_only: the due streams' columns (see _Stream)}
_DUE_STREAMS = {live: select(_STREAMS.c.id, _STREAMS.c.stream_key, _STREAMS.c.platform, _STREAMS.c.account_id,
                             _STREAMS.c.content_id, _STREAMS.c.first_bucket, _STREAMS.c.last_closed,
                             _STREAMS.c.content_title, _STREAMS.c.content_url, _STREAMS.c.updated_at)
                      .where(where).order_by(_STREAMS.c.id)
                for live, where in ((False, _IS_DUE), (True, _IS_LIVE))}
#: {live_only: the due streams' stored detector states}
_DUE_STATES = {live: select(_STREAMS.c.id, _STREAMS.c.state).where(where)
               for live, where in ((False, _IS_DUE), (True, _IS_LIVE))}
_BUCKETS = AlertBucket.__table__
#: the counts of the buckets in [since, until) (`_bucket_rows`), of every stream or of one account's
_BUCKET_COUNTS = select(_BUCKETS.c.platform, _BUCKETS.c.account_id, _BUCKETS.c.content_id, _BUCKETS.c.bucket_start,
                        _BUCKETS.c.total, _BUCKETS.c.negative)
_BUCKETS_IN_RANGE = _BUCKET_COUNTS.where(_BUCKETS.c.bucket_start >= bindparam("since"),
                                         _BUCKETS.c.bucket_start < bindparam("until"))
_ACCOUNT_BUCKETS_IN_RANGE = _BUCKET_COUNTS.where(
    _BUCKETS.c.platform == bindparam("platform"), _BUCKETS.c.account_id == bindparam("account_id"),
    _BUCKETS.c.bucket_start >= bindparam("since"), _BUCKETS.c.bucket_start < bindparam("until"))
#: the planned surges added with /watch (`_all_surges`), read once per pass
_ACTIVE_SURGES = select(AlertWatch.account, AlertWatch.starts_at, AlertWatch.ends_at, AlertWatch.factor).where(
    AlertWatch.kind == "surge", AlertWatch.removed_at.is_(None))
#: the watched terms added with /watch (`_term_watches`), read once per ingest batch
_TERM_WATCHES = select(AlertWatch).where(AlertWatch.kind == "term", AlertWatch.removed_at.is_(None))
#: a stream row as an ORM object, by its key (an account's prior curve, `_curve`)
_STREAM_BY_KEY = select(AlertStream).where(AlertStream.stream_key == bindparam("key"))
# The housekeeping reads of every tick (`_end_mutes`, `_release_held`, `_escalate`), built once
_MUTES_ENDED = select(AlertEpisode).where(
    AlertEpisode.status == "muted", AlertEpisode.muted_until <= bindparam("now"),
    AlertEpisode.recovered_at.is_(None)).order_by(AlertEpisode.id)
_RECENT_EPISODES = select(AlertEpisode).where(
    AlertEpisode.status.in_(("open", "acknowledged", "resolved")), AlertEpisode.detected_at >= bindparam("since"))
_UNACKNOWLEDGED = select(AlertEpisode).where(
    AlertEpisode.status == "open", AlertEpisode.recovered_at.is_(None),
    AlertEpisode.severity.in_(bindparam("severities", expanding=True)),
    AlertEpisode.escalations < bindparam("max_notifications"),
    AlertEpisode.last_notified_at <= bindparam("notified_by"))
#: `_save_quiet`: IS NOT DISTINCT FROM, so a new stream (never closed) is saved in the same batch
_SAVE_QUIET = (update(_STREAMS)
               .where(_STREAMS.c.id == bindparam("sid"), _STREAMS.c.last_closed.is_not_distinct_from(bindparam("previous")))
               .values(state=bindparam("new_state"), last_closed=bindparam("new_closed")))
#: `_put_to_sleep`
_PUT_TO_SLEEP = (update(_STREAMS)
                 .where(_STREAMS.c.id == bindparam("sid"),
                        _STREAMS.c.last_closed.is_not_distinct_from(bindparam("previous")),
                        _STREAMS.c.updated_at == bindparam("seen_active"))
                 .values(last_closed=bindparam("asleep_after"), dormant=true()))


def floor_bucket(ts: datetime, bucket: timedelta) -> datetime:
    ts = ensure_aware(ts)
    seconds = bucket.total_seconds()
    epoch = ts.timestamp()
    return datetime.fromtimestamp(epoch - (epoch % seconds), UTC)


@dataclass(frozen=True, slots=True)
class BucketPrune:
    """What one pruning of old bucket counts did."""

    deleted: int
    #: rows from before this bucket start were the ones to go
    cutoff: datetime
    #: PostgreSQL: another process held the pruning lock, so this one stopped and left the rest to it
    left_to_another_process: bool = False


def prune_old_buckets(db: Database, cfg: AlertsConfig, now: datetime, *, chunk_rows: int = PRUNE_CHUNK_ROWS) -> BucketPrune:
    """Delete the bucket counts (`alert_bucket` rows) older than `cfg.bucket_retention_days` (`cfg`: the
    `alerts` config).

    Nothing reads them any more (see `bucket_reach`; the settings refuse a retention shorter than
    that), while every live stream adds a row per closed bucket. Stream rows stay, dormant ones too:
    a woken stream resumes at the first open bucket and never reads the buckets it slept through.
    The comments stay (reports and backtests read them). `chunk_rows` rows per transaction, oldest
    first; run twice, the second run finds nothing. On PostgreSQL one process prunes at a time.
    """
    cutoff = floor_bucket(now - timedelta(days=cfg.bucket_retention_days), timedelta(minutes=cfg.bucket_minutes))
    table = AlertBucket.__table__
    oldest = (select(table.c.id).where(table.c.bucket_start < cutoff)
              .order_by(table.c.bucket_start).limit(chunk_rows))
    deleted, busy = 0, False
    while True:
        with db.session() as session:
            connection = session.connection()
            if connection.dialect.name == "postgresql" and not connection.execute(
                    select(func.pg_try_advisory_xact_lock(PRUNE_LOCK_KEY,
                                                          func.hashtext(func.current_schema())))).scalar():
                log.info("alert buckets: another process is pruning them")
                busy = True
                break
            gone = connection.execute(delete(table).where(table.c.id.in_(oldest))).rowcount or 0
        deleted += gone
        if gone < chunk_rows:
            break
    if deleted:
        log.info("alert buckets: deleted %d rows from before %s", deleted, cutoff.isoformat())
    return BucketPrune(deleted, cutoff, left_to_another_process=busy)


def stream_key(platform: str, account_id: str, content_id: str) -> str:
    return f"{platform}:{account_id}|{content_id or '*'}"


def bucket_reach(bucket: timedelta, grace: timedelta, settings: DetectorSettings) -> timedelta:
    """How far back from now the service reads alert_bucket rows (the pruning keeps more than this).

    Judging reads a stream's buckets from its next bucket on, never before the catch-up horizon (CATCH_UP
    before the last due bucket: a stream that starts, resumes after an outage or wakes is judged from
    there at most; see `evaluate`), and an alert's explanation sums the detector's triggering window
    ending at the judged bucket (`_window_share`): the longest window, or the no-baseline window. The
    detector's memory (level, daily and weekly profile, dispersion) is its saved state, not these rows,
    and reports and backtests read the comments.
    """
    longest = max(*settings.windows, settings.cold_start_window)
    return CATCH_UP + grace + bucket * (longest + 1)


class AlertService:
    def __init__(self, services) -> None:
        self.services = services
        self.db = services.db
        self.clock = services.clock
        self.outbox = services.outbox
        self.scope = services.scope
        self.app_config = services.config
        self.cfg = services.config.alerts
        self.bucket = timedelta(minutes=self.cfg.bucket_minutes)
        self.grace = timedelta(seconds=self.cfg.close_grace_seconds)
        self.detector_settings = replace(DetectorSettings.from_dict(self.cfg.detector),
                                         bucket_seconds=self.bucket.total_seconds())
        self._lock = threading.RLock()
        self._placeholder_sentiment: bool | None = None
        self._last_housekeeping: datetime | None = None
        # in-process cache of the detectors this process saved last: {stream id: (key, last_closed, detector)}.
        # Used only while the row still shows that last_closed (another worker that closed the bucket moved
        # it on), so the state column is read and decoded only after a restart or another worker's close.
        self._detectors: dict[int, tuple[str, datetime, SpikeDetector]] = {}

    # ------------------------------------------------------------------ helpers
    def _channel_config(self, channel: str):
        for ch in self.app_config.channels:
            if ch.id == channel:
                return ch
        return None

    def _channel_zone(self, channel: str) -> ZoneInfo:
        """The zone a channel's messages show times in: its own (`channels[].timezone`), as its reports,
        playbooks and quiet hours do, else the configured one."""
        return self.app_config.channel_zone(channel)

    def _detector_zone(self, platform: str, account_id: str) -> ZoneInfo:
        """The zone whose time of day an account's streams are profiled in (daylight saving changes then do
        not move the daily rhythm): the zone of the channels its alerts go to (`channels[].timezone`, else the
        configured `timezone`) when they agree, else the configured `timezone`."""
        zones = {self.app_config.channel_timezone(ch) for ch in self.scope.channels_for_account(platform, account_id)}
        return ZoneInfo(zones.pop()) if len(zones) == 1 else self.app_config.zone()

    def _lang(self, channel: str) -> str:
        return self.app_config.channel_language(channel)

    def _account_name(self, platform: str, account_id: str) -> str:
        account = self.app_config.account(platform, account_id)
        return account.name if account and account.name else account_id

    def _playbook_titles(self, playbook_id: str | None) -> tuple[str, str] | None:
        """(Chinese name, English title) of the suggested playbook as its file defines them, for the alert
        to name it as people know it; None when the playbooks feature is off or has no such playbook."""
        loaded = getattr(self.services.extra.get("playbooks"), "playbooks", None)  # the PlaybookService's set
        playbook = loaded.find(playbook_id) if playbook_id and loaded is not None else None
        return (playbook.name, playbook.title_en) if playbook is not None else None

    def _uses_placeholder_sentiment(self) -> bool:
        """With no sentiment model, nothing is negative: judge all comments instead (and say so)."""
        if self._placeholder_sentiment is None:
            scorer = self.services.extra.get("scorer")
            try:
                name = getattr(scorer(), "name", "") if callable(scorer) else getattr(scorer, "name", "")
            except Exception:  # noqa: BLE001 - a broken scorer must not stop alerts
                name = ""
            self._placeholder_sentiment = name == "neutral-placeholder"
        return self._placeholder_sentiment

    # ------------------------------------------------------------------ ingest
    def on_comments(self, comments: list[Comment], handoff: Handoff | None = None) -> None:
        """Ingest listener: count new comments, post risk/liked notices, then close what is due.

        The counts are additive, so a batch applied twice would count twice: the `handoff` is claimed in
        the same transaction as the counts, and a batch whose hand-off is already gone is not counted.
        """
        if not self.cfg.enabled:
            return
        new = [c for c in comments if c.updated_at is None and not c.is_from_account]
        counts: dict[tuple[str, str, str, datetime], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0, 0])
        meta: dict[tuple[str, str, str], tuple[str | None, str | None]] = {}
        now = self.clock.now()
        current = floor_bucket(now, self.bucket)
        for c in new:
            # a comment dated ahead of the clock (accepted up to 7 days: a feed writing Beijing time with a UTC
            # offset is 8 hours ahead) counts in the bucket it arrives in: in its own future bucket a pile-on
            # arriving now was judged hours later, and alerted then as if it were happening then
            start = min(floor_bucket(c.created_at, self.bucket), current)
            negative = c.sentiment_label == "neg"
            scopes = [ACCOUNT_SCOPE] + ([c.content_id] if self.cfg.per_content and c.content_id else [])
            for content in scopes:
                row = counts[(c.platform, c.account_id, content, start)]
                row[0] += 1
                row[1] += 1 if negative else 0
                row[2] += (1 + max(c.like_count or 0, 0)) if negative else 0
                row[3] += max(c.like_count or 0, 0)
                row[4] += 1 if c.risk_flags else 0
                if content:
                    meta[(c.platform, c.account_id, content)] = (c.content_title, c.content_url)
        with self._lock:
            with self.db.session() as session:
                if handoff is not None and not handoff.claim(session):
                    log.info("ingest batch %s was already counted; not counting it again", handoff)
                    return
                if counts:
                    self._add_counts(session, counts, meta, now)
                self._notices(session, comments, now)
            # Only streams that are in step: a file import arrives in batches (1,000 rows each), and closing
            # a stream's history up to now after its first batch would judge the rest of that history as
            # empty buckets and leave the later batches' comments out of the detector (a spike at the end
            # of the file never alerted). Streams catching up are closed by the tick, in order.
            self.evaluate(now, live_only=True)

    def _add_counts(self, session: Session, counts, meta, now: datetime) -> None:
        counts = self._wake_and_carry_late(session, counts, now)
        first_bucket: dict[tuple[str, str, str], datetime] = {}
        rows = []
        for (platform, account_id, content, start), (total, neg, negw, likes, risk) in counts.items():
            key = (platform, account_id, content)
            first_bucket[key] = min(first_bucket.get(key, start), start)
            rows.append({"platform": platform, "account_id": account_id, "content_id": content,
                         "bucket_start": start, "total": int(total), "negative": int(neg),
                         "negative_weight": float(negw), "likes": int(likes), "risk_hits": int(risk)})
        # One upsert for the whole batch: concurrent writers add to the same row instead of racing; the
        # rows go in key order so two writers lock them in the same order (no deadlock).
        rows.sort(key=lambda r: (r["platform"], r["account_id"], r["content_id"], r["bucket_start"]))
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        # PostgreSQL: the whole batch as one json parameter, in the same key order (bot/storage/bulk.py);
        # SQLite: the fixed statement, the rows as executemany parameters
        statement = _add_to_buckets(pg_insert_rows(AlertBucket.__table__, rows)) if insert is postgresql.insert \
            else _SQLITE_ADD_TO_BUCKETS
        _execute_rows(session, statement, rows, insert)
        self._touch_streams(session, insert, first_bucket, meta, now)

    def _wake_and_carry_late(self, session: Session, counts, now: datetime):
        """Wake the dormant streams this batch has comments for, and count late comments (their bucket was
        already judged) in the stream's next bucket instead. One read of the batch's stream rows serves both.

        Asleep, a stream's buckets are not judged: they are empty, and a quiet old video's detector has
        nothing to learn from them. It resumes at the first bucket still open, as if the tick had skipped
        it ahead on every pass while it slept, so comments dated in a bucket that closed while it slept
        count in the next open bucket like any late comment.

        The judged bucket is not re-judged: its decision was acted on (or not) and the detector has moved
        on; rewinding it would need the state before that bucket. Counting the late comments in the next
        bucket keeps them in the evaluation, from the past only. Comments whose bucket closed longer ago
        than STALE_AFTER are history (an import): they stay in their own bucket and page nobody.
        """
        recent = now - STALE_AFTER - self.bucket
        candidates = {(p, a, c) for (p, a, c, start) in counts if recent <= start <= now - self.bucket}
        videos = {(p, a, c) for (p, a, c, _start) in counts if c}  # only a content stream sleeps
        keys = {stream_key(*k): k for k in candidates | videos}
        if not keys:
            return counts
        table = AlertStream.__table__
        connection = session.connection()
        resume_after = floor_bucket(now - self.grace, self.bucket) - self.bucket
        closed: dict[tuple[str, str, str], datetime] = {}
        woken: list[int] = []
        names = sorted(keys)
        for at in range(0, len(names), 500):
            for stream_id, key, last_closed, dormant in connection.execute(
                    select(table.c.id, table.c.stream_key, table.c.last_closed, table.c.dormant)
                    .where(table.c.stream_key.in_(names[at:at + 500]))):
                scope = keys[key]
                last_closed = ensure_aware(last_closed) if last_closed is not None else None
                if dormant and scope in videos:
                    woken.append(stream_id)
                    if last_closed is not None and last_closed < resume_after:
                        last_closed = resume_after  # as the UPDATE below writes it
                if last_closed is not None and scope in candidates:
                    closed[scope] = last_closed
        woken.sort()
        for at in range(0, len(woken), 500):
            # By id alone: with `dormant` in the condition SQLite searched the dormant-flag index, every
            # dormant row (50,000 old videos) per batch. A row another process woke meanwhile is written the
            # same (awake, and a later last_closed is kept).
            connection.execute(
                update(table)
                .where(table.c.id.in_(woken[at:at + 500]))
                .values(dormant=false(),
                        last_closed=case((table.c.last_closed < resume_after, resume_after),
                                         else_=table.c.last_closed)))
        if not closed:
            return counts
        carried: dict[tuple[str, str, str, datetime], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0, 0])
        for (platform, account_id, content, start), values in counts.items():
            last_closed = closed.get((platform, account_id, content))
            if last_closed is not None and recent <= start <= last_closed:
                start = last_closed + self.bucket
            row = carried[(platform, account_id, content, start)]
            for i, v in enumerate(values):
                row[i] += v
        return carried

    @staticmethod
    def _touch_streams(session: Session, insert, first_bucket, meta, now: datetime) -> None:
        """Create or wake every stream of the batch in one upsert (was a SELECT and an UPDATE per stream).

        A new stream starts at its first bucket; a known one that was never judged moves its start back when
        older comments arrive, keeps a title once it has one, and always records the activity time.
        """
        if not first_bucket:
            return
        rows = []
        for (platform, account_id, content), start in first_bucket.items():
            title, url = meta.get((platform, account_id, content), (None, None))
            rows.append({"stream_key": stream_key(platform, account_id, content), "platform": platform,
                         "account_id": account_id, "content_id": content, "first_bucket": start,
                         "content_title": title, "content_url": url, "updated_at": now})
        # sorted by key: concurrent writers lock the rows in the same order (no deadlock)
        rows.sort(key=lambda r: r["stream_key"])
        statement = _touch(pg_insert_rows(AlertStream.__table__, rows)) if insert is postgresql.insert \
            else _SQLITE_TOUCH
        _execute_rows(session, statement, rows, insert)

    # ------------------------------------------------------------------ evaluation
    def tick(self) -> None:
        """Scheduler tick: close due buckets, release held alerts, escalate unacknowledged ones."""
        if not self.cfg.enabled:
            return
        now = self.clock.now()
        with self._lock:
            self.evaluate(now)
            if self._last_housekeeping is None or now - self._last_housekeeping >= HOUSEKEEPING_EVERY \
                    or now < self._last_housekeeping:
                self._last_housekeeping = now
                self._end_mutes(now)
                self._release_held(now)
                self._escalate(now)

    def evaluate(self, now: datetime | None = None, *, live_only: bool = False) -> int:
        """Close every bucket that is due on every stream; returns how many buckets were judged.

        ``live_only`` leaves out the streams whose next bucket is history (closed over STALE_AFTER ago).

        One transaction for the pass, a savepoint per stream with an episode: a stream another worker
        closed first is rolled back alone (its episode and messages with it) while the others commit.
        Only the streams with a bucket to close are read (the database filters on ``last_closed``), as
        plain rows: a tick over 10,000 streams builds no ORM object per stream.
        """
        now = now or self.clock.now()
        due_end = now - self.grace
        horizon = floor_bucket(due_end - CATCH_UP, self.bucket)
        judged = 0
        # the values of the prebuilt due filter (_IS_DUE, _IS_LIVE)
        due_params = {"closed_by": due_end - 2 * self.bucket, "first_by": due_end - self.bucket}
        if live_only:
            live_from = now - STALE_AFTER - self.bucket  # the first bucket start that is not history
            due_params.update(live_closed_from=live_from - self.bucket, live_from=live_from)
        with _gc_paused(), self.db.session() as session:
            conn = session.connection()
            due = [_Stream(*r) for r in conn.execute(_DUE_STREAMS[live_only], due_params)]
            if not due:
                return 0
            self._load_detectors(conn, due, _DUE_STATES[live_only], due_params)
            for st in due:
                # old history (an import, a long outage) is judged from a bounded horizon only
                st.next_bucket = max(st.last_closed + self.bucket if st.last_closed else st.first_bucket, horizon)
            rows = self._bucket_rows(conn, due, due_end)
            surges = self._all_surges(session)
            curves: dict[tuple[str, str], AlertStream] = {}
            quiet: list[tuple[_Stream, SpikeDetector, datetime]] = []
            saved: list[_Stream] = []  # streams whose new state this transaction writes
            asleep: list[_Stream] = []  # streams gone dormant in this pass
            no_rows: dict[datetime, Any] = {}
            for st in due:
                if st.detector is None:
                    continue
                judged_run = self._judge(session, st, st.next_bucket, now, due_end,
                                         rows.get((st.platform, st.account_id, st.content_id), no_rows),
                                         surges.get((st.platform, st.account_id), ()), curves)
                if judged_run is None:
                    if st.asleep_after is not None:
                        asleep.append(st)
                    continue
                detector, steps, last_closed, _after = judged_run
                judged += len(steps)
                if not any(d.new_alert or d.in_episode or d.recovered for d, _, _ in steps):
                    # nothing happened: no episode, no message; saved in one batch below
                    quiet.append((st, detector, last_closed))
                    continue
                try:
                    with session.begin_nested():
                        all_comments = self._uses_placeholder_sentiment()
                        for decision, row, bucket_start in steps:
                            stale = bucket_start + self.bucket < now - STALE_AFTER
                            self._on_decision(session, st, decision, row, bucket_start, now, stale, all_comments)
                        self._save_stream(session, st, detector, st.last_closed, last_closed, now)
                    saved.append(st)
                except StreamConflict:
                    log.info("stream %s closed by another worker", st.stream_key)
            if self._save_quiet(session, quiet):
                saved.extend(st for st, _, _ in quiet)
            self._put_to_sleep(session, asleep)
            for curve in curves.values():
                session.add(curve)
        # committed: keep these detectors for the next bucket (a rolled-back pass never gets here, and the
        # detectors it changed were taken out of the cache above)
        for st in saved:
            self._detectors[st.id] = (st.stream_key, st.last_closed, st.detector)
        return judged

    def _load_detectors(self, conn, due: list[_Stream], due_states, due_params: dict[str, Any]) -> None:
        """Each due stream's detector: the cached one when the row still shows the bucket this process
        saved it at, else decoded from the stored state. Cache entries are taken out while in use."""
        cache = self._detectors
        missing: dict[int, _Stream] = {}
        for st in due:
            entry = cache.pop(st.id, None)
            if entry is not None and entry[0] == st.stream_key and entry[1] == st.last_closed:
                st.detector = entry[2]
            else:
                missing[st.id] = st
        if missing:
            self._decode_detectors(conn, due, due_states, due_params, missing)
        zones: dict[tuple[str, str], ZoneInfo] = {}
        for st in due:  # the zone is not stored: it follows the configuration (and the scope) in force
            if st.detector is not None:
                account = (st.platform, st.account_id)
                if account not in zones:
                    zones[account] = self._detector_zone(*account)
                st.detector.zone = zones[account]

    def _decode_detectors(self, conn, due: list[_Stream], due_states, due_params: dict[str, Any],
                          missing: dict[int, _Stream]) -> None:
        """The detectors of the streams in ``missing`` from their stored state (``due_states``: the states
        of the due streams, with ``due_params``)."""
        c = AlertStream.__table__.c
        if len(missing) > len(due) // 2:
            states = conn.execute(due_states, due_params)
        else:
            ids = sorted(missing)
            states = (r for at in range(0, len(ids), 500)
                      for r in conn.execute(select(c.id, c.state).where(c.id.in_(ids[at:at + 500]))))
        for stream_id, state in states:
            if stream_id in missing:
                st = missing.pop(stream_id)
                try:
                    st.detector = SpikeDetector.from_state(state, self.detector_settings)
                except Exception:  # noqa: BLE001 - one unreadable row must not stop every stream's alerts
                    # (a state a newer version wrote before a rollback, a row edited by hand): raising here
                    # failed the whole tick, every tick. This stream starts afresh and warms up again.
                    log.exception("alert stream %s: unreadable detector state, starting it afresh", st.stream_key)
                    st.detector = SpikeDetector(settings=self.detector_settings)
        for st in missing.values():  # a row that changed in between: judged from its stored state next time
            st.detector = None

    def _bucket_rows(self, conn, due: list[_Stream], due_end: datetime):
        """The counts of the due buckets: {(platform, account, content): {bucket_start: row}}.

        Streams in step (the usual tick: one bucket each) share one query over the time range, with no
        per-account filter that would grow the SQL with the number of accounts. Streams catching up on
        older buckets (an import, a restart after an outage) are read per account, so one new stream does
        not drag every stream's history along.
        """
        recent = due_end - 4 * self.bucket
        out: dict[tuple[str, str, str], dict[datetime, Any]] = defaultdict(dict)
        in_step = [st.next_bucket for st in due if st.next_bucket >= recent]
        queries = []
        if in_step:
            queries.append((_BUCKETS_IN_RANGE, {"since": min(in_step), "until": due_end}))
        behind: dict[tuple[str, str], datetime] = {}
        for st in due:
            if st.next_bucket < recent:
                key = (st.platform, st.account_id)
                behind[key] = min(behind.get(key, st.next_bucket), st.next_bucket)
        for (platform, account_id), since in sorted(behind.items()):
            queries.append((_ACCOUNT_BUCKETS_IN_RANGE, {"platform": platform, "account_id": account_id,
                                                        "since": since, "until": due_end}))
        for query, params in queries:
            for b in conn.execute(query, params):
                out[(b.platform, b.account_id, b.content_id)][ensure_aware(b.bucket_start)] = b  # a light Row
        return out

    def _judge(self, session: Session, stream: _Stream, next_bucket: datetime, now: datetime,
               due_end: datetime, rows: dict[datetime, Any], surges, curves):
        """Run the detector over the due buckets (no episode side effects yet)."""
        detector = stream.detector
        if stream.content_id and detector.episode is None and stream.updated_at < next_bucket - DORMANT_AFTER:
            # a quiet old video: skip ahead instead of judging thousands of empty buckets, and sleep until
            # its next comment (the detector's state does not change: nothing is observed)
            stream.asleep_after = floor_bucket(due_end, self.bucket) - self.bucket
            return None
        if next_bucket + self.bucket < now - STALE_AFTER and ensure_aware(stream.updated_at) > now - IMPORT_SETTLE \
                and not any(start + self.bucket >= now - STALE_AFTER for start in rows):
            # history is arriving right now (`crisisbot ingest` sends 1,000 rows a batch while serve ticks):
            # closing up to now would judge the batches still on their way as empty buckets. Wait until the
            # comments reach live buckets or stop coming.
            return None
        curve = None
        if stream.content_id:
            account = (stream.platform, stream.account_id)
            if account not in curves:
                curves[account] = self._curve(session, stream)
            curve = curves[account]
        all_comments = self._uses_placeholder_sentiment()
        steps = []
        keys: list[datetime] | None = None
        empty_run = 0
        # whether the detector's current episode was (or, in this pass, will be) posted; None: opened before
        # this pass, looked up when it matters (it recovers)
        announced: bool | None = None
        while next_bucket + self.bucket <= due_end:
            row = rows.get(next_bucket)
            if row is None and detector.episode is None and detector.cooldown_left <= 0 and (
                    curve is None or self._age_hour(stream, next_bucket) >= PRIOR_HOURS):
                empty_run += 1
                if detector.last_ts is None or empty_run > IDLE_OBSERVED:
                    # catching up on history: jump over the rest of a run of empty buckets (see IDLE_OBSERVED)
                    if keys is None:
                        keys = sorted(rows)
                    later = bisect_right(keys, next_bucket)
                    target = self._first_live_bucket(next_bucket, now)
                    if later < len(keys):
                        target = min(target, keys[later])
                    if target > next_bucket:
                        next_bucket = target
                        continue
            else:
                empty_run = 0
            total = row.total if row else 0
            value = total if all_comments else (row.negative if row else 0)
            factor = max([f for a, b, f in surges if a <= next_bucket < b] or [1.0]) if surges else 1.0
            if curve is not None:
                self._learn_finished_hour(curve, stream, detector, next_bucket)
            prior = self._prior(curve, stream, next_bucket) if curve is not None else None
            decision = detector.observe(next_bucket, float(value),
                                        total=None if all_comments else float(total),
                                        expected_factor=factor, prior_expected=prior)
            steps.append((decision, row, next_bucket))
            stale = next_bucket + self.bucket < now - STALE_AFTER
            if decision.new_alert:
                announced = not stale
            elif not stale and self._goes_on_now(decision):
                announced = True  # posted now by _on_decision, unless it already was
            if decision.recovered:
                if announced is None:
                    announced = self._open_episode(session, stream) is not None
                if not announced:
                    # An episode nobody was told about (opened and over in history: an import, a backlog)
                    # imposes no cooldown: the cooldown keeps a team from being paged again for the
                    # aftershocks of a story it knows, and this team knows nothing of it. It blinded the
                    # stream to a new live spike for 12 hours (only a sev1 got through).
                    detector.cooldown_left = 0
                announced = None
            next_bucket += self.bucket
        return detector, steps, next_bucket - self.bucket, next_bucket

    def _goes_on_now(self, d: Decision) -> bool:
        """An episode the detector opened on history (judged silently) that is still going on in this live
        bucket: alarming over its window *and* this bucket itself unusual (or its negative share). A window
        sum alone remembers an hour back: a pile-on over 35-70 minutes ago, all of it imported history, was
        posted "now" while no comment had come since."""
        calm_below = self.detector_settings.recovery_threshold
        return d.in_episode and d.score >= 0.5 and (d.bucket_surprise >= calm_below or d.share_surprise >= calm_below)

    def _first_live_bucket(self, start: datetime, now: datetime) -> datetime:
        """The first bucket from `start` on (same grid) that is not judged silently as history."""
        size = self.bucket.total_seconds()
        behind = (now - STALE_AFTER - self.bucket - start).total_seconds()
        return start + self.bucket * max(0, math.ceil(behind / size))

    def _save_quiet(self, session: Session, quiet) -> bool:
        """One executemany for the streams where nothing happened. A stream another worker closed first
        simply keeps that worker's state (nothing else was written for it). True when every row was
        written (the detectors may then be cached)."""
        if not quiet:
            return True
        connection = session.connection()
        rowcount = _execute_many(connection, _SAVE_QUIET, [
            {"sid": st.id, "previous": st.last_closed, "new_state": detector.to_state(), "new_closed": last_closed}
            for st, detector, last_closed in quiet], json_params=("new_state",))
        for st, _detector, last_closed in quiet:
            st.last_closed = last_closed
        return connection.dialect.supports_sane_multi_rowcount and rowcount == len(quiet)

    @staticmethod
    def _put_to_sleep(session: Session, asleep: list[_Stream]) -> None:
        """Flag the streams gone dormant in this pass (one executemany), closed up to now.

        A row whose last activity changed since this pass read it (a comment arrived in another process)
        or that another worker closed first is left as it is: it stays awake, and the next pass decides.
        Their detectors are not cached: a dormant stream may sleep for years.
        """
        if not asleep:
            return
        _execute_many(session.connection(), _PUT_TO_SLEEP, [
            {"sid": st.id, "previous": st.last_closed, "seen_active": st.updated_at, "asleep_after": st.asleep_after}
            for st in asleep])

    def _save_stream(self, session: Session, stream: _Stream, detector: SpikeDetector,
                     previous: datetime | None, last_closed: datetime, now: datetime) -> None:
        table = AlertStream.__table__
        condition = table.c.last_closed.is_(None) if previous is None else table.c.last_closed == previous
        state = detector.to_state()
        result = session.connection().execute(
            update(table).where(table.c.id == stream.id, condition).values(state=state, last_closed=last_closed))
        if result.rowcount != 1:
            raise StreamConflict(stream.stream_key)
        stream.last_closed = last_closed

    # ------------------------------------------------------------------ pruning old bucket counts
    def prune_buckets(self, now: datetime | None = None, *, chunk_rows: int = PRUNE_CHUNK_ROWS) -> int:
        """Delete the bucket counts older than `alerts.bucket_retention_days`; returns how many went
        (`prune_old_buckets`, which `crisisbot purge --expired` runs too)."""
        return prune_old_buckets(self.db, self.cfg, now or self.clock.now(), chunk_rows=chunk_rows).deleted

    # ------------------------------------------------------------------ planned surges and prior curve
    def _all_surges(self, session: Session) -> dict[tuple[str, str], list[tuple[datetime, datetime, float]]]:
        """Planned surges (config and /watch) of the accounts that have any, in one query."""
        out: dict[tuple[str, str], list[tuple[datetime, datetime, float]]] = defaultdict(list)
        for s in self.cfg.surges:
            platform, _, account_id = s.account.partition(":")
            out[(platform, account_id)].append((s.start, s.until, s.factor))
        for account, starts_at, ends_at, factor in session.execute(_ACTIVE_SURGES):
            platform, _, account_id = (account or "").partition(":")
            out[(platform, account_id)].append((ensure_aware(starts_at), ensure_aware(ends_at), float(factor or 1.0)))
        return dict(out)

    def _surges(self, session: Session, platform: str, account_id: str) -> list[tuple[datetime, datetime, float]]:
        key = f"{platform}:{account_id}"
        out = [(s.start, s.until, s.factor) for s in self.cfg.surges if s.account == key]
        for w in session.exec(select(AlertWatch).where(AlertWatch.kind == "surge", AlertWatch.account == key,
                                                       AlertWatch.removed_at.is_(None))):
            out.append((ensure_aware(w.starts_at), ensure_aware(w.ends_at), float(w.factor or 1.0)))
        return out

    def _curve(self, session: Session, stream: AlertStream) -> AlertStream:
        key = f"{stream.platform}:{stream.account_id}{CURVE_SUFFIX}"
        curve = session.exec(_STREAM_BY_KEY, params={"key": key}).first()
        if curve is None:
            curve = AlertStream(stream_key=key, platform=stream.platform, account_id=stream.account_id,
                                content_id="", first_bucket=stream.first_bucket, updated_at=self.clock.now(),
                                state={"mean": [0.0] * PRIOR_HOURS, "n": [0.0] * PRIOR_HOURS})
            try:
                with session.begin_nested():
                    session.add(curve)
            except IntegrityError:
                curve = session.exec(_STREAM_BY_KEY, params={"key": key}).one()
        return curve

    def _age_hour(self, stream: AlertStream, bucket_start: datetime) -> int:
        return int((bucket_start - ensure_aware(stream.first_bucket)).total_seconds() // 3600)

    def _prior(self, curve: AlertStream, stream: AlertStream, bucket_start: datetime) -> float | None:
        """The account's usual count per bucket for content of this age (None when never seen)."""
        age = self._age_hour(stream, bucket_start)
        if age >= PRIOR_HOURS:
            return None
        state = curve.state or {}
        if (state.get("n") or [0.0] * PRIOR_HOURS)[age] < 12:  # about one earlier video's hour
            return None
        return float(state["mean"][age])

    def _learn_finished_hour(self, curve: AlertStream, stream: AlertStream, detector: SpikeDetector,
                             bucket_start: datetime) -> None:
        """At the first bucket of a video's next hour of age, the hour it has just finished goes into the
        account's curve (from the detector's recent buckets, which end just before `bucket_start`).

        Not bucket by bucket as each closes: the prior of a video's hour then included that video's own
        earlier buckets of the hour, and a fresh video going bad taught its prior its own pile-on within
        minutes (the prior rose from ~0 to ~5 a bucket in its first hour: no episode at all). Learnt an hour
        later, a video's prior holds only the other videos. Only the buckets observed one after another up
        to `bucket_start` are known here (a gap clears the detector's recent buckets): the rest of that hour
        is not learnt."""
        age = self._age_hour(stream, bucket_start)
        previous = bucket_start - self.bucket
        if not 1 <= age <= PRIOR_HOURS or self._age_hour(stream, previous) != age - 1:
            return  # not the first bucket of an hour of age that follows a learnt one
        if detector.last_ts is None or detector.last_ts != previous.timestamp():
            return
        finished = []
        at = previous
        for value in reversed(detector.recent_obs):
            if self._age_hour(stream, at) != age - 1:
                break
            finished.append((at, value))
            at -= self.bucket
        for at, value in reversed(finished):
            self._learn_curve(curve, stream, at, value)

    def _learn_curve(self, curve: AlertStream, stream: AlertStream, bucket_start: datetime, value: float) -> None:
        age = self._age_hour(stream, bucket_start)
        if age >= PRIOR_HOURS:
            return
        state = dict(curve.state or {"mean": [0.0] * PRIOR_HOURS, "n": [0.0] * PRIOR_HOURS})
        mean, n = list(state["mean"]), list(state["n"])
        n[age] += 1
        alpha = max(1.0 / n[age], 0.02)
        mean[age] += alpha * (value - mean[age])
        curve.state = {"mean": mean, "n": n}

    # ------------------------------------------------------------------ episodes
    def _open_episode(self, session: Session, stream: AlertStream) -> AlertEpisode | None:
        return session.exec(
            select(AlertEpisode).where(AlertEpisode.platform == stream.platform,
                                       AlertEpisode.account_id == stream.account_id,
                                       AlertEpisode.content_id == stream.content_id,
                                       AlertEpisode.recovered_at.is_(None))
            .order_by(AlertEpisode.id.desc())
        ).first()

    def _muted(self, session: Session, stream: AlertStream, now: datetime) -> datetime | None:
        """Until when the stream is muted (a 静默 1 小时 on one of its episodes), or None."""
        until = session.exec(
            select(func.max(AlertEpisode.muted_until)).where(AlertEpisode.platform == stream.platform,
                                                             AlertEpisode.account_id == stream.account_id,
                                                             AlertEpisode.content_id == stream.content_id,
                                                             AlertEpisode.muted_until > now)
        ).first()
        return ensure_aware(until) if until is not None else None

    def _on_decision(self, session: Session, stream: AlertStream, d: Decision, row: AlertBucket | None,
                     bucket_start: datetime, now: datetime, stale: bool, all_comments: bool) -> None:
        if d.new_alert and not stale:
            self._start_episode(session, stream, d, row, bucket_start, now, all_comments)
            return
        if not (d.in_episode or d.recovered):
            return
        episode = self._open_episode(session, stream)
        if episode is None:
            if not stale and self._goes_on_now(d):
                # The detector opened this episode on history (a file import, a backlog fetched after
                # downtime: the onset bucket was judged silently) and it is still going on now. Staying
                # silent would blind the stream until recovery: page now, saying when it began.
                self._start_episode(session, stream, d, row, bucket_start, now, all_comments)
            # one that is over stays quiet; its recovery lifts the cooldown (see _judge)
            return
        stats = dict(episode.stats)
        stats["episode_negative"] = stats.get("episode_negative", 0) + (
            (row.total if all_comments else row.negative) if row else 0)
        stats["episode_total"] = stats.get("episode_total", 0) + (row.total if row else 0)
        stats["peak_bucket"] = max(stats.get("peak_bucket", 0), int(d.value))
        changed = False
        raised = False  # this episode carries the message and rose: its runs follow, sev1 is announced
        if d.severity_raised and severity_rank(d.severity) > severity_rank(episode.severity):
            raised = not stats.get("merged_into")
            episode.severity = d.severity or episode.severity
            stats.update(self._window_figures(d, bucket_start, session, stream))
            changed = True
            if stats.get("merged_into"):
                self._raise_message_severity(session, episode, stats["merged_into"], now)
        if stats["episode_negative"] >= 1.5 * max(stats.get("notified_negative", 0), 1) and stats["episode_negative"] >= 10:
            changed = True
        if d.recovered:
            episode.recovered_at = bucket_start + self.bucket
            if episode.status in ("open", "acknowledged", "muted"):
                episode.status = "resolved"
            episode.history = [*episode.history, {"action": "recovered", "user": "bot", "at": (bucket_start + self.bucket).isoformat()}]
            changed = True
        if changed:
            stats["notified_negative"] = stats["episode_negative"]
            # the quotes and keywords read the window from the episode: the one the headline now counts
            # (a raise moves it), not the one it had when the last message went out
            episode.stats = dict(stats)
            stats.update(self._comment_figures(session, episode, now))
        episode.stats = stats
        episode.updated_at = now
        session.add(episode)
        if changed:
            self._push_update(session, episode)
        if stats.get("merged_into") and not d.recovered and not stale and self._goes_on_now(d):
            self._outlived(session, episode, stats["merged_into"], now)
        if raised:
            self._raised(session, episode, now)
        if d.severity_raised and episode.status == "open":
            self._release(session, episode, now)

    def _outlived(self, session: Session, episode: AlertEpisode, key: str, now: datetime) -> None:
        """A merged episode still going strong (this bucket itself unusual) after the episode carrying its
        message recovered: a video that calmed down while the account-level crisis moved to its other
        videos. The message says 已恢复, so this one must not stay hidden behind it (no message, no
        escalation, no new alert while it lasts): it is announced again as usual (the others still going
        on merge into it). A muted one is announced when its mute ends; a false alarm stays as it is.
        Merged episodes that simply calm down a few buckets after their message's episode stay merged."""
        carrier = session.exec(select(AlertEpisode).where(AlertEpisode.episode_key == key)).first()
        if carrier is None or carrier.recovered_at is None or episode.status not in ("open", "acknowledged", "muted"):
            return
        episode.stats = {k: v for k, v in episode.stats.items() if k != "merged_into"}
        episode.history = [*episode.history, {"action": "unmerged", "user": "bot", "at": now.isoformat(), "from": key}]
        episode.last_notified_at = now  # escalation counts from the new message
        session.add(episode)
        session.flush()
        if episode.status != "muted":
            self._announce(session, episode, now)

    def _raise_message_severity(self, session: Session, episode: AlertEpisode, key: str, now: datetime) -> None:
        """A merged episode that grows worse raises its message's severity (escalation and the message
        follow that episode, so it must carry the incident's worst)."""
        target = session.exec(select(AlertEpisode).where(AlertEpisode.episode_key == key)).first()
        if target is None or target.recovered_at is not None:
            return
        if severity_rank(episode.severity) > severity_rank(target.severity):
            target.severity = episode.severity
            session.add(target)
            self._push_update(session, target)
            self._raised(session, target, now)

    def _raised(self, session: Session, episode: AlertEpisode, now: datetime) -> None:
        """The episode that carries the message rose in severity: the playbook runs handling it rise with
        it (never down), and a rise to sev1 is announced."""
        links = self._raise_runs(session, episode, now)
        if episode.severity == "sev1":
            self._announce_sev1(session, episode, links)

    def _raise_runs(self, session: Session, episode: AlertEpisode, now: datetime) -> list:
        """Raise the active runs that handle this alert (started from it, linked to it, or on its account)
        to its severity, in this transaction; returns them all (see PlaybookService.raise_for_alert)."""
        playbooks = self.services.extra.get("playbooks")
        if playbooks is None or not hasattr(playbooks, "raise_for_alert"):
            return []
        try:
            with session.begin_nested():
                return playbooks.raise_for_alert(
                    session, alert_key=episode.episode_key, account=f"{episode.platform}:{episode.account_id}",
                    severity=render.SEVERITY_NUMBER[episode.severity], now=now,
                    alert_label=render.SEVERITY_LABEL[episode.severity][0])
        except Exception:  # noqa: BLE001 - a broken run must not stop the alert (its rise and its message)
            log.exception("raising the playbook runs of alert %s failed", episode.episode_key)
            return []

    def _announce_sev1(self, session: Session, episode: AlertEpisode, links=()) -> None:
        """A message edited in place notifies nobody: a rise to sev1 is said in a new message, once per
        channel. Nobody on it yet: where the alert was posted, with the loud mention a first sev1 post
        carries (@here / @所有人). Acknowledged: the team is on it, so it is said to the people who
        acknowledged it (and to the commanders of the runs handling it) rather than to the whole channel,
        the way a paging tool re-notifies the responder and not the rota. A run handling it in a channel
        the alert was not posted to hears of it there, addressed to its commander."""
        # Who took it on, from the history, not the status: a 静默 1 小时 after 确认 sets the status to muted
        # for the hour while the same people are on it
        responders = self._responders(episode) if episode.status != "false_positive" else []
        acknowledged = bool(responders)
        who = None
        if responders:
            who = responders[0][1] or responders[0][0].partition(":")[2] or responders[0][0]
        posted = [channel for channel, info in episode.channels.items() if info.get("posted")]
        # a held post goes out as sev1 (loud) when it is released; a run's channel hears of it now
        channels = list(dict.fromkeys([*posted, *(link.channel for link in links)]))
        for channel in channels:
            here = [link for link in links if link.channel == channel]
            mentions = [] if acknowledged else list(self._loud_mentions(channel, "sev1"))
            for person in [*(user for user, _name in responders), *(link.commander for link in here)]:
                user_id = self._user_on(channel, person)
                if user_id and user_id not in mentions:
                    mentions.append(user_id)
            message = render.raised_message(
                self._episode_view(episode), lang=self._lang(channel), mentions=tuple(mentions),
                acknowledged_by=who, runs=tuple((link.run_id, link.severity_before, link.severity) for link in here),
                alert_here=channel in posted)
            self.outbox.enqueue(session, channel=channel, message=message,
                                key=f"{episode.episode_key}@{channel}:raised:sev1")

    @staticmethod
    def _responders(episode: AlertEpisode) -> list[tuple[str, str | None]]:
        """Who took the alert on (确认, or 启动预案 which also acknowledges it): (user, name), latest first."""
        seen: dict[str, str | None] = {}
        for entry in reversed(episode.history or []):
            user = entry.get("user")
            if entry.get("action") in ("acknowledged", "playbook") and user and user not in seen:
                seen[user] = entry.get("user_name")
        return list(seen.items())

    @staticmethod
    def _user_on(channel: str, user: str) -> str | None:
        """The user's id for Message.mentions when the user is on the channel's platform ('slack:U1' in a
        Slack channel -> 'U1'; the adapters render it as <@U1> / <at id=ou_1>)."""
        platform, sep, user_id = user.partition(":")
        if sep and user_id and platform == channel.partition(":")[0]:
            return user_id
        return None

    def _window_figures(self, d: Decision, bucket_start: datetime, session: Session,
                        stream: _Stream) -> dict[str, Any]:
        """The headline's figures: the detector's triggering window (the last `d.window` buckets up to the
        end of the judged one). Its bounds are kept so that the quoted comments and keywords cover the
        same comments the headline counts, not just the last bucket or two of a slow ramp."""
        window_end = bucket_start + self.bucket
        window_start = window_end - d.window * self.bucket
        return {
            "window_start": window_start.isoformat(),
            "window_end": window_end.isoformat(),
            "window_observed": d.window_observed,
            "window_expected": d.window_expected,
            # every bucket's baseline was the floor (a stream with almost no negative comments): the figure
            # is the detector's minimum, not what the stream usually sees, and the message says so
            "window_expected_is_floor": d.window_expected <= d.window * self.detector_settings.expected_floor * (1 + 1e-9),
            "window_minutes": int(d.window * self.bucket.total_seconds() // 60),
            "share": self._window_share(session, stream, window_start, window_end, d.share),
            "share_expected": d.share_expected,
            "surprise": round(d.surprise, 2),
            "reason": d.reason,
        }

    def _window_share(self, session: Session, stream: _Stream, start: datetime, end: datetime,
                      last_bucket_share: float | None) -> float | None:
        """The negative share over the headline's window. The detector's share is the judged bucket's
        alone: "60 分钟内负面评论 17 条 … 负面占比 73%" read as 73% of the hour while a fifth of it was."""
        if last_bucket_share is None:  # no sentiment model: no share at all
            return None
        c = AlertBucket.__table__.c
        total, negative = session.connection().execute(
            select(func.coalesce(func.sum(c.total), 0), func.coalesce(func.sum(c.negative), 0))
            .where(c.platform == stream.platform, c.account_id == stream.account_id,
                   c.content_id == stream.content_id, c.bucket_start >= start, c.bucket_start < end)).one()
        return negative / total if total else last_bucket_share

    def _start_episode(self, session: Session, stream: AlertStream, d: Decision, row: AlertBucket | None,
                       bucket_start: datetime, now: datetime, all_comments: bool) -> None:
        key = f"{stream.stream_key}@{bucket_start.strftime('%Y%m%dT%H%M')}"
        if session.exec(select(AlertEpisode.id).where(AlertEpisode.episode_key == key)).first() is not None:
            return
        muted = self._muted(session, stream, now)
        # a still-open older episode of the same stream (e.g. after a restart) is closed first
        older = self._open_episode(session, stream)
        if older is not None:
            older.recovered_at = bucket_start
            session.add(older)
        figures = self._window_figures(d, bucket_start, session, stream)
        stats = {
            **figures,
            # the detector's normal period ends where the window that triggered starts: keywords are
            # compared with the time before it, never with the surge itself (kept when the window changes)
            "normal_until": figures["window_start"],
            "account_name": self._account_name(stream.platform, stream.account_id),
            "content_id": stream.content_id or None,
            "content_title": stream.content_title,
            "content_url": stream.content_url,
            "bucket_minutes": self.cfg.bucket_minutes,
            "episode_negative": int(d.value),
            "episode_total": row.total if row else 0,
            "peak_bucket": int(d.value),
            "notified_negative": int(d.value),
            "metric": "all" if all_comments else "negative",
            "playbook": self.cfg.playbooks.get(d.severity or "sev3"),
        }
        if d.episode_start is not None and d.episode_start < bucket_start.timestamp():
            # opened on history (judged silently): the message says it began then, not at this bucket
            stats["began_in_history"] = datetime.fromtimestamp(d.episode_start, UTC).isoformat()
        episode = AlertEpisode(
            episode_key=key, platform=stream.platform, account_id=stream.account_id, content_id=stream.content_id,
            status="muted" if muted else "open", severity=d.severity or "sev3", reason=d.reason or "volume",
            started_at=bucket_start, detected_at=now, updated_at=now, muted_until=muted, stats=stats, channels={},
            history=[{"action": "opened", "user": "bot", "at": now.isoformat()}], last_notified_at=now,
        )
        episode.stats = {**stats, **self._comment_figures(session, episode, now)}
        try:
            with session.begin_nested():
                session.add(episode)
                session.flush()
        except IntegrityError:  # another worker opened it
            return
        if muted:
            return  # posted when the mute ends, if it is still going on then (`_end_mutes`)
        self._announce(session, episode, now)

    def _announce(self, session: Session, episode: AlertEpisode, now: datetime) -> None:
        """Post a new episode's message to its channels (held in quiet hours, or merged into a sibling's)."""
        if self._merge_into_sibling(session, episode):
            return
        channels = {}
        for channel in self.scope.channels_for_account(episode.platform, episode.account_id):
            hold_until = self._hold_until(channel, episode.severity, now)
            if hold_until is not None:
                channels[channel] = {"posted": False, "hold_until": hold_until.isoformat(), "version": 0}
                continue
            self._post(session, episode, channel)
            channels[channel] = {"posted": True, "version": 0}
        episode.channels = channels
        session.add(episode)

    def _merge_into_sibling(self, session: Session, episode: AlertEpisode) -> bool:
        """One crisis, one message: the account-level and a video's episode that overlap share a message.

        The first one posted carries on; the later one is recorded (merged) and, when it names the video,
        adds that video to the first one's message.
        """
        siblings = session.exec(select(AlertEpisode).where(
            AlertEpisode.platform == episode.platform, AlertEpisode.account_id == episode.account_id,
            AlertEpisode.content_id != episode.content_id, AlertEpisode.recovered_at.is_(None),
            AlertEpisode.status.in_(("open", "acknowledged", "muted")))).all()
        target = next((s for s in siblings if s.channels and not s.stats.get("merged_into")), None)
        if target is None:
            return False
        stats = dict(episode.stats)
        stats["merged_into"] = target.episode_key
        episode.stats = stats
        # it follows its message's episode from now on: an acknowledged or muted incident stays so
        episode.status = target.status
        episode.muted_until = target.muted_until
        if target.status == "muted":  # it comes back from the mute as its message's episode does
            episode.stats = {**stats, "muted_from": target.stats.get("muted_from", "open")}
        episode.history = [*episode.history, {"action": "merged", "user": "bot", "at": self.clock.now().isoformat(),
                                              "into": target.episode_key}]
        session.add(episode)
        if episode.content_id and not target.stats.get("content_id"):
            tstats = dict(target.stats)
            tstats.update(content_id=episode.content_id, content_title=episode.stats.get("content_title"),
                          content_url=episode.stats.get("content_url"))
            target.stats = tstats
            rose = severity_rank(episode.severity) > severity_rank(target.severity)
            if rose:
                target.severity = episode.severity
            session.add(target)
            self._push_update(session, target)
            if rose:
                self._raised(session, target, self.clock.now())
        elif severity_rank(episode.severity) > severity_rank(target.severity):
            target.severity = episode.severity
            session.add(target)
            self._push_update(session, target)
            self._raised(session, target, self.clock.now())
        return True

    def _episode_view(self, episode: AlertEpisode) -> dict[str, Any]:
        return {
            "episode_key": episode.episode_key, "platform": episode.platform, "account_id": episode.account_id,
            "severity": episode.severity, "status": episode.status, "stats": episode.stats,
            "started_at": ensure_aware(episode.started_at).isoformat(),
            "recovered_at": ensure_aware(episode.recovered_at).isoformat() if episode.recovered_at else None,
            "muted_until": ensure_aware(episode.muted_until).isoformat() if episode.muted_until else None,
            "history": episode.history,
            "playbook_titles": self._playbook_titles((episode.stats or {}).get("playbook")),
        }

    def _loud_mentions(self, channel: str, severity: str) -> tuple[str, ...]:
        if severity != "sev1":
            return ()
        platform = channel.partition(":")[0]
        return ("all",) if platform == "feishu" else ("here",)

    def _post(self, session: Session, episode: AlertEpisode, channel: str) -> None:
        message = render.alert_message(self._episode_view(episode), lang=self._lang(channel), zone=self._channel_zone(channel),
                                       mentions=self._loud_mentions(channel, episode.severity))
        self.outbox.enqueue(session, channel=channel, message=message, key=f"{episode.episode_key}@{channel}")

    def _push_update(self, session: Session, episode: AlertEpisode) -> None:
        """Edit the episode's message in place in every channel it was posted to.

        While the first post still waits in the outbox (a chat outage), its content is rewritten instead:
        an alert that spiked and recovered meanwhile arrives as one post saying so, without the loud
        mentions of a live incident (@here / @所有人), not as a fresh alarm edited to "recovered" a moment
        later. If an attempt of unknown outcome may have shown the old content, the edit is queued too."""
        episode.version += 1
        channels = dict(episode.channels)
        view = self._episode_view(episode)
        for channel, info in channels.items():
            if not info.get("posted"):
                continue
            original = f"{episode.episode_key}@{channel}"
            live = episode.status in LIVE_STATUSES
            waiting = render.alert_message(view, lang=self._lang(channel), zone=self._channel_zone(channel),
                                           mentions=self._loud_mentions(channel, episode.severity) if live else ())
            if self.outbox.rewrite(session, channel=channel, key=original, message=waiting) == REWRITTEN:
                channels[channel] = {**info, "version": episode.version}
                continue
            message = render.alert_message(view, lang=self._lang(channel), zone=self._channel_zone(channel))
            self.outbox.enqueue(session, channel=channel, message=message,
                                key=f"{episode.episode_key}@{channel}#v{episode.version}",
                                update_of=f"{episode.episode_key}@{channel}")
            channels[channel] = {**info, "version": episode.version}
        episode.channels = channels
        session.add(episode)

    def _comment_figures(self, session: Session, episode: AlertEpisode, now: datetime) -> dict[str, Any]:
        """Top liked negative comments and keywords of the headline's window vs the day before the surge.

        The window is the one the headline counts ("60 分钟内 N 条": the triggering window of the detector),
        so a slow ramp quotes its whole hour and a burst its first minutes too. The baseline is the day
        before the first triggering window (the detector's normal period): the surge is never "usual".
        """
        stats = episode.stats or {}
        if stats.get("window_start") and stats.get("window_end"):
            start = datetime.fromisoformat(stats["window_start"])
            end = datetime.fromisoformat(stats["window_end"])
            normal_until = datetime.fromisoformat(stats.get("normal_until") or stats["window_start"])
        else:  # an episode stored before the window bounds were kept
            start = ensure_aware(episode.started_at) - 2 * self.bucket
            end = now + timedelta(microseconds=1)
            normal_until = start
        conditions = [Comment.platform == episode.platform, Comment.account_id == episode.account_id,
                      Comment.sentiment_label == "neg", Comment.is_from_account.is_(False)]
        if episode.content_id:
            conditions.append(Comment.content_id == episode.content_id)
        # dated ahead of the clock but received in the window: counted in it (on_comments), quoted from it
        in_window = or_(and_(Comment.created_at >= start, Comment.created_at < end),
                        and_(Comment.created_at >= end, Comment.ingested_at >= start, Comment.ingested_at < end))
        window = session.exec(select(Comment).where(and_(*conditions), in_window)
                              .order_by(Comment.like_count.desc(), Comment.id).limit(500)).all()
        # quoted and mined for keywords: the comments that lean negative, not the model's near-ties
        window = [c for c in window if c.shows_as_negative]
        top = [{"text": c.text, "likes": c.like_count, "url": c.content_url, "comment_id": c.comment_id}
               for c in window[:3]]
        figures: dict[str, Any] = {"top_comments": top}
        try:
            from bot.sentiment import extract_keywords  # type: ignore[attr-defined]
        except ImportError:
            return figures
        baseline = session.exec(select(Comment.text, Comment.sentiment_score, Comment.sentiment_neg)
                                .where(and_(*conditions), Comment.created_at < normal_until,
                                       Comment.created_at >= normal_until - timedelta(days=1))
                                .limit(2000)).all()
        baseline_texts = [text for text, score, neg in baseline if shows_as_negative("neg", score, neg)]
        try:
            keywords = extract_keywords([c.text for c in window], baseline_texts, top_k=6)
        except Exception:  # noqa: BLE001 - keywords are a nicety; the alert must still go out
            log.exception("keyword extraction failed")
            return figures
        figures["keywords"] = [{"term": k.term, "count": k.count, "baseline_count": getattr(k, "baseline_count", None)}
                               for k in keywords]
        return figures

    # ------------------------------------------------------------------ quiet hours, held alerts, escalation
    def _hold_until(self, channel: str, severity: str, now: datetime) -> datetime | None:
        """When the channel is in quiet hours and this severity waits: the end of the quiet hours."""
        if severity not in self.cfg.hold_in_quiet_hours:
            return None
        ch = self._channel_config(channel)
        if ch is None or ch.quiet_hours is None:
            return None
        zone = self._channel_zone(channel)
        local = now.astimezone(zone)
        start = time.fromisoformat(ch.quiet_hours.start)
        end = time.fromisoformat(ch.quiet_hours.end)
        t = local.time()
        inside = (start <= t < end) if start < end else (t >= start or t < end)
        if not inside:
            return None
        end_dt = datetime.combine(local.date(), end, zone)
        if end_dt <= local:
            end_dt += timedelta(days=1)
        return end_dt.astimezone(UTC)

    def _end_mutes(self, now: datetime) -> None:
        """静默 1 小时 is one hour: an episode still going on when its mute ends returns to its state before.

        One that was open before the mute alerts again: its message (posted before the mute) is updated
        back to 待处理 and a reminder is posted; an episode that opened during the mute (never posted) is
        posted now. Escalation restarts from now. One that was acknowledged before the mute (the team is on
        it, perhaps running its playbook) goes back to 已确认: its message is updated, nobody is paged and
        escalation stays stopped. Episodes that recovered meanwhile were resolved by the detector and stay
        as they are.
        """
        with self.db.session() as session:
            episodes = session.exec(_MUTES_ENDED, params={"now": now}).all()
            for episode in episodes:
                # muted before "muted_from" was kept, or opened during the mute: it was open
                before = episode.stats.get("muted_from") or "open"
                episode.stats = {k: v for k, v in episode.stats.items() if k != "muted_from"}
                episode.updated_at = now
                episode.history = [*episode.history, {"action": "unmuted", "user": "bot", "at": now.isoformat()}]
                if before == "acknowledged":
                    episode.status = "acknowledged"
                    session.add(episode)
                    self._push_update(session, episode)
                    continue
                episode.status = "open"
                episode.last_notified_at = now
                session.add(episode)
                if not any(info.get("posted") or "hold_until" in info for info in episode.channels.values()) \
                        and not episode.stats.get("merged_into"):
                    self._announce(session, episode, now)
                    continue
                self._push_update(session, episode)
                for channel, info in episode.channels.items():
                    if not info.get("posted"):
                        continue
                    message = render.unmuted_message(self._episode_view(episode), lang=self._lang(channel),
                                                     mentions=self._loud_mentions(channel, episode.severity))
                    until = ensure_aware(episode.muted_until).strftime("%Y%m%dT%H%M")
                    self.outbox.enqueue(session, channel=channel, message=message,
                                        key=f"{episode.episode_key}@{channel}!unmuted{until}")

    def _release_held(self, now: datetime) -> None:
        with self.db.session() as session:
            episodes = session.exec(_RECENT_EPISODES, params={"since": now - timedelta(days=2)}).all()
            for episode in episodes:
                self._release(session, episode, now)

    def _release(self, session: Session, episode: AlertEpisode, now: datetime) -> bool:
        """Post the episode where it was held, once its quiet hours are over or once it has grown to a
        severity that is not held (a sev3 held at night that turns into a sev1 pages at once)."""
        channels = dict(episode.channels)
        changed = False
        for channel, info in channels.items():
            if info.get("posted"):
                continue
            if datetime.fromisoformat(info["hold_until"]) > now \
                    and self._hold_until(channel, episode.severity, now) is not None:
                continue
            self._post(session, episode, channel)
            # an update already keyed for this version must not be mistaken for the post
            channels[channel] = {"posted": True, "version": episode.version}
            changed = True
        if changed:
            episode.channels = channels
            # escalation counts from when people could first see it, not from the held detection
            episode.last_notified_at = now
            session.add(episode)
        return changed

    def rota(self) -> list[str]:
        esc = self.cfg.escalation
        return list(esc.rota) or list(self.app_config.roles.get(esc.rota_role, []))

    def _escalate(self, now: datetime) -> None:
        esc = self.cfg.escalation
        if not esc.enabled:
            return
        after = timedelta(minutes=esc.after_minutes)
        rota = self.rota()
        with self.db.session() as session:
            episodes = session.exec(_UNACKNOWLEDGED, params={
                "severities": tuple(esc.severities), "max_notifications": esc.max_notifications,
                "notified_by": now - after}).all()
            for episode in episodes:
                if episode.stats.get("merged_into"):
                    continue  # its message's episode escalates the incident, once
                if not any(info.get("posted") for info in episode.channels.values()):
                    # held in quiet hours (or not announced yet): nobody can see it, so no reminder is sent, and
                    # none may be counted or logged; `_release` restarts the count when it is posted
                    continue
                level = episode.escalations
                if self._last_notice_not_seen_long_enough(session, episode, level, now - after):
                    continue
                person = rota[level % len(rota)] if rota else None
                for channel, info in episode.channels.items():
                    if not info.get("posted"):
                        continue
                    platform = channel.partition(":")[0]
                    mentions = list(self._loud_mentions(channel, episode.severity))
                    if person and person.partition(":")[0] == platform:
                        mentions.append(person.partition(":")[2])
                    # since the alert reached this channel: a chat outage or a night held in quiet hours
                    # is not time the team had it unacknowledged
                    seen_at = ensure_aware(episode.detected_at)
                    for status, sent_at in self.outbox.delivery(session, [f"{episode.episode_key}@{channel}"]):
                        if status == "sent" and sent_at is not None:
                            seen_at = max(seen_at, ensure_aware(sent_at))
                    minutes = (now - seen_at).total_seconds() / 60
                    message = render.escalation_message(self._episode_view(episode), lang=self._lang(channel),
                                                        zone=self._channel_zone(channel), mentions=tuple(mentions), minutes=minutes)
                    self.outbox.enqueue(session, channel=channel, message=message,
                                        key=f"{episode.episode_key}@{channel}!esc{level + 1}")
                episode.escalations = level + 1
                episode.last_notified_at = now
                episode.history = [*episode.history, {"action": "escalated", "user": person or "bot",
                                                      "at": now.isoformat()}]
                session.add(episode)

    def _last_notice_not_seen_long_enough(self, session: Session, episode: AlertEpisode, level: int,
                                          seen_before: datetime) -> bool:
        """Escalation counts from when people could see the alert. During a chat outage the alert (or the
        previous escalation) waits in the outbox; counting from when it was queued, the alert and every
        escalation arrived together once the outage ended, saying "nobody acknowledged for N minutes"
        about a message nobody had seen. True while no channel got that notice before `seen_before` (less
        than escalation.after_minutes ago) and one still waits for it or got it since; one channel that
        saw it long enough ago is enough (an outage or a disabled platform elsewhere must not block it)."""
        suffix = "" if level == 0 else f"!esc{level}"
        keys = [f"{episode.episode_key}@{channel}{suffix}"
                for channel, info in episode.channels.items() if info.get("posted")]
        if not keys:
            return False
        states = self.outbox.delivery(session, keys)
        # people in one channel saw it long enough ago: escalate, whatever another channel's outage does
        if any(status == "sent" and sent_at is not None and ensure_aware(sent_at) <= seen_before
               for status, sent_at in states):
            return False
        return any(status == "pending" or (status == "sent" and sent_at is not None) for status, sent_at in states)

    # ------------------------------------------------------------------ actions (buttons)
    def find_episode(self, session: Session, key: str) -> AlertEpisode | None:
        episode = session.exec(select(AlertEpisode).where(AlertEpisode.episode_key == key)).first()
        if episode is None and key.isdigit():
            episode = session.get(AlertEpisode, int(key))
        return episode

    def act(self, episode_key: str, action: str, *, user: str, user_name: str | None = None,
            channel: str | None = None) -> AlertEpisode:
        """Apply a button: acknowledged | muted | false_positive | playbook. Records who and when."""
        return self.apply_action(episode_key, action, user=user, user_name=user_name, channel=channel)[0]

    def apply_action(self, episode_key: str, action: str, *, user: str, user_name: str | None = None,
                     channel: str | None = None) -> tuple[AlertEpisode, bool]:
        """`act`, also saying whether anything changed: a reply must not claim what did not happen."""
        now = self.clock.now()
        with self._lock, self.db.session() as session:
            episode = self.find_episode(session, episode_key)
            if episode is None:
                raise LookupError(episode_key)
            if channel is not None and not self.scope.can_see(channel, f"{episode.platform}:{episode.account_id}"):
                raise PermissionError(channel)
            if action == "acknowledged" and episode.status in ("open", "muted"):
                episode.status = "acknowledged"
            elif action == "muted" and episode.status in ("open", "acknowledged"):
                # kept so the end of the hour restores it: an acknowledged alert (a team on it, perhaps
                # running its playbook) muted for an hour must not come back as 待处理 and page them again
                episode.stats = {**episode.stats, "muted_from": episode.status}
                episode.status = "muted"
                episode.muted_until = now + MUTE_FOR
            elif action == "false_positive" and episode.status != "false_positive":
                episode.status = "false_positive"
                stats = dict(episode.stats)
                stats["feedback"] = {"label": "false_positive", "by": user, "at": now.isoformat()}
                episode.stats = stats
            elif action == "playbook" and episode.status != "false_positive":
                # after 误报 nothing changes, as for 确认 and 静默: the false-alarm feedback is kept for
                # tuning (a run can still be started on purpose with /crisis start, see bot/handlers/watch.py)
                if episode.status in ("open", "muted"):
                    episode.status = "acknowledged"  # starting the playbook is a response
            else:
                # nothing changes (e.g. a second press, or 静默 after 误报): no update, no history noise;
                # the button's reply says so instead of claiming it happened
                return episode, False
            entry = {"action": action, "user": user, "user_name": user_name, "at": now.isoformat()}
            episode.history = [*episode.history, entry]
            episode.updated_at = now
            session.add(episode)
            self._push_update(session, episode)
            self._follow(session, episode, entry, now)
            session.flush()
            return episode, True

    def _follow(self, session: Session, episode: AlertEpisode, entry: dict[str, Any], now: datetime) -> None:
        """Episodes merged into this one's message follow it: one incident, one status (and one line in
        reports). They have no message and no buttons of their own, so a press on the message is theirs."""
        merged = session.exec(select(AlertEpisode).where(
            AlertEpisode.platform == episode.platform, AlertEpisode.account_id == episode.account_id,
            AlertEpisode.id != episode.id)).all()
        for other in merged:
            if other.stats.get("merged_into") != episode.episode_key or other.status == episode.status:
                continue
            if other.status == "resolved" and episode.status != "false_positive":
                continue  # a video that already calmed down stays resolved; a false alarm covers it too
            other.status = episode.status
            other.muted_until = episode.muted_until
            if episode.status == "muted":  # it comes back from the mute as its message's episode does
                other.stats = {**other.stats, "muted_from": episode.stats.get("muted_from", "open")}
            if "feedback" in episode.stats:
                other.stats = {**other.stats, "feedback": episode.stats["feedback"]}
            elif "feedback" in other.stats:  # the message's false-alarm mark was withdrawn
                other.stats = {k: v for k, v in other.stats.items() if k != "feedback"}
            other.history = [*other.history, {**entry, "via": episode.episode_key}]
            other.updated_at = now
            session.add(other)

    # ------------------------------------------------------------------ risk watch and liked negatives
    def watched_terms(self, session: Session, platform: str, account_id: str) -> list[str]:
        key = f"{platform}:{account_id}"
        watches = session.exec(select(AlertWatch).where(AlertWatch.kind == "term", AlertWatch.removed_at.is_(None),
                                                        or_(AlertWatch.account.is_(None), AlertWatch.account == key)))
        return self._terms_for(list(watches), platform, account_id)

    @staticmethod
    def _term_watches(session: Session) -> list[AlertWatch]:
        return list(session.exec(_TERM_WATCHES))

    def _terms_for(self, watches: list[AlertWatch], platform: str, account_id: str) -> list[str]:
        """`watched_terms` over already loaded watches (one query per batch, not one per account)."""
        key = f"{platform}:{account_id}"
        # matching ignores case ("iPhone" fires on "iphone"), so spellings differing only in case are one term:
        # one notice per comment, under the config's spelling, else the earliest watch's
        terms: dict[str, str] = {}
        for term in [w.term for w in self.cfg.watch_terms if w.account in (None, key)] + \
                [w.term for w in sorted(watches, key=lambda w: w.id or 0) if w.term and self.watch_covers(w, key)]:
            terms.setdefault(term.lower(), term)
        return sorted(terms.values())

    def watch_covers(self, watch: AlertWatch, account_key: str) -> bool:
        """A watch names its account, or covers the accounts its channel may see: a term one client's team
        adds without --account must not fire on (or show up for) another client's accounts."""
        if watch.account is not None:
            return watch.account == account_key
        return self.scope.can_see(watch.channel, account_key)

    def _notices(self, session: Session, comments: list[Comment], now: datetime) -> None:
        window = timedelta(minutes=self.cfg.risk_window_minutes)
        term_cache: dict[tuple[str, str], list[str]] = {}
        stored_watches: list[AlertWatch] | None = None  # read once per batch, only when a new comment needs it
        min_likes = self.cfg.liked_negative_min_likes
        touched: dict[str, RiskNotice] = {}  # notices this batch added comments to, by key
        # history: an imported month announced as "received since 20:00" (340 comments naming a watched term,
        # a liked comment from three weeks ago) reads as news; a backlog of a few hours after an outage is not
        # history and is still announced
        hours = self.cfg.history_after_hours
        history_before = now - timedelta(hours=hours) if hours else None
        for c in comments:
            if c.is_from_account:
                continue
            if history_before is not None and ensure_aware(c.created_at) < history_before:
                # Old on first arrival: history, no notice. Seen again from a live source (a poller, the
                # webhook), an old negative comment whose likes now cross the line is news (an old post dug
                # up); seen again in a re-imported file it is not.
                if c.updated_at is None or c.source == "file":
                    continue
                if not (min_likes and c.shows_as_negative and (c.like_count or 0) >= min_likes):
                    continue
            account = (c.platform, c.account_id)
            if c.updated_at is None:
                if account not in term_cache:
                    if stored_watches is None:
                        stored_watches = self._term_watches(session)
                    term_cache[account] = self._terms_for(stored_watches, *account)
                text = (c.text or "").lower()
                for term in term_cache[account]:
                    if term.lower() in text:
                        self._notice(session, "term", term, c, now, window, touched)
            if min_likes and c.shows_as_negative and (c.like_count or 0) >= min_likes:
                self._notice(session, "liked", "liked", c, now, window, touched)
        # one message (or one update) per notice per batch, however many of its comments the batch held
        for notice in touched.values():
            self._announce_notice(session, notice)

    def _notice(self, session: Session, kind: str, term: str, c: Comment, now: datetime, window: timedelta,
                touched: dict[str, RiskNotice]) -> None:
        window_start = floor_bucket(now, window)
        key = f"notice:{kind}:{c.platform}:{c.account_id}:{term}@{window_start.strftime('%Y%m%dT%H%M')}"
        notice = session.exec(select(RiskNotice).where(RiskNotice.notice_key == key)).first()
        if kind == "liked":
            # a comment is announced once, whichever window it crossed the line in
            seen = session.exec(select(RiskNotice).where(RiskNotice.kind == "liked", RiskNotice.platform == c.platform,
                                                         RiskNotice.account_id == c.account_id,
                                                         RiskNotice.window_start >= window_start - timedelta(days=2))).all()
            if any(c.comment_id in (n.comment_ids or []) for n in seen):
                return
        if notice is not None and c.comment_id in (notice.comment_ids or []):
            return
        example = {"text": c.text, "likes": c.like_count, "url": c.content_url}
        if notice is None:
            notice = RiskNotice(notice_key=key, kind=kind, term=term, platform=c.platform, account_id=c.account_id,
                                window_start=window_start, count=0, comment_ids=[], examples=[], updated_at=now)
            try:
                with session.begin_nested():
                    session.add(notice)
                    session.flush()
            except IntegrityError:
                notice = session.exec(select(RiskNotice).where(RiskNotice.notice_key == key)).one()
        notice.count += 1
        notice.comment_ids = [*(notice.comment_ids or []), c.comment_id]
        # the 5 most-liked of the window (the message quotes the top 3), not merely the latest
        notice.examples = sorted([*(notice.examples or []), example], key=lambda e: -(e.get("likes") or 0))[:5]
        notice.updated_at = now
        session.add(notice)
        touched[key] = notice

    def _announce_notice(self, session: Session, notice: RiskNotice) -> None:
        """Post the notice, or update the posted one with its new count and examples."""
        key = notice.notice_key
        view = {"notice_key": key, "kind": notice.kind, "term": notice.term, "count": notice.count,
                "window_start": ensure_aware(notice.window_start).isoformat(), "examples": notice.examples}
        name = self._account_name(notice.platform, notice.account_id)
        for channel in self.scope.channels_for_account(notice.platform, notice.account_id):
            message = render.risk_notice_message(view, lang=self._lang(channel), zone=self._channel_zone(channel), account_name=name)
            if notice.version == 0:
                self.outbox.enqueue(session, channel=channel, message=message, key=f"{key}@{channel}")
            else:
                self.outbox.enqueue(session, channel=channel, message=message, key=f"{key}@{channel}#v{notice.version}",
                                    update_of=f"{key}@{channel}")
        notice.version += 1
        session.add(notice)

    # ------------------------------------------------------------------ watches (/watch)
    def add_watch(self, *, kind: str, channel: str, user: str, term: str | None = None, account: str | None = None,
                  starts_at: datetime | None = None, ends_at: datetime | None = None,
                  factor: float | None = None) -> AlertWatch:
        now = self.clock.now()
        with self.db.session() as session:
            if kind == "term":
                # the same term in another letter case is the same watch (matching ignores case)
                existing = next((w for w in session.exec(select(AlertWatch).where(
                    AlertWatch.kind == "term", AlertWatch.removed_at.is_(None),
                    and_(AlertWatch.account.is_(None), AlertWatch.channel == channel) if account is None
                    else AlertWatch.account == account).order_by(AlertWatch.id))
                    if (w.term or "").lower() == (term or "").lower()), None)
                if existing is not None:
                    return existing
            else:  # the same surge declared twice (a retried command) is one surge
                for same in session.exec(select(AlertWatch).where(
                        AlertWatch.kind == kind, AlertWatch.account == account, AlertWatch.removed_at.is_(None))):
                    if (ensure_aware(same.starts_at) == starts_at and ensure_aware(same.ends_at) == ends_at
                            and same.factor == factor):
                        return same
            watch = AlertWatch(kind=kind, term=term, account=account, starts_at=starts_at, ends_at=ends_at,
                               factor=factor, channel=channel, created_by=user, created_at=now)
            session.add(watch)
            session.flush()
            return watch

    def remove_watch(self, *, term: str, account: str | None, channel: str) -> int:
        now = self.clock.now()
        with self.db.session() as session:
            rows = session.exec(select(AlertWatch).where(AlertWatch.removed_at.is_(None))).all()
            removed = 0
            number = term.lstrip("#＃")  # "#3" (as /watch list shows it) or "3"
            for w in rows:
                match = (str(w.id) == number) or (w.kind == "term" and (w.term or "").lower() == term.lower())
                if not match or (account is not None and w.account != account):
                    continue
                if not self.watch_visible(w, channel):
                    continue
                w.removed_at = now
                session.add(w)
                removed += 1
            return removed

    def config_watch_terms(self, channel: str, term: str | None = None) -> list:
        """The config's watched terms (`alerts.watch_terms`) this channel may see (account-less ones, and those
        on its accounts): `/watch list` shows them. Given `term`, those spelled so in any letter case (matching
        ignores case): `/watch add` does not add them again, `/watch remove` says it cannot remove them."""
        return [t for t in self.cfg.watch_terms if (term is None or t.term.lower() == term.lower())
                and (t.account is None or self.scope.can_see(channel, t.account))]

    def list_watches(self, channel: str) -> list[AlertWatch]:
        """The watches this channel may see and change (see `watch_visible`), surges only until they end."""
        now = self.clock.now()
        with self.db.session() as session:
            rows = session.exec(select(AlertWatch).where(AlertWatch.removed_at.is_(None)).order_by(AlertWatch.id)).all()
        return [w for w in rows if self.watch_visible(w, channel)
                and (w.kind == "term" or (w.ends_at and ensure_aware(w.ends_at) > now))]

    def watch_visible(self, watch: AlertWatch, channel: str) -> bool:
        """A channel sees the watches on accounts it may see, and the account-less ones it added itself."""
        if watch.account is None:
            return watch.channel == channel
        return self.scope.can_see(channel, watch.account)

    def episodes(self, *, status: str | None = None) -> list[AlertEpisode]:
        with self.db.session() as session:
            query = select(AlertEpisode).order_by(AlertEpisode.id)
            if status:
                query = query.where(AlertEpisode.status == status)
            return list(session.exec(query).all())


def _add_to_buckets(statement):
    """`statement` (an insert of bucket rows) adding its counts to the rows already there (`_add_counts`)."""
    table = AlertBucket.__table__
    added = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["platform", "account_id", "content_id", "bucket_start"],
        set_={"total": table.c.total + added.total, "negative": table.c.negative + added.negative,
              "negative_weight": table.c.negative_weight + added.negative_weight,
              "likes": table.c.likes + added.likes, "risk_hits": table.c.risk_hits + added.risk_hits},
    )


def _touch(statement):
    """`statement` (an insert of stream rows) creating or waking the streams (`_touch_streams`)."""
    table = AlertStream.__table__
    added = statement.excluded
    take_title = and_(added.content_title.is_not(None), added.content_title != "",
                      or_(table.c.content_title.is_(None), table.c.content_title == ""))
    return statement.on_conflict_do_update(
        index_elements=["stream_key"],
        set_={
            "first_bucket": case((and_(table.c.last_closed.is_(None), added.first_bucket < table.c.first_bucket),
                                  added.first_bucket), else_=table.c.first_bucket),
            "updated_at": added.updated_at,  # last activity: keeps a content stream awake
            "content_title": case((take_title, added.content_title), else_=table.c.content_title),
            "content_url": case((take_title, added.content_url), else_=table.c.content_url),
        },
    )


# SQLite's upserts of every ingest batch carry no data (the rows are executemany parameters): built once.
# PostgreSQL's carry their rows (one json parameter) and are built per batch.
_SQLITE_ADD_TO_BUCKETS = _add_to_buckets(sqlite.insert(AlertBucket.__table__))
_SQLITE_TOUCH = _touch(sqlite.insert(AlertStream.__table__))


def _execute_rows(session: Session, statement, rows: list[dict], insert) -> None:
    """Run an ingest-path upsert: PostgreSQL's carries its rows (one json parameter); SQLite's takes
    them as executemany parameters, 500 at a time."""
    if insert is postgresql.insert:
        session.execute(statement)
        return
    for chunk_start in range(0, len(rows), 500):
        session.execute(statement, rows[chunk_start : chunk_start + 500])
