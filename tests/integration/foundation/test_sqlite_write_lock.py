"""SQLite: a transaction that reads inside a savepoint and writes later must not fail with "database is
locked" because another connection committed in between (seen in the demo: the alert pass failed and its
batch was handed over again). `Database.session(write_lock=True)` takes the write lock up front."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import exc, text

from bot.storage.models import OutboxMessage


def _commit_other_write(db, key: str) -> None:
    with db.session() as other:
        other.execute(text("UPDATE outbox_message SET attempts = attempts + 1 WHERE key = :key"), {"key": key})


def _seed(db) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        session.add(OutboxMessage(key="k1", channel="console:x", kind="post", payload={}, next_attempt_at=now,
                                  created_at=now))


def _read_commit_elsewhere_then_write(db, session) -> None:
    """Inside a savepoint (as the alert pass does per stream): read, another connection commits, write."""
    with session.begin_nested():
        session.execute(text("SELECT attempts FROM outbox_message WHERE key = 'k1'")).all()
        _commit_other_write(db, "k1")
        session.execute(text("UPDATE outbox_message SET status = 'sent' WHERE key = 'k1'"))


def test_without_the_write_lock_a_stale_snapshot_fails_at_once(sqlite_db):
    _seed(sqlite_db)
    with pytest.raises(exc.OperationalError, match="database is locked"):
        with sqlite_db.session() as session:
            _read_commit_elsewhere_then_write(sqlite_db, session)


def test_with_the_write_lock_the_other_writer_waits_and_both_commit(sqlite_db):
    _seed(sqlite_db)
    other = threading.Thread(target=_commit_other_write, args=(sqlite_db, "k1"))
    with sqlite_db.session(write_lock=True) as session, session.begin_nested():
        session.execute(text("SELECT attempts FROM outbox_message WHERE key = 'k1'")).all()
        other.start()
        other.join(timeout=0.5)
        assert other.is_alive()  # it waits for the lock (busy_timeout) instead of slipping in
        session.execute(text("UPDATE outbox_message SET status = 'sent' WHERE key = 'k1'"))
    other.join(timeout=10)
    assert not other.is_alive()
    with sqlite_db.session() as session:
        status, attempts = session.execute(
            text("SELECT status, attempts FROM outbox_message WHERE key = 'k1'")).one()
    assert (status, attempts) == ("sent", 1)
