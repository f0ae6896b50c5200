"""Where source state lives: the database (`feed_source_state`), or memory for pure tests.

The state row also carries the source's poll lease (`lease_holder`, `lease_until`): one process at a
time polls a source (`crisisbot serve` and a `crisisbot poll` beside it, or two replicas), else both would
fetch the same pages and the last save would win (a cursor moving backwards, Douyin refresh tokens
rotated twice, the platform's rate limit spent twice). A lease is taken with one conditional UPDATE (free,
or expired: a process that died never blocks the source for longer than the lease), renewed while the poll
runs, and every save of the state is fenced by it: a poll that lost its lease cannot write.
Each take gets its own holder token, so a poll whose lease expired and was taken (and maybe released)
by another process meanwhile is refused even if nobody holds the lease now.

A holder token reads "host:pid#take@ns" (see `take_token`). A lease held by a process of this same host
and pid namespace that no longer exists (killed, crashed, or a stop that could not release it) is taken
over at once instead of blocking the source until it expires; a stopping service releases its own
leases (FeedsService.close). A holder on another host, or whose liveness cannot be judged here, is
waited for until its lease expires.

Tokens are encrypted at rest in the database when a SecretBox (CRISISBOT_SECRET_KEY) is given: every
field of `tokens` except the known non-secret metadata below, so a secret field added later is sealed
by default.
"""

from __future__ import annotations

import copy
import hashlib
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.feeds.pollers.base import SourceState, TargetState
from bot.storage.secrets import LockedSecret, SecretBox, open_value, seal_value

# Readable without the key: when and from which env pair a token was refreshed (a one-way fingerprint),
# never a credential. Kept plain so a lost key still lets a re-authorised env pair replace the stored one.
TOKEN_METADATA = frozenset({"env_fingerprint", "refreshed_at", "expires_in"})


def seal_tokens(box: SecretBox | None, tokens: dict[str, Any]) -> dict[str, Any]:
    """The `tokens` column value for a state's tokens (plain without a key)."""
    return {k: v if k in TOKEN_METADATA else seal_value(box, v) for k, v in tokens.items()}


def open_tokens(box: SecretBox | None, stored: dict[str, Any] | None) -> dict[str, Any]:
    """A state's tokens from the column; undecryptable fields become LockedSecret (kept, not dropped)."""
    return {k: v if k in TOKEN_METADATA else open_value(box, v) for k, v in (stored or {}).items()}


@dataclass(frozen=True)
class Lease:
    """A source's poll lease: `holder` is the token of one take (see `holder_name` for people)."""

    holder: str
    until: datetime


def holder_name(holder: str) -> str:
    """The process part of a holder token ("host:pid"), without the per-take suffix."""
    return holder.partition("#")[0]


def process_holder() -> str:
    """This process as lease holders name it (and as people read it): "host:pid"."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


def _namespace_tag() -> str:
    """A short tag of this boot and pid namespace: pids compare only within one (two containers on one
    host may share a host name, each with its own pid 7). Empty where the system does not say."""
    parts = []
    for read in (lambda: open("/proc/sys/kernel/random/boot_id", encoding="ascii").read().strip(),
                 lambda: os.readlink("/proc/self/ns/pid")):
        try:
            parts.append(read())
        except OSError:
            parts.append("")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8] if any(parts) else ""


NAMESPACE_TAG = _namespace_tag()


def take_token(holder: str | None = None) -> str:
    """A new holder token for one take of a lease: "host:pid#<random>@<namespace tag>"."""
    return f"{holder or process_holder()}#{uuid.uuid4().hex[:12]}@{NAMESPACE_TAG}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists and may be signalled
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except (OSError, OverflowError, ValueError):
        return True  # cannot tell: wait for the lease to expire
    return True


def holder_is_dead(holder: str | None) -> bool:
    """Whether `holder` names a process of this host (and, when the token says, this boot and pid
    namespace) that no longer runs. Anything else (another host, a malformed name) is not judged dead."""
    if not holder:
        return False
    name, _, take = holder.partition("#")
    host, _, pid_text = name.rpartition(":")
    if host != socket.gethostname()[:80] or not pid_text.isascii() or not pid_text.isdigit():
        return False
    if "@" in take and take.rpartition("@")[2] != NAMESPACE_TAG:
        return False
    pid = int(pid_text)
    return 0 < pid < 2**31 and not _pid_alive(pid)


class LeaseLost(Exception):
    """The poll's lease expired and another process took it: this poll must stop and write nothing."""


class StateStore(Protocol):
    def load(self, source_id: str) -> SourceState: ...

    def save(self, state: SourceState, source_type: str = "", *, lease: Lease | None = None) -> None: ...

    def load_all(self) -> dict[str, SourceState]: ...

    def take_lease(self, source_id: str, holder: str, now: datetime, until: datetime) -> Lease | None: ...

    def renew_lease(self, source_id: str, holder: str, until: datetime) -> bool: ...

    def release_lease(self, source_id: str, holder: str) -> None: ...


