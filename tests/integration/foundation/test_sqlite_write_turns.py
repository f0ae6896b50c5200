"""SQLite writers of one process queue for their turn and get it the moment the last writer commits.

SQLite's busy handler let one writer (the inbound journal an acknowledgement waits on) lose every round
to the others for up to 700 ms in the Feishu ack bench; a turn taken at the first write and given back at
commit or rollback serves them in turn. These tests pin that a turn is always given back.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import event, text

from bot.storage.db import Database


@pytest.fixture
def sqlite_db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
    yield database
    database.dispose()


def held(database: Database) -> bool:
    return database.write_turns._lock.locked()


def test_a_turn_is_taken_at_the_first_write_and_given_back_at_commit(sqlite_db):
    with sqlite_db.session() as session:
        session.execute(text("SELECT count(*) FROM note")).one()
        assert not held(sqlite_db)  # reading takes no turn
        session.execute(text("INSERT INTO note (body) VALUES ('a')"))
        assert held(sqlite_db)
    assert not held(sqlite_db)


def test_a_turn_is_given_back_when_the_session_fails(sqlite_db):
    with pytest.raises(RuntimeError), sqlite_db.session() as session:
        session.execute(text("INSERT INTO note (body) VALUES ('a')"))
        raise RuntimeError("handler bug")
    assert not held(sqlite_db)
    with pytest.raises(Exception), sqlite_db.session() as session:  # noqa: B017 - the statement itself fails
        session.execute(text("INSERT INTO no_such_table (body) VALUES ('a')"))
    assert not held(sqlite_db)


def test_a_commit_in_the_middle_of_a_session_lets_another_session_of_the_same_thread_write(sqlite_db):
    with sqlite_db.session() as outer:
        outer.execute(text("INSERT INTO note (body) VALUES ('outer')"))
        outer.commit()
        with sqlite_db.session() as inner:  # would wait for a turn never given back
            inner.execute(text("INSERT INTO note (body) VALUES ('inner')"))
        outer.execute(text("SELECT 1")).one()
    assert not held(sqlite_db)
    with sqlite_db.session() as session:
        assert session.execute(text("SELECT count(*) FROM note")).scalar_one() == 2


def test_a_session_that_locks_for_writing_takes_the_turn_first(sqlite_db):
    with sqlite_db.session(write_lock=True) as session:
        assert held(sqlite_db)
        session.execute(text("SELECT count(*) FROM note")).one()
    assert not held(sqlite_db)


def test_two_databases_on_one_file_share_the_turns(sqlite_db):
    other = Database(sqlite_db.url)
    try:
        assert other.write_turns is sqlite_db.write_turns
    finally:
        other.dispose()


def test_a_waiting_writer_goes_as_soon_as_the_holder_commits(sqlite_db):
    holder_wrote = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def holder() -> None:
        with sqlite_db.session() as session:
            session.execute(text("INSERT INTO note (body) VALUES ('first')"))
            holder_wrote.set()
            release.wait(10)
            order.append("first commits")

    def waiter() -> None:
        holder_wrote.wait(10)
        with sqlite_db.session() as session:
            session.execute(text("INSERT INTO note (body) VALUES ('second')"))
            order.append("second wrote")

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    holder_wrote.wait(10)
    release.set()
    for thread in threads:
        thread.join(30)
    assert order == ["first commits", "second wrote"]
    assert not held(sqlite_db)


def test_only_sqlite_has_turns(db):
    # PostgreSQL locks rows, not the whole database: its writers need no queue of their own
    assert (db.write_turns is None) == (db.dialect == "postgresql")


def test_a_statement_cut_short_by_ctrl_c_lets_go_of_the_write_lock_at_once(sqlite_db, tmp_path):
    """CI once saw an interrupted `crisisbot ingest` print a traceback: Ctrl-C landed as a listener's
    executemany returned, SQLAlchemy threw the connection away with the cursor still open, and SQLite kept
    the transaction (and the file's write lock) until the interrupt's traceback was freed, so the hand-over
    the import does before it exits waited 30 s and failed with "database is locked"."""
    cut: list[str] = []

    def ctrl_c_as_it_returns(_conn, _cursor, statement, _parameters, _context, executemany) -> None:
        if executemany and not cut:
            cut.append(statement)
            raise KeyboardInterrupt

    event.listen(sqlite_db.engine, "after_cursor_execute", ctrl_c_as_it_returns)
    with pytest.raises(KeyboardInterrupt) as interrupt:
        with sqlite_db.session() as session:
            session.execute(text("INSERT INTO note (body) VALUES (:body)"), [{"body": "a"}, {"body": "b"}])
    assert cut and interrupt.traceback  # still held, as the importer's except block holds it
    other = sqlite3.connect(tmp_path / "turns.db", timeout=1)  # another process's writer, say
    try:
        other.execute("INSERT INTO note (body) VALUES ('after')")
        other.commit()
        assert [row[0] for row in other.execute("SELECT body FROM note")] == ["after"]  # the cut batch rolled back
    finally:
        other.close()
    assert not held(sqlite_db)
    with sqlite_db.session() as session:  # and this process writes again
        session.execute(text("INSERT INTO note (body) VALUES ('again')"))
