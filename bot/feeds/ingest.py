"""The ingestion service: validate, score, store (bulk upsert), dead-letter, and tell the listeners.

Every feed (webhook, file import, pollers, the demo replay) comes through `ingest_records`. A bad record
is rejected with its reason and kept raw in the dead-letter table; the good ones in the same batch are
stored. A re-delivered comment (same platform and comment id) updates the counts and content fields
it carries (the ones it leaves out keep their stored values), never a second row. A stored record
something was left out of (an unreadable optional count) carries a `warning` in its result.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import Integer, String, any_, bindparam
from sqlalchemy import delete as sa_delete
from sqlalchemy import text as sa_text
from sqlalchemy import update as sa_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot import metrics
from bot.clock import Clock
from bot.feeds.records import CommentRecord, refreshed, storable, storable_text, validate_record
from bot.sentiment.base import Scorer
from bot.storage.bulk import in_lock_order, pg_insert_rows
from bot.storage.db import Database, database_unavailable, failure_line
from bot.storage.handoffs import Handoff
from bot.storage.models import Comment, DeadLetter, IngestHandoff, dead_letter_fingerprint

log = logging.getLogger(__name__)

Status = Literal["accepted", "duplicate", "rejected"]
#: (comments, hand-off): see `IngestService.add_listener`
Listener = Callable[[list[Comment], Handoff], None]
# SQLite caps bound parameters per statement; 15 columns x 500 rows stays well inside it.
CHUNK = 500
#: SQLite's comment upsert starts from this statement (it carries no data: the rows are executemany
#: parameters); building the `excluded` alias of every column per batch cost a fifth of the upsert
_SQLITE_INSERT_COMMENTS = sqlite.insert(Comment)
#: `_existing_keys`, built once (it runs for every batch): the stored comment ids among `ids` of `platform`
_STORED_IDS = select(Comment.comment_id).where(Comment.platform == bindparam("platform"),
                                               Comment.comment_id.in_(bindparam("ids", expanding=True)))
_STORED_IDS_PG = select(Comment.comment_id).where(
    Comment.platform == bindparam("platform"),
    Comment.comment_id == any_(bindparam("ids", type_=postgresql.ARRAY(String))))
#: `retry_handoffs`' read on every scheduler tick, built once
_PENDING_HANDOFFS = (select(IngestHandoff)
                     .where(IngestHandoff.created_at < bindparam("cutoff"),
                            IngestHandoff.listener.in_(bindparam("listeners", expanding=True)))
                     .order_by(IngestHandoff.id)
                     .limit(bindparam("limit", type_=Integer)))
# dead_letter.position is VARCHAR(64): PostgreSQL refuses a longer one (a long file path)
POSITION_CHARS = 64
# PostgreSQL's deadlock_detected; a batch that ends in one is run again this many times in all
DEADLOCK_SQLSTATE = "40P01"
DEADLOCK_TRIES = 3


@dataclass(slots=True)
class RecordResult:
    index: int
    status: Status
    reason: str | None = None
    position: str | None = None
    #: on a stored record: what was left out of it (an unreadable optional count), Chinese first with English
    warning: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.reason:
            data["reason"] = self.reason
        if self.warning:
            data["warning"] = self.warning
        return data


@dataclass(slots=True)
class IngestReport:
    results: list[RecordResult] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.results if r.status == "accepted")

    @property
    def duplicates(self) -> int:
        return sum(1 for r in self.results if r.status == "duplicate")

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.results if r.status == "rejected")

    def merge(self, other: IngestReport) -> None:
        offset = len(self.results)
        for r in other.results:
            self.results.append(RecordResult(r.index + offset, r.status, r.reason, r.position, r.warning))

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "results": [r.to_json() for r in self.results],
        }


class IngestService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        scorer: Callable[[], Scorer],
        *,
        own_author_ids: dict[tuple[str, str], set[str]] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self._scorer = scorer
        self._listeners: list[tuple[str, Listener]] = []
        # (platform, account_id) -> author ids that are the account itself (our own replies).
        self._own_author_ids = own_author_ids or {}

    def add_listener(self, listener: Listener, *, name: str | None = None) -> None:
        """Called after each committed batch with the new and updated Comment rows (new: updated_at None)
        and the batch's `Handoff`.

        Each batch is also recorded for the listener (`ingest_handoff`) in the ingest transaction;
        `retry_handoffs` hands over again what a failed or interrupted listener missed. A listener that
        writes calls `handoff.claim(session)` in the transaction of its writes (and writes nothing when
        it returns False): the hand-off then ends exactly when its effect commits, so a batch is applied
        once even if the process stops right after the listener's commit. A listener that returns
        without claiming had nothing to write; its hand-off is cleared afterwards. A listener named by
        `name` keeps its hand-offs across restarts, so give each a stable name.
        """
        self._listeners.append((name or getattr(listener, "__qualname__", repr(listener)), listener))

    def ingest_records(
        self,
        records: Sequence[Any],
        *,
        source: str,
        positions: Sequence[str] | None = None,
        rejections: Iterable[tuple[int, str, str]] = (),
    ) -> IngestReport:
        """Store a batch. `rejections` are (index, raw text, reason) for records that failed before
        validation (e.g. a line that is not JSON); they are reported and dead-lettered in place."""
        pre_rejected = {rejection[0]: rejection for rejection in rejections}  # the tuples themselves: no copies
        total = len(records) + len(pre_rejected)
        results: list[RecordResult | None] = [None] * total
        valid: dict[tuple[str, str], tuple[int, CommentRecord, Any]] = {}
        # one row per distinct rejection from the start (see `_store_dead_letters`): a batch of a million
        # copies of one bad record held a million dead-letter rows in memory before they were merged
        dead: dict[str, dict[str, Any]] = {}
        now = self.clock.now()
        record_iter = iter(records)
        for index in range(total):
            # without positions the index is the position: made only for a dead letter, not kept per result
            position = positions[index] if positions and index < len(positions) else None
            if index in pre_rejected:
                _, raw_text, reason = pre_rejected[index]
                results[index] = RecordResult(index, "rejected", reason, position)
                _add_dead_letter(dead, _dead_letter(source, position or str(index), reason, raw_text, now))
                continue
            raw = next(record_iter)
            checked = validate_record(raw, now=now)
            if isinstance(checked, list):
                reason = compact_reason(checked)
                results[index] = RecordResult(index, "rejected", reason, position)
                _add_dead_letter(dead, _dead_letter(source, position or str(index), reason, record_raw_text(raw), now))
                continue
            if not checked.is_from_account and checked.author_id and self._is_own_author(checked):
                checked.is_from_account = True
            warning = "; ".join(checked.notes) or None
            if checked.key in valid:
                # The same comment twice in one batch: one row, as if delivered one after the other (the
                # later copy's counts are fresher; the first copy's text, author and payload are kept).
                first_index, earlier, first_raw = valid[checked.key]
                valid[checked.key] = (first_index, refreshed(earlier, checked), first_raw)
                results[index] = RecordResult(index, "duplicate", None, position, warning)
                continue
            valid[checked.key] = (index, checked, raw)
            results[index] = RecordResult(index, "accepted", None, position, warning)

        stored, handoffs = self._store_batch(valid, results, list(dead.values()), now, source)
        report = IngestReport([r for r in results if r is not None])
        metrics.COMMENTS_INGESTED.labels(source).inc(report.accepted)
        metrics.COMMENTS_UPDATED.labels(source).inc(report.duplicates)
        metrics.COMMENTS_REJECTED.labels(source).inc(report.rejected)
        if stored:
            self._hand_over(stored, handoffs)
        return report

    def _store_batch(self, valid, results, dead, now, source: str) -> tuple[list[Comment], list[IngestHandoff]]:
        """Store the batch in one transaction: the comments (new ones scored), the dead letters, the hand-offs.

        PostgreSQL may still end it with a deadlock when two batches hold the same comments in groups of
        different fields in opposite orders (`in_lock_order` orders each statement, not the statements):
        the transaction rolled back whole, so it is run again (three tries; then the sender's own retry)."""
        for attempt in range(1, DEADLOCK_TRIES + 1):
            stored: list[Comment] = []
            inserted: set[tuple[str, str]] = set()
            try:
                with self.db.session() as session:
                    # only to score the new comments alone: whether a comment was new is the upsert's own
                    # answer below (a batch sent twice at once found nothing stored in both requests here,
                    # and both answered "accepted" for every record)
                    existing = self._existing_keys(session, list(valid))
                    new_items = [(i, rec, raw) for key, (i, rec, raw) in valid.items() if key not in existing]
                    sentiments = self._score([rec.text for _, rec, _ in new_items])
                    scored = {rec.key: s for (_, rec, _), s in zip(new_items, sentiments, strict=True)}
                    model_name = getattr(self._scorer(), "name", "unknown") if new_items else ""
                    # one upsert per set of fields sent: a re-delivery overwrites only the fields it carries
                    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
                    for _, rec, raw in valid.values():
                        groups.setdefault(rec.sent, []).append(self._row(rec, raw, scored.get(rec.key), now, source, model_name))
                    # the listeners get the stored rows straight from the upsert (RETURNING): no second read
                    want_rows = bool(self._listeners)
                    for sent, rows in groups.items():
                        # SQLite caps bound parameters per statement; PostgreSQL takes the batch as one parameter
                        chunk = (len(rows) or 1) if self.db.dialect == "postgresql" else CHUNK
                        for start in range(0, len(rows), chunk):
                            stored.extend(self._upsert(session, rows[start : start + chunk], now, refresh=sent,
                                                       returning=want_rows, inserted=inserted))
                    for key, (i, _rec, _raw) in valid.items():
                        results[i].status = "accepted" if key in inserted else "duplicate"  # type: ignore[union-attr]
                    stored.sort(key=lambda c: c.id or 0)
                    self._store_dead_letters(session, dead)
                    handoffs = self._record_handoffs(session, stored, now)
                return stored, handoffs
            except OperationalError as exc:
                if attempt == DEADLOCK_TRIES or getattr(exc.orig, "sqlstate", None) != DEADLOCK_SQLSTATE:
                    raise
                log.warning("ingest of a %s batch ended in a deadlock (try %d of %d); running it again",
                            source, attempt, DEADLOCK_TRIES)
                time.sleep(random.uniform(0.01, 0.1) * attempt)
        raise AssertionError("unreachable")

    def _store_dead_letters(self, session, dead: list[dict[str, Any]]) -> None:
        """Store the rejections, one row per distinct one (`dead_letter_fingerprint`): a re-delivery (a file
        imported again, by any path; a webhook batch resent after a lost answer) rejects the same records
        again, and `ingest --dead-letters` listed each of them once per delivery. A repeat counts on the
        stored row (`seen_count`, `last_seen_at`, where it was seen last). An upsert on the unique
        fingerprint, not a look-up first: two imports of one file at the same time would both miss."""
        if not dead:
            return
        merged: dict[str, dict[str, Any]] = {}
        for row in dead:  # one statement must not hit a row twice (PostgreSQL refuses it)
            kept = merged.get(row["fingerprint"])
            if kept is None:
                merged[row["fingerprint"]] = row
            else:  # a new dict, `dead` left as it was: a batch run again after a deadlock must not count twice
                merged[row["fingerprint"]] = {**kept, "position": row["position"],
                                              "seen_count": kept["seen_count"] + row["seen_count"]}
        # ids in input order, so `ingest --dead-letters` follows the file; on PostgreSQL the statement runs
        # in fingerprint order (`in_lock_order`: two batches rejecting the same records must not deadlock)
        rows = list(merged.values())
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            rows = in_lock_order(session, DeadLetter, rows, key=lambda row: row["fingerprint"])
        chunk = len(rows) if postgres else CHUNK
        table = DeadLetter.__table__
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            stmt = pg_insert_rows(table, part) if postgres else sqlite.insert(table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["fingerprint"],
                set_={"seen_count": table.c.seen_count + stmt.excluded.seen_count,
                      "last_seen_at": stmt.excluded.last_seen_at, "position": stmt.excluded.position},
            )
            session.execute(stmt, None if postgres else part)

    def refresh_statistics(self) -> bool:
        """After a bulk load (`crisisbot ingest` of a large file): refresh the planner's statistics of the
        comment table now rather than at the next autoanalyze, so the queries that follow (the next import's
        existence checks, the reports) are planned for the table as it is. PostgreSQL only: ANALYZE there
        samples the table and blocks no reader or writer. SQLite is left alone: its databases have never
        had statistics (sqlite_stat1), whose first appearance would change the plan of every query, and its
        ANALYZE reads every index while holding the write lock. Never fails the import: False when skipped
        or refused (a user who does not own the table is only warned by the server)."""
        if self.db.dialect != "postgresql":
            return False
        try:
            with self.db.session() as session:
                session.execute(sa_text("ANALYZE comment"))
        except Exception as error:  # noqa: BLE001 - statistics are an optimisation; the import is stored
            log.warning("could not refresh the comment table's statistics (ANALYZE): %s", failure_line(error))
            return False
        return True

    # ---- hand-offs to the listeners --------------------------------------------------------------
    def _record_handoffs(self, session, stored: list[Comment], now) -> list[IngestHandoff]:
        if not stored or not self._listeners:
            return []
        new_ids = [c.id for c in stored if c.updated_at is None and c.id is not None]
        updated_ids = [c.id for c in stored if c.updated_at is not None and c.id is not None]
        rows = [
            IngestHandoff(listener=name, new_ids=new_ids, updated_ids=updated_ids, created_at=now)
            for name, _ in self._listeners
        ]
        session.add_all(rows)
        session.flush()
        return rows

    def _hand_over(self, stored: list[Comment], handoffs: list[IngestHandoff]) -> None:
        done: list[int] = []
        failed: dict[int, str] = {}
        for (name, listener), row in zip(self._listeners, handoffs, strict=True):
            handoff = Handoff(row.id, name)
            try:
                listener(stored, handoff)
            except Exception as exc:  # noqa: BLE001 - the batch is stored; the hand-off is retried later
                failed[handoff.id] = _listener_failed(name, exc, "failed")
            else:
                if not handoff.claimed:  # a claimed hand-off was deleted with the listener's writes
                    done.append(handoff.id)
        self._settle_handoffs(done, failed)

    def _settle_handoffs(self, done: list[int], failed: dict[int, str]) -> None:
        if not done and not failed:
            return
        try:
            with self.db.session() as session:
                if done:
                    session.execute(sa_delete(IngestHandoff).where(IngestHandoff.id.in_(done)))
                for handoff_id, error in failed.items():
                    session.execute(
                        sa_update(IngestHandoff)
                        .where(IngestHandoff.id == handoff_id)
                        .values(attempts=IngestHandoff.attempts + 1, last_error=error)
                    )
        except Exception:  # noqa: BLE001 - a leftover hand-off is retried; unclaimed ones had no effect
            log.exception("could not settle ingest hand-offs %s", done + list(failed))

    def retry_handoffs(self, *, older_than_seconds: float = 30.0, limit: int = 20) -> int:
        """Hand over again what a listener missed (it failed, or the process stopped before it ran).

        Runs on the scheduler. Only hand-offs older than `older_than_seconds` are taken, so a batch whose
        listeners are still running is left alone. Returns how many hand-offs succeeded.
        """
        if not self._listeners:
            return 0
        cutoff = self.clock.now() - timedelta(seconds=older_than_seconds)
        by_name = dict(self._listeners)
        with self.db.session() as session:
            pending = list(session.exec(_PENDING_HANDOFFS, params={
                "cutoff": cutoff, "listeners": list(by_name), "limit": limit}).all())
        done: list[int] = []
        failed: dict[int, str] = {}
        handed = 0
        for row in pending:
            comments = self._load_for_handoff(row)
            handoff = Handoff(row.id, row.listener)
            try:
                if comments:
                    by_name[row.listener](comments, handoff)
            except Exception as exc:  # noqa: BLE001 - counted and retried on the next round
                failed[row.id] = _listener_failed(row.listener, exc, f"failed again (attempt {row.attempts + 2})")
            else:
                handed += 1
                if not handoff.claimed:
                    done.append(row.id)
        self._settle_handoffs(done, failed)
        if handed:
            log.info("handed over %d missed ingest batch(es) again", handed)
        return handed

    def _load_for_handoff(self, handoff: IngestHandoff) -> list[Comment]:
        """The hand-off's comments as the listener first saw them: first-time ones with updated_at None."""
        ids = list(handoff.new_ids or []) + list(handoff.updated_ids or [])
        if not ids:
            return []
        first_time = set(handoff.new_ids or [])
        with self.db.session() as session:
            comments = list(session.exec(select(Comment).where(Comment.id.in_(ids)).order_by(Comment.id)).all())
            for comment in comments:
                session.expunge(comment)
        for comment in comments:
            if comment.id in first_time:
                comment.updated_at = None  # detached: only what the listener sees, nothing is written
        return comments

    def _is_own_author(self, rec: CommentRecord) -> bool:
        if rec.author_id == rec.account_id:
            return True
        return rec.author_id in self._own_author_ids.get((rec.platform, rec.account_id), ())

    def _score(self, texts: list[str]):
        if not texts:
            return []
        return self._scorer().score_batch(texts)

    @staticmethod
    def _existing_keys(session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """The keys already stored. One `platform = ? AND comment_id IN (...)` per platform and chunk: an
        index range scan on both engines, where a row-value IN list made PostgreSQL OR 500 index probes."""
        by_platform: dict[str, list[str]] = {}
        for platform, comment_id in keys:
            by_platform.setdefault(platform, []).append(comment_id)
        found: set[tuple[str, str]] = set()
        postgres = session.get_bind().dialect.name == "postgresql"
        # PostgreSQL binds the ids as one array (no parameter cap): one query per platform
        chunk_size = max(len(keys), 1) if postgres else CHUNK
        for platform, ids in by_platform.items():
            for start in range(0, len(ids), chunk_size):
                chunk = ids[start : start + chunk_size]
                # PostgreSQL: one array parameter: psycopg's prepared (generic) plan for a 500-value IN list
                # chose a sequential scan once the table grew; `= ANY(array)` keeps the unique-index scan
                rows = session.exec(_STORED_IDS_PG if postgres else _STORED_IDS,
                                    params={"platform": platform, "ids": chunk}).all()
                found.update((platform, c) for c in rows)
        return found

    @staticmethod
    def _row(rec: CommentRecord, raw: Any, sentiment, now, source: str, sentiment_model: str) -> dict[str, Any]:
        return {
            "platform": rec.platform,
            "account_id": rec.account_id,
            "content_id": rec.content_id,
            "content_title": rec.content_title,
            "content_url": rec.content_url,
            "comment_id": rec.comment_id,
            "parent_id": rec.parent_id,
            "author_id": rec.author_id,
            "author_name": rec.author_name,
            "author_followers": rec.author_followers,
            "text": rec.text,
            "like_count": rec.like_count,
            "reply_count": rec.reply_count,
            "created_at": rec.created_at,
            "ingested_at": now,
            "updated_at": None,
            "is_from_account": rec.is_from_account,
            "sentiment_label": sentiment.label if sentiment else None,
            "sentiment_score": float(sentiment.score) if sentiment else None,
            "sentiment_neg": float(sentiment.neg_score) if sentiment and sentiment.neg_score is not None else None,
            "sentiment_model": sentiment_model if sentiment else None,
            "risk_flags": [{"term": f.term, "category": f.category} for f in sentiment.risk_flags] if sentiment else None,
            "raw": _storable_raw(raw),
            "source": source,
        }

    def _upsert(self, session, rows: list[dict[str, Any]], now, *, refresh: frozenset[str],
                returning: bool, inserted: set[tuple[str, str]]) -> list[Comment]:
        """Insert new comments and, on known ones, overwrite the `refresh` fields (those the rows' records
        carried); with `returning`, the stored rows (new and updated) come back from the same statement as
        Comment objects. The keys of the rows this statement inserted (rather than updated) are added to
        `inserted`, from the statement's own RETURNING: an inserted row's updated_at is still null, an
        updated one's is `now`. Of two transactions upserting one new comment at once, exactly one inserts
        it (the other waits for its lock, PostgreSQL, or its write turn, SQLite, and updates)."""
        if not rows:
            return []
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:  # in key order, ids in input order (see `in_lock_order`)
            rows = in_lock_order(session, Comment, rows, key=lambda row: (row["platform"], row["comment_id"]))
        # PostgreSQL: the whole batch as one json parameter (bot/storage/bulk.py); SQLite: VALUES rows
        stmt = pg_insert_rows(Comment, rows) if postgres else _SQLITE_INSERT_COMMENTS
        excluded = stmt.excluded  # memoized on the shared SQLite statement: its ~25 columns aliased once
        stmt = stmt.on_conflict_do_update(
            index_elements=["platform", "comment_id"],
            set_={**{name: excluded[name] for name in sorted(refresh)}, "updated_at": now},
        )
        params = None if postgres else rows
        if not returning:
            keys = stmt.returning(Comment.platform, Comment.comment_id, Comment.updated_at)
            inserted.update((platform, comment_id) for platform, comment_id, updated_at in session.execute(keys, params)
                            if updated_at is None)
            return []
        comments = list(session.scalars(stmt.returning(Comment), params, execution_options={"populate_existing": True}))
        inserted.update((c.platform, c.comment_id) for c in comments if c.updated_at is None)
        return comments


#: how `records.problem` starts the reason for a required field left out ("comment_id: 缺少必填字段 / missing …")
_MISSING = "缺少必填字段"


def compact_reason(problems: Sequence[str]) -> str:
    """A refused record's reason: its problems joined by "; ", the required fields it left out named in one
    problem when there are several (`{}` listed six bilingual "missing required field" problems, 430 bytes
    of answer and dead letter for a 3-byte record). One missing field keeps its own words (with their
    hints: the platforms, "text may be empty")."""
    missing = [p.partition(": ")[0] for p in problems if p.partition(": ")[2].startswith(_MISSING)]
    if len(missing) < 2:
        return "; ".join(problems)
    parts: list[str] = []
    for p in problems:  # in the record's field order, the missing ones where the first of them was
        if not p.partition(": ")[2].startswith(_MISSING):
            parts.append(p)
        elif missing:
            parts.append(f"{', '.join(missing)}: {_MISSING} / missing required fields")
            missing = []
    return "; ".join(parts)


def _add_dead_letter(dead: dict[str, dict[str, Any]], row: dict[str, Any]) -> None:
    """Keep `row` in `dead` (by fingerprint), or count it on the same rejection already there."""
    kept = dead.get(row["fingerprint"])
    if kept is None:
        dead[row["fingerprint"]] = row
    else:
        kept.update(position=row["position"], seen_count=kept["seen_count"] + 1)


def record_raw_text(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False, default=str)[:100_000]
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return repr(raw)[:100_000]
    except (ValueError, RecursionError):  # an int with more digits than Python prints, absurd nesting
        return f"<{type(raw).__name__} that cannot be shown>"


def _storable_raw(raw: Any) -> dict[str, Any] | None:
    """The payload kept beside the comment. It is a copy for reference only, so a payload nested too deep
    to copy is dropped rather than costing the batch."""
    if not isinstance(raw, dict):
        return None
    try:
        return storable(raw)
    except RecursionError:
        return None


def _dead_letter(source: str, position: str, reason: str, raw_text: str, now) -> dict[str, Any]:
    """A rejection as a dead_letter row both engines can store, whatever the rejected input held."""
    position = storable_text(position)
    if len(position) > POSITION_CHARS:  # keep the end: the file name and the line number
        position = "…" + position[-(POSITION_CHARS - 1):]
    reason, raw = storable_text(reason), storable_text(raw_text[:100_000])
    return {"source": source, "position": position, "reason": reason, "raw": raw, "received_at": now,
            "fingerprint": dead_letter_fingerprint(source, reason, raw), "seen_count": 1, "last_seen_at": now}


def _listener_failed(name: str, error: Exception, what: str) -> str:
    """Log and count a listener's failure; the error as the hand-off row keeps it. An outage (the database
    locked past its busy timeout, unreachable, a table missing: `database_unavailable`) is one line without
    a traceback, in the CLI's output too (an import cut short by Ctrl-C printed one); a bug keeps its traceback."""
    if database_unavailable(error):
        log.error("ingest listener %s %s, the database is unavailable (%s); its comments will be handed over "
                  "again", name, what, failure_line(error))
    else:
        log.exception("ingest listener %s %s; its comments will be handed over again", name, what)
    metrics.LISTENER_FAILURES.labels(name).inc()
    return f"{type(error).__name__}: {error}"[:2000]