class MemoryStateStore:
    """Keeps deep copies, so a test sees exactly what a restart would read back."""

    def __init__(self) -> None:
        self._states: dict[str, SourceState] = {}
        self._leases: dict[str, Lease] = {}
        self._lock = threading.Lock()

    def load(self, source_id: str) -> SourceState:
        with self._lock:
            state = self._states.get(source_id)
            return copy.deepcopy(state) if state else SourceState(source_id=source_id)

    def save(self, state: SourceState, source_type: str = "", *, lease: Lease | None = None) -> None:
        with self._lock:
            if lease is not None:
                self._renew(state.source_id, lease.holder, lease.until)
            self._states[state.source_id] = copy.deepcopy(state)

    def take_lease(self, source_id: str, holder: str, now: datetime, until: datetime) -> Lease | None:
        with self._lock:
            current = self._leases.get(source_id)
            if current is not None and current.until > now and not holder_is_dead(current.holder):
                return current
            self._leases[source_id] = Lease(holder, until)
            return None

    def renew_lease(self, source_id: str, holder: str, until: datetime) -> bool:
        with self._lock:
            try:
                self._renew(source_id, holder, until)
            except LeaseLost:
                return False
            return True

    def _renew(self, source_id: str, holder: str, until: datetime) -> None:
        current = self._leases.get(source_id)
        if current is None or current.holder != holder:
            raise LeaseLost(source_id)
        self._leases[source_id] = Lease(holder, until)

    def release_lease(self, source_id: str, holder: str) -> None:
        with self._lock:
            current = self._leases.get(source_id)
            if current is not None and current.holder == holder:
                del self._leases[source_id]

    def load_all(self) -> dict[str, SourceState]:
        with self._lock:
            return copy.deepcopy(self._states)


_COLUMNS = (
    "health",
    "consecutive_failures",
    "next_attempt_at",
    "last_poll_at",
    "last_success_at",
    "last_error",
    "last_error_kind",
    "newest_item_at",
    "unhealthy_notified",
    "polls",
    "fetched",
    "accepted",
    "duplicates",
    "rejected",
)


