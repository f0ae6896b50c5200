"""Where source state lives: the database (`feed_source_state`), or memory for pure tests."""

from __future__ import annotations

import copy
import threading
from typing import Protocol

from bot.feeds.pollers.base import SourceState, TargetState


class StateStore(Protocol):
    def load(self, source_id: str) -> SourceState: ...

    def save(self, state: SourceState, source_type: str = "") -> None: ...

    def load_all(self) -> dict[str, SourceState]: ...


class MemoryStateStore:
    """Keeps deep copies, so a test sees exactly what a restart would read back."""

    def __init__(self) -> None:
        self._states: dict[str, SourceState] = {}
        self._lock = threading.Lock()

    def load(self, source_id: str) -> SourceState:
        with self._lock:
            state = self._states.get(source_id)
            return copy.deepcopy(state) if state else SourceState(source_id=source_id)

    def save(self, state: SourceState, source_type: str = "") -> None:
        with self._lock:
            self._states[state.source_id] = copy.deepcopy(state)

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

    def __init__(self, db, clock) -> None:
        self.db = db
        self.clock = clock

    def _to_state(self, row) -> SourceState:
        state = SourceState(source_id=row.source_id)
        state.targets = {k: TargetState.from_json(v) for k, v in (row.targets or {}).items()}
        state.tokens = dict(row.tokens or {})
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

    def save(self, state: SourceState, source_type: str = "") -> None:
        from bot.feeds.models import FeedSourceState

        with self.db.session() as session:
            row = session.get(FeedSourceState, state.source_id)
            if row is None:
                row = FeedSourceState(source_id=state.source_id)
                session.add(row)
            if source_type:
                row.source_type = source_type
            # New dict objects, so SQLAlchemy sees the JSON columns changed.
            row.targets = {k: v.to_json() for k, v in state.targets.items()}
            row.tokens = dict(state.tokens)
            row.extra = copy.deepcopy(state.extra)
            for name in _COLUMNS:
                setattr(row, name, getattr(state, name))
            row.updated_at = self.clock.now()
