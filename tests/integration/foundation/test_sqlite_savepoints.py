"""Savepoints on SQLite run inside the session's transaction (`bot/storage/db.py`).

The sqlite3 driver let a SAVEPOINT issued before a session's first write start a transaction of its own:
releasing it committed at once (an outbox message of a change that then rolled back was still sent), and
its reads pinned a snapshot, so a write after another connection's commit failed at once with "database
is locked" (seen in the demo: the alert pass failed and its batch was handed over again).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.clock import SystemClock
from bot.messages import Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage


def _seed(db) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        session.add(OutboxMessage(key="k1", channel="console:x", kind="post", payload={}, next_attempt_at=now,
                                  created_at=now))


def _commit_other_write(db) -> None:
    with db.session() as other:
        other.execute(text("UPDATE outbox_message SET attempts = attempts + 1 WHERE key = 'k1'"))


def test_a_message_enqueued_in_a_session_that_rolls_back_is_not_sent(db):
    outbox = Outbox(db, SystemClock())
    with pytest.raises(RuntimeError), db.session() as session:
        assert outbox.enqueue(session, channel="console:x", message=Message(text="告警"), key="k-rolled-back")
        raise RuntimeError("the change that caused the message failed")
    with db.session() as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_reads_in_a_savepoint_then_a_write_survive_another_connections_commit(sqlite_db):
    _seed(sqlite_db)
    other = threading.Thread(target=_commit_other_write, args=(sqlite_db,))
    with sqlite_db.session() as session, session.begin_nested():
        session.execute(text("SELECT attempts FROM outbox_message WHERE key = 'k1'")).all()
        other.start()
        other.join(timeout=0.5)
        assert other.is_alive()  # it waits for the lock (busy_timeout) instead of slipping in between
        session.execute(text("UPDATE outbox_message SET status = 'sent' WHERE key = 'k1'"))
    other.join(timeout=10)
    assert not other.is_alive()
    with sqlite_db.session() as session:
        status, attempts = session.execute(
            text("SELECT status, attempts FROM outbox_message WHERE key = 'k1'")).one()
    assert (status, attempts) == ("sent", 1)


def test_write_lock_keeps_what_the_session_read_until_it_writes(sqlite_db):
    _seed(sqlite_db)
    other = threading.Thread(target=_commit_other_write, args=(sqlite_db,))
    with sqlite_db.session(write_lock=True) as session:
        before = session.execute(text("SELECT attempts FROM outbox_message WHERE key = 'k1'")).scalar_one()
        other.start()
        other.join(timeout=0.5)
        assert other.is_alive()  # no other write lands between this session's read and its write
        session.execute(text("UPDATE outbox_message SET attempts = :n WHERE key = 'k1'"), {"n": before + 10})
    other.join(timeout=10)
    with sqlite_db.session() as session:
        assert session.execute(text("SELECT attempts FROM outbox_message WHERE key = 'k1'")).scalar_one() == 11