class DatabaseStateStore:
    """One `feed_source_state` row per source, written after every page of a scan."""

    def __init__(self, db, clock, secrets: SecretBox | None = None) -> None:
        self.db = db
        self.clock = clock
        self.secrets = secrets

    def _to_state(self, row) -> SourceState:
        state = SourceState(source_id=row.source_id)
        state.targets = {k: TargetState.from_json(v) for k, v in (row.targets or {}).items()}
        state.tokens = open_tokens(self.secrets, row.tokens)
        state.extra = copy.deepcopy(row.extra or {})
        for name in _COLUMNS:
            setattr(state, name, getattr(row, name))
        return state

    def load(self, source_id: str) -> SourceState:
        from bot.feeds.models import FeedSourceState

        with self.db.session() as session:
            row = session.get(FeedSourceState, source_id)
            return self._to_state(row) if row else SourceState(source_id=source_id)

    def load_all(self) -> dict[str, SourceState]:
        from sqlmodel import select

        from bot.feeds.models import FeedSourceState

        with self.db.session() as session:
            return {row.source_id: self._to_state(row) for row in session.exec(select(FeedSourceState))}

    def save(self, state: SourceState, source_type: str = "", *, lease: Lease | None = None) -> None:
        """Write the state. With `lease`: only while that lease is still ours (renewing it); else LeaseLost
        and nothing is written. The fencing UPDATE comes first, so the row stays locked against a take
        until this transaction commits."""
        from bot.feeds.models import FeedSourceState

        with self.db.session() as session:
            if lease is not None and not self._renew(session, state.source_id, lease.holder, lease.until):
                raise LeaseLost(state.source_id)
            row = session.get(FeedSourceState, state.source_id)
            if row is None:
                row = FeedSourceState(source_id=state.source_id)
                session.add(row)
            if source_type:
                row.source_type = source_type
            # New dict objects, so SQLAlchemy sees the JSON columns changed.
            row.targets = {k: v.to_json() for k, v in state.targets.items()}
            row.tokens = seal_tokens(self.secrets, state.tokens)
            row.extra = copy.deepcopy(state.extra)
            for name in _COLUMNS:
                setattr(row, name, getattr(state, name))
            row.updated_at = self.clock.now()

    # ---- the poll lease (see the module docstring) --------------------------------------------------

    def take_lease(self, source_id: str, holder: str, now: datetime, until: datetime) -> Lease | None:
        """Take the source's lease for `holder` until `until` if it is free or expired at `now`: None when
        taken, else the lease another process holds. One conditional UPDATE decides (atomic on SQLite and
        PostgreSQL alike); a source never polled gets its row here."""
        from sqlalchemy import or_, select, update
        from sqlalchemy.exc import IntegrityError

        from bot.feeds.models import FeedSourceState as Row

        for _ in range(5):
            with self.db.session() as session:
                taken = session.execute(
                    update(Row)
                    .where(
                        Row.source_id == source_id,
                        or_(Row.lease_holder.is_(None), Row.lease_until.is_(None), Row.lease_until <= now),
                    )
                    .values(lease_holder=holder, lease_until=until)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:
                    return None
                current = session.execute(
                    select(Row.lease_holder, Row.lease_until).where(Row.source_id == source_id)
                ).first()
            if current is not None:
                if current.lease_holder is not None and current.lease_until is not None and current.lease_until > now:
                    if not holder_is_dead(current.lease_holder):
                        return Lease(current.lease_holder, current.lease_until)
                    if self._take_over(source_id, current.lease_holder, holder, until):
                        return None
                continue  # released, expired or taken between the statements: try again
            try:
                with self.db.session() as session:
                    session.add(Row(source_id=source_id, lease_holder=holder, lease_until=until))
                return None
            except IntegrityError:
                continue  # another process created the row at the same moment: the UPDATE decides
        raise RuntimeError(f"could not take or read the poll lease of source {source_id}")

    def _take_over(self, source_id: str, dead: str, holder: str, until: datetime) -> bool:
        """Take the lease from `dead` (a holder process of this host that no longer runs), only if it still
        holds it: a process that took it meanwhile keeps it."""
        import logging

        from sqlalchemy import update

        from bot.feeds.models import FeedSourceState as Row

        with self.db.session() as session:
            taken = session.execute(
                update(Row)
                .where(Row.source_id == source_id, Row.lease_holder == dead)
                .values(lease_holder=holder, lease_until=until)
                .execution_options(synchronize_session=False)
            )
        if taken.rowcount == 1:
            logging.getLogger(__name__).warning(
                "source=%s: took over the poll lease of %s, a process of this host that no longer runs",
                source_id, holder_name(dead),
            )
            return True
        return False

    def renew_lease(self, source_id: str, holder: str, until: datetime) -> bool:
        """Extend our lease; False when it is no longer ours (expired and taken by another process)."""
        with self.db.session() as session:
            return self._renew(session, source_id, holder, until)

    @staticmethod
    def _renew(session, source_id: str, holder: str, until: datetime) -> bool:
        from sqlalchemy import update

        from bot.feeds.models import FeedSourceState as Row

        result = session.execute(
            update(Row)
            .where(Row.source_id == source_id, Row.lease_holder == holder)
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def release_lease(self, source_id: str, holder: str) -> None:
        from sqlalchemy import update

        from bot.feeds.models import FeedSourceState as Row

        with self.db.session() as session:
            session.execute(
                update(Row)
                .where(Row.source_id == source_id, Row.lease_holder == holder)
                .values(lease_holder=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def reseal_tokens(self) -> ResealReport:
        """Re-encrypt every stored token with the first key (after a rotation, or to seal plain values
        written before the key was set). Tokens no key opens are left as they are and reported."""
        from sqlalchemy import update
        from sqlmodel import select

        from bot.feeds.models import FeedSourceState

        if self.secrets is None:
            raise ValueError("reseal_tokens needs a key")
        report = ResealReport()
        with self.db.session() as session:
            rows = list(session.exec(select(FeedSourceState.source_id, FeedSourceState.tokens,
                                            FeedSourceState.updated_at)))
        for source_id, stored, updated_at in rows:
            if not stored:
                continue
            tokens = open_tokens(self.secrets, stored)
            locked = [v for v in tokens.values() if isinstance(v, LockedSecret)]
            if locked:
                report.failed[source_id] = locked[0].reason
                continue
            with self.db.session() as session:
                # Only if no poll saved the row meanwhile: its save sealed the newer tokens with the first
                # key already, and writing ours would bring back an older (maybe revoked) pair.
                same = (FeedSourceState.updated_at == updated_at if updated_at is not None
                        else FeedSourceState.updated_at.is_(None))
                result = session.execute(
                    update(FeedSourceState)
                    .where(FeedSourceState.source_id == source_id, same)
                    .values(tokens=seal_tokens(self.secrets, tokens))
                )
            (report.resealed if result.rowcount else report.changed_meanwhile).append(source_id)
        return report


@dataclass
class ResealReport:
    resealed: list[str] = field(default_factory=list)
    changed_meanwhile: list[str] = field(default_factory=list)  # a poll re-sealed them itself
    failed: dict[str, str] = field(default_factory=dict)  # source id -> why (no key opens them)
