"""The durable outbox: every outgoing chat message is a database row first, delivered by a worker.

A message is enqueued in the same transaction as the change that caused it. The worker delivers rows
once, in id order per channel, retrying transient failures with capped exponential backoff (honouring
Retry-After), so a chat outage or a restart delays a message and never loses it. A channel that waits
(an outage, a Retry-After) holds back only its own later messages, never another channel's.

A retry must not show a message twice either. Some failures leave the outcome unknown (a timeout, a
connection lost mid-request, a 5xx: the platform may have accepted the message). The row records when
such an attempt started (`maybe_sent_since`, written before the call and put back after a clean refusal,
so a worker killed mid-call counts too), and the next attempt hands it to the port, which checks the
platform for the message before sending it again. That next attempt waits at least the port's
`unknown_outcome_settle_s` (Slack: its client timeout plus a margin): a slow platform may still be storing
the message its late answer was about, and a check run before that finds nothing and sends a second copy.

A claim (a worker delivering a row) lasts LEASE_S and is renewed while the delivery runs, so a worker killed
mid-delivery holds its channel back for at most LEASE_S. When a platform takes a message again after an
outage, its other rows waiting on backoff for a transient failure are made due at once instead of after
their backoff (up to MAX_BACKOFF_S); a Retry-After wait is kept.

A credential the platform refuses (a revoked Slack token, a wrong Feishu app secret) is no reason to drop
anything: the platform is held (in memory), its messages stay pending and untouched, one of them probes
the credential again after a capped backoff, and the operator is told what to fix once per period. A fixed
credential reaches the bot by a restart (it is read from the environment at start); the hold is not
stored, so after the restart the waiting messages go out at once, in order.

A permission the app lacks (Slack `missing_scope`, Feishu 99991672) is held the same way, but only for the
messages that need it: the hold is per platform and *kind of call* (post, update or upload, with or without
PNG images or files, which is what decides the platform methods a message needs), not per platform, so a missing
`files:write` holds charts while text alerts keep going out, in the same channel too (a held row does not
hold up its channel; its kind of call and updates of it wait, in order). A granted permission takes effect
without a restart: the next probe (at most 5 minutes later) releases the held messages, in order.

Files (`Message.files`, a review's Markdown) travel like PNG images: base64 in the stored payload, so a
message queued before a restart is delivered after it; posted after the message's text (a message of files
alone is an upload), each under a key of its own derived from the row's ("<key>:file:<n>"), which the
port uses to avoid a second copy on a retry (Slack: a key-derived file name; Feishu: the message uuid).

An update whose message is gone for good (deleted in Slack, recalled in Feishu; the port's
`update_target_gone` tells) posts its version as a new message, and later updates edit that one: a deleted
run card comes back, buttons and all, at its next change, instead of every change failing for the rest of
the run. The post is keyed by the update's row, so a retry after a lost answer or a crash does not post it
twice. A redaction (kind REDACTION, queued by `purge --author --chat`) is the exception: it only edits,
and finds nothing to do when the message is gone.

A refresh (`enqueue(..., refresh=True)`, kind "refresh") is an update that only re-renders a message from
stored state, like a reply-queue card showing who claimed an item: cosmetic next to a new message, and
one press can queue several. Once its original is delivered it yields: each round delivers the channel's
other rows in id order, then its refreshes, in id order among themselves, and a message queued meanwhile
ends the round after the current refresh, so an alert waits for at most one of them, not for the pile
(Slack allows about 50 chat.update a minute). Nothing else moves: posts, uploads and plain updates keep
their order (a playbook card's edit still goes before the answer that follows it: the next click reads
that card); a refresh never goes before its original, which is out already; a waiting refresh (a
Retry-After on chat.update) holds back only the later refreshes of its channel, while any other waiting
row still holds back everything after it in its channel, refreshes included. A refresh whose predecessor
of the same message is still pending and untried takes that row's place instead of queueing behind it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import metrics
from bot.clock import Clock
from bot.messages import (
    ChatPort,
    CredentialChatError,
    Message,
    PermanentChatError,
    PermissionChatError,
    TransientChatError,
    split_channel,
)
from bot.storage.db import Database
from bot.storage.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0
# A worker owns a row this long after its claim, and renews that every LEASE_RENEW_S while the delivery runs
# (a slow platform, retries in place): a worker killed mid-delivery (kill -9, a crash) leaves a claim that
# holds back its channel's later messages for at most LEASE_S, not minutes, while a live worker's claim
# never runs out under it, so two live processes still never deliver one row at once.
LEASE_S = 20.0
LEASE_RENEW_S = 5.0
SUPERSEDED = "superseded"  # an update replaced by a later one before it was sent: finished, never sent
# An adapter that crashes on a message (a bug, or data it cannot render) would otherwise retry it forever
# and hold back every later message of its channel; a chat outage (TransientChatError) never counts here.
MAX_CRASHED_ATTEMPTS = 10
# While a platform refuses the bot's credentials, say so at most this often (the first refusal at once).
CREDENTIAL_LOG_EVERY_S = 600.0
PERMISSION_LOG_EVERY_S = 600.0  # the same for a missing permission, per platform and kind of call
CLAIM_TOKEN_STEP = timedelta(microseconds=1)  # see Outbox._replace_pending_refresh
REWRITE_SLACK = timedelta(milliseconds=1)  # how far rewrites of a claimed row may have moved its token
# A platform answering again ends its outage: the platform's other rows waiting on backoff after a transient
# failure are made due (module docstring), at most this often per platform (it costs an UPDATE).
RECOVERY_PULL_EVERY_S = 30.0
# Rows due later than a claim can reach (LEASE_S, plus this for clocks of other processes) are backoff
# waits, never claims: only those are pulled forward.
CLAIM_CLOCK_MARGIN_S = 5.0
RETRY_AFTER_MARK = "retry-after: "  # last_error of a row waiting for the platform's Retry-After: kept as it is
CRASHED_MARK = "crashed: "  # last_error of a row whose adapter crashed: its backoff is no outage's, kept too
REFRESH = "refresh"  # the kind of an update that only re-renders its message (module docstring)
# The kind of an edit that takes a person's words back out of a delivered message (`purge --author --chat`):
# an update that only edits. If the message is gone (deleted in Slack, recalled in Feishu) or never got
# out, there is nothing left to take back: it finishes SUPERSEDED instead of posting the message again.
REDACTION = "redaction"
UPDATE_KINDS = ("update", REFRESH, REDACTION)
REWRITTEN, MAYBE_SHOWN = "rewritten", "maybe-shown"  # what Outbox.rewrite did


@dataclass
class _CredentialHold:
    """A platform whose credentials were refused: no message of it is tried before `until`."""

    until: datetime
    refusals: int = 0
    logged_at: datetime | None = None


def backoff_seconds(attempts: int, retry_after: float | None = None, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter, capped; a platform's Retry-After wins when it asks for longer."""
    rng = rng or random
    base = min(MAX_BACKOFF_S, 2.0 ** max(0, attempts - 1))
    delay = base * (0.5 + rng.random())
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return min(delay, MAX_BACKOFF_S) if retry_after is None else delay


