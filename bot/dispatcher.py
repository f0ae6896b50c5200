"""Runs commands and button presses: dedup by event id, parse, call the handler, queue the replies.

Adapters hand a neutral Command/Action to `submit` (returns at once, so the platform gets its ack in
time) or `handle` (waits). Replies go through the outbox like every other message.

What `submit` accepted is written to the `inbound_item` journal before it waits for a worker, and deleted
once handled: the platform was told "received" and will not send it again (Slack never retries an
acknowledged slash command), so `serve` runs what a crash left in the journal at its next start. Adapters
wait (briefly) for `Submission.journalled` before they acknowledge, so the row exists before the ack.
When the database cannot take the row (unreachable, gone, read-only) while the adapter still waits, the item
is not taken: nothing runs, nothing is kept, and `journalled` fails with `NotTaken`, so the adapter refuses
the delivery (a platform that retries sends it again; a person is told to try again) instead of
acknowledging what is then lost. An item whose adapter stopped waiting first (a database merely busy) and
one whose row alone was refused are handled all the same, without crash protection.

A worker that begins a journalled item stamps the row's heartbeat (with its event id), and one keeper thread
per process refreshes the heartbeats of the rows its workers are running. A process started beside another
one (a rolling deploy) tells the sender of a begun row it was interrupted only once that heartbeat stopped
moving: a slow handler in the old process (a report with charts, a slow Slack API) is left to answer.

Items of one conversation (the channel address: `slack:C1`, `feishu:oc_x`, `console:lanji`) run in the order
they were received, which is their journal order, one after another; other conversations run beside them on
the other workers. Before, two workers ran a person's commands sent one after another side by side, and the
second could land on the crisis timeline before the first. See LANE_HOLD_MAX_S for the bound.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bot import metrics
from bot.feeds.records import storable, storable_text
from bot.handlers.registry import (
    CommandContext,
    CommandSpec,
    PermissionDenied,
    UsageError,
    labelled,
    parse_command_line,
    wants_help,
)
from bot.i18n import for_channel, t
from bot.messages import Action, Command, Message, inert
from bot.services import Services
from bot.storage.db import database_unavailable, failure_line
from bot.storage.models import InboundItem, OutboxMessage, ProcessedEvent

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# A command older than this when the bot comes back is not run any more: "/crisis start" a day late would
# surprise the team more than its loss (the log names each one dropped).
INBOUND_REPLAY_MAX_AGE = timedelta(hours=1)
# A row a worker had begun is looked at again this long after the start before its sender is told it was
# interrupted: in a rolling deploy the old process may still be finishing it (its answer then removes the row).
# The least wait: a row whose heartbeat still moves is never settled (INBOUND_STALE_HEARTBEATS).
INBOUND_INTERRUPTED_GRACE_S = 10.0
# How often a process refreshes the heartbeat of the journal rows its workers are running (one UPDATE for
# all of them), and how many of those beats may be missed (a busy database, a GC pause) before a row whose
# heartbeat has not moved counts as interrupted: its process died or hangs.
INBOUND_HEARTBEAT_INTERVAL_S = 5.0
INBOUND_STALE_HEARTBEATS = 3
# The order of one conversation's items (see the module docstring): the next item of a conversation may begin
# (its event id recorded, the person's name looked up) while the one before it runs, and runs its handler once
# that one is finished. Its handler waits at most this long (since that item began holding the conversation)
# for the one before: a command still running after that (a hung outside call, a report far slower than any
# normal one) no longer holds its conversation, the next one starts then, out of order, and the log says so.
# A conversation's own work waits for its slow command; other conversations never do.
LANE_HOLD_MAX_S = 30.0
# How many items of one conversation are begun at a time: the one running and the next one (its name lookup
# overlaps the run before it). A crash tells these few it interrupted them; the rest are replayed at the start.
_LANE_BEGUN_MAX = 2
# How often the keeper thread looks at the begun rows another process left (settling them soon after their
# heartbeat went stale, not up to a whole interval later).
_KEEPER_TICK_S = 1.0


# Items that arrive together are journalled in one transaction: a burst of 50 commands costs one commit,
# not 50 in a row, while each of them waits for its row before its ack.
JOURNAL_BATCH_MAX = 200


class NotTaken(Exception):
    """The item could not be written to the journal because the database was unavailable, while its adapter
    still waited: it is not run and not kept; the adapter refuses the delivery so that it comes again."""


class Journalled(Future):
    """Done once the item is in the journal. Its result: the row's id, or None when the row could not be
    written but the item is handled all the same (its row alone was refused, or its adapter had stopped
    waiting). It fails with `NotTaken` when the database was unavailable while the adapter still waited.

    The adapter's wait is bounded (the platform's ack deadline): an adapter whose wait ran out calls
    `answer_anyway` before it acknowledges, and the dispatcher refuses an item only while nobody did; one
    lock decides between the two, so an acknowledged item is never dropped and a refused one never runs."""

    def __init__(self) -> None:
        super().__init__()
        self._decided = threading.Lock()
        self._answered = False
        self._refused = False

    def answer_anyway(self) -> bool:
        """For an adapter whose wait ran out: True when it may acknowledge (the item will be handled, with its
        journal row or without); False when the item was refused meanwhile (refuse the delivery)."""
        with self._decided:
            if self._refused:
                return False
            self._answered = True
            return True

    def refuse(self) -> bool:
        """For the dispatcher: True (and the item is refused) when the adapter still waits; False when it has
        answered the platform already, so the item must be handled."""
        with self._decided:
            if self._answered:
                return False
            self._refused = True
            return True


class Submission(Future):
    """What `submit` returns: a future of the replies, plus `journalled` (see `Journalled`)."""

    def __init__(self) -> None:
        super().__init__()
        self.journalled = Journalled()


class Dispatcher:
    def __init__(self, services: Services, *, max_workers: int = 2) -> None:
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="dispatch")
        # One thread writes the journal, so the platform-facing caller never holds a database lock itself
        # (it waits, bounded, on `journalled`), and items reach the workers in the order they came.
        self._intake = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatch-intake")
        self._arrivals: deque[tuple[Command | Action, Submission]] = deque()
        self.interrupted_grace_s = INBOUND_INTERRUPTED_GRACE_S
        self.heartbeat_interval_s = INBOUND_HEARTBEAT_INTERVAL_S
        # journal ids this process's workers are running (their heartbeats are refreshed), and the begun rows
        # a previous process left (watched until answered or their heartbeat goes stale)
        self._in_flight: set[int] = set()
        self._watched: dict[int, _BegunElsewhere] = {}
        self._keeper_lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._keeper_stop = threading.Event()
        #: the clock time the keeper last looked at the watched rows (the log and tests can tell it looked)
        self.begun_checked_at: datetime | None = None
        # platform -> user id -> display name, for platforms whose events carry only an id (Feishu)
        self._name_lookups: dict[str, Callable[[str], str | None]] = {}
        # conversation -> its items not finished yet, in journal order (the first one holds the conversation);
        # one thread starts the next item of a conversation whose first one held it LANE_HOLD_MAX_S
        self.lane_hold_max_s = LANE_HOLD_MAX_S
        self._lanes: dict[str, deque[_Queued]] = {}
        self._lanes_changed = threading.Condition()
        self._lane_timer: threading.Thread | None = None
        self._lanes_closed = False

    def register_name_lookup(self, platform: str, lookup: Callable[[str], str | None]) -> None:
        """Let commands from `platform` without a user name get one (in the worker, not the HTTP answer)."""
        self._name_lookups[platform] = lookup

    def submit(self, item: Command | Action) -> Submission:
        """Journal the item, then handle it in a worker thread; returns at once. The adapter waits on the
        returned `journalled` before acknowledging the platform (and refuses the delivery when it fails with
        `NotTaken`); the submission itself fails if the item could not be handled or was not taken."""
        submission = Submission()
        entry = (storable_item(item), submission)
        self._arrivals.append(entry)
        try:
            self._intake.submit(self._take_arrivals)
        except BaseException:
            self._arrivals.remove(entry)
            raise
        return submission

    def _take_arrivals(self) -> None:
        """On the intake thread: journal what has arrived (one transaction), then queue it for the workers.
        Each submit queued one call of this, so a batch taken early leaves later calls with nothing to do."""
        batch: list[tuple[Command | Action, Submission]] = []
        while self._arrivals and len(batch) < JOURNAL_BATCH_MAX:
            batch.append(self._arrivals.popleft())
        if not batch:
            return
        try:
            outcomes: list[int | Exception | None] = list(self._journal_all([item for item, _ in batch]))
        except BaseException as exc:  # noqa: BLE001 - e.g. interpreter shutdown: each caller is told
            outcomes = [None] * len(batch)
            for _, submission in batch:
                submission.set_exception(exc)
                if submission.journalled.refuse():
                    submission.journalled.set_exception(exc)
        for (item, submission), outcome in zip(batch, outcomes, strict=True):
            journal_id = None if isinstance(outcome, Exception) else outcome
            if isinstance(outcome, Exception):
                self._not_journalled(item, submission, outcome)
            if not submission.journalled.done():
                submission.journalled.set_result(journal_id)
            if submission.done():
                continue
            self._line_up(item, journal_id, submission)

    @staticmethod
    def _not_journalled(item: Command | Action, submission: Submission, error: Exception) -> None:
        """An item whose journal row could not be written: refused while its adapter still waits and the
        database is unavailable (nothing runs, nothing is kept: the delivery is refused, so it comes again);
        otherwise handled without crash protection. The log says which."""
        what = f"{type(item).__name__} {item.event_id}"
        reason = failure_line(error)
        if not database_unavailable(error):
            # one row the database will not store (a value it cannot hold): the others' fate is not this one's
            log.error("could not journal inbound %s (its row was refused: %s); handling it without crash "
                      "protection", what, reason, exc_info=error)
        elif submission.journalled.refuse():
            log.error("could not journal inbound %s: the database is unavailable (%s); not taken: nothing runs "
                      "and nothing is kept, the delivery is refused so that it is sent again", what, reason)
            refusal = NotTaken(f"inbound {item.event_id} not taken: the database is unavailable ({reason})")
            submission.set_exception(refusal)  # first: an adapter forgets the delivery before it refuses it
            submission.journalled.set_exception(refusal)
        else:
            log.error("could not journal inbound %s: the database is unavailable (%s), and it was acknowledged "
                      "already (the wait for its row ran out); handling it without crash protection", what, reason)

    def replay_journal(self) -> int:
        """Queue what the journal still holds from before this start (commands acknowledged, then lost in a
        crash before a worker ran them); the person is told about those it will not run (begun when the
        process died, or older than INBOUND_REPLAY_MAX_AGE). Only the
        process that serves the chat platforms calls this (a `crisisbot console` beside it must not take
        the server's items). Returns how many were queued."""
        cutoff = self.services.clock.now() - INBOUND_REPLAY_MAX_AGE
        with self.services.db.session() as session:
            rows = session.execute(select(InboundItem).order_by(InboundItem.id)).scalars().all()
            pending = [(row.id, row.kind, row.payload, row.received_at, row.heartbeat_at) for row in rows]
        queued = 0
        begun: dict[int, _BegunElsewhere] = {}
        started_at = self.services.clock.now()
        for journal_id, kind, payload, received_at, heartbeat_at in pending:
            item = _item_from_journal(kind, payload)
            if item is None:
                log.warning("inbound %s %s from %s is unreadable (another version's row); dropped", kind,
                            payload.get("event_id"), received_at.isoformat())
                self._unjournal(journal_id)
            elif self._was_started(item):
                # A worker had begun it: its effects may or may not be stored, and running it again could act
                # twice (two runs, two replies to a customer). Its answer removes the row in the same
                # transaction, so a row still here once its heartbeat stopped moving was interrupted; the
                # person is asked to check and retry. (An old row has no process left that could still be
                # finishing it.)
                if received_at < cutoff:
                    self._settle_begun(journal_id, item)
                else:
                    begun[journal_id] = _BegunElsewhere(item, heartbeat_at, started_at)
            elif received_at < cutoff:
                self._tell_not_run("inbound_expired", item, received_at)
                self._unjournal(journal_id)
            else:
                log.info("inbound %s %s from %s: running it now (received before the restart)", kind,
                         item.event_id, received_at.isoformat())
                self._line_up(item, journal_id, Future())  # in journal order, as when it first came
                queued += 1
        if begun:
            with self._keeper_lock:
                self._watched.update(begun)
            self._ensure_keeper()
        return queued

    @property
    def interrupted_after_s(self) -> float:
        """How long (clock time) a begun row's heartbeat must stay still before its sender is told."""
        return max(INBOUND_STALE_HEARTBEATS * self.heartbeat_interval_s, self.interrupted_grace_s)

    def _ensure_keeper(self) -> None:
        """Start the thread that beats for this process's running rows and the one that watches the rows
        others left. Two threads: settling a row can wait on a busy database (retried for seconds), and
        the beats must not wait behind it, or this process's own running rows would look stale to another."""
        with self._keeper_lock:
            if self._keeper is not None or self._keeper_stop.is_set():
                return
            self._keeper = threading.Thread(target=self._keep_journal, name="dispatch-heartbeat", daemon=True)
            self._watcher = threading.Thread(target=self._watch_journal, name="dispatch-journal", daemon=True)
            self._keeper.start()
            self._watcher.start()

    def _keep_journal(self) -> None:
        while not self._keeper_stop.wait(self.heartbeat_interval_s):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - a keeper that died would let the running rows look stale
                log.exception("inbound journal heartbeat failed")

    def _watch_journal(self) -> None:
        while not self._keeper_stop.wait(min(_KEEPER_TICK_S, self.heartbeat_interval_s)):
            try:
                self._check_begun_elsewhere()
            except Exception:  # noqa: BLE001 - looked at again at the next tick
                log.exception("inbound journal watch failed")

    def _beat(self) -> None:
        with self._keeper_lock:
            running = sorted(self._in_flight)  # sorted: the same lock order in every transaction
        if not running:
            return
        try:
            with self.services.db.session() as session:
                session.execute(update(InboundItem).where(InboundItem.id.in_(running))
                                .values(heartbeat_at=self.services.clock.now())
                                .execution_options(synchronize_session=False))
        except Exception:  # noqa: BLE001 - the next beat tries again; a few missed ones are allowed for
            log.warning("could not refresh the heartbeat of inbound rows %s", running, exc_info=True)

    def _check_begun_elsewhere(self) -> None:
        """Forget the watched rows that were answered; settle those whose heartbeat stood still long enough.
        Only whether the heartbeat moved counts, measured on this process's clock: the other process's
        clock may be off (another host) without making a running command look stale or a dead one alive."""
        with self._keeper_lock:
            watched = dict(self._watched)
        if not watched:
            self.begun_checked_at = self.services.clock.now()
            return
        try:
            with self.services.db.session() as session:
                beats = dict(session.execute(select(InboundItem.id, InboundItem.heartbeat_at)
                                             .where(InboundItem.id.in_(watched))).all())
        except Exception:  # noqa: BLE001 - looked at again at the next tick
            log.warning("could not read the begun inbound rows", exc_info=True)
            return
        # read after the rows: a heartbeat seen moving counts as moving now, never since before it was read
        now = self.services.clock.now()
        for journal_id, begun in watched.items():
            if journal_id not in beats:
                done = True  # answered by the process that had begun it
            elif beats[journal_id] != begun.heartbeat_at:
                begun.heartbeat_at, begun.still_since = beats[journal_id], now  # still running there
                done = False
            elif (now - begun.still_since).total_seconds() < self.interrupted_after_s:
                done = False
            else:
                # False when it was answered, or beat, just now: the next tick sees which
                done = self._settle_begun(journal_id, begun.item, heartbeat_at=begun.heartbeat_at) is not False
            if done:
                with self._keeper_lock:
                    self._watched.pop(journal_id, None)
        self.begun_checked_at = now

    def _settle_begun(self, journal_id: int, item: Command | Action, *,
                      heartbeat_at: datetime | None | object = ...) -> bool | None:
        """Tell the sender their item was interrupted and drop its row, in one transaction, if the row is still
        there (with `heartbeat_at`, when given: its process has not beaten since). True when settled, False
        when not (the row went or beat), None when it failed (the row stays for the next start)."""

        def settle() -> bool:
            # the write lock first on SQLite (FOR UPDATE on PostgreSQL): the row read is the row deleted, so
            # an answer stored meanwhile by the process that had begun it is never followed by this notice
            with self.services.db.session(write_lock=True) as session:
                row = session.execute(select(InboundItem).where(InboundItem.id == journal_id)
                                      .with_for_update()).scalar_one_or_none()
                if row is None or (heartbeat_at is not ... and row.heartbeat_at != heartbeat_at):
                    return False
                if not self._was_answered(item, session):  # a row of an older version, whose answer is stored
                    self._enqueue_not_run(session, "inbound_interrupted", item, row.received_at)
                session.delete(row)
                return True

        try:
            return _retrying_while_busy(settle)
        except Exception:  # noqa: BLE001 - the row stays for the next start
            log.exception("could not settle interrupted inbound row %s", journal_id)
            return None

    def _tell_not_run(self, notice: str, item: Command | Action, received_at) -> None:
        def tell() -> None:
            with self.services.db.session() as session:
                self._enqueue_not_run(session, notice, item, received_at)

        _retrying_while_busy(tell)

    def _enqueue_not_run(self, session, notice: str, item: Command | Action, received_at) -> None:
        log.warning("inbound %s %s from %s not run after the restart (%s); telling %s", type(item).__name__,
                    item.event_id, received_at.isoformat(), notice, item.user)
        # its own key: never in the place of the real answer (`reply:…:0`); in the channel's language, as the
        # answer would have been
        lang = self.services.config.channel_language(item.channel)
        self._enqueue_in(session, item, [_not_run_notice(notice, item, lang)],
                         base=f"{_reply_key_base(item)}:restart")

    def _was_started(self, item: Command | Action) -> bool:
        if not item.event_id:
            return False
        with self.services.db.session() as session:
            return session.get(ProcessedEvent, _event_key(item)) is not None

    @staticmethod
    def _was_answered(item: Command | Action, session) -> bool:
        return session.execute(select(OutboxMessage.id).where(
            OutboxMessage.key == f"{_reply_key_base(item)}:0")).first() is not None

    def shutdown(self) -> None:
        self._intake.shutdown(wait=True, cancel_futures=False)
        # every item lined up is handed to the workers before they stop taking work (each one holds its
        # conversation at most lane_hold_max_s); then the workers finish what they have
        with self._lanes_changed:
            self._lanes_changed.wait_for(lambda: not self._lanes)
        self._pool.shutdown(wait=True, cancel_futures=False)
        with self._lanes_changed:
            self._lanes_closed = True
            self._lanes_changed.notify_all()
            timer = self._lane_timer
        if timer is not None:
            timer.join(timeout=30)
        # after the workers: their rows keep beating while they finish; the watched rows stay for the next start
        self._keeper_stop.set()
        with self._keeper_lock:
            threads = [t for t in (self._keeper, self._watcher) if t is not None]
        for thread in threads:
            thread.join(timeout=30)

    def _journal_all(self, items: list[Command | Action]) -> list[int | Exception]:
        """The journal rows' ids, in order; for an item whose row could not be written, the error (see
        `_not_journalled`). A database that is unavailable fails the whole batch at once; any other error
        is one row the database refuses, and must not cost the others their rows."""
        now = self.services.clock.now()
        rows = [{"kind": "command" if isinstance(item, Command) else "action", "platform": item.platform,
                 "payload": asdict(item), "received_at": now} for item in items]

        def write() -> list[int]:
            with self.services.db.session() as session:
                return list(session.scalars(
                    insert(InboundItem).returning(InboundItem.id, sort_by_parameter_order=True), rows))

        try:
            return _retrying_while_busy(lambda: _again_if_disconnected(write))
        except Exception as error:  # noqa: BLE001 - see the docstring
            if len(items) == 1 or database_unavailable(error):
                return [error] * len(items)
        return [self._journal_all([item])[0] for item in items]

    def _unjournal(self, journal_id: int | None) -> None:
        if journal_id is None:
            return
        try:
            _retrying_while_busy(lambda: self._delete_journal_row(journal_id))
        except Exception:  # noqa: BLE001 - the item ran; at worst the next start finds its event id handled
            log.exception("could not clear inbound journal row %s", journal_id)

    def _delete_journal_row(self, journal_id: int) -> None:
        with self.services.db.session() as session:
            session.execute(delete(InboundItem).where(InboundItem.id == journal_id))

    # ---- one conversation's items in order ------------------------------------------------------------------
    def _line_up(self, item: Command | Action, journal_id: int | None, future: Future) -> None:
        """Queue a journalled item behind the earlier ones of its conversation; `future` gets its replies."""
        entry = _Queued(item, journal_id, future, _lane_key(item))
        with self._lanes_changed:
            lane = self._lanes.setdefault(entry.key, deque())
            lane.append(entry)
            due = self._due_in(lane)
            self._ensure_lane_timer()
            self._lanes_changed.notify_all()
        self._hand_over(due)

    def _due_in(self, lane: deque[_Queued]) -> list[_Queued]:
        """(Under `_lanes_changed`.) The items of `lane` a worker should take now: the first ones not begun
        yet (up to _LANE_BEGUN_MAX), and the first one once it is ready to run its handler."""
        due = []
        for position, entry in enumerate(itertools.islice(lane, _LANE_BEGUN_MAX)):
            if entry.state == "waiting":
                entry.state = "begun"
                due.append(entry)
            elif position == 0 and entry.state == "ready":
                entry.state = "running"
                due.append(entry)
            elif position == 0 and entry.working and entry.holds_since is None:
                entry.holds_since = time.monotonic()  # it came first while a worker was beginning it
        return due

    def _hand_over(self, due: list[_Queued]) -> None:
        pending = deque(due)
        while pending:
            entry = pending.popleft()
            try:
                self._pool.submit(self._work, entry)
            except BaseException as exc:  # noqa: BLE001 - e.g. the pool shut down: its future says so, its row stays
                pending.extend(self._done(entry, error=exc))

    def _work(self, entry: _Queued) -> None:
        """In a worker: begin the item (event id, name), then run it if it is its conversation's turn; an item
        begun ahead of its turn waits (without its worker) until the one before it is finished."""
        with self._lanes_changed:
            entry.working = True
            if self._holds_lane(entry) and entry.holds_since is None:
                entry.holds_since = time.monotonic()
            self._lanes_changed.notify_all()
        try:
            if entry.named is None:
                if not self._begin(entry.item, entry.journal_id):
                    self._hand_over(self._done(entry, result=[]))  # a duplicate: nothing to run
                    return
                entry.named = self._with_user_name(entry.item)
                with self._lanes_changed:
                    if not (entry.overtaken or self._holds_lane(entry)):
                        entry.state, entry.working = "ready", False
                        self._lanes_changed.notify_all()
                        return
                    entry.state = "running"
            replies = self._run_named(entry.named, entry.journal_id)
        except BaseException as exc:  # noqa: BLE001 - its future says so (and the log, see `_done`)
            self._hand_over(self._done(entry, error=exc))
            return
        self._hand_over(self._done(entry, result=replies))

    def _holds_lane(self, entry: _Queued) -> bool:
        lane = self._lanes.get(entry.key)
        return bool(lane) and lane[0] is entry

    def _done(self, entry: _Queued, *, result: list[Message] | None = None,
              error: BaseException | None = None) -> list[_Queued]:
        """The item is finished: its conversation moves on (returns what a worker should take next), and its
        future gets the replies or the error."""
        if entry.journal_id is not None:
            with self._keeper_lock:
                self._in_flight.discard(entry.journal_id)
        with self._lanes_changed:
            entry.state, entry.working = "done", False
            due: list[_Queued] = []
            lane = self._lanes.get(entry.key)
            if lane is not None and any(queued is entry for queued in lane):
                lane.remove(entry)
                if lane:
                    due = self._due_in(lane)
                else:
                    del self._lanes[entry.key]
            self._lanes_changed.notify_all()
        if error is not None:
            self._failed(entry.item, entry.journal_id, error)
        try:
            if not entry.future.done():
                if error is not None:
                    entry.future.set_exception(error)
                else:
                    entry.future.set_result(result or [])
        except InvalidStateError:  # cancelled by its caller meanwhile
            pass
        return due

    def _failed(self, item: Command | Action, journal_id: int | None, error: BaseException) -> None:
        # A failure before the handler ran leaves the row: the next start runs it, unless the platform's
        # retry was handled first (its event id is then known and the replay is dropped as a duplicate).
        # The row goes in the transaction that stores the answer; when the answer could not be stored it
        # goes anyway: running it again at the next start could act twice (only the platform's own retry
        # may run it again).
        if isinstance(error, RepliesNotStored):
            self._unjournal(journal_id)
        elif not isinstance(error, Exception):
            return
        elif journal_id is None:
            log.error("inbound %s %s failed; it is not in the journal (its row could not be written), so nothing "
                      "is kept for the next start", type(item).__name__, item.event_id, exc_info=error)
        else:
            log.error("inbound %s %s failed; kept for the next start", type(item).__name__, item.event_id,
                      exc_info=error)

    def _ensure_lane_timer(self) -> None:
        """(Under `_lanes_changed`.) Start the thread that lets a conversation move on past an item that held
        it LANE_HOLD_MAX_S."""
        if self._lane_timer is None and not self._lanes_closed:
            self._lane_timer = threading.Thread(target=self._time_lanes, name="dispatch-lanes", daemon=True)
            self._lane_timer.start()

    def _time_lanes(self) -> None:
        while True:
            with self._lanes_changed:
                if self._lanes_closed:
                    return
                due, wake_at = self._overtake_overdue()
                if not due:
                    self._lanes_changed.wait(None if wake_at is None else max(0.0, wake_at - time.monotonic()))
                    continue
            self._hand_over(due)

    def _overtake_overdue(self) -> tuple[list[_Queued], float | None]:
        """(Under `_lanes_changed`.) Take out of their conversation the items that held it longer than
        lane_hold_max_s (they go on running): what a worker should take now, and when to look again."""
        now = time.monotonic()
        due: list[_Queued] = []
        wake_at: float | None = None
        for key in list(self._lanes):
            lane = self._lanes[key]
            while lane and lane[0].holds_since is not None and lane[0].holds_since + self.lane_hold_max_s <= now:
                slow = lane.popleft()
                slow.overtaken = True
                log.warning("inbound %s %s in %s still running after %.0f s; the next one of that conversation "
                            "starts now, out of order", type(slow.item).__name__, slow.item.event_id, key,
                            now - slow.holds_since)
                due.extend(self._due_in(lane))
            if not lane:
                del self._lanes[key]
            elif lane[0].holds_since is not None:
                deadline = lane[0].holds_since + self.lane_hold_max_s
                wake_at = deadline if wake_at is None else min(wake_at, deadline)
        if due:
            self._lanes_changed.notify_all()
        return due, wake_at

    def first_time(self, item: Command | Action, *, journal_id: int | None = None) -> bool:
        """Record the inbound event id; False when it was seen before (a platform retry or duplicate). With
        the item's journal row, its first heartbeat goes in the same transaction: a row begun has one."""
        if not item.event_id:
            return True
        key, *aliases = _event_keys(item)
        try:
            with self.services.db.session() as session:
                now = self.services.clock.now()
                # one row per id the event may come back under, in one transaction: any of them seen before
                # makes the whole insert fail, so the event is a duplicate (before, a Slack event id sent
                # again with another message ts ran the command a second time)
                session.add_all([ProcessedEvent(key=k, received_at=now) for k in (key, *aliases)])
                if journal_id is not None:
                    session.execute(update(InboundItem).where(InboundItem.id == journal_id)
                                    .values(heartbeat_at=now).execution_options(synchronize_session=False))
        except IntegrityError:
            log.info("duplicate inbound event %s ignored", key)
            return False
        return True

    def handle(self, item: Command | Action, *, journal_id: int | None = None) -> list[Message]:
        """Run the command/action once, now, in the calling thread, and enqueue its replies (removing its
        journal row, if any, in the same transaction); returns the replies (for the console)."""
        item = storable_item(item)
        if not self._begin(item, journal_id):
            return []
        try:
            return self._run_named(self._with_user_name(item), journal_id)
        finally:
            if journal_id is not None:
                with self._keeper_lock:
                    self._in_flight.discard(journal_id)

    def _begin(self, item: Command | Action, journal_id: int | None) -> bool:
        """Record the event id (False, and its journal row goes, when it was seen before); its row, if any,
        counts as running from now on (its heartbeat is kept moving)."""
        if not _retrying_while_busy(lambda: self.first_time(item, journal_id=journal_id)):
            self._unjournal(journal_id)
            return False
        if journal_id is not None:
            with self._keeper_lock:
                self._in_flight.add(journal_id)
            self._ensure_keeper()
        return True

    def _run_named(self, item: Command | Action, journal_id: int | None = None) -> list[Message]:
        if isinstance(item, Command):
            metrics.COMMANDS_HANDLED.labels(item.platform, "command").inc()
            replies = self._run_command(item)
        else:
            metrics.COMMANDS_HANDLED.labels(item.platform, "action").inc()
            replies = self._run_action(item)
        try:
            # the command has run: only storing its answer is retried (running it again could act twice)
            _retrying_while_busy(lambda: self._enqueue_replies(item, replies, journal_id=journal_id))
        except Exception as exc:
            # The answer could not be stored (e.g. the database is down): forget the event id so the
            # platform's retry is handled instead of being dropped as a duplicate.
            self._forget(item)
            raise RepliesNotStored(str(exc)) from exc
        return replies

    def _with_user_name(self, item: Command | Action) -> Command | Action:
        """The item with the person's display name, when the adapter gave only an id and can look it up."""
        lookup = self._name_lookups.get(item.platform)
        if item.user_name or lookup is None:
            return item
        user_id = item.user.partition(":")[2] or item.user
        try:
            name = lookup(user_id)
        except Exception:  # noqa: BLE001 - a missing name must never stop the command; the id stands in
            log.exception("display name lookup for %s failed", item.user)
            return item
        return replace(item, user_name=name) if name else item

    def _forget(self, item: Command | Action) -> None:
        if not item.event_id:
            return
        keys = _event_keys(item)  # the aliases too: the platform's retry carries them as well
        try:
            with self.services.db.session() as session:
                session.execute(delete(ProcessedEvent).where(ProcessedEvent.key.in_(keys)))
        except Exception:  # noqa: BLE001 - nothing more can be done; the log says what happened
            log.exception("could not release inbound event id %s", keys[0])

    def _run_command(self, command: Command) -> list[Message]:
        registry = self.services.registry
        # every answer below, the dispatcher's own included, in the language of the channel typed in
        lang = self.services.config.channel_language(command.channel)
        try:
            parsed = parse_command_line(command.text)
        except UsageError as exc:
            return [Message(text=labelled("usage_error", exc, lang), ephemeral=True)]
        spec = registry.find(parsed.name)
        if spec is None:
            text = for_channel("unknown_command", lang, name=parsed.name)
            closest = registry.closest(parsed.name)
            if closest:
                text += "\n" + for_channel("did_you_mean", lang, name=closest)
            return [Message(text=text, ephemeral=True)]
        parsed = parse_command_line(command.text, flags=spec.flags, options=spec.options)
        if spec.sub_options:
            options, flags = spec.grammar_for(parsed.sub)
            if (options, flags) != (spec.options, spec.flags):
                parsed = parse_command_line(command.text, flags=flags, options=options)
        # "/name help", "/name 帮助", "/name --help", "/name -h": the usage, for every command alike (a handler
        # used to read "--help" as a subcommand, a period or a draft)
        if wants_help(parsed):
            return [spec.help(lang)]
        ctx = CommandContext(services=self.services, command=command)
        return self._call(lambda: spec.handler(ctx, parsed), spec=spec, lang=lang)

    def _run_action(self, action: Action) -> list[Message]:
        # a button answers in the language of the channel it was pressed in
        lang = self.services.config.channel_language(action.channel)
        handler = self.services.registry.find_action(action.action_id)
        if handler is None:
            return [Message(text=for_channel("unknown_button", lang, action=inert(action.action_id[:80])),
                            ephemeral=True)]
        ctx = CommandContext(services=self.services, action=action)
        return self._call(lambda: handler(ctx, action), spec=None, lang=lang)

    def _call(self, fn, *, spec: CommandSpec | None, lang: str = "zh") -> list[Message]:
        try:
            result = fn()
        except UsageError as exc:
            if spec is not None and exc.brief:
                # the error names the form to type: that line and where the usage is, not the usage under it
                # (English alone in a channel set to English, whether or not the command has `usage_en`)
                pointer = t("usage_pointer", lang, name=spec.name)
                return [Message(text=f"{labelled('usage_error', exc, lang)}\n{pointer}", ephemeral=True)]
            if spec is None and lang == "en":
                # a button pressed in a channel set to English ("alert not found"): the error's English alone;
                # a button has no usage to add
                return [Message(text=labelled("usage_error", exc, "en"), ephemeral=True)]
            if spec is not None and spec.in_english(lang):
                # a channel set to English, a command with its usage in English: the error's English alone
                # (`in_language`: the bilingual message when it has none) and that usage
                return [Message(text=f"{labelled('usage_error', exc, 'en')}\n\n{spec.usage_en}", ephemeral=True)]
            text = labelled("usage_error", exc)
            if spec is not None and spec.usage:
                text += "\n\n" + spec.usage
            return [Message(text=text, ephemeral=True)]
        except PermissionDenied as exc:
            # a channel set to English: the refusal's English alone (`en`), for every command and button
            return [Message(text=labelled("permission_denied", exc, lang), ephemeral=True)]
        except Exception:  # noqa: BLE001 - the user gets a short reply, the log gets the traceback
            ref = uuid.uuid4().hex[:8]
            log.exception("handler failed (ref %s)", ref)
            return [Message(text=for_channel("internal_error", lang, ref=ref), ephemeral=True)]
        if result is None:
            return []
        return list(result) if isinstance(result, list | tuple) else [result]

    def _enqueue_replies(self, item: Command | Action, replies: list[Message], *, base: str | None = None,
                         journal_id: int | None = None) -> None:
        if not replies and journal_id is None:
            return
        with self.services.db.session() as session:
            if journal_id is not None:
                session.execute(delete(InboundItem).where(InboundItem.id == journal_id))
            self._enqueue_in(session, item, replies, base=base or _reply_key_base(item))

    def _enqueue_in(self, session, item: Command | Action, replies: list[Message], *, base: str) -> None:
        for i, reply in enumerate(replies):
            meta = dict(reply.meta)
            meta.setdefault("reply", dict(item.reply))
            meta.setdefault("in_reply_to_user", item.user)
            message = Message.from_dict({**reply.to_dict(), "meta": meta})
            self.services.outbox.enqueue(session, channel=item.channel, message=message, key=f"{base}:{i}")


@dataclass
class _BegunElsewhere:
    """A row another process's worker had begun, watched by the keeper: the heartbeat last read, and since
    when (this process's clock) it has not moved."""

    item: Command | Action
    heartbeat_at: datetime | None
    still_since: datetime


@dataclass(eq=False)
class _Queued:
    """An item lined up in its conversation: waiting -> begun (a worker records its event id and looks up the
    name) -> ready (waiting for its turn, without a worker) -> running -> done."""

    item: Command | Action
    journal_id: int | None
    future: Future
    key: str
    state: str = "waiting"
    working: bool = False  # a worker is on it now
    named: Command | Action | None = None  # once begun: the item with the person's name
    holds_since: float | None = None  # monotonic: since when, coming first in its conversation, it holds it
    overtaken: bool = False  # held it past lane_hold_max_s: no longer in its conversation's line


class RepliesNotStored(Exception):
    """The command ran, but its answer could not be stored."""


def storable_item(item: Command | Action) -> Command | Action:
    """The item with the characters no database can hold (NUL, lone surrogates) replaced by U+FFFD in every
    text it carries, as ingest stores comments (`storable`). A person cannot type them, but a client or a
    script can send them (a slash command's "%00", a "\\u0000" or "\\ud800" in an event's JSON). Kept, a
    NUL in a run's title failed the command on PostgreSQL with an ERROR and a traceback ("text fields cannot
    contain NUL"), and a lone surrogate, which UTF-8 cannot encode, was answered "用法有误 / Bad usage: 'utf-8'
    codec can't encode…" on any database. Cleaned here, the one door every adapter's items come through,
    before the journal and the handlers see them."""
    changes: dict[str, object] = {}
    for spec in fields(item):
        value = getattr(item, spec.name)
        if isinstance(value, str):
            clean: object = storable_text(value)
        elif isinstance(value, dict):
            clean = storable(value)
        elif isinstance(value, tuple):
            clean = tuple(storable(list(value)))
        else:
            continue
        if clean != value:
            changes[spec.name] = clean
    return replace(item, **changes) if changes else item


def _lane_key(item: Command | Action) -> str:
    """The conversation whose order the item keeps: its channel address (a form without one: its sender)."""
    return item.channel or f"{item.platform}:user:{item.user}"


def _event_key(item: Command | Action) -> str:
    return f"{item.platform}:{item.event_id}"[:255]


def _event_keys(item: Command | Action) -> list[str]:
    """The item's event key and those of the other ids it may be delivered under (`also_event_ids`)."""
    aliases = (f"{item.platform}:{alias}"[:255] for alias in getattr(item, "also_event_ids", ()))
    return list(dict.fromkeys([_event_key(item), *aliases]))


def _reply_key_base(item: Command | Action) -> str:
    return f"reply:{item.platform}:{item.event_id or uuid.uuid4().hex}"


def _not_run_notice(key: str, item: Command | Action, lang: str = "zh") -> Message:
    what = item.text if isinstance(item, Command) else f"{item.action_id} {item.value}".strip()
    hours = int(INBOUND_REPLAY_MAX_AGE.total_seconds() // 3600)
    return Message(text=for_channel(key, lang, what=what[:200], hours=hours), mentions=(item.user,))


def _item_from_journal(kind: str, payload: dict) -> Command | Action | None:
    try:
        return Command(**payload) if kind == "command" else Action(**payload)
    except TypeError:  # a row written by another version of the bot, with other fields
        return None


# A long write elsewhere (a 12,000-comment webhook batch with its alerts) can hold SQLite's write lock past
# its busy timeout. Slack never retries a slash command it has acknowledged, so a command that meets the
# lock waits and tries again rather than being lost.
BUSY_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)


def _retrying_while_busy(work: Callable[[], _T], sleep: Callable[[float], None] = time.sleep) -> _T:
    for delay in (*BUSY_RETRY_DELAYS_S, None):
        try:
            return work()
        except OperationalError as exc:
            if delay is None or not _database_busy(exc):
                raise
            log.warning("database busy (%s); retrying in %.1f s", str(exc.orig).splitlines()[0], delay)
            sleep(delay)
    raise AssertionError("unreachable")


def _again_if_disconnected(work: Callable[[], _T]) -> _T:
    """`work`, once more when its pooled connection turned out dead (the server restarted or dropped it):
    SQLAlchemy then discards the whole pool, and the second try opens a fresh connection."""
    try:
        return work()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.info("database connection lost (%s); trying once more on a new one", failure_line(exc))
        return work()


def _database_busy(exc: OperationalError) -> bool:
    """SQLite's lock or PostgreSQL's deadlock / serialization refusal: worth waiting for, unlike a bad query."""
    text = str(exc.orig).lower()
    return any(word in text for word in ("database is locked", "database table is locked", "deadlock detected",
                                         "could not serialize", "lock timeout"))
