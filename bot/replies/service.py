"""The reply-queue service: the rules behind /reply-queue and /precheck.

- Keeps `reply_queue_item` in step with ingestion (a listener): new top-level comments and replies
  addressed to the account become open items; our own reply in the thread (seen in the feed) closes them.
- Lists the queue by priority, scoped to the accounts a channel may see.
- Exclusive claims with expiry (a conditional UPDATE: the loser learns who holds it).
- Replies: prechecked (blocking findings stop them), approved by a second person when config asks,
  then posted through the outbox to a configured webhook, or recorded as replied by hand.
- Stats, overdue reminders, suggested replies and saved templates.
"""

from __future__ import annotations

import hashlib
import logging
import re
import statistics
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, any_, bindparam, case, func, insert, literal, or_, union_all, update
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import defer
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float
from sqlmodel import Session, select

from bot.clock import Clock, ensure_aware
from bot.config import AppConfig
from bot.durations import duration_en, duration_zh
from bot.i18n import EnglishToo
from bot.messages import Message
from bot.outbox import Outbox
from bot.replies import models as m
from bot.replies.models import ReplyDraft, ReplyEvent, ReplyQueueItem, SavedReplyTemplate
from bot.replies.precheck import Prechecker, PrecheckResult
from bot.replies.priority import (
    AGE_SATURATION,
    CommentSignals,
    PriorityInputs,
    age_part,
    age_weight,
    comment_signals,
    is_urgent,
    sla_for,
    static_parts,
    top_reasons,
)
from bot.replies.settings import RepliesConfig
from bot.replies.templates import (
    CommentFacts,
    ReplyTemplate,
    Suggestion,
    TemplateLibrary,
    placeholder_problem,
    topics_from_text,
)
from bot.scope import ChannelScope, unsupported_platform
from bot.storage.bulk import pg_insert_rows
from bot.storage.db import Database
from bot.storage.handoffs import Handoff
from bot.storage.models import Comment, OutboxMessage
from bot.storage.types import UTCDateTime

log = logging.getLogger(__name__)

# A reply the webhook has not taken after this long is announced in its channel (once); retries go on.
POST_DELAY_NOTICE = timedelta(minutes=10)

# a draft's stored status in words, for "already decided" answers
DRAFT_STATUS_WORDS = {
    "new": ("尚未处理", "not handled yet"), "approved": ("已被批准", "already approved"),
    "rejected": ("已被驳回", "already rejected"), "superseded": ("已被新的回复取代", "replaced by a newer reply"),
    "queued": ("正在发布", "being posted"), "recorded": ("已记录为已回复", "already recorded as replied"),
    "posted": ("已发布", "already posted"), "failed": ("发布失败", "not posted (failed)"),
}

WEBHOOK_PLATFORM = "replyhook"
# Up to this many accounts, the queue is read per account from the index (see queue_ids).
MAX_ACCOUNTS_PER_SEEK = 50
CHUNK = 400
# How far back in a channel's messages to look for queue cards that show an item acted on: a card is
# re-rendered in place when one of its items changes; older cards are found only through the pressed
# button's message id. The scan reads only the item ids out of each row's card meta (extracted by the
# database); whole payloads are loaded for the cards that show a changed item, nothing else.
CARD_SCAN_ROWS = 60
# Besides the pressed card, the newest cards showing an item acted on that are re-rendered (the newest
# CARD_REFRESH_OTHERS + 1 when no card was pressed: a typed subcommand, the console's /press). Each is one
# chat.update / card patch: Slack allows about 50 chat.update a minute per app and workspace (Tier 3), so
# 1 + 5 edits a press leaves room for 8 presses a minute across the team before Slack throttles, where the
# 60 cards a busy channel can show cost 60 edits (more than Slack's minute) for one press. Older cards
# scrolled out of sight long ago and keep their last state; a press on one is still decided on the
# item's stored state (a claim taken meanwhile is refused), and refreshes that card.
CARD_REFRESH_OTHERS = 5


class _EpochSeconds(FunctionElement):
    """Epoch seconds of a stored UTCDateTime, in SQL (compared with the float `due_ts` row by row)."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(_EpochSeconds, "postgresql")
def _epoch_seconds_pg(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(_EpochSeconds)
def _epoch_seconds_sqlite(element, compiler, **kw):
    # SQLite keeps UTCDateTime as naive UTC text; julianday() reads it (fractional seconds included)
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def watched_in_time():
    """Items whose reply deadline was still ahead when the bot first saw their comment: the ones someone
    could have answered on time. An item already past its deadline on arrival (a week of history through
    the webhook, `crisisbot ingest` of an old export, the backfill of stored comments) stays in the queue
    and in the SLA figures, but overdue reminders leave it out: reminding about it every hour nagged the
    team with "2,492 comments overdue by 2 days" that no one had ever been late on."""
    return ReplyQueueItem.due_ts > _EpochSeconds(ReplyQueueItem.queued_at)


def _refresh_unanswered(stmt):
    """`stmt` (an insert of queue items) as the ingest upsert: a re-delivered comment refreshes its score
    (likes grow) while it is still unanswered."""
    table = ReplyQueueItem.__table__
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["platform", "comment_id"],
        set_={"static_score": excluded.static_score, "sla_seconds": excluded.sla_seconds,
              "due_ts": excluded.due_ts, "urgent": excluded.urgent,
              # the wait's start moves with the deadline (a corrected date; see wait_start)
              "created_at": excluded.created_at, "created_ts": excluded.created_ts},
        # (an OR, not IN: expanding parameters cannot be used with executemany)
        where=or_(table.c.state == m.OPEN, table.c.state == m.PENDING_APPROVAL),
    )


#: SQLite's upsert carries no data (the rows are executemany parameters): built once, not per ingest batch
_SQLITE_UPSERT_ITEMS = _refresh_unanswered(sqlite.insert(ReplyQueueItem.__table__))


class ReplyQueueError(EnglishToo, Exception):
    """A request the service refuses; the message is shown to the user (Chinese first, then English), `en` (when
    given) in a channel set to English."""


class AccessDenied(ReplyQueueError):
    """The channel may not see this account or item."""


class NotFound(ReplyQueueError):
    pass


@dataclass(frozen=True, slots=True)
class QueueEntry:
    item: ReplyQueueItem
    comment: Comment | None
    score: float
    overdue: bool
    age: timedelta
    claimed_by_other: bool
    reasons: str = ""  # the biggest parts of the score, shown beside it (see priority.top_reasons)


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of /reply-queue: its entries (ranks offset+1 ..), and the backlog they are taken from:
    `total` unanswered items matching the filters, `overdue` of them past their deadline."""

    entries: list[QueueEntry]
    total: int
    overdue: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class ClaimResult:
    ok: bool
    item: ReplyQueueItem
    holder: str | None = None
    holder_name: str | None = None
    expires_at: datetime | None = None
    closed: bool = False  # the item was answered/skipped meanwhile


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What happened to a 已回复: status is one of
    recorded | queued | pending_approval | blocked | claimed_by_other | closed | forbidden."""

    status: str
    item: ReplyQueueItem
    draft: ReplyDraft | None = None
    precheck: PrecheckResult | None = None
    holder_name: str | None = None
    reason: str | None = None
    # `reason` in English alone, for a channel set to English, when the service wrote `reason` in both
    # languages (empty: `reason` is the person's own words, a skip's or a rejection's, shown as typed)
    reason_en: str = ""


@dataclass(frozen=True, slots=True)
class EscalateOutcome:
    item: ReplyQueueItem
    attached: bool
    note: str
    # "escalated"; or refused: "claimed_by_other" (holder_name), "already" (run: the run it went to, when
    # known; holder_name: who escalated it), "closed" (skipped, replied or answered in the app)
    status: str = "escalated"
    holder_name: str | None = None
    run: int | None = None
    # `note` in English alone when the service wrote it in both languages (the playbooks' own note is already
    # in the channel's language: empty)
    note_en: str = ""


@dataclass
class SavedTemplateSummary:
    """One saved template name as a channel sees it: its newest text and the accounts it is offered for."""

    name: str
    text: str
    topics: list[str]
    accounts: list[str]
    created_by_name: str
    created_at: datetime


@dataclass
class ReplyStats:
    since: datetime
    open: int = 0
    overdue: int = 0
    responded: int = 0
    skipped: int = 0
    median_first_response: timedelta | None = None
    p90_first_response: timedelta | None = None
    sla_met: int = 0
    sla_total: int = 0
    per_responder: dict[str, dict[str, int]] = field(default_factory=dict)
    # comments that reached the bot in the window and were kept out of the queue as history (see
    # RepliesConfig.history_after_hours)
    history: int = 0
    # comments needing a reply that reached the bot in the window (history not included)
    arrived: int = 0
    # items claimed in the window (distinct item and person)
    claimed: int = 0

    @property
    def sla_compliance(self) -> float | None:
        return self.sla_met / self.sla_total if self.sla_total else None


def signals_of(comment: Comment) -> CommentSignals:
    return comment_signals(comment.sentiment_label, comment.sentiment_score, comment.risk_flags,
                           comment.sentiment_model, comment.text or "", comment.sentiment_neg)


def priority_inputs(comment: Comment) -> PriorityInputs:
    """What the priority of a comment's queue item is computed from."""
    signals = signals_of(comment)
    return PriorityInputs(
        created_at=comment.created_at, sentiment_label=signals.label,
        sentiment_score=signals.score, risk_flags=len(signals.risk_terms),
        like_count=comment.like_count or 0, author_followers=comment.author_followers,
        reply_count=comment.reply_count or 0, sentiment_neg=signals.neg_score,
    )


def wait_start(comment: Comment, now: datetime) -> datetime:
    """When a comment's wait for an answer began: its own date, or when the bot received it if that was
    earlier. A source that stamps Beijing time as UTC dates its comments 8 hours ahead (the future dates
    ingest accepts); counted from that date such a comment showed as "0 分钟前" for hours and went overdue
    8 hours late, past its 30-minute SLA without a reminder. (`now` stands in for the receipt time of a
    comment object that has none.) The queue item's `created_at`/`created_ts` hold this time: its age,
    deadline and first-response time all count from it."""
    created = ensure_aware(comment.created_at)
    received = ensure_aware(comment.ingested_at) if comment.ingested_at is not None else ensure_aware(now)
    return min(created, received)


# Handled items: nothing is left to escalate (a history item, an old comment, may still be escalated)
ESCALATION_CLOSED = (m.REPLIED, m.ANSWERED, m.SKIPPED)

_MENTION_FOLD = str.maketrans({"＠": "@", "\u3000": " "})
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _fold_mention(text: str) -> str:
    """Full-width ＠ (and full-width letters and digits) to half-width, lower case: how mentions are compared."""
    text = text.translate(_MENTION_FOLD)
    if any("\uff01" <= ch <= "\uff5e" for ch in text):  # full-width ASCII forms, rare: fold them too
        text = "".join(chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in text)
    return text.casefold()


def _mentioned(folded: str, handle: str) -> bool:
    """`handle` ("@lanji_official") occurs in `folded` and is not the start of a longer id ("@lanji_official2")."""
    start = folded.find(handle)
    while start != -1:
        end = start + len(handle)
        if end >= len(folded) or not (handle[-1] in _ID_CHARS and _continues_id(folded, end)):
            return True
        start = folded.find(handle, start + 1)
    return False


def _continues_id(folded: str, at: int) -> bool:
    """Whether an id goes on at `at`: a letter, digit or _, or a . or - followed by one ("@lanji_official.cn");
    a . or - that ends the run is punctuation ("谢谢 @lanji_official.", "@lanji_official-请回复")."""
    rest = folded[at:]
    run = len(rest) - len(rest.lstrip("abcdefghijklmnopqrstuvwxyz0123456789_.-"))
    return bool(rest[:run].rstrip(".-"))