class Outbox:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.ports: dict[str, ChatPort] = {}
        self._wake = threading.Event()
        self._missing_port_logged: set[str] = set()
        self._deliver_lock = threading.Lock()
        self._credential_holds: dict[str, _CredentialHold] = {}  # platform -> hold (in memory on purpose)
        # (platform, kind of call) -> hold, for a permission the app lacks (in memory too)
        self._permission_holds: dict[tuple[str, str], _CredentialHold] = {}
        self._recovery_pulled_at: dict[str, datetime] = {}  # platform -> last _pull_forward_after_outage
        # row id -> the end of this process's claim on it (the claim token), while it is being delivered
        self._leases: dict[int, datetime] = {}
        self._lease_lock = threading.Lock()
        self._renewer: threading.Thread | None = None

    def register_port(self, port: ChatPort) -> None:
        self.ports[port.platform] = port

    # ---- writing -------------------------------------------------------------------------------
    def enqueue(
        self,
        session: Session,
        *,
        channel: str,
        message: Message,
        key: str,
        update_of: str | None = None,
        refresh: bool = False,
        redaction: bool = False,
    ) -> bool:
        """Add a message in the caller's transaction. Returns False if `key` was already enqueued.

        `refresh` (with `update_of`): this version only re-renders the message, so it yields to the channel's
        new messages (module docstring), and a pending refresh of the same message in the same channel that
        is not being delivered and has no attempt of unknown outcome takes it in place, keeping its place in
        the queue, instead of a new row queued behind it (then True too, and `key` is not stored): a card
        refreshed ten times while its edit waits costs one edit. `redaction` (with `update_of`): an edit that
        takes a person's words back out of the delivered message (REDACTION: never posted as a new one)."""
        split_channel(channel)  # refuse a malformed address now, not at delivery time
        if session.exec(select(OutboxMessage.id).where(OutboxMessage.key == key)).first() is not None:
            return False
        if refresh and update_of and self._replace_pending_refresh(
                session, channel=channel, update_of=update_of, message=message):
            self._wake.set()
            return True
        now = self.clock.now()
        row = OutboxMessage(
            key=key,
            channel=channel,
            kind=(REDACTION if redaction else REFRESH if refresh else "update") if update_of
            else ("upload" if _is_upload(message) else "post"),
            update_of=update_of,
            payload=message.to_dict(),
            next_attempt_at=now,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # a concurrent writer enqueued the same key
            return False
        metrics.MESSAGES_QUEUED.labels(channel.partition(":")[0]).inc()
        self._wake.set()
        return True

    @staticmethod
    def _replace_pending_refresh(session: Session, *, channel: str, update_of: str, message: Message) -> bool:
        """Put `message` into the newest pending update of `update_of` if that is a refresh, unless a worker
        holds it or an attempt of it may have reached the platform (then a new row must follow it). True
        when replaced."""
        pending = session.execute(
            select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.next_attempt_at,
                   OutboxMessage.maybe_sent_since).where(
                OutboxMessage.channel == channel, OutboxMessage.status == "pending",
                OutboxMessage.kind.in_(UPDATE_KINDS), OutboxMessage.update_of == update_of)
            .order_by(OutboxMessage.id.desc()).limit(1)
        ).first()
        if pending is None or pending.kind != REFRESH or pending.maybe_sent_since is not None:
            return False  # none, a plain update (keeps its place and content), in flight or maybe out
        # `next_attempt_at` is the compare-and-set token of `_claim` and `_supersede`: moving it (one
        # microsecond earlier, so never later than the backoff asked for) makes a worker that read the old
        # payload fail its claim and read the row again, instead of sending the version this replaces.
        result = session.execute(
            update(OutboxMessage).where(
                OutboxMessage.id == pending.id, OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at == pending.next_attempt_at,
                OutboxMessage.maybe_sent_since.is_(None))
            .values(payload=message.to_dict(), next_attempt_at=pending.next_attempt_at - CLAIM_TOKEN_STEP)
        )
        return result.rowcount == 1

    def pending_keys(self, session: Session, *, channel: str, key_prefix: str) -> list[tuple[str, str | None]]:
        """(key, update_of) of the channel's pending rows whose key starts with `key_prefix`, in id order."""
        rows = session.execute(
            select(OutboxMessage.key, OutboxMessage.update_of).where(
                OutboxMessage.channel == channel, OutboxMessage.status == "pending",
                OutboxMessage.key.startswith(key_prefix, autoescape=True))
            .order_by(OutboxMessage.id))
        return [(key, update_of) for key, update_of in rows]

    def withdraw(self, session: Session, *, channel: str, key_prefix: str) -> int:
        """Finish, unsent (SUPERSEDED), the channel's pending rows whose key starts with `key_prefix`: messages
        that no longer apply (a reminder of a step done meanwhile, in a chat outage). A worker about to claim
        one fails its claim; one already delivering it still finishes it as sent (it is out then);
        an earlier attempt of unknown outcome may have shown it, which no withdrawal can undo. Returns how
        many were withdrawn."""
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.status == "pending",
                   OutboxMessage.key.startswith(key_prefix, autoescape=True))
            .values(status=SUPERSEDED, sent_at=self.clock.now(), last_error="withdrawn: no longer applies")
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    @staticmethod
    def rewrite(session: Session, *, channel: str, key: str, message: Message) -> str | None:
        """Give a pending message new content in place, keeping its place in the queue. Returns None when
        there is no such pending row (or a worker claimed it meanwhile), REWRITTEN when no attempt of it was
        made, MAYBE_SHOWN when an earlier attempt of unknown outcome may have shown the old content (the
        caller queues an edit too)."""
        pending = session.execute(
            select(OutboxMessage.id, OutboxMessage.next_attempt_at, OutboxMessage.maybe_sent_since).where(
                OutboxMessage.key == key, OutboxMessage.channel == channel, OutboxMessage.status == "pending")
        ).first()
        if pending is None:
            return None
        # the claim token moves as in _replace_pending_refresh: a worker that read the old payload re-reads it
        result = session.execute(
            update(OutboxMessage).where(
                OutboxMessage.id == pending.id, OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at == pending.next_attempt_at)
            .values(payload=message.to_dict(), next_attempt_at=pending.next_attempt_at - CLAIM_TOKEN_STEP)
        )
        if result.rowcount != 1:
            return None
        return REWRITTEN if pending.maybe_sent_since is None else MAYBE_SHOWN

    def has(self, key: str) -> bool:
        """Whether a message with this idempotency key was ever enqueued (keys are never reused)."""
        with self.db.session() as session:
            return session.exec(select(OutboxMessage.id).where(OutboxMessage.key == key)).first() is not None

    @staticmethod
    def delivery(session: Session, keys: list[str]) -> list[tuple[str, datetime | None]]:
        """(status, sent_at) of the messages with these keys, in the caller's transaction."""
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.sent_at).where(OutboxMessage.key.in_(keys)))
        return [(status, sent_at) for status, sent_at in rows]

    def send(self, *, channel: str, message: Message, key: str, update_of: str | None = None) -> bool:
        """Enqueue in a transaction of its own (for callers with no other change to commit)."""
        with self.db.session() as session:
            return self.enqueue(session, channel=channel, message=message, key=key, update_of=update_of)

    def notify(self) -> None:
        self._wake.set()

    # ---- delivering ----------------------------------------------------------------------------
    def deliver_due(self, limit: int = 200, *, grace: float = 0.0, platform: str | None = None,
                    only_ids: Collection[int] | None = None) -> int:
        """Deliver what is due now; returns how many rows changed state. Safe to call from any thread.

        `grace` (seconds): take only rows that have been due at least that long. A `crisisbot console`
        beside `serve` uses it to leave the delivering to serve's worker (which takes a due row within half
        a second), and still delivers, late, what no serve is running to take. `platform`: only that
        platform's channels (the console's own: a console started without Slack/Feishu credentials must
        not take serve's Slack rows, fail them as "not enabled" and push their next attempt back).
        `only_ids`: only these rows (a console delivers only the messages it has shown)."""
        if only_ids is not None and not only_ids:
            return 0
        with self._deliver_lock:
            return self._deliver_due(limit, grace, platform, only_ids)

    def _deliver_due(self, limit: int, grace: float = 0.0, platform: str | None = None,
                     only_ids: Collection[int] | None = None) -> int:
        now = self.clock.now()
        due_by = now - timedelta(seconds=grace) if grace > 0 else now
        blocked: set[str] = set()
        permission_held: set[str] = set()  # keys of rows waiting for a permission (see below)
        refreshes: list[OutboxMessage] = []  # of delivered messages: after the rest (module docstring)
        done = 0
        seen_any = False
        after_id = 0
        # Read page after page, leaving out the channels already found waiting: with one page only, 200
        # messages queued for a channel in an outage (an alert storm while Slack is down) held back every
        # other channel's messages, Feishu and console included, until that outage ended.
        while done < limit:
            query = select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.id > after_id)
            if platform is not None:
                query = query.where(OutboxMessage.channel.startswith(f"{platform}:", autoescape=True))
            if only_ids is not None:
                query = query.where(OutboxMessage.id.in_(sorted(only_ids)))
            if blocked:
                query = query.where(OutboxMessage.channel.not_in(sorted(blocked)))
            with self.db.session() as session:
                rows = session.exec(query.order_by(OutboxMessage.id).limit(limit)).all()
            if not rows:
                break
            seen_any = True
            after_id = rows[-1].id
            superseded = _superseded_updates(rows)
            originals_out = self._delivered_originals(rows)
            for row in rows:
                if row.channel in blocked:
                    continue
                if row.id in superseded and self._supersede(row):
                    done += 1
                    continue
                if row.kind == REFRESH and row.update_of in originals_out:
                    refreshes.append(row)
                    continue
                if self._held_for_permission(row, now) or row.update_of in permission_held:
                    # Waits for a permission (a chart without files:write) without holding up the rest of
                    # its channel: a crisis alert must not queue behind a report's chart for hours. Its
                    # kind of call waits as a whole (order kept there), and so do updates of it.
                    permission_held.add(row.key)
                    continue
                blocked_now = row.next_attempt_at > due_by or self._held(row, now)
                if blocked_now:
                    blocked.add(row.channel)  # keep per-channel order: later rows wait for this one
                    continue
                if not self._claim(row, now):
                    blocked.add(row.channel)
                    continue
                delivered = self._deliver_one(row)
                done += 1
                if not delivered:
                    if self._held_for_permission(row, now):
                        permission_held.add(row.key)  # refused just now for a permission: as above
                    else:
                        blocked.add(row.channel)
            if len(rows) < limit:
                break
        if refreshes and done < limit:
            done += self._deliver_refreshes(refreshes, blocked, after_id, now, limit - done, due_by=due_by)
        if seen_any:
            self._update_pending_gauge()
        else:  # nothing was pending: no need to count (idle rounds run every half second)
            metrics.OUTBOX_PENDING.set(0)
        return done

    def _deliver_refreshes(self, refreshes: list[OutboxMessage], blocked: set[str], last_seen: int,
                           now: datetime, limit: int, *, due_by: datetime | None = None) -> int:
        """Deliver the round's refreshes of delivered messages, in id order per channel, after its other rows.

        A refresh later than a row its channel waits for was never collected (the first pass skips the rest
        of a waiting channel, as before); a refresh that waits (a Retry-After on chat.update) holds back only
        the later refreshes of its channel. A message queued since the round began ends the round after the
        current refresh: the next round sends that message first."""
        due_by = now if due_by is None else due_by
        refreshes_blocked: set[str] = set()
        done = 0
        for row in refreshes:
            if done >= limit:
                break
            if row.channel in refreshes_blocked:
                continue
            if self._held_for_permission(row, now):
                continue  # its kind of call waits for a permission; the rest of the channel goes on
            if row.next_attempt_at > due_by or self._held(row, now) or not self._claim(row, now):
                refreshes_blocked.add(row.channel)
                continue
            delivered = self._deliver_one(row)
            done += 1
            if not delivered and not self._held_for_permission(row, now):
                refreshes_blocked.add(row.channel)
            if self._new_message_since(last_seen, due_by, blocked):
                break
        return done

    def _delivered_originals(self, rows: list[OutboxMessage]) -> set[str]:
        """Keys among the pending refreshes' originals that are delivered (have a platform message id)."""
        keys = sorted({row.update_of for row in rows if row.kind == REFRESH and row.update_of})
        if not keys:
            return set()
        found: set[str] = set()
        with self.db.session() as session:
            for start in range(0, len(keys), 500):
                found.update(session.exec(select(OutboxMessage.key).where(
                    OutboxMessage.key.in_(keys[start:start + 500]),
                    OutboxMessage.platform_message_id.is_not(None))).all())
        return found

    def _new_message_since(self, last_seen: int, now: datetime, blocked: set[str]) -> bool:
        """Whether a row that is not a refresh was queued after row `last_seen` and is due now in a channel
        that is not waiting (a row the next round could send at once)."""
        query = select(OutboxMessage.id).where(
            OutboxMessage.id > last_seen, OutboxMessage.status == "pending", OutboxMessage.kind != REFRESH,
            OutboxMessage.next_attempt_at <= now)
        if blocked:
            query = query.where(OutboxMessage.channel.not_in(sorted(blocked)))
        with self.db.session() as session:
            return session.exec(query.limit(1)).first() is not None

    def _supersede(self, row: OutboxMessage) -> bool:
        """Finish an update that a later pending update of the same message replaces, without calling the
        platform: a burst (a watched term in 500 comments) becomes one edit, not 500 (Slack allows about
        50 chat.update a minute, and the channel's alerts would wait behind them)."""
        with self.db.session() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.status == "pending",
                       OutboxMessage.next_attempt_at == row.next_attempt_at)  # not claimed by another worker
                .values(status=SUPERSEDED, sent_at=self.clock.now(), maybe_sent_since=None,
                        last_error="superseded by a newer update of the same message")
            )
            return result.rowcount == 1

    def _claim(self, row: OutboxMessage, now) -> bool:
        # The lease counts from now, not from the round's start: a long round must not hand out claims
        # that have (almost) run out already.
        claimed_at = max(now, self.clock.now())
        lease_until = claimed_at + timedelta(seconds=LEASE_S)
        with self.db.session() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .where(OutboxMessage.status == "pending")
                .where(OutboxMessage.next_attempt_at == row.next_attempt_at)
                .values(
                    next_attempt_at=lease_until,
                    attempts=OutboxMessage.attempts + 1,
                    # Written before the call: if this process dies mid-request, the next worker still
                    # knows the message may be out there. A clean refusal puts the old value back.
                    maybe_sent_since=row.maybe_sent_since or claimed_at,
                )
            )
            claimed = result.rowcount == 1
        if claimed and row.id is not None:
            self._hold_lease(row.id, lease_until)
        return claimed

    def _hold_lease(self, row_id: int, until: datetime) -> None:
        """Keep renewing the claim on `row_id` until its delivery ends (`_drop_lease`)."""
        with self._lease_lock:
            self._leases[row_id] = until
            if self._renewer is None:
                self._renewer = threading.Thread(target=self._renew_leases, name="outbox-lease", daemon=True)
                self._renewer.start()

    def _drop_lease(self, row_id: int | None) -> None:
        with self._lease_lock:
            self._leases.pop(row_id, None)  # type: ignore[arg-type]

    def _renew_leases(self) -> None:
        """Every LEASE_RENEW_S, move the end of each claim held by a delivery still running; ends when none is.

        Compare-and-set on the claim's current end (the claim token): a delivery that finished, or gave the
        row back its due time, meanwhile is left as it is. A rewrite of the claimed row moves the token a
        microsecond earlier (`rewrite`); such a claim is still this delivery's and is renewed too."""
        while True:
            time.sleep(LEASE_RENEW_S)
            with self._lease_lock:
                if not self._leases:
                    self._renewer = None
                    return
                held = dict(self._leases)
            for row_id, until in held.items():
                renewed = self.clock.now() + timedelta(seconds=LEASE_S)
                try:
                    with self.db.session() as session:
                        result = session.execute(
                            update(OutboxMessage).where(
                                OutboxMessage.id == row_id, OutboxMessage.status == "pending",
                                OutboxMessage.next_attempt_at <= until,
                                OutboxMessage.next_attempt_at > until - REWRITE_SLACK)
                            .values(next_attempt_at=renewed))
                        done = result.rowcount == 1
                except Exception:  # noqa: BLE001 - the next renewal tries again; the lease has slack
                    log.warning("could not renew the outbox claim on message %s", row_id, exc_info=True)
                    continue
                if done:
                    with self._lease_lock:
                        if row_id in self._leases:
                            self._leases[row_id] = renewed

    def _deliver_one(self, row: OutboxMessage) -> bool:
        try:
            return self._deliver_claimed(row)
        finally:
            self._drop_lease(row.id)

    def _deliver_claimed(self, row: OutboxMessage) -> bool:
        platform, channel_id = split_channel(row.channel)
        port = self.ports.get(platform)
        attempts = row.attempts + 1
        if port is None:
            if platform not in self._missing_port_logged:
                log.warning("no chat adapter for %s is enabled: messages to %s wait in the outbox", platform, row.channel)
                self._missing_port_logged.add(platform)
            self._retry_later(row, attempts, f"chat platform {platform} is not enabled", None, maybe_delivered=False)
            return False
        message = Message.from_dict(row.payload)
        nothing_to_edit = False
        try:
            if row.kind in UPDATE_KINDS:
                target = self._message_id_of(row.update_of)
                if row.kind == REDACTION:
                    # a redaction only edits: a message deleted or recalled meanwhile is not posted again
                    # just to say words were taken out of it, and one never delivered has nothing to take back
                    message_id = target
                    gone = None if target is None else self._edit_unless_gone(port, channel_id, target, message)
                    nothing_to_edit = target is None or gone is not None
                    if gone is not None:
                        log.info("chat %s: message %s in %s is gone (%s): nothing to take back with %s",
                                 port.platform, target, row.channel, gone.code, row.key)
                elif target is None:
                    # The original is not delivered yet (or never will be): post this version instead, so
                    # the channel still sees the latest state.
                    message_id = port.post(channel_id, message, idempotency_key=row.key,
                                           maybe_sent_since=row.maybe_sent_since)
                    self._remember_alias(row.update_of, message_id)
                else:
                    message_id = self._update_or_repost(port, row, channel_id, target, message)
            elif row.kind == "upload":
                ids = [
                    port.upload(channel_id, image, idempotency_key=f"{row.key}:{n}" if n else row.key,
                                maybe_sent_since=row.maybe_sent_since)
                    for n, image in enumerate(message.images)
                ]
                # files after the images, each under a key of its own (never the row's: an image has it)
                upload_file = getattr(port, "upload_file", None)
                if message.files and upload_file is None:
                    raise PermanentChatError(f"chat {platform} takes no files", code="no_files")
                ids += [
                    upload_file(channel_id, file, idempotency_key=f"{row.key}:file:{n}",
                                maybe_sent_since=row.maybe_sent_since)
                    for n, file in enumerate(message.files)
                ]
                message_id = ids[0]
            else:
                message_id = port.post(channel_id, message, idempotency_key=row.key,
                                       maybe_sent_since=row.maybe_sent_since)
        except CredentialChatError as exc:
            metrics.CHAT_API_ERRORS.labels(platform, exc.code or "credentials").inc()
            self._hold_platform(platform, row, exc)
            return False
        except PermissionChatError as exc:
            metrics.CHAT_API_ERRORS.labels(platform, exc.code or "permission").inc()
            self._hold_kind(platform, row, exc)
            return False
        except TransientChatError as exc:
            metrics.CHAT_API_ERRORS.labels(platform, exc.code or "transient").inc()
            log.warning("chat %s temporarily failed for %s (attempt %d): %s", platform, row.channel, attempts, exc)
            self._retry_later(row, attempts, str(exc), exc.retry_after, maybe_delivered=exc.maybe_delivered,
                              settle_s=getattr(port, "unknown_outcome_settle_s", 0.0))
            return False
        except PermanentChatError as exc:
            metrics.CHAT_API_ERRORS.labels(platform, exc.code or "permanent").inc()
            metrics.MESSAGES_FAILED.labels(platform).inc()
            log.error("chat %s refused a message for %s: %s (code %s) - %s", platform, row.channel, exc, exc.code,
                      getattr(port, "refusal_hint", "fix the channel mapping or the app's access"))
            self._finish(row, status="failed", platform_message_id=None, error=f"{exc.code}: {exc}")
            self._credentials_work(platform)  # a refusal about the message itself: the credential passed
            return True
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not kill the worker or drop the row
            metrics.CHAT_API_ERRORS.labels(platform, "exception").inc()
            log.exception("chat %s delivery crashed for %s", platform, row.channel)
            if attempts >= MAX_CRASHED_ATTEMPTS:
                log.error("chat %s: giving up on outbox message %s for %s after %d crashed attempts",
                          platform, row.key, row.channel, attempts)
                metrics.MESSAGES_FAILED.labels(platform).inc()
                self._finish(row, status="failed", platform_message_id=None,
                             error=f"gave up after {attempts} crashed attempts: {type(exc).__name__}: {exc}")
                return True
            # Where the adapter broke is unknown, so the message may be out: keep the mark.
            self._retry_later(row, attempts, f"{CRASHED_MARK}{type(exc).__name__}: {exc}", None, maybe_delivered=True)
            return False
        if nothing_to_edit:
            self._finish(row, status=SUPERSEDED, platform_message_id=None,
                         error="nothing to edit: the message is gone or was never delivered")
            return True
        metrics.MESSAGES_SENT.labels(platform).inc()
        self._finish(row, status="sent", platform_message_id=message_id, error=None)
        self._credentials_work(platform)
        self._permission_works(platform, call_kind(row))
        self._pull_forward_after_outage(platform, port)
        return True

    def _pull_forward_after_outage(self, platform: str, port: ChatPort) -> None:
        """The platform took a message: make its rows that wait on backoff after a transient failure due now,
        instead of up to MAX_BACKOFF_S after the outage ended. A Retry-After wait stays (the platform asked
        for it), and so does a claim (a delivery under way); a row whose last attempt may have reached the
        platform stays at least the port's settle time away (`unknown_outcome_settle_s`: the check for it must
        not run before the platform is done storing it). Failed rows are finished and never touched."""
        now = self.clock.now()
        last = self._recovery_pulled_at.get(platform)
        if last is not None and (now - last).total_seconds() < RECOVERY_PULL_EVERY_S:
            return
        self._recovery_pulled_at[platform] = now
        claims_end = now + timedelta(seconds=LEASE_S + CLAIM_CLOCK_MARGIN_S)
        settled = now + timedelta(seconds=float(getattr(port, "unknown_outcome_settle_s", 0.0) or 0.0))
        waiting = (OutboxMessage.status == "pending", OutboxMessage.attempts > 0,
                   OutboxMessage.channel.startswith(f"{platform}:", autoescape=True),
                   OutboxMessage.next_attempt_at > claims_end,
                   func.coalesce(OutboxMessage.last_error, "").not_like(f"{RETRY_AFTER_MARK}%"),
                   func.coalesce(OutboxMessage.last_error, "").not_like(f"{CRASHED_MARK}%"))
        try:
            with self.db.session() as session:
                clean = session.execute(update(OutboxMessage).where(
                    *waiting, OutboxMessage.maybe_sent_since.is_(None)).values(next_attempt_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                uncertain = session.execute(update(OutboxMessage).where(
                    *waiting, OutboxMessage.maybe_sent_since.is_not(None), OutboxMessage.next_attempt_at > settled)
                    .values(next_attempt_at=max(settled, now)).execution_options(synchronize_session=False)).rowcount
        except Exception:  # noqa: BLE001 - the rows still go out after their backoff
            log.warning("could not make the waiting %s messages due after the platform answered again", platform,
                        exc_info=True)
            return
        if clean or uncertain:
            log.info("chat %s answers again: %d waiting message(s) made due now", platform, clean + uncertain)
            self._wake.set()

    def _credentials_work(self, platform: str) -> None:
        if self._credential_holds.pop(platform, None) is not None:
            log.warning("%s 凭证已恢复，正在发送等待中的消息 / chat %s accepts the bot's credentials again: "
                        "delivering the messages that waited", platform, platform)

    def _permission_works(self, platform: str, kind: str) -> None:
        if self._permission_holds.pop((platform, kind), None) is not None:
            log.warning("%s 已获得所需权限，正在按顺序发送等待中的消息（%s）/ chat %s grants the missing permission "
                        "now: delivering the messages that waited (%s), in order", platform, kind, platform, kind)

    def _held(self, row: OutboxMessage, now: datetime) -> bool:
        hold = self._credential_holds.get(row.channel.partition(":")[0])
        return hold is not None and hold.until > now

    def _held_for_permission(self, row: OutboxMessage, now: datetime) -> bool:
        if not self._permission_holds:
            return False
        hold = self._permission_holds.get((row.channel.partition(":")[0], call_kind(row)))
        return hold is not None and hold.until > now

    def _hold_kind(self, platform: str, row: OutboxMessage, exc: PermissionChatError) -> None:
        """The app lacks a permission this kind of call needs: hold every message of the platform that makes
        the same kind of call, this one without counting an attempt (like `_hold_platform`).

        Per kind of call, not per platform: a missing upload scope must not hold text alerts. Per platform,
        not per channel: a scope is the app's, so every channel's message of this kind would be refused.
        The maybe-sent mark is kept only if part of the message may be out (the text before its image)."""
        kind = call_kind(row)
        maybe_sent_since = (row.maybe_sent_since or self.clock.now()) if exc.maybe_delivered else row.maybe_sent_since
        if self._extend_hold(self._permission_holds, (platform, kind), row, maybe_sent_since=maybe_sent_since,
                             error=f"permission: {exc}", log_every=PERMISSION_LOG_EVERY_S):
            log.error(
                "%s 应用缺少权限（%s）：需要该权限的消息（%s）保留在发件箱中（共 %d 条待发），不会丢失，不需要它的消息照常发送；"
                "按本行末尾的提示补上权限，无需重启，等待的消息最迟 5 分钟内按顺序发出 / chat %s: the app lacks a "
                "permission (%s): messages that need it (%s) wait in the outbox, nothing is dropped, messages that do "
                "not need it still go out; grant it as the end of this line says, no restart needed: the waiting "
                "messages then go out in order within 5 minutes. %s",
                platform, exc.code, kind, self.pending_count(), platform, exc.code, kind, exc,
            )

    def _hold_platform(self, platform: str, row: OutboxMessage, exc: CredentialChatError) -> None:
        """The credential was refused: hold every message of the platform, this one untouched.

        The row gets back the state it had before the claim (attempts, due time, maybe-sent mark): the
        refusal sent nothing, must not count toward the crash cap, and must leave the row due at once
        after a restart (the moment the fixed credential arrives)."""
        if self._extend_hold(self._credential_holds, platform, row, maybe_sent_since=row.maybe_sent_since,
                             error=f"credentials: {exc}", log_every=CREDENTIAL_LOG_EVERY_S):
            log.error(
                "%s 拒绝了机器人的凭证（%s）：消息保留在发件箱中（共 %d 条待发），不会丢失；修正凭证后重启 crisisbot，"
                "等待的消息即按顺序发出 / chat %s refuses the bot's credentials: its messages wait in the outbox, "
                "nothing is dropped; fix the credential and restart crisisbot, the waiting messages then go out "
                "in order. %s",
                platform, exc.code, self.pending_count(), platform, exc,
            )

    def _extend_hold(self, holds: dict[Any, _CredentialHold], key: Any, row: OutboxMessage, *,
                     maybe_sent_since: datetime | None, error: str, log_every: float) -> bool:
        """Hold `key` for longer (capped backoff, growing with each refusal) and give the refused row back
        its state before the claim (attempts, due time): the refusal sent nothing, must not count toward
        the crash cap, and leaves the row due at once when the hold ends or after a restart. True when it
        is time to tell the operator (again)."""
        now = self.clock.now()
        hold = holds.setdefault(key, _CredentialHold(until=now))
        hold.refusals += 1
        hold.until = now + timedelta(seconds=backoff_seconds(hold.refusals))  # capped at MAX_BACKOFF_S
        with self.db.session() as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                    attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                    maybe_sent_since=maybe_sent_since, last_error=error[:2000])
            )
        if hold.logged_at is not None and (now - hold.logged_at).total_seconds() < log_every:
            return False
        hold.logged_at = now
        return True

    def _message_id_of(self, key: str | None):
        if key is None:
            return None
        with self.db.session() as session:
            original = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
        if original is None:
            return None
        # A failed original has a message id only when an update was posted in its place
        # (`_remember_alias`): later updates edit that message instead of posting one each.
        return original.platform_message_id

    def _update_or_repost(self, port: ChatPort, row: OutboxMessage, channel_id: str, target: str,
                          message: Message) -> str:
        """Edit `target` in place; if the platform says it is gone for good (deleted in Slack, recalled in
        Feishu: the port's `update_target_gone`), post this version as a new message and make it the one
        later updates edit. Returns the id of the message that now shows this version.

        Without this a deleted run card stayed gone, its buttons with it, and every later state change
        failed the same way. The post is keyed by this row, like any post: a crash or a lost answer between
        the post and the alias leaves the row's maybe-sent mark (written at the claim), so the retry finds
        the message posted (Slack's history lookup, Feishu's uuid) instead of posting it twice."""
        gone = self._edit_unless_gone(port, channel_id, target, message)
        if gone is None:
            return target
        log.warning("chat %s: message %s in %s is gone (%s); posting the update %s as a new message, "
                    "later updates edit that one", port.platform, target, row.channel, gone.code, row.key)
        message_id = port.post(channel_id, message, idempotency_key=row.key, maybe_sent_since=row.maybe_sent_since)
        self._move_alias(row.update_of, target, message_id)
        return message_id

    @staticmethod
    def _edit_unless_gone(port: ChatPort, channel_id: str, target: str, message: Message) -> PermanentChatError | None:
        """Edit `target` in place: None when done, the platform's refusal when it says the message is gone for
        good (deleted in Slack, recalled in Feishu: the port's `update_target_gone`); other failures raise."""
        try:
            port.update(channel_id, target, message)
            return None
        except PermanentChatError as exc:
            gone = getattr(port, "update_target_gone", None)
            if gone is None or not gone(exc, target):
                raise
            return exc

    def _move_alias(self, key: str | None, gone_id: str, message_id: str) -> None:
        """The message `gone_id` of `key` is gone and `message_id` shows it now: later updates edit that one
        (compare-and-set: only if the original still points at the gone message)."""
        self._point_original(key, OutboxMessage.platform_message_id == gone_id, message_id)

    def _remember_alias(self, key: str | None, message_id: str) -> None:
        """The original never got out: later updates of it now target the message just posted."""
        self._point_original(key, OutboxMessage.platform_message_id.is_(None), message_id)

    def _point_original(self, key: str | None, still: Any, message_id: str) -> None:
        if key is None:
            return
        with self.db.session() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.key == key).where(still)
                            .values(platform_message_id=message_id))

    def _retry_later(
        self, row: OutboxMessage, attempts: int, error: str, retry_after: float | None, *, maybe_delivered: bool,
        settle_s: float = 0.0,
    ) -> None:
        delay = backoff_seconds(attempts, retry_after)
        if retry_after is not None:
            error = RETRY_AFTER_MARK + f"{retry_after:g}s: {error}"  # kept by _pull_forward_after_outage
        if maybe_delivered:
            # The platform may still be storing what this attempt sent (a slow answer the client gave up on):
            # the retry's check for it waits as long as the port says that can take (Slack: its timeout plus
            # a margin), else it misses the message and sends a second copy.
            delay = max(delay, settle_s)
        values = {"next_attempt_at": self.clock.now() + timedelta(seconds=delay), "last_error": error[:2000]}
        if not maybe_delivered:
            # A clean refusal (rate limited, platform not enabled ...): this attempt sent nothing, so only
            # an earlier unknown outcome, if any, still needs checking; that costs the platform a lookup.
            values["maybe_sent_since"] = row.maybe_sent_since
        with self.db.session() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))

    def _finish(self, row: OutboxMessage, *, status: str, platform_message_id: str | None, error: str | None) -> None:
        with self.db.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(status=status, sent_at=self.clock.now(), platform_message_id=platform_message_id,
                        last_error=error, maybe_sent_since=None)  # the outcome is known now
            )

    def _update_pending_gauge(self) -> None:
        with self.db.session() as session:
            pending = session.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            ).one()
        metrics.OUTBOX_PENDING.set(pending)

    def pending_count(self) -> int:
        with self.db.session() as session:
            value = session.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            ).one()
        return int(value)

    def drain(self, max_rounds: int = 50, *, platform: str | None = None,
              only_ids: Collection[int] | None = None) -> int:
        """Deliver until nothing due is left (tests, the console and --exit-after-replay use this)."""
        total = 0
        for _ in range(max_rounds):
            n = self.deliver_due(platform=platform, only_ids=only_ids)
            total += n
            if n == 0:
                break
        return total

    # ---- the worker thread ---------------------------------------------------------------------
    def run_worker(self, stop: threading.Event, idle_wait: float = 0.5, *, grace: float = 0.0,
                   platform: str | None = None, only_ids: Callable[[], Collection[int]] | None = None) -> None:
        """Deliver until `stop`; `only_ids` (asked each round) limits it to those rows."""
        while not stop.is_set():
            try:
                delivered = self.deliver_due(grace=grace, platform=platform,
                                             only_ids=only_ids() if only_ids is not None else None)
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unreachable
                log.exception("outbox delivery round failed; retrying")
                delivered = 0
            if delivered == 0:
                self._wake.wait(idle_wait)
                self._wake.clear()