def _folded(text: str) -> str:
    """An account id, name or client id as typed names compare: width (NFKC) and case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def account_key_of(platform: str, account_id: str) -> str:
    return f"{platform}:{account_id}"


class ReplyQueueService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        app_config: AppConfig,
        scope: ChannelScope,
        outbox: Outbox,
        prechecker: Prechecker,
        templates: TemplateLibrary,
        playbooks: Callable[[], Any] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.app_config = app_config
        self.config: RepliesConfig = app_config.replies
        self.scope = scope
        self.outbox = outbox
        self.prechecker = prechecker
        self.templates = templates
        self._playbooks = playbooks or (lambda: None)
        self.account_names = {a.key: a.name for a in app_config.accounts if a.name}
        # How a reply addresses each account: "@name" or "@account_id", folded (＠ -> @, case) once here, as
        # _needs_answer runs for every ingested reply
        self._mention_handles = {
            a.key: tuple(dict.fromkeys(_fold_mention(f"@{h}") for h in (a.name, a.account_id) if h and h.strip()))
            for a in app_config.accounts
        }
        self._configured = {a.key for a in app_config.accounts if a.client}

    # ---- scope -------------------------------------------------------------------------------------
    def zone_for(self, channel: str | None) -> ZoneInfo:
        """The time zone times are shown in for a channel: its own `timezone`, else the configured one."""
        return self.app_config.channel_zone(channel)

    def visible_accounts(self, channel: str) -> frozenset[str] | None:
        return self.scope.accounts_for(channel)

    def resolve_accounts(self, channel: str, account: str | None) -> list[str] | None:
        """Account keys the request covers; None means "the accounts of no configured client"."""
        allowed = self.scope.accounts_for(channel)
        if not account:
            return None if allowed is None else sorted(allowed)
        keys = self._match_account(account)
        if not keys:
            english = f"unknown account {account} (platform:account_id, the account id, its name or the client id)"
            raise NotFound(f"未知账号 {account}（可写 平台:账号ID、账号ID、账号名或客户ID）/ {english}",
                           en=english[0].upper() + english[1:])
        if (why := next(filter(None, map(unsupported_platform, keys)), None)) is not None:
            raise NotFound(why, en=next(filter(None, (unsupported_platform(k, "en") for k in keys))))
        refused = [k for k in keys if not self.scope.can_see(channel, k)]
        if refused:
            raise AccessDenied(f"本频道不能查看账号 {account} / this channel may not see account {account}",
                               en=f"This channel may not see account {account}")
        return keys

    def knows_account(self, text: str) -> bool:
        """Whether `text` names an account (as ACCOUNT is written), whichever channel may see it."""
        return bool(self._match_account(text))

    def _match_account(self, text: str) -> list[str]:
        """The account keys ACCOUNT names: as configured, else in any case and width ("LANJI_OFFICIAL", or
        full-width letters, for lanji_official: people type ids as they see them, not as the config has them)."""
        configured = self.app_config.accounts
        if ":" in text:
            same = [a.key for a in configured if _folded(a.key) == _folded(text)]
            return [text] if text in {a.key for a in configured} or len(same) != 1 else same
        for fold in (str, _folded):
            wanted = fold(text)
            found = [a.key for a in configured if wanted in (fold(a.account_id), fold(a.name) if a.name else None)]
            if not found:
                found = [a.key for a in configured if a.client and fold(a.client) == wanted]
            if found:
                return found
        return []

    def _account_condition(self, keys: list[str] | None, column=None):
        column = ReplyQueueItem.account_key if column is None else column
        if keys is None:
            if not self._configured:
                return literal(True)
            return column.not_in(sorted(self._configured))
        if not keys:
            return literal(False)
        return column.in_(keys)

    @staticmethod
    def _no_item(item_id: int) -> NotFound:
        return NotFound(f"没有编号为 #{item_id} 的评论 / no queue item #{item_id}", en=f"No queue item #{item_id}")

    @staticmethod
    def _no_draft(draft_id: int) -> NotFound:
        return NotFound(f"没有编号为 {draft_id} 的待审回复 / no draft {draft_id}", en=f"No draft {draft_id}")

    # ---- maintaining the queue from ingestion --------------------------------------------------------
    def on_comments(self, comments: Sequence[Comment], handoff: Handoff | None = None) -> None:
        """Ingest listener: queue new candidates, refresh scores, close threads we answered in the feed.

        The queue upserts, so a repeat would be harmless; the `handoff` is still claimed with the writes
        so that the hand-off ends exactly when they commit, and a batch already applied is skipped.
        """
        if not comments:
            return
        now = self.clock.now()
        with self.db.session() as session:
            if handoff is not None and not handoff.claim(session):
                return
            self._apply_comments(session, comments, now)

    def _apply_comments(self, session: Session, comments: Sequence[Comment], now: datetime) -> None:
        by_key = {(c.platform, c.comment_id): c for c in comments}
        parents = self._load_parents(session, comments, by_key)
        own: list[tuple[Comment, str]] = []
        candidates: list[tuple[Comment, str]] = []
        for comment in comments:
            root = self._thread_root(comment, by_key, parents)
            if self._is_own(comment):
                own.append((comment, root))
            elif self._needs_answer(comment, by_key, parents):
                candidates.append((comment, root))
        if candidates:
            self._upsert_items(session, candidates, now)
            self._close_already_answered(session, candidates, now)
        self._close_threads(session, own, now)

    @staticmethod
    def _is_own(comment: Comment) -> bool:
        return bool(comment.is_from_account) or (comment.author_id is not None and comment.author_id == comment.account_id)

    def _load_parents(self, session: Session, comments: Sequence[Comment], by_key) -> dict[tuple[str, str], Comment]:
        wanted: dict[str, set[str]] = {}
        for c in comments:
            if c.parent_id and (c.platform, c.parent_id) not in by_key:
                wanted.setdefault(c.platform, set()).add(c.parent_id)
        found: dict[tuple[str, str], Comment] = {}
        for platform, ids in wanted.items():
            id_list = sorted(ids)
            for start in range(0, len(id_list), CHUNK):
                rows = session.exec(
                    select(Comment).where(Comment.platform == platform, Comment.comment_id.in_(id_list[start:start + CHUNK]))
                ).all()
                found.update({(r.platform, r.comment_id): r for r in rows})
        return found

    @staticmethod
    def _thread_root(comment: Comment, by_key, parents) -> str:
        """Follow parent links (within what is known) to the top-level comment of the thread."""
        current, hops = comment, 0
        while current.parent_id and hops < 8:
            parent = by_key.get((current.platform, current.parent_id)) or parents.get((current.platform, current.parent_id))
            if parent is None:
                return current.parent_id
            current, hops = parent, hops + 1
        return current.comment_id

    def _needs_answer(self, comment: Comment, by_key, parents) -> bool:
        if not comment.parent_id:
            return True
        parent = by_key.get((comment.platform, comment.parent_id)) or parents.get((comment.platform, comment.parent_id))
        if parent is not None and self._is_own(parent):
            return True
        return self._mentions_account(comment)

    def _mentions_account(self, comment: Comment) -> bool:
        """Whether a reply addresses the account: "@name" or "@account_id", with a half- or full-width @ and
        in any case (Chinese IMEs type ＠). A cheap string check: it runs for every ingested reply."""
        text = comment.text or ""
        if "@" not in text and "＠" not in text:
            return False
        key = account_key_of(comment.platform, comment.account_id)
        handles = self._mention_handles.get(key)
        if handles is None:  # an account not in the config: its id is all there is
            handles = (_fold_mention(f"@{comment.account_id}"),) if comment.account_id else ()
        folded = _fold_mention(text)
        return any(_mentioned(folded, handle) for handle in handles)

    def _item_values(self, comment: Comment, root: str, now: datetime) -> dict[str, Any]:
        inputs = priority_inputs(comment)
        sla = sla_for(inputs, self.config)
        created = wait_start(comment, now)
        return {
            "platform": comment.platform, "comment_id": comment.comment_id,
            "account_key": account_key_of(comment.platform, comment.account_id),
            "content_id": comment.content_id, "thread_root_id": root, "created_at": created,
            "created_ts": created.timestamp(), "static_score": round(sum(static_parts(inputs, self.config.weights).values()), 4),
            "sla_seconds": int(sla.total_seconds()), "due_ts": (created + sla).timestamp(),
            "urgent": is_urgent(inputs), "state": m.HISTORY if self.is_history(created, now) else m.OPEN,
            "queued_at": now,
        }

    def is_history(self, created_at: datetime, now: datetime) -> bool:
        """Whether a comment first seen at `now` is history (older than `history_after_hours`): stored
        and scored, but not queued. Decided once, when its item is first written: a re-delivery never
        moves an item in or out of the queue, and an item already queued stays until it is handled."""
        hours = self.config.history_after_hours
        return hours is not None and ensure_aware(created_at) < now - timedelta(hours=hours)

    def history_total(self, *, channel: str, account: str | None = None) -> int:
        """How many items of the channel's accounts (or ACCOUNT's) are history (said by an empty queue)."""
        cond = self._account_condition(self.resolve_accounts(channel, account))
        with self.db.session() as session:
            return int(session.exec(select(func.count()).select_from(ReplyQueueItem).where(
                cond, ReplyQueueItem.state == m.HISTORY)).one())

    def history_mark(self) -> int:
        """The newest queue item id now: `history_line(mark)` after an import counts what it kept out."""
        with self.db.session() as session:
            return int(session.exec(select(func.max(ReplyQueueItem.id))).one() or 0)

    def history_count(self, mark: int) -> int:
        """Items written as history since `history_mark()` returned `mark` (a range read on the key)."""
        with self.db.session() as session:
            return int(session.exec(select(func.count()).select_from(ReplyQueueItem).where(
                ReplyQueueItem.id > mark, ReplyQueueItem.state == m.HISTORY)).one())

    def history_line(self, mark: int) -> str | None:
        """The import summary's line about comments kept out of the queue as history (None: none were)."""
        from bot.replies import render

        count = self.history_count(mark)
        hours = self.config.history_after_hours
        return render.history_import_line(count, hours) if count and hours else None

    def _upsert_items(self, session: Session, candidates: list[tuple[Comment, str]], now: datetime) -> None:
        rows = [self._item_values(c, root, now) for c, root in candidates]
        # PostgreSQL takes the whole batch as one json parameter (one statement, not one per row)
        postgres = session.get_bind().dialect.name == "postgresql"
        step = max(len(rows), 1) if postgres else CHUNK
        for start in range(0, len(rows), step):
            chunk = rows[start:start + step]
            stmt = _refresh_unanswered(pg_insert_rows(ReplyQueueItem.__table__, chunk)) if postgres \
                else _SQLITE_UPSERT_ITEMS
            session.execute(stmt, None if postgres else chunk)

    def rescore(self, platform: str, comment_id: str) -> bool:
        """Recompute an unanswered item's priority and reply deadline from its comment as stored now, after a
        person relabelled its sentiment (`/sentiment fix`): a comment corrected to negative gets the shorter
        SLA and ranks with complaints; one corrected away from negative drops back. Ingest does this for a
        re-delivered comment; a correction used to leave the old score and SLA. True when an item changed."""
        now = self.clock.now()
        with self.db.session() as session:
            comment = session.exec(
                select(Comment).where(Comment.platform == platform, Comment.comment_id == comment_id)
            ).first()
            if comment is None:
                return False
            values = self._item_values(comment, comment.comment_id, now)
            changed = session.execute(
                update(ReplyQueueItem)
                .where(ReplyQueueItem.platform == platform, ReplyQueueItem.comment_id == comment_id,
                       ReplyQueueItem.state.in_(m.UNANSWERED_STATES))
                .values(static_score=values["static_score"], sla_seconds=values["sla_seconds"],
                        due_ts=values["due_ts"], urgent=values["urgent"])
            ).rowcount
        return changed > 0

    def _close_already_answered(self, session: Session, candidates: list[tuple[Comment, str]], now: datetime) -> None:
        """Comments that arrive after our reply to them (feeds are not always in order) are closed at once."""
        by_platform: dict[str, set[str]] = {}
        for c, root in candidates:
            if c.updated_at is None:
                by_platform.setdefault(c.platform, set()).add(root)
        replies: list[tuple[Comment, str]] = []
        postgres = session.get_bind().dialect.name == "postgresql"
        for platform, roots in by_platform.items():
            root_list = sorted(roots)
            # PostgreSQL takes the roots as one array parameter: one short statement per platform, where a
            # 400-value IN list was a new long statement per chunk to parse and plan
            step = max(len(root_list), 1) if postgres else CHUNK
            for start in range(0, len(root_list), step):
                chunk = root_list[start:start + step]
                in_chunk = (Comment.parent_id == any_(bindparam("roots", chunk, type_=ARRAY(String))) if postgres
                            else Comment.parent_id.in_(chunk))
                own_replies = session.exec(
                    select(Comment).where(
                        Comment.platform == platform, in_chunk,
                        or_(Comment.is_from_account.is_(True), Comment.author_id == Comment.account_id),
                    )
                ).all()
                replies += [(r, r.parent_id or r.comment_id) for r in own_replies]
        self._close_threads(session, replies, now)

    def _close_threads(self, session: Session, replies: list[tuple[Comment, str]], now: datetime) -> None:
        """Our replies (seen in the feed) answer the open items of their threads written before them.

        Set-based: one read of the affected threads per chunk, one executemany UPDATE, one bulk insert of
        events, so a large import is not slowed down by one round trip per reply.
        """
        if not replies:
            return
        threads: dict[tuple[str, str], list[Comment]] = {}
        for reply, root in replies:
            threads.setdefault((reply.platform, root), []).append(reply)
        for thread in threads.values():
            thread.sort(key=lambda r: ensure_aware(r.created_at))
        closing: dict[int, tuple[Comment, str]] = {}
        by_platform: dict[str, list[str]] = {}
        for platform, root in threads:
            by_platform.setdefault(platform, []).append(root)
        for platform, roots in by_platform.items():
            for start in range(0, len(roots), CHUNK):
                # A reply answers the comments dated before it by the same source's clock: the comments' own
                # dates, not the items' wait start (the earlier of that date and the arrival, see
                # wait_start): for a source that dates everything 8 h ahead, a follow-up written after our
                # reply would otherwise count as answered by it.
                rows = session.exec(
                    select(ReplyQueueItem.id, ReplyQueueItem.thread_root_id, Comment.created_at,
                           ReplyQueueItem.comment_id, ReplyQueueItem.account_key)
                    .join(Comment, and_(Comment.platform == ReplyQueueItem.platform,
                                        Comment.comment_id == ReplyQueueItem.comment_id))
                    .where(
                        ReplyQueueItem.platform == platform, ReplyQueueItem.thread_root_id.in_(roots[start:start + CHUNK]),
                        ReplyQueueItem.state.in_(m.UNANSWERED_STATES),
                    )
                ).all()
                for item_id, root, written_at, comment_id, account_key in rows:
                    written = ensure_aware(written_at)
                    answer = next((r for r in threads[(platform, root)]
                                   if ensure_aware(r.created_at) >= written and r.comment_id != comment_id),
                                  None)
                    if answer is not None:
                        closing[int(item_id)] = (answer, account_key)
        if not closing:
            return
        table = ReplyQueueItem.__table__
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"), or_(table.c.state == m.OPEN, table.c.state == m.PENDING_APPROVAL))
            .values(state=m.ANSWERED, closed_at=now, responder="account", responder_name=bindparam("b_name"),
                    first_response_at=func.coalesce(table.c.first_response_at, bindparam("b_at", type_=UTCDateTime())),
                    claimed_by=None, claimed_by_name=None, claim_expires_at=None)
        )
        # the reply's time on the same footing as the items' start (wait_start): a skewed source's 8 h do not
        # count as waiting
        session.execute(stmt, [{"b_id": item_id, "b_name": reply.author_name, "b_at": wait_start(reply, now)}
                               for item_id, (reply, _) in closing.items()])
        ids = sorted(closing)
        for start in range(0, len(ids), CHUNK):
            session.execute(
                update(ReplyDraft).where(ReplyDraft.item_id.in_(ids[start:start + CHUNK]),
                                         ReplyDraft.status == "pending_approval")
                .values(status="superseded", decided_at=now)
            )
        session.execute(insert(ReplyEvent.__table__), [
            {"item_id": item_id, "account_key": account_key, "kind": "answered_in_feed", "actor": "account",
             "actor_name": reply.author_name, "at": now, "text": (reply.text or "")[:2000],
             "details": {"comment_id": reply.comment_id}}
            for item_id, (reply, account_key) in closing.items()
        ])

    def scores_stale(self, sample: int = 20) -> bool:
        """Whether the newest unanswered items' stored scores differ from what the priority formula and the
        configured weights give now (after an upgrade that changed the formula, or a weights change): then
        `rescore_open` brings the queue in line, else old items kept ranking by the old weights."""
        with self.db.session() as session:
            items = session.exec(select(ReplyQueueItem).where(ReplyQueueItem.state.in_(m.UNANSWERED_STATES))
                                 .order_by(ReplyQueueItem.id.desc()).limit(sample)).all()
            comments = self._comments_for(session, items)
        now = self.clock.now()
        for item in items:
            comment = comments.get((item.platform, item.comment_id))
            if comment is not None:
                values = self._item_values(comment, item.thread_root_id, now)
                if abs(values["static_score"] - item.static_score) > 1e-3 or values["sla_seconds"] != item.sla_seconds:
                    return True
        return False

    def rescore_open(self, *, batch: int = 2000) -> int:
        """Recompute every unanswered item's stored score and deadline from its comment (see scores_stale);
        how many changed. Batched by id, one executemany UPDATE per batch."""
        last_id, changed = 0, 0
        table = ReplyQueueItem.__table__
        # only where the score is still the one read: an item the ingest listener re-scored meanwhile (new
        # likes) keeps that newer score instead of getting this pass's, computed from the older comment
        stmt = (update(table).where(table.c.id == bindparam("b_id"), table.c.static_score == bindparam("b_old"),
                                    or_(table.c.state == m.OPEN, table.c.state == m.PENDING_APPROVAL))
                .values(static_score=bindparam("b_score"), sla_seconds=bindparam("b_sla"), due_ts=bindparam("b_due"),
                        urgent=bindparam("b_urgent")))
        while True:
            now = self.clock.now()
            with self.db.session() as session:
                items = session.exec(select(ReplyQueueItem).where(
                    ReplyQueueItem.id > last_id, ReplyQueueItem.state.in_(m.UNANSWERED_STATES))
                    .order_by(ReplyQueueItem.id).limit(batch)).all()
                if not items:
                    return changed
                comments = self._comments_for(session, items)
                rows = []
                for item in items:
                    comment = comments.get((item.platform, item.comment_id))
                    if comment is None:
                        continue
                    values = self._item_values(comment, item.thread_root_id, now)
                    if (abs(values["static_score"] - item.static_score) > 1e-6 or values["sla_seconds"] != item.sla_seconds
                            or values["urgent"] != item.urgent):
                        rows.append({"b_id": item.id, "b_old": item.static_score, "b_score": values["static_score"],
                                     "b_sla": values["sla_seconds"],
                                     "b_due": values["due_ts"], "b_urgent": values["urgent"]})
                if rows:
                    session.execute(stmt, rows)
                changed += len(rows)
            last_id = items[-1].id or last_id

    def rebuild(self, *, batch: int = 5000, up_to_id: int | None = None) -> int:
        """Fill the queue from stored comments (after the migration on a database that already has data).

        `up_to_id` bounds it to the comments stored before the listener was attached; later ones reach the
        queue through the listener anyway.
        """
        last_id, total = 0, 0
        while True:
            with self.db.session() as session:
                stmt = select(Comment).where(Comment.id > last_id)
                if up_to_id is not None:
                    stmt = stmt.where(Comment.id <= up_to_id)
                rows = session.exec(stmt.order_by(Comment.id).limit(batch)).all()
                if not rows:
                    return total
                self._apply_comments(session, rows, self.clock.now())
            last_id = rows[-1].id or last_id
            total += len(rows)

    def backfill_bound(self) -> int | None:
        """The last stored comment id when the queue is empty but comments exist (else None: no backfill)."""
        with self.db.session() as session:
            if session.exec(select(ReplyQueueItem.id).limit(1)).first() is not None:
                return None
            return session.exec(select(func.max(Comment.id))).one()

    def queue_is_empty(self) -> bool:
        with self.db.session() as session:
            return session.exec(select(ReplyQueueItem.id).limit(1)).first() is None

    # ---- listing --------------------------------------------------------------------------------------
    def score_expression(self, now: datetime):
        """static_score + the age part, computed by the database (portable CASE, no LEAST/MIN)."""
        ratio = (literal(now.timestamp()) - ReplyQueueItem.created_ts) / ReplyQueueItem.sla_seconds
        weight = age_weight(self.config.weights)
        age = case(
            (ratio >= AGE_SATURATION, literal(weight)),
            (ratio <= 0, literal(0.0)),
            else_=ratio * (weight / AGE_SATURATION),
        )
        return ReplyQueueItem.static_score + age

    def score_reasons(self, item: ReplyQueueItem, comment: Comment | None, now: datetime, lang: str = "zh") -> str:
        """Why an item ranks where it does: its biggest score parts, recomputed from its comment as stored
        (the same parts its stored static score was summed from) plus the age part at `now`; `lang` "en":
        in English alone, for a card of a channel set to English."""
        parts = static_parts(priority_inputs(comment), self.config.weights) if comment is not None else {}
        parts["age"] = age_part(now - ensure_aware(item.created_at), timedelta(seconds=item.sla_seconds),
                                self.config.weights)
        return top_reasons(parts, lang=lang)

    def list_queue(
        self,
        *,
        channel: str,
        user: str,
        account: str | None = None,
        mine: bool = False,
        overdue: bool = False,
        limit: int | None = None,
        offset: int = 0,
        unclaimed: bool = False,
    ) -> list[QueueEntry]:
        """Top unanswered items of the accounts this channel may see (or of ACCOUNT), best first; `offset`
        skips the first ranks (a later page), `unclaimed` leaves out items someone holds."""
        keys = self.resolve_accounts(channel, account)
        limit = max(1, min(limit or self.config.default_limit, self.config.max_limit))
        now = self.clock.now()
        offset = max(0, offset)
        ids = self.queue_ids(keys, user=user, mine=mine, overdue=overdue, limit=offset + limit, now=now,
                             unclaimed=unclaimed)[offset:]
        return self._entries(ids, user=user, now=now, channel=channel)

    def queue_page(self, *, channel: str, user: str, account: str | None = None, mine: bool = False,
                   overdue: bool = False, unclaimed: bool = False, limit: int | None = None,
                   page: int = 1) -> QueuePage:
        """Page `page` (from 1) of the queue, `limit` items a page, with the backlog's totals (the filters
        applied): a list of the top 5 used to be all anyone saw of 10,000 open comments."""
        keys = self.resolve_accounts(channel, account)
        limit = max(1, min(limit or self.config.default_limit, self.config.max_limit))
        now = self.clock.now()
        total, late = self.queue_counts(keys, user=user, mine=mine, overdue=overdue, unclaimed=unclaimed, now=now)
        offset = (max(1, page) - 1) * limit
        if offset >= total:  # past the last page: nothing to read (a huge --page must not rank every item)
            return QueuePage([], total, late, offset, limit)
        ids = self.queue_ids(keys, user=user, mine=mine, overdue=overdue, limit=offset + limit, now=now,
                             unclaimed=unclaimed)[offset:]
        return QueuePage(self._entries(ids, user=user, now=now, channel=channel), total, late, offset, limit)

    def queue_counts(self, keys: list[str] | None, *, user: str, mine: bool = False, overdue: bool = False,
                     unclaimed: bool = False, now: datetime | None = None) -> tuple[int, int]:
        """(unanswered, overdue) items of these accounts matching the filters, in one counting query."""
        now = now or self.clock.now()
        late = ReplyQueueItem.due_ts < now.timestamp()
        stmt = select(func.count(), func.coalesce(func.sum(case((late, 1), else_=0)), 0)).select_from(
            ReplyQueueItem).where(self._account_condition(keys), *self._filters(user=user, mine=mine,
                                                                               unclaimed=unclaimed, now=now))
        if overdue:
            stmt = stmt.where(late)
        with self.db.session() as session:
            total, late_count = session.exec(stmt).one()
        return int(total or 0), int(late_count or 0)

    @staticmethod
    def _filters(*, user: str, mine: bool, unclaimed: bool, now: datetime) -> list:
        """The unanswered items --mine / --unclaimed keep (an item awaiting approval is held by its writer)."""
        if unclaimed:
            return [ReplyQueueItem.state == m.OPEN, ReplyQueueItem.claimed_by.is_(None) | (
                ReplyQueueItem.claim_expires_at.is_(None)) | (ReplyQueueItem.claim_expires_at <= now)]
        conditions = [ReplyQueueItem.state.in_(m.UNANSWERED_STATES)]
        if mine:
            conditions += [ReplyQueueItem.claimed_by == user, ReplyQueueItem.claim_expires_at > now]
        return conditions

    def _entries(self, ids: list[tuple[int, float]], *, user: str, now: datetime, channel: str) -> list[QueueEntry]:
        if not ids:
            return []
        lang = self.app_config.channel_language(channel)  # the reasons are read in the channel's language
        with self.db.session() as session:
            items = {i.id: i for i in session.exec(select(ReplyQueueItem).where(ReplyQueueItem.id.in_([x for x, _ in ids]))).all()}
            comments = self._comments_for(session, list(items.values()))
        entries = []
        for item_id, score in ids:
            item = items[item_id]
            holder_active = item.claimed_by is not None and item.claim_expires_at is not None and item.claim_expires_at > now
            comment = comments.get((item.platform, item.comment_id))
            entries.append(QueueEntry(
                item=item, comment=comment, score=float(score),
                overdue=now.timestamp() > item.due_ts, age=now - ensure_aware(item.created_at),
                claimed_by_other=holder_active and item.claimed_by != user,
                reasons=self.score_reasons(item, comment, now, lang),
            ))
        return entries

    def queue_ids(self, keys: list[str] | None, *, user: str, mine: bool = False, overdue: bool = False,
                  limit: int = 20, now: datetime | None = None, unclaimed: bool = False) -> list[tuple[int, float]]:
        """The ordered (id, score) pairs of the queue query; split out so the benchmark times exactly it.

        The age part of the score stops growing at AGE_SATURATION x SLA, so every item older than that
        scores exactly static_score + the full age weight. The top N of those come straight from the
        (account, state, static_score) index, per account, without reading the rest; only the recent items
        (whose age part still grows) and pending approvals are scored one by one. The result is the same as
        ordering every open item by the full score (a test checks this).
        """
        now = now or self.clock.now()
        if mine or keys is None or len(keys) > MAX_ACCOUNTS_PER_SEEK:
            return self._queue_ids_scan(keys, user=user, mine=mine, overdue=overdue, limit=limit, now=now,
                                        unclaimed=unclaimed)
        if not keys:
            return []
        weights = self.config.weights
        full_age = age_weight(weights)
        longest_sla = 60 * max(self.config.sla_minutes, self.config.sla_minutes_negative)
        cutoff = now.timestamp() - AGE_SATURATION * longest_sla
        found: dict[int, tuple[float, float]] = {}  # id -> (score, created_ts)
        free = self._filters(user=user, mine=False, unclaimed=True, now=now)[1:] if unclaimed else []
        with self.db.session() as session:
            # One statement: per account, the best N saturated items read in index order (UNION ALL of
            # ordered, limited subqueries; SQLite needs each wrapped as a subquery).
            per_account = [
                select(ReplyQueueItem.id, ReplyQueueItem.static_score, ReplyQueueItem.created_ts)
                # "+ 0" keeps planners off the created_ts index here: reading (account, state,
                # static_score) in order and stopping after N is the point.
                .where(ReplyQueueItem.account_key == key, ReplyQueueItem.state == m.OPEN,
                       ReplyQueueItem.created_ts + 0 <= cutoff, *free)
                .order_by(ReplyQueueItem.static_score.desc(), ReplyQueueItem.created_ts.asc())
                .limit(limit)
                .subquery()
                for key in keys
            ]
            parts = [select(sub.c.id, sub.c.static_score, sub.c.created_ts) for sub in per_account]
            saturated = session.exec(parts[0] if len(parts) == 1 else union_all(*parts)).all()
            for item_id, static, created_ts in saturated:
                found[int(item_id)] = (float(static) + full_age, float(created_ts))
            score = self.score_expression(now)
            rest = select(ReplyQueueItem.id, score, ReplyQueueItem.created_ts).where(
                ReplyQueueItem.account_key.in_(keys),
                or_(and_(ReplyQueueItem.state == m.OPEN, ReplyQueueItem.created_ts > cutoff),
                    ReplyQueueItem.state == m.PENDING_APPROVAL),
            )
            if overdue:
                rest = rest.where(ReplyQueueItem.due_ts < now.timestamp())
            if unclaimed:
                rest = rest.where(ReplyQueueItem.state == m.OPEN, *free)
            for item_id, item_score, created_ts in session.exec(rest).all():
                found[int(item_id)] = (float(item_score), float(created_ts))
        # Saturated items are past their due time already (cutoff < created + SLA < now), so --overdue
        # needs no filter for them.
        ordered = sorted(found.items(), key=lambda pair: (-round(pair[1][0], 9), pair[1][1]))
        return [(item_id, item_score) for item_id, (item_score, _) in ordered[:limit]]

    def _queue_ids_scan(self, keys: list[str] | None, *, user: str, mine: bool, overdue: bool, limit: int,
                        now: datetime, unclaimed: bool = False) -> list[tuple[int, float]]:
        """Score every matching item in SQL (used for --mine, whose claims are few, and very wide scopes)."""
        score = self.score_expression(now).label("score")
        stmt = select(ReplyQueueItem.id, score, ReplyQueueItem.created_ts).where(
            self._account_condition(keys), *self._filters(user=user, mine=mine, unclaimed=unclaimed, now=now)
        )
        if overdue:
            stmt = stmt.where(ReplyQueueItem.due_ts < now.timestamp())
        with self.db.session() as session:
            rows = session.exec(stmt).all() if mine else session.exec(
                stmt.order_by(score.desc(), ReplyQueueItem.created_ts.asc()).limit(limit)).all()
        ordered = sorted(rows, key=lambda row: (-round(float(row[1]), 9), float(row[2])))
        return [(int(i), float(s)) for i, s, _ in ordered[:limit]]

    @staticmethod
    def _comments_for(session: Session, items: Iterable[ReplyQueueItem]) -> dict[tuple[str, str], Comment]:
        by_platform: dict[str, list[str]] = {}
        for item in items:
            by_platform.setdefault(item.platform, []).append(item.comment_id)
        found: dict[tuple[str, str], Comment] = {}
        for platform, ids in by_platform.items():
            rows = session.exec(
                select(Comment).options(defer(Comment.raw))  # the raw payload can be large and is not shown
                .where(Comment.platform == platform, Comment.comment_id.in_(ids))
            ).all()
            found.update({(r.platform, r.comment_id): r for r in rows})
        return found

    def get_item(self, item_id: int, channel: str) -> tuple[ReplyQueueItem, Comment | None]:
        with self.db.session() as session:
            item = session.get(ReplyQueueItem, item_id)
            # Another client's item is answered exactly as one that does not exist: "this channel may not act
            # on bilibili:xiaochu_kitchen" told a client which other client's account the number belonged to.
            if item is None or not self.scope.can_see(channel, item.account_key):
                raise self._no_item(item_id)
            comment = session.exec(
                select(Comment).where(Comment.platform == item.platform, Comment.comment_id == item.comment_id)
            ).first()
        return item, comment

    # ---- claims ---------------------------------------------------------------------------------------
    def claim(self, item_id: int, *, user: str, user_name: str | None, channel: str) -> ClaimResult:
        """Claim exclusively until the expiry; the loser of a race learns who holds it.

        One conditional UPDATE ... RETURNING decides (the row lock makes it exclusive on PostgreSQL; SQLite
        has one writer). Only a refused claim reads the item again, to say why.
        """
        now = self.clock.now()
        expires = now + timedelta(minutes=self.config.claim_minutes)
        scope = self._account_condition(self.resolve_accounts(channel, None))
        with self.db.session() as session:
            self._relax_durability(session)
            won = session.execute(
                update(ReplyQueueItem)
                .where(
                    ReplyQueueItem.id == item_id, scope, ReplyQueueItem.state.in_(m.UNANSWERED_STATES),
                    or_(ReplyQueueItem.claimed_by.is_(None), ReplyQueueItem.claim_expires_at <= now,
                        ReplyQueueItem.claimed_by == user),
                )
                .values(claimed_by=user, claimed_by_name=user_name, claim_expires_at=expires)
                .returning(ReplyQueueItem)
                .execution_options(synchronize_session=False)
            ).scalars().first()
            if won is not None:
                session.add(ReplyEvent(item_id=item_id, account_key=won.account_key, kind="claimed", actor=user,
                                       actor_name=user_name, at=now, details={"expires_at": expires.isoformat()}))
        if won is not None:
            return ClaimResult(True, won, user, user_name, expires)
        current, _ = self.get_item(item_id, channel)  # raises when missing or out of this channel's scope
        if current.state not in m.UNANSWERED_STATES:
            return ClaimResult(False, current, current.responder, current.responder_name, None, closed=True)
        return ClaimResult(False, current, current.claimed_by, current.claimed_by_name, current.claim_expires_at)

    @staticmethod
    def _relax_durability(session: Session) -> None:
        """Claims are 15-minute soft locks: on PostgreSQL, skip waiting for the WAL flush at commit.

        Exclusivity and atomicity are unchanged (the row lock and commit visibility decide the race); a
        server crash may forget a claim made in the last moments before it, which only reopens the item.
        """
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sql_text("SET LOCAL synchronous_commit TO OFF"))

    def release(self, item_id: int, *, user: str, user_name: str | None, channel: str) -> bool:
        item, _ = self.get_item(item_id, channel)
        with self.db.session() as session:
            done = session.execute(
                # a handled item keeps its last holder's name; releasing it then "released" nothing
                update(ReplyQueueItem).where(ReplyQueueItem.id == item_id, ReplyQueueItem.claimed_by == user,
                                             ReplyQueueItem.state.in_(m.UNANSWERED_STATES))
                .values(claimed_by=None, claimed_by_name=None, claim_expires_at=None)
            ).rowcount == 1
            if done:
                session.add(ReplyEvent(item_id=item_id, account_key=item.account_key, kind="released", actor=user,
                                       actor_name=user_name, at=self.clock.now()))
        return done

    def _active_holder(self, item: ReplyQueueItem, user: str, now: datetime) -> str | None:
        if item.claimed_by and item.claimed_by != user and item.claim_expires_at and item.claim_expires_at > now:
            return item.claimed_by_name or item.claimed_by
        return None

    # ---- replying -------------------------------------------------------------------------------------
    def precheck(self, text: str) -> PrecheckResult:
        return self.prechecker.check(text)

    def needs_approval(self, item: ReplyQueueItem, comment: Comment | None) -> bool:
        rules = self.config.approval
        if item.account_key in rules.accounts:
            return True
        if comment is None:
            return False
        signals = signals_of(comment)
        if rules.negative and signals.label == "neg":
            return True
        return bool(rules.risk and signals.risk_terms)

    def posts_via_webhook(self, account_key: str) -> bool:
        posting = self.config.posting
        return bool(posting.webhook_url) and (not posting.accounts or account_key in posting.accounts)

    def mark_replied(self, item_id: int, *, user: str, user_name: str | None, channel: str,
                     text: str | None = None) -> ReplyOutcome:
        """已回复: without text, record a reply made by hand; with text, precheck, maybe ask for approval,
        then post it through the outbox (webhook) or record it."""
        item, comment = self.get_item(item_id, channel)
        now = self.clock.now()
        if item.state not in m.UNANSWERED_STATES:
            return ReplyOutcome("closed", item, holder_name=item.responder_name or item.responder)
        holder = self._active_holder(item, user, now)
        if holder:
            return ReplyOutcome("claimed_by_other", item, holder_name=holder)
        if item.state == m.PENDING_APPROVAL:
            return self._pending(item)
        text = (text or "").strip()
        if not text:
            closed = self._close_replied(item, user=user, user_name=user_name, now=now, draft=None,
                                         kind="marked_replied")
            return ReplyOutcome("recorded", self._reload(item_id)) if closed else self._refused(item_id, user, now)
        result = self.prechecker.check(text)
        if result.blocked:
            with self.db.session() as session:
                session.add(ReplyEvent(item_id=item_id, account_key=item.account_key, kind="precheck_blocked",
                                       actor=user, actor_name=user_name, at=now, text=text[:2000],
                                       details={"findings": [f.to_dict() for f in result.blocking]}))
            return ReplyOutcome("blocked", item, precheck=result)
        delivery = "webhook" if self.posts_via_webhook(item.account_key) else "manual"
        if self.needs_approval(item, comment):
            with self.db.session() as session:
                moved = session.execute(
                    update(ReplyQueueItem).where(ReplyQueueItem.id == item_id, ReplyQueueItem.state == m.OPEN,
                                                 self._free_for(user, now))
                    .values(state=m.PENDING_APPROVAL, claimed_by=user, claimed_by_name=user_name,
                            claim_expires_at=now + timedelta(minutes=self.config.claim_minutes))
                ).rowcount == 1
                if not moved:
                    return self._refused(item_id, user, now)
                draft = ReplyDraft(item_id=item_id, account_key=item.account_key, text=text, status="pending_approval",
                                   delivery=delivery, written_by=user, written_by_name=user_name, written_at=now,
                                   channel=channel, precheck=result.to_dict())
                session.add(draft)
                session.flush()
                session.add(ReplyEvent(item_id=item_id, account_key=item.account_key, kind="approval_requested",
                                       actor=user, actor_name=user_name, at=now, text=text[:2000],
                                       details={"draft_id": draft.id}))
            return ReplyOutcome("pending_approval", self._reload(item_id), draft=draft, precheck=result)
        draft = ReplyDraft(item_id=item_id, account_key=item.account_key, text=text, status="new", delivery=delivery,
                           written_by=user, written_by_name=user_name, written_at=now, channel=channel,
                           precheck=result.to_dict())
        return self._publish(item, comment, draft, now=now, actor=user, actor_name=user_name, precheck=result,
                             claimant=user)

    def _publish(self, item: ReplyQueueItem, comment: Comment | None, draft: ReplyDraft, *, now: datetime,
                 actor: str, actor_name: str | None, precheck: PrecheckResult,
                 claimant: str | None = None) -> ReplyOutcome:
        """Close the item and post the text (webhook, through the outbox) or record it as replied by hand.

        `claimant`: the writer of a reply that needs no approval; it lands only on an open item nobody else
        holds (an approved draft's item is pending approval, held by its writer)."""
        if claimant is None:
            guard = ReplyQueueItem.state.in_(m.UNANSWERED_STATES)
        else:
            guard = and_(ReplyQueueItem.state == m.OPEN, self._free_for(claimant, now))
        with self.db.session() as session:
            closed = session.execute(
                update(ReplyQueueItem).where(ReplyQueueItem.id == item.id, guard)
                .values(state=m.REPLIED, closed_at=now, responder=draft.written_by, responder_name=draft.written_by_name,
                        first_response_at=func.coalesce(ReplyQueueItem.first_response_at, now))
            ).rowcount == 1
            if not closed:
                return self._refused(item.id or 0, claimant, now) if claimant else ReplyOutcome(
                    "closed", self._reload(item.id or 0))
            draft.status = "queued" if draft.delivery == "webhook" else "recorded"
            session.add(draft)
            session.flush()
            if draft.delivery == "webhook":
                draft.outbox_key = f"reply-post:{draft.id}"
                message = Message(text=draft.text, meta={"reply_post": {
                    "draft_id": draft.id, "item_id": item.id, "platform": item.platform,
                    "account_id": item.account_key.partition(":")[2], "content_id": item.content_id,
                    "comment_id": item.comment_id, "thread_root_id": item.thread_root_id,
                    "written_by": draft.written_by, "approved_by": draft.approver,
                    "content_url": comment.content_url if comment else None,
                }})
                self.outbox.enqueue(session, channel=f"{WEBHOOK_PLATFORM}:{item.account_key}", message=message,
                                    key=draft.outbox_key)
                session.add(draft)
            session.add(ReplyEvent(item_id=item.id or 0, account_key=item.account_key,
                                   kind="reply_queued" if draft.delivery == "webhook" else "reply_recorded",
                                   actor=actor, actor_name=actor_name, at=now, text=draft.text[:2000],
                                   details={"draft_id": draft.id, "written_by": draft.written_by,
                                            "approved_by": draft.approver}))
        return ReplyOutcome("queued" if draft.delivery == "webhook" else "recorded", self._reload(item.id or 0),
                            draft=draft, precheck=precheck)

    def _close_replied(self, item: ReplyQueueItem, *, user: str, user_name: str | None, now: datetime,
                       draft: ReplyDraft | None, kind: str) -> bool:
        with self.db.session() as session:
            closed = session.execute(
                update(ReplyQueueItem).where(ReplyQueueItem.id == item.id, ReplyQueueItem.state == m.OPEN,
                                             self._free_for(user, now))
                .values(state=m.REPLIED, closed_at=now, responder=user, responder_name=user_name,
                        first_response_at=func.coalesce(ReplyQueueItem.first_response_at, now))
            ).rowcount == 1
            if closed:
                session.add(ReplyEvent(item_id=item.id or 0, account_key=item.account_key, kind=kind, actor=user,
                                       actor_name=user_name, at=now))
        return closed

    @staticmethod
    def _free_for(user: str, now: datetime):
        """SQL: nobody but `user` holds a live claim. Part of each closing UPDATE, so a claim taken between
        the check that answers "claimed by X" and the write still wins (two responders never both act)."""
        return or_(ReplyQueueItem.claimed_by.is_(None), ReplyQueueItem.claimed_by == user,
                   ReplyQueueItem.claim_expires_at.is_(None), ReplyQueueItem.claim_expires_at <= now)

    def _refused(self, item_id: int, user: str, now: datetime) -> ReplyOutcome:
        """Why a closing UPDATE matched nothing: someone else's claim, a reply awaiting approval, or handled."""
        item = self._reload(item_id)
        if item.state in m.UNANSWERED_STATES:
            holder = self._active_holder(item, user, now)
            if holder:
                return ReplyOutcome("claimed_by_other", item, holder_name=holder)
            if item.state == m.PENDING_APPROVAL:
                return self._pending(item)
        return ReplyOutcome("closed", item, holder_name=item.responder_name or item.responder)

    def _pending(self, item: ReplyQueueItem) -> ReplyOutcome:
        """Why an item awaiting approval cannot be replied to or skipped, naming the draft to decide on."""
        with self.db.session() as session:
            draft_id = session.exec(
                select(ReplyDraft.id).where(ReplyDraft.item_id == item.id, ReplyDraft.status == "pending_approval")
                .order_by(ReplyDraft.id.desc())
            ).first()
        if draft_id is None:
            return ReplyOutcome("pending_approval", item, reason="已有回复在等待审批 / a reply already awaits approval",
                                reason_en="A reply already awaits approval")
        return ReplyOutcome(
            "pending_approval", item,
            reason=(f"已有回复（草稿 {draft_id}）在等待审批：/reply-queue approve {draft_id} 或 reject {draft_id} / "
                    f"a reply (draft {draft_id}) awaits approval: approve or reject it first"),
            reason_en=(f"A reply (draft {draft_id}) awaits approval: /reply-queue approve {draft_id} or "
                       f"reject {draft_id} first"))

    def _reload(self, item_id: int) -> ReplyQueueItem:
        with self.db.session() as session:
            item = session.get(ReplyQueueItem, item_id)
        assert item is not None
        return item

    def get_draft(self, draft_id: int, channel: str) -> tuple[ReplyDraft, ReplyQueueItem, Comment | None]:
        with self.db.session() as session:
            draft = session.get(ReplyDraft, draft_id)
        if draft is None:
            raise self._no_draft(draft_id)
        try:
            item, comment = self.get_item(draft.item_id, channel)
        except NotFound:
            raise self._no_draft(draft_id) from None  # another client's draft: as if there were none
        return draft, item, comment

    def is_approver(self, user: str) -> bool:
        members = self.app_config.roles.get(self.config.approval.role) or []
        return not members or user in members

    def approve(self, draft_id: int, *, user: str, user_name: str | None, channel: str) -> ReplyOutcome:
        """A second person with the approver role approves; the reply is then posted or recorded."""
        draft, item, comment = self.get_draft(draft_id, channel)
        now = self.clock.now()
        if draft.status != "pending_approval":
            zh, en = DRAFT_STATUS_WORDS.get(draft.status, (draft.status, draft.status))
            return ReplyOutcome("closed", item, draft=draft, reason=f"这条回复{zh} / this reply was {en}",
                                reason_en=f"This reply was {en}")
        if draft.written_by == user:
            return ReplyOutcome("forbidden", item, draft=draft,
                                reason="不能审批自己写的回复，需要另一位审批人 / a second person must approve",
                                reason_en="You cannot approve your own reply: a second person must approve")
        if not self.is_approver(user):
            members = ", ".join(self.app_config.roles.get(self.config.approval.role) or [])
            return ReplyOutcome("forbidden", item, draft=draft,
                                reason=f"需要 {self.config.approval.role} 角色：{members} / needs the {self.config.approval.role} role",
                                reason_en=f"Needs the {self.config.approval.role} role: {members}")
        result = self.prechecker.check(draft.text)  # the lists may have changed since it was written
        if result.blocked:
            return ReplyOutcome("blocked", item, draft=draft, precheck=result)
        with self.db.session() as session:
            decided = session.execute(
                update(ReplyDraft).where(ReplyDraft.id == draft_id, ReplyDraft.status == "pending_approval")
                .values(status="approved", approver=user, approver_name=user_name, decided_at=now)
            ).rowcount == 1
            if decided:
                session.add(ReplyEvent(item_id=item.id or 0, account_key=item.account_key, kind="approved", actor=user,
                                       actor_name=user_name, at=now, details={"draft_id": draft_id}))
        if not decided:
            return ReplyOutcome("closed", item, draft=draft, reason="已被他人处理 / already decided",
                                reason_en="Already decided by someone else")
        with self.db.session() as session:
            fresh = session.get(ReplyDraft, draft_id)
        assert fresh is not None
        return self._publish(item, comment, fresh, now=now, actor=user, actor_name=user_name, precheck=result)

    def reject(self, draft_id: int, *, user: str, user_name: str | None, channel: str, reason: str = "") -> ReplyOutcome:
        draft, item, _ = self.get_draft(draft_id, channel)
        now = self.clock.now()
        if not self.is_approver(user):
            return ReplyOutcome("forbidden", item, draft=draft,
                                reason=f"需要 {self.config.approval.role} 角色 / needs the {self.config.approval.role} role",
                                reason_en=f"Needs the {self.config.approval.role} role")
        with self.db.session() as session:
            decided = session.execute(
                update(ReplyDraft).where(ReplyDraft.id == draft_id, ReplyDraft.status == "pending_approval")
                .values(status="rejected", approver=user, approver_name=user_name, decided_at=now, reject_reason=reason)
            ).rowcount == 1
            if decided:
                session.execute(
                    update(ReplyQueueItem).where(ReplyQueueItem.id == item.id, ReplyQueueItem.state == m.PENDING_APPROVAL)
                    .values(state=m.OPEN)
                )
                session.add(ReplyEvent(item_id=item.id or 0, account_key=item.account_key, kind="rejected", actor=user,
                                       actor_name=user_name, at=now, text=reason or None, details={"draft_id": draft_id}))
        if not decided:
            return ReplyOutcome("closed", item, draft=draft, reason="已被他人处理 / already decided",
                                reason_en="Already decided by someone else")
        return ReplyOutcome("rejected", self._reload(item.id or 0), draft=draft, reason=reason)

    def delivery_result(self, outbox_key: str, *, ok: bool, platform_reply_id: str | None = None,
                        error: str | None = None) -> None:
        """Called by the webhook port: a queued reply was posted (or refused for good: reopen the item)."""
        now = self.clock.now()
        with self.db.session() as session:
            draft = session.exec(select(ReplyDraft).where(ReplyDraft.outbox_key == outbox_key)).first()
            if draft is None:
                return
            if ok:
                draft.status, draft.posted_at, draft.platform_reply_id = "posted", now, platform_reply_id
                kind = "posted"
            else:
                draft.status = "failed"
                kind = "post_failed"
                # The commenter never got this reply: the item is unanswered again, so it must not count as a
                # first response (stats showed it as replied within the SLA while it was back in the queue).
                # Only REPLIED is reopened, and a REPLIED item got its first_response_at from this very reply.
                session.execute(
                    update(ReplyQueueItem).where(ReplyQueueItem.id == draft.item_id, ReplyQueueItem.state == m.REPLIED)
                    .values(state=m.OPEN, closed_at=None, first_response_at=None, responder=None, responder_name=None)
                )
            session.add(draft)
            session.add(ReplyEvent(item_id=draft.item_id, account_key=draft.account_key, kind=kind, actor="bot",
                                   at=now, text=error, details={"draft_id": draft.id, "reply_id": platform_reply_id}))
            if not ok:
                # The refused text and the command to send it again (edited): the writer had to retype it from
                # memory, and the notice named neither what was refused nor how to retry.
                if self.app_config.channel_language(draft.channel) == "en":  # English alone there
                    text = (f"⚠️ Posting the reply to #{draft.item_id} failed (refused by the receiver, not "
                            f"retried); it is back in the queue: {error}\n> {draft.text}\n"
                            f"Edit it and send it again with /reply-queue done {draft.item_id} \"NEW TEXT\".")
                else:
                    text = (f"⚠️ 回复 #{draft.item_id} 发布失败（接收方拒绝，不会自动重试），已重新放回队列：{error}\n"
                            f"> {draft.text}\n"
                            f"修改后重新发送：/reply-queue done {draft.item_id} \"新内容\"\n"
                            f"Posting the reply to #{draft.item_id} failed (refused by the receiver, not retried); "
                            f"it is back in the queue: {error}. Edit it and send it again with "
                            f"/reply-queue done {draft.item_id} \"new text\".")
                self.outbox.enqueue(session, channel=draft.channel, key=f"reply-post-failed:{draft.id}",
                                    message=Message(text=text, severity=2))
            item_id, channel = draft.item_id, draft.channel
        if not ok:
            # The cards showing the item still said "✅ 已回复" with no buttons: show it open again, in place.
            try:
                self.refresh_cards([item_id], channel=channel)
            except Exception:  # noqa: BLE001 - the reopening is committed; the card is cosmetic
                log.exception("could not refresh the reply-queue cards of %s after a refused reply", channel)

    def delivery_delayed(self, outbox_key: str, *, error: str) -> None:
        """Called by the webhook port after a failure it will retry (unreachable, 429, 5xx). The outbox retries
        for as long as it takes, so a reply is never lost; but the item already shows as replied, and the
        channel used to hear nothing while the webhook stayed down. Once a reply has waited
        POST_DELAY_NOTICE, the channel is told, once per reply."""
        now = self.clock.now()
        with self.db.session() as session:
            draft = session.exec(select(ReplyDraft).where(ReplyDraft.outbox_key == outbox_key)).first()
            if draft is None or draft.status != "queued":
                return
            queued_at = ensure_aware(max(t for t in (draft.written_at, draft.decided_at) if t is not None))
            if now - queued_at < POST_DELAY_NOTICE:
                return
            waited_zh, waited_en = duration_zh(now - queued_at), duration_en(now - queued_at)
            en = (f"The reply to #{draft.item_id} has waited {waited_en} and is not posted yet: the reply webhook "
                  f"keeps failing ({error}). The bot keeps retrying; the comment returns to the queue if it is refused.")
            if self.app_config.channel_language(draft.channel) == "en":  # English alone there
                text = f"⏳ {en}"
            else:
                text = (f"⏳ 回复 #{draft.item_id} 已等待 {waited_zh}仍未发布：回复 webhook 暂时不可用（{error}），机器人会继续重试，"
                        f"发布失败时评论会回到队列。\n{en}")
            sent = self.outbox.enqueue(session, channel=draft.channel, key=f"reply-post-delayed:{draft.id}",
                                       message=Message(text=text, severity=2))
            if sent:
                session.add(ReplyEvent(item_id=draft.item_id, account_key=draft.account_key, kind="post_delayed",
                                       actor="bot", at=now, text=error, details={"draft_id": draft.id}))

    # ---- skip, escalate ---------------------------------------------------------------------------------
    def skip(self, item_id: int, *, user: str, user_name: str | None, channel: str, reason: str) -> ReplyOutcome:
        item, _ = self.get_item(item_id, channel)
        now = self.clock.now()
        holder = self._active_holder(item, user, now)
        if holder:
            return ReplyOutcome("claimed_by_other", item, holder_name=holder)
        if item.state == m.PENDING_APPROVAL:
            # Not handled yet: a written reply waits for its approver (this used to answer "already handled").
            return self._pending(item)
        with self.db.session() as session:
            closed = session.execute(
                update(ReplyQueueItem).where(ReplyQueueItem.id == item_id, ReplyQueueItem.state == m.OPEN,
                                             self._free_for(user, now))
                .values(state=m.SKIPPED, closed_at=now, skip_reason=reason or None, responder=user,
                        responder_name=user_name)
            ).rowcount == 1
            if closed:
                session.add(ReplyEvent(item_id=item_id, account_key=item.account_key, kind="skipped", actor=user,
                                       actor_name=user_name, at=now, text=reason or None))
        if not closed:
            return self._refused(item_id, user, now)
        return ReplyOutcome("skipped", self._reload(item_id), reason=reason)

    def refusal(self, item_id: int, *, user: str, channel: str) -> ReplyOutcome | None:
        """Why `user` cannot act on the item now, whatever they type (someone else's claim, a reply awaiting
        approval, already handled), or None when it is open to them. An unknown item (or another client's)
        raises NotFound as the actions do. Asked before "a skip needs a reason" (which sent people to type a
        reason for an item a reason would not let them skip), after a release that held nothing, and before
        suggesting replies to post."""
        item, _ = self.get_item(item_id, channel)
        now = self.clock.now()
        if item.state == m.OPEN and self._active_holder(item, user, now) is None:
            return None
        return self._refused(item_id, user, now)

    def escalate(self, item_id: int, *, user: str, user_name: str | None, channel: str, note: str = "") -> EscalateOutcome:
        """升级: hand the comment to the crisis playbooks (attach to an active run or start one) when present."""
        item, comment = self.get_item(item_id, channel)
        now = self.clock.now()
        refused = self._escalation_refused(item, user, now)
        if refused is not None:
            return refused
        with self.db.session() as session:
            # Taken first, conditionally, so two presses cannot both add the comment to a run's timeline, and a
            # claim or a skip that lands in between still wins.
            taken = session.execute(
                update(ReplyQueueItem).where(ReplyQueueItem.id == item_id, ReplyQueueItem.escalated_at.is_(None),
                                             ReplyQueueItem.state.not_in(ESCALATION_CLOSED), self._free_for(user, now))
                .values(escalated_at=now, escalated_by=user)
            ).rowcount == 1
        if not taken:
            return self._escalation_refused(self._reload(item_id), user, now) or EscalateOutcome(
                self._reload(item_id), False, "", status="already")
        playbooks = self._playbooks()
        attach = getattr(playbooks, "escalate_comment", None) if playbooks is not None else None
        attached, text, text_en = False, "", ""
        if attach is None:
            text_en = "Crisis playbooks are not enabled: marked as escalated, follow up by hand."
            text = f"危机预案功能未启用，已标记为升级，请在频道中人工跟进。\n{text_en}"
        else:
            try:
                text = str(attach(
                    channel=channel, account_key=item.account_key, platform=item.platform,
                    comment_id=item.comment_id, text=comment.text if comment else "", user=user,
                    user_name=user_name, note=note,
                ) or "")
                attached = True
            except Exception as exc:  # noqa: BLE001 - the escalation is recorded even if the run fails
                log.exception("escalating item %s to playbooks failed", item_id)
                text_en = f"Escalating to the playbooks failed: {exc}"
                text = f"升级到危机预案失败：{exc}\n{text_en}"
                # not escalated after all: the mark taken above is given back, so pressing again retries
                with self.db.session() as session:
                    session.execute(update(ReplyQueueItem).where(
                        ReplyQueueItem.id == item_id, ReplyQueueItem.escalated_at == now,
                        ReplyQueueItem.escalated_by == user).values(escalated_at=None, escalated_by=None))
        with self.db.session() as session:
            session.add(ReplyEvent(item_id=item_id, account_key=item.account_key, kind="escalated", actor=user,
                                   actor_name=user_name, at=now, text=note or None,
                                   details={"attached": attached, "result": text[:500]}))
        return EscalateOutcome(self._reload(item_id), attached, text, note_en=text_en)

    def _escalation_refused(self, item: ReplyQueueItem, user: str, now: datetime) -> EscalateOutcome | None:
        """Why `user` may not escalate `item` now, or None: someone else's live claim (as done/skip), an item
        already escalated (it was added to a run once; a second press added it again), or a closed one."""
        holder = self._active_holder(item, user, now)
        if holder:
            return EscalateOutcome(item, False, "", status="claimed_by_other", holder_name=holder)
        if item.escalated_at is not None:
            with self.db.session() as session:
                first = session.exec(select(ReplyEvent).where(ReplyEvent.item_id == item.id,
                                                              ReplyEvent.kind == "escalated")
                                     .order_by(ReplyEvent.id)).first()
            result = str((first.details or {}).get("result") or "") if first is not None else ""
            run = re.search(r"#(\d+)", result)
            who = (first.actor_name or first.actor) if first is not None else item.escalated_by
            return EscalateOutcome(item, False, "", status="already", holder_name=who,
                                   run=int(run.group(1)) if run else None)
        if item.state in ESCALATION_CLOSED:
            return EscalateOutcome(item, False, "", status="closed", holder_name=item.responder_name)
        return None

    # ---- cards ----------------------------------------------------------------------------------------
    def refresh_cards(self, item_ids: Iterable[int], *, channel: str, message_ref: str | None = None) -> int:
        """Re-render in place the queue cards of `channel` that show any of these items (the pressed card
        through its platform message id, and the CARD_REFRESH_OTHERS newest other ones by their meta), so a
        claimed / replied / skipped item shows who did what and loses its buttons instead of the card being
        posted again. Every item of a card is rendered from its stored state, so two presses on one card
        cannot undo each other's line. A card whose previous refresh still waits in the outbox gets this
        version in that refresh's place (one edit, not two). Returns how many cards were refreshed."""
        from bot.replies import render  # rendering lives beside the handlers' strings

        wanted = {int(i) for i in item_ids if i}
        if not wanted:
            return 0
        with self.db.session() as session:
            cards: dict[str, Message] = {}
            if message_ref:
                pressed = session.exec(
                    select(OutboxMessage).where(OutboxMessage.channel == channel, OutboxMessage.status == "sent",
                                                OutboxMessage.platform_message_id == str(message_ref))
                    .order_by(OutboxMessage.id.desc())
                ).first()
                if pressed is not None:
                    self._add_card(session, cards, pressed.update_of or pressed.key, wanted=None)
            # Only the card meta's item list of each recent post, extracted by the database: reading and
            # decoding every whole payload (up to 50 rendered items each) cost more than the rest of a press.
            shown_ids = OutboxMessage.payload[("meta", render.CARD_META, "items")]
            recent = session.execute(
                select(OutboxMessage.id, OutboxMessage.key, shown_ids).where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.status == "sent",  # (channel, status, id) index order
                    OutboxMessage.kind == "post")
                .order_by(OutboxMessage.id.desc()).limit(CARD_SCAN_ROWS)
            ).all()
            # Newest first (the scan's order), capped: every card is one chat edit, queued in the channel.
            others = CARD_REFRESH_OTHERS if cards else CARD_REFRESH_OTHERS + 1
            showing = [row_id for row_id, key, ids in recent
                       if key not in cards and isinstance(ids, list) and wanted.intersection(_int_ids(ids))][:others]
            if showing:
                for row in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(showing))).all():
                    self._add_card(session, cards, row.key, wanted=wanted, row=row)
            if not cards:
                return 0
            shown = {i for card in cards.values() for i in render.card_items(card)}
            items = list(session.exec(select(ReplyQueueItem).where(ReplyQueueItem.id.in_(sorted(shown)))).all())
            by_id = {item.id: item for item in items}
            now, zone = self.clock.now(), self.zone_for(channel)
            overdue_totals = self._overdue_totals(session, cards.values(), now=now)
            comments = self._comments_for(session, items)
            drafts = {
                d.id: d for d in session.exec(select(ReplyDraft).where(ReplyDraft.id.in_(sorted(
                    {c.meta[render.CARD_META]["approval_draft"] for c in cards.values()
                     if isinstance(c.meta.get(render.CARD_META), dict) and c.meta[render.CARD_META].get("approval_draft")}
                )))).all()
            }
            # each card's items in the language it was posted in (an English channel's cards say Sentiment…)
            langs = {render.card_lang(card) for card in cards.values()}
            by_lang: dict[str, dict] = {lang: {} for lang in langs}
            for item in items:
                open_ = item.state in m.UNANSWERED_STATES
                score = (item.static_score + age_part(now - ensure_aware(item.created_at),
                                                      timedelta(seconds=item.sla_seconds), self.config.weights)
                         if open_ else None)
                comment = comments.get((item.platform, item.comment_id))
                for lang in langs:
                    by_lang[lang][item.id] = render.item_section(
                        item, comment, now=now, score=score,
                        overdue=open_ and now.timestamp() > item.due_ts,
                        account_name=self.account_names.get(item.account_key), zone=zone,
                        reasons=self.score_reasons(item, comment, now, lang) if open_ else "", lang=lang,
                    )
            queued = 0
            for key, card in cards.items():
                meta = card.meta.get(render.CARD_META) or {}
                draft = drafts.get(meta.get("approval_draft")) if isinstance(meta, dict) else None
                sections = by_lang[render.card_lang(card)]
                if draft is not None:  # the approval card shows its item without buttons, as when posted
                    shown_sections = {i: replace(s, buttons=()) for i, s in sections.items()}
                else:
                    shown_sections = sections
                account = (meta.get("reminder") or {}).get("account") if isinstance(meta, dict) else None
                summary = render.card_summary(card, by_id, now=now, overdue_total=overdue_totals.get(account))
                fresh = render.refreshed_card(card, shown_sections, draft=draft, summary=summary)
                self.outbox.enqueue(session, channel=channel, message=fresh, update_of=key, refresh=True,
                                    key=f"{key}:refresh:{uuid.uuid4().hex[:16]}"[-255:])
                queued += 1
        return queued

    @staticmethod
    def _overdue_totals(session: Session, cards: Iterable[Message], *, now: datetime) -> dict[str, int]:
        """The accounts' overdue counts now, for the reminder cards among `cards` (whose summary says it):
        counted as the reminder counts them (items overdue on arrival left out)."""
        from bot.replies import render

        reminders = [render.card_info(c).get("reminder") for c in cards]
        accounts = sorted({str(r["account"]) for r in reminders if isinstance(r, dict) and r.get("account")})
        if not accounts:
            return {}
        rows = session.exec(
            select(ReplyQueueItem.account_key, func.count()).where(
                ReplyQueueItem.account_key.in_(accounts), ReplyQueueItem.state.in_(m.UNANSWERED_STATES),
                ReplyQueueItem.due_ts < now.timestamp(), watched_in_time()).group_by(ReplyQueueItem.account_key)
        ).all()
        totals = {account: 0 for account in accounts}
        totals.update({account: int(count) for account, count in rows})
        return totals

    @staticmethod
    def _add_card(session: Session, cards: dict[str, Message], key: str, *, wanted: set[int] | None,
                  row: OutboxMessage | None = None) -> None:
        """Add the card posted under `key` when it is a queue card (showing one of `wanted`, if given)."""
        from bot.replies import render

        if row is None:
            row = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
        if row is None or row.content_purged_at is not None or not row.payload:
            return
        payload = row.payload if isinstance(row.payload, dict) else {}
        if not payload.get("sections"):
            return
        try:
            card = Message.from_dict(payload)
        except (KeyError, TypeError, ValueError):
            return
        ids = render.card_items(card)
        if ids and (wanted is None or wanted.intersection(ids)):
            cards[key] = card

    # ---- suggestions and templates ------------------------------------------------------------------------
    def saved_templates(self, account_key: str | None) -> list[ReplyTemplate]:
        with self.db.session() as session:
            stmt = select(SavedReplyTemplate)
            if account_key and self.scope.can_see(self.scope.default_channel, account_key):
                stmt = stmt.where(or_(SavedReplyTemplate.account_key.is_(None), SavedReplyTemplate.account_key == account_key))
            elif account_key:
                # A template saved in the default channel (no account: "accounts of no client") is not
                # offered for a client's account: it showed up in every client's suggestions.
                stmt = stmt.where(SavedReplyTemplate.account_key == account_key)
            rows = session.exec(stmt.order_by(SavedReplyTemplate.id.desc()).limit(200)).all()
        return [ReplyTemplate(id=f"saved-{r.id}", text=r.text, name_zh=r.name, topics=tuple(r.topics or ()),
                              accounts=frozenset([r.account_key]) if r.account_key else frozenset(),
                              saved_by=r.created_by) for r in rows]

    def suggest(self, item_id: int, *, channel: str, limit: int = 3) -> tuple[ReplyQueueItem, Comment | None,
                                                                           list[tuple[Suggestion, PrecheckResult]]]:
        item, comment = self.get_item(item_id, channel)
        library = self.templates.with_saved(self.saved_templates(item.account_key))
        facts = CommentFacts(
            text=comment.text if comment else "", account_key=item.account_key,
            sentiment_label=signals_of(comment).label if comment else None,
            author_name=comment.author_name if comment else None,
            content_title=comment.content_title if comment else None,
            account_name=self.account_names.get(item.account_key),
        )
        suggestions = library.choose(facts, limit=limit)
        return item, comment, [(s, self.prechecker.check(s.text)) for s in suggestions]

    def save_template(self, *, user: str, user_name: str | None, channel: str, name: str, text: str,
                      item_id: int | None = None, topics: Sequence[str] | None = None,
                      all_accounts: bool = False) -> list[SavedReplyTemplate]:
        """Save a reply as a template (refused when it has a blocking precheck finding).

        Whose suggestions offer it: the `--item` comment's account; without `--item`, or with
        `--all-accounts`, every account the channel sees (one row each). A template saved in a client's
        channel is that client's: it used to be stored for "any account" and offered in every other
        client's channel too. Only the default channel (accounts of no client) saves for any account."""
        text = text.strip()
        if not text:
            raise ReplyQueueError("模板内容不能为空 / the template text is empty", en="The template text is empty")
        result = self.prechecker.check(text)
        if result.blocked:
            terms = "、".join(f.term for f in result.blocking)
            raise ReplyQueueError(f"模板含有禁用词：{terms}，请修改后再保存 / blocked terms: {terms}",
                                  en=f"The template has blocked terms: {', '.join(f.term for f in result.blocking)}; "
                                     f"edit it, then save again")
        problem = placeholder_problem(text, self.templates.known_variables())
        if problem:
            raise ReplyQueueError(f"模板未保存 / template not saved：{problem}",
                                  en=f"Template not saved: {placeholder_problem(text, self.templates.known_variables(), 'en')}")
        source_comment = None
        account_keys: list[str | None] = []
        if item_id is not None:
            item, comment = self.get_item(item_id, channel)
            account_keys = [item.account_key]
            source_comment = comment
        if item_id is None or all_accounts:
            visible = self.visible_accounts(channel)
            if visible is None:
                account_keys = [None]
            elif not visible:
                raise ReplyQueueError("本频道看不到任何账号，模板不会被推荐 / this channel sees no account: the template "
                                      "would never be offered",
                                      en="This channel sees no account: the template would never be offered")
            else:
                account_keys = sorted(visible)
        if not topics:
            basis = source_comment.text if source_comment is not None else text
            topics = [t for t in topics_from_text(basis) if len(t) >= 2] or [name]
        rows = [SavedReplyTemplate(name=name[:255], text=text, topics=list(topics), account_key=key,
                                   created_by=user, created_by_name=user_name, created_at=self.clock.now(),
                                   source_comment_id=source_comment.comment_id if source_comment else None)
                for key in account_keys]
        with self.db.session() as session:
            # saving under a name the account already has replaces that template (it used to add a second
            # one, offered beside the first forever: templates could not be deleted)
            for key in account_keys:
                for old in session.exec(select(SavedReplyTemplate).where(
                        SavedReplyTemplate.name == name[:255], _same_account(key))).all():
                    session.delete(old)
            for row in rows:
                session.add(row)
            session.flush()
        return rows

    def list_templates(self, channel: str) -> list[SavedTemplateSummary]:
        """The saved templates this channel's suggestions can offer, one entry per name (newest first)."""
        with self.db.session() as session:
            rows = session.exec(select(SavedReplyTemplate).order_by(SavedReplyTemplate.created_at.desc(),
                                                                    SavedReplyTemplate.id.desc())).all()
        out: dict[str, SavedTemplateSummary] = {}
        default_channel = self.visible_accounts(channel) is None
        # the list is read in the channel's language (an English channel: English alone)
        unassigned = ("unassigned accounts" if self.app_config.channel_language(channel) == "en"
                      else "未归属客户的账号 / unassigned accounts")
        for row in rows:
            if row.account_key is None and not default_channel:
                continue  # the default channel's templates (accounts of no client) are not a client's
            if row.account_key is not None and not self.scope.can_see(channel, row.account_key):
                continue
            entry = out.setdefault(row.name, SavedTemplateSummary(
                name=row.name, text=row.text, topics=list(row.topics or []), accounts=[],
                created_by_name=row.created_by_name or row.created_by, created_at=row.created_at))
            entry.accounts.append(self.account_names.get(row.account_key, row.account_key)
                                  if row.account_key else unassigned)
        return list(out.values())

    def delete_template(self, channel: str, name: str) -> int:
        """Delete the saved template `name` for the accounts this channel sees; how many rows went. A
        template saved for any account (in the default channel) is deleted only from the default channel."""
        default_channel = self.visible_accounts(channel) is None
        with self.db.session() as session:
            rows = session.exec(select(SavedReplyTemplate).where(SavedReplyTemplate.name == name)).all()
            mine = [r for r in rows if (r.account_key is None and default_channel)
                    or (r.account_key is not None and self.scope.can_see(channel, r.account_key))]
            if not mine:
                shared = any(r.account_key is None for r in rows)
                raise NotFound(
                    f"模板「{name}」由默认频道保存（用于未归属客户的账号），请在默认频道删除 / template {name!r} was saved "
                    f"in the default channel (accounts of no client): delete it there" if shared else
                    f"本频道没有名为「{name}」的模板（/reply-queue templates 列出全部）/ no template named {name!r} "
                    f"here (/reply-queue templates lists them)",
                    en=f"Template {name!r} was saved in the default channel (accounts of no client): delete it there"
                    if shared else f"No template named {name!r} here (/reply-queue templates lists them)")
            for row in mine:
                session.delete(row)
        return len(mine)

    def last_draft_text(self, item_id: int) -> str | None:
        with self.db.session() as session:
            draft = session.exec(select(ReplyDraft).where(ReplyDraft.item_id == item_id)
                                 .order_by(ReplyDraft.id.desc())).first()
        return draft.text if draft else None

    # ---- stats -------------------------------------------------------------------------------------------
    def stats(self, *, channel: str, since: datetime, account: str | None = None,
              until: datetime | None = None) -> ReplyStats:
        """The window's figures. Actions count by when they happened: replied by the first response's time,
        skipped by when it was skipped, claimed by the claim's time. They used to count by the comment's
        date, so `--since 1d` left out today's replies and skips on older comments. Comments (arrived,
        history) count by when they reached the bot; open and overdue are the queue now. SLA compliance:
        of the first responses in the window, those within the deadline; an unanswered item whose deadline
        passed in the window counts as a miss.

        `until` ends the window (a report's period end; default now): nothing after it counts, and open,
        overdue and the misses are the queue as it stood then, so a report built late (after a restart, a
        retry) gives the figures it would have given on time."""
        keys = self.resolve_accounts(channel, account)
        now = self.clock.now()
        since = ensure_aware(since)
        end = now if until is None else min(ensure_aware(until), now)
        bounded = end < now
        result = ReplyStats(since=since)
        cond = self._account_condition(keys)
        event_cond = self._account_condition(keys, ReplyEvent.account_key)
        unanswered = ReplyQueueItem.state.in_(m.UNANSWERED_STATES)
        events_to_end = [ReplyEvent.at < end] if bounded else []
        if bounded:  # unanswered at `end`: queued by then, and still open or closed (answered, skipped) after it
            unanswered = and_(ReplyQueueItem.queued_at < end, ReplyQueueItem.state != m.HISTORY,
                              or_(unanswered, ReplyQueueItem.closed_at >= end))
        with self.db.session() as session:
            result.open = session.exec(select(func.count()).select_from(ReplyQueueItem).where(
                cond, unanswered)).one()
            result.overdue = session.exec(select(func.count()).select_from(ReplyQueueItem).where(
                cond, unanswered, ReplyQueueItem.due_ts < end.timestamp())).one()
            # The items acted on in the window, found through the event log's (account_key, at) index.
            acted = select(ReplyEvent.item_id).where(
                event_cond, ReplyEvent.at >= since, *events_to_end, ReplyEvent.kind.in_(_RESPONSE_EVENTS)).distinct()
            responded = session.exec(select(
                ReplyQueueItem.created_at, ReplyQueueItem.first_response_at, ReplyQueueItem.sla_seconds,
                ReplyQueueItem.responder, ReplyQueueItem.responder_name, ReplyQueueItem.state,
                ReplyQueueItem.closed_at,
            ).where(cond, ReplyQueueItem.id.in_(acted),
                    or_(ReplyQueueItem.first_response_at.is_not(None), ReplyQueueItem.state == m.SKIPPED))).all()
            claims = session.exec(select(
                ReplyEvent.actor, func.max(ReplyEvent.actor_name), func.count(ReplyEvent.item_id.distinct()),
            ).where(event_cond, ReplyEvent.at >= since, *events_to_end, ReplyEvent.kind == "claimed")
                .group_by(ReplyEvent.actor)).all()
            missed_open = session.exec(select(func.count()).select_from(ReplyQueueItem).where(
                cond, unanswered, ReplyQueueItem.due_ts >= since.timestamp(),
                ReplyQueueItem.due_ts < end.timestamp())).one()
            arrivals = session.exec(select(ReplyQueueItem.state, func.count()).where(
                cond, ReplyQueueItem.queued_at >= since, *([ReplyQueueItem.queued_at < end] if bounded else []))
                .group_by(ReplyQueueItem.state)).all()
        for state, count in arrivals:
            if state == m.HISTORY:
                result.history += int(count)
            else:
                result.arrived += int(count)
        waits: list[float] = []
        # the brand's own reply in the app, named as the channel reads it (an English channel: English alone)
        in_app = ("in the app" if self.app_config.channel_language(channel) == "en"
                  else "平台内直接回复 / in the app")
        for created, first, sla_seconds, responder, responder_name, state, closed in responded:
            label = in_app if responder == "account" else (responder_name or responder or "?")
            if state == m.SKIPPED:
                if closed is None or ensure_aware(closed) < since or (bounded and ensure_aware(closed) >= end):
                    continue
                result.skipped += 1
                _counts(result, label)["skipped"] += 1
                continue
            if first is None or ensure_aware(first) < since or (bounded and ensure_aware(first) >= end):
                continue  # e.g. our reply in the feed, seen in the window but written before it
            wait = max(0.0, (ensure_aware(first) - ensure_aware(created)).total_seconds())
            waits.append(wait)
            _counts(result, label)["replied"] += 1
            result.sla_total += 1
            if wait <= sla_seconds:
                result.sla_met += 1
        for actor, actor_name, count in claims:
            result.claimed += int(count)
            _counts(result, actor_name or actor or "?")["claimed"] += int(count)
        result.responded = len(waits)
        result.sla_total += int(missed_open)  # deadline passed in the window, still unanswered: a miss
        if waits:
            result.median_first_response = timedelta(seconds=statistics.median(waits))
            result.p90_first_response = timedelta(seconds=_percentile(waits, 0.9))
        return result

    # ---- reminders -----------------------------------------------------------------------------------------
    def overdue_reminders(self) -> int:
        """Post one reminder per account with overdue items (at most every `repeat_minutes` per item).

        Only items that became overdue while the bot was watching count (see `watched_in_time`): comments
        already past their deadline when they arrived are history: named only as a count in a reminder that
        real overdue items bring, never a reminder of their own (nor a repeat every `repeat_minutes`)."""
        rules = self.config.reminders
        now = self.clock.now()
        repeat_before = now - timedelta(minutes=rules.repeat_minutes)
        with self.db.session() as session:
            accounts = session.exec(
                select(ReplyQueueItem.account_key).where(
                    ReplyQueueItem.state.in_(m.UNANSWERED_STATES), ReplyQueueItem.due_ts < now.timestamp(),
                    watched_in_time(),
                    or_(ReplyQueueItem.last_reminded_at.is_(None), ReplyQueueItem.last_reminded_at < repeat_before),
                ).distinct()
            ).all()
        sent = 0
        for account_key in accounts:
            sent += self._remind_account(account_key, now, repeat_before)
        return sent

    def _remind_account(self, account_key: str, now: datetime, repeat_before: datetime) -> int:
        """One reminder for the account: its most urgent overdue items, and how many more there are.

        Every overdue item the reminder counts is marked reminded, not only those it lists: marking only the
        listed ones made the next tick send the next few (worded "最紧急的 3 条" although they were merely
        the ones not named yet), a new card every interval until the whole backlog had been listed. Now a
        card comes when an item went overdue since the last one, or `repeat_minutes` after it."""
        from bot.replies.render import reminder_messages  # rendering lives beside the handlers' strings

        rules = self.config.reminders
        score = self.score_expression(now)
        with self.db.session() as session:
            overdue = and_(ReplyQueueItem.account_key == account_key, ReplyQueueItem.state.in_(m.UNANSWERED_STATES),
                           ReplyQueueItem.due_ts < now.timestamp())
            due = and_(overdue, watched_in_time())
            never = ReplyQueueItem.last_reminded_at.is_(None)
            total, new = session.exec(select(func.count(), func.coalesce(func.sum(case((never, 1), else_=0)), 0))
                                      .select_from(ReplyQueueItem).where(due)).one()
            # the rest of /reply-queue --overdue: late already on arrival, named so the two counts agree
            late_on_arrival = session.exec(select(func.count()).select_from(ReplyQueueItem).where(
                overdue, ~watched_in_time())).one()
            waiting = session.exec(select(func.count()).select_from(ReplyQueueItem).where(
                due, or_(never, ReplyQueueItem.last_reminded_at < repeat_before))).one()
            if not waiting:  # every overdue item was counted by a reminder less than repeat_minutes ago
                return 0
            items = session.exec(
                select(ReplyQueueItem).where(due).order_by(score.desc(), ReplyQueueItem.created_ts.asc())
                .limit(rules.max_items)
            ).all()
            if not items:
                return 0
            comments = self._comments_for(session, items)
            platform, _, account_id = account_key.partition(":")
            bucket = int(now.timestamp() // (rules.every_minutes * 60))
            # The key names the items too: a second process (console beside serve) reminding other items in
            # the same period must not be taken for a duplicate, while the same items twice still are.
            # (and the counts: the same items with one more overdue behind them are a new reminder)
            items_digest = hashlib.sha1((",".join(str(i.id) for i in sorted(items, key=lambda i: i.id or 0))
                                         + f"|{int(total)}|{int(new)}").encode()).hexdigest()[:12]
            for channel in self.scope.channels_for_account(platform, account_id):
                # each channel reads the due times in its own zone
                messages = reminder_messages(account_key, self.account_names.get(account_key), items, comments,
                                             int(total), now, zone=self.zone_for(channel),
                                             late_on_arrival=int(late_on_arrival), new=int(new),
                                             lang=self.app_config.channel_language(channel))
                key = f"reply-remind:{account_key}:{channel}:{bucket}:{items_digest}"
                for number, message in enumerate(messages):
                    self.outbox.enqueue(session, channel=channel, message=message,
                                        key=key if not number else f"{key}:{number + 1}")
            # all counted, listed or not (see above)
            session.execute(update(ReplyQueueItem).where(due).values(last_reminded_at=now)
                            .execution_options(synchronize_session=False))
        return 1

    # ---- claims running out ---------------------------------------------------------------------------
    def expire_claims(self) -> int:
        """Let go of the claims whose time ran out and re-render the cards that show their items: a card
        said "🔒 frank 认领中，至 09:46" long after 09:46, until someone happened to press a button on it.
        Each expiry is handled once (a conditional UPDATE: a second process finds nothing left to do).
        Returns how many claims ran out."""
        now = self.clock.now()
        with self.db.session() as session:
            ran_out = and_(ReplyQueueItem.claimed_by.is_not(None), ReplyQueueItem.state == m.OPEN,
                           ReplyQueueItem.claim_expires_at <= now)
            rows = session.exec(select(ReplyQueueItem.id, ReplyQueueItem.account_key, ReplyQueueItem.claimed_by,
                                       ReplyQueueItem.claimed_by_name).where(ran_out)).all()
            if not rows:
                return 0
            cleared = {int(i) for i in session.execute(
                update(ReplyQueueItem).where(ran_out, ReplyQueueItem.id.in_([r[0] for r in rows]))
                .values(claimed_by=None, claimed_by_name=None, claim_expires_at=None)
                .returning(ReplyQueueItem.id).execution_options(synchronize_session=False)).scalars()}
            session.add_all([ReplyEvent(item_id=item_id, account_key=account_key, kind="claim_expired",
                                        actor=holder or "bot", actor_name=holder_name, at=now)
                             for item_id, account_key, holder, holder_name in rows if item_id in cleared])
        by_account: dict[str, list[int]] = {}
        for item_id, account_key, _, _ in rows:
            if item_id in cleared:
                by_account.setdefault(account_key, []).append(int(item_id))
        for account_key, ids in by_account.items():
            platform, _, account_id = account_key.partition(":")
            for channel in self.scope.channels_for_account(platform, account_id):
                try:
                    self.refresh_cards(ids, channel=channel)
                except Exception:  # noqa: BLE001 - the claim is let go; the card is cosmetic
                    log.exception("could not refresh the reply-queue cards of %s after claims ran out", channel)
        return len(cleared)


# Events that mean an item was answered or skipped (stats find the window's actions through them).
_RESPONSE_EVENTS = ("marked_replied", "reply_recorded", "reply_queued", "answered_in_feed", "skipped")


def _counts(result: ReplyStats, label: str) -> dict[str, int]:
    return result.per_responder.setdefault(label, {"replied": 0, "skipped": 0, "claimed": 0})


def _int_ids(values: list) -> set[int]:
    """The item ids of a card meta's list (numbers; anything else is ignored)."""
    return {int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())}