def _superseded_updates(rows: list[OutboxMessage]) -> set[int]:
    """Ids of pending updates (refreshes too) followed, in the same batch, by another update of the same
    message in the same channel: only the latest version needs to reach the platform."""
    latest: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.kind in UPDATE_KINDS and row.update_of and row.id is not None:
            latest[(row.channel, row.update_of)] = row.id
    return {row.id for row in rows if row.kind in UPDATE_KINDS and row.update_of and row.id is not None
            and latest[(row.channel, row.update_of)] != row.id}


def call_kind(row: OutboxMessage) -> str:
    """What a row asks of the platform, as far as permissions go: its kind (post, update, upload; a refresh
    is an update) and whether it carries PNG images or files (upload scopes: Slack files:write, Feishu
    im:resource). Messages of one kind need the same permissions, so a permission hold covers exactly one
    kind."""
    payload = row.payload or {}
    images = payload.get("images") or ()
    has_png = any(isinstance(image, dict) and image.get("png") for image in images)
    kind = "update" if row.kind in UPDATE_KINDS else row.kind
    if has_png:
        kind += "+png"
    if payload.get("files"):
        kind += "+file"
    return kind


def _is_upload(message: Message) -> bool:
    """Only images and files, no text: uploaded as they are, with no message around them."""
    return bool(message.images or message.files) and not (
        message.text or message.title or message.sections or message.fields)