def _same_account(key: str | None):
    return SavedReplyTemplate.account_key.is_(None) if key is None else SavedReplyTemplate.account_key == key


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


_SINCE = re.compile(r"^([-+]?\d+)\s*([mhdw]|min|分钟|小时|天|周)$")


def _not_a_period(text: str) -> ReplyQueueError:
    """Said for a zero, negative or future --since, in the words `report --period 0d` is refused with."""
    shown = text if len(text) <= 24 else text[:20] + "…"
    english = f"--since {shown!r} is not a period (use e.g. '30m', '24h', '7d', '2w' or a past date)"
    return ReplyQueueError(
        f"--since {shown!r} 不是有效的时间段（正整数分钟、小时、天或周，例如 30m、24h、7d、2w，或一个过去的日期 2026-11-20）/ "
        f"{english}", en=english)


def parse_since(text: str | None, now: datetime, zone: Any = None, default_days: int = 7) -> datetime:
    """'7d', '24h', '30m', '2w', '3天' or an ISO date/time (in `zone` when it has none) -> an aware start.

    A zero or negative amount ('0d', '-1d') or a start after `now` is refused: '0d' used to give an empty
    window whose figures read as "nothing happened"."""
    if not text:
        return now - timedelta(days=default_days)
    # full-width digits and letters ("７ｄ", typed in a Chinese input method's full-width mode) as "7d",
    # as --limit and the command words take them
    text = unicodedata.normalize("NFKC", text)
    match = _SINCE.match(text.strip().lower())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if amount <= 0:
            raise _not_a_period(text.strip())
        minutes = {"m": 1, "min": 1, "分钟": 1, "h": 60, "小时": 60, "d": 1440, "天": 1440, "w": 10080, "周": 10080}[unit]
        try:
            return now - timedelta(minutes=amount * minutes)
        except OverflowError as exc:  # "--since 99999999d" reached before year 1 and crashed the command
            raise ReplyQueueError(f"--since 太久远：{text}（例如 7d、30d、2026-11-20）/ --since is too far back: {text}",
                                  en=f"--since is too far back: {text} (e.g. 7d, 30d, 2026-11-20)") from exc
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ReplyQueueError(f"--since 格式不对：{text}（例如 7d、24h、2026-11-20）/ bad --since: {text}",
                              en=f"Bad --since: {text} (e.g. 7d, 24h, 2026-11-20)") from exc
    start = ensure_aware(parsed if parsed.tzinfo else parsed.replace(tzinfo=zone or now.tzinfo))
    if start >= now:
        raise _not_a_period(text.strip())
    return start
