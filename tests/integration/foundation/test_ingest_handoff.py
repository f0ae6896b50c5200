"""Nothing stored is missed by the listeners: a listener that fails, or a process that stops before its
listeners ran, gets the batch handed over again (alerts bucket counts, reply queue), on both engines."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from bot.alerts.models import ACCOUNT_SCOPE, AlertBucket
from bot.app import build_app
from bot.replies.models import ReplyQueueItem
from bot.storage.models import Comment, IngestHandoff


def record(comment_id: str, minutes_ago: int, clock) -> dict:
    return {
        "platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
        "text": "这个面霜用了过敏，怎么处理？", "created_at": (clock.now() - timedelta(minutes=minutes_ago)).isoformat(),
    }


def account_total(db) -> int:
    with db.session() as s:
        return s.exec(select(func.coalesce(func.sum(AlertBucket.total), 0)).where(
            AlertBucket.content_id == ACCOUNT_SCOPE)).one()


def queued(db) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(ReplyQueueItem)).one()


def handoffs(db) -> list[IngestHandoff]:
    with db.session() as s:
        return list(s.exec(select(IngestHandoff).order_by(IngestHandoff.id)).all())


def test_listeners_clear_their_handoffs_when_they_succeed(bot, db, clock):
    bot.services.ingest.ingest_records([record("a1", 3, clock), record("a2", 2, clock)], source="test")
    assert account_total(db) == 2 and queued(db) == 2
    assert handoffs(db) == []


def test_a_failed_listener_gets_the_batch_again_and_the_others_are_not_repeated(bot, db, clock):
    ingest = bot.services.ingest
    # A real failure of the real alerts listener: its table is briefly gone.
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE alert_bucket RENAME TO alert_bucket_away"))
    try:
        report = ingest.ingest_records([record("b1", 3, clock), record("b2", 2, clock)], source="test")
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE alert_bucket_away RENAME TO alert_bucket"))
    assert report.accepted == 2  # the comments are stored regardless
    assert queued(db) == 2  # the reply queue took its batch
    [left] = handoffs(db)
    assert left.listener == "alerts" and left.attempts == 1 and left.last_error
    assert ingest.retry_handoffs() == 0  # too fresh: its listener might still be running
    clock.advance(timedelta(seconds=31))
    assert ingest.retry_handoffs() == 1
    assert account_total(db) == 2  # counted exactly once
    assert queued(db) == 2
    assert handoffs(db) == []


def test_a_retry_that_meets_an_unavailable_database_says_so_in_one_line(bot, db, clock, caplog):
    # An import cut short by Ctrl-C hands its last batch over at once; a listener meeting a locked database
    # then printed a whole traceback into the command's output. An outage is one line, as on the first try.
    ingest = bot.services.ingest
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE alert_bucket RENAME TO alert_bucket_away"))
    try:
        ingest.ingest_records([record("u1", 3, clock)], source="test")
        clock.advance(timedelta(seconds=31))
        caplog.clear()
        with caplog.at_level("ERROR", logger="bot.feeds.ingest"):
            assert ingest.retry_handoffs() == 0
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE alert_bucket_away RENAME TO alert_bucket"))
    [line] = [r for r in caplog.records if r.name == "bot.feeds.ingest"]
    if db.dialect == "sqlite":  # "no such table" is an OperationalError there, as "database is locked" is
        assert "alerts failed again (attempt 3), the database is unavailable" in line.getMessage()
        assert line.exc_info is None  # no traceback
    else:  # PostgreSQL calls a missing table a ProgrammingError: a bug, whose traceback is kept
        assert "alerts failed again (attempt 3);" in line.getMessage() and line.exc_info is not None
    [left] = handoffs(db)
    assert left.attempts == 2 and left.last_error
    assert ingest.retry_handoffs() == 1 and account_total(db) == 1  # handed over once it is back


class ProcessStopped(BaseException):
    """Stands for the process dying between the ingest commit and the listeners (not an Exception)."""


def test_after_a_stop_between_commit_and_listeners_a_restarted_bot_catches_up(bot, db, clock, settings, app_config):

    def stop_here(_comments, _handoff):
        raise ProcessStopped

    ingest = bot.services.ingest
    ingest._listeners.insert(0, ("stop-here", stop_here))  # runs first: nothing after it runs
    with pytest.raises(ProcessStopped):
        ingest.ingest_records([record("c1", 3, clock), record("c2", 2, clock)], source="test")
    assert account_total(db) == 0 and queued(db) == 0
    assert sorted(h.listener for h in handoffs(db)) == ["alerts", "reply_queue", "stop-here"]

    restart_and_retry(settings, app_config, clock, db)
    assert account_total(db) == 2 and queued(db) == 2
    # The stand-in listener does not exist after the restart: its hand-off waits, untouched.
    assert [h.listener for h in handoffs(db)] == ["stop-here"]


def restart_and_retry(settings, app_config, clock, db) -> None:
    """A new process on the same database, 31 s later: its ticks hand pending batches over again."""
    restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    try:
        clock.advance(timedelta(seconds=31))
        for tick in restarted.wiring.ticks:
            tick()
    finally:
        restarted.stop()


@contextmanager
def handoff_deletes_fail(db):
    """A database-level failure of every delete of an `ingest_handoff` row (a trigger), while it lasts."""
    if db.dialect == "postgresql":
        create = [
            "CREATE FUNCTION handoff_delete_fails() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'no space left on device'; END $$",
            "CREATE TRIGGER handoff_delete_fails BEFORE DELETE ON ingest_handoff "
            "FOR EACH ROW EXECUTE FUNCTION handoff_delete_fails()",
        ]
        drop = ["DROP TRIGGER handoff_delete_fails ON ingest_handoff", "DROP FUNCTION handoff_delete_fails()"]
    else:
        create = ["CREATE TRIGGER handoff_delete_fails BEFORE DELETE ON ingest_handoff "
                  "BEGIN SELECT RAISE(ABORT, 'no space left on device'); END"]
        drop = ["DROP TRIGGER handoff_delete_fails"]
    with db.engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            for statement in drop:
                conn.execute(text(statement))


def test_a_handoff_that_cannot_be_cleared_does_not_make_the_retry_count_the_batch_twice(bot, db, clock):
    ingest = bot.services.ingest
    with handoff_deletes_fail(db):
        report = ingest.ingest_records([record("d1", 3, clock), record("d2", 2, clock)], source="test")
    assert report.accepted == 2
    # Ending the hand-off failed, so the listeners' writes did not commit either: nothing half-done.
    assert sorted(h.listener for h in handoffs(db)) == ["alerts", "reply_queue"]
    clock.advance(timedelta(seconds=31))
    assert ingest.retry_handoffs() == 2
    assert account_total(db) == 2  # once, not once per attempt
    assert queued(db) == 2
    assert handoffs(db) == []
    clock.advance(timedelta(seconds=31))
    assert ingest.retry_handoffs() == 0
    assert account_total(db) == 2


def test_a_stop_right_after_the_listeners_committed_does_not_count_the_batch_twice(bot, db, clock, settings,
                                                                                   app_config):

    def stop_here(_comments, _handoff):
        raise ProcessStopped

    ingest = bot.services.ingest
    ingest._listeners.append(("stop-here", stop_here))  # after alerts and the reply queue have committed
    with pytest.raises(ProcessStopped):
        ingest.ingest_records([record("e1", 3, clock), record("e2", 2, clock)], source="test")
    assert account_total(db) == 2 and queued(db) == 2

    restart_and_retry(settings, app_config, clock, db)
    assert account_total(db) == 2 and queued(db) == 2
    # The stand-in listener does not exist after the restart: its hand-off waits, untouched.
    assert [h.listener for h in handoffs(db)] == ["stop-here"]


def test_a_listener_handed_a_batch_that_was_already_applied_writes_nothing(bot, db, clock):
    from bot.storage.handoffs import Handoff

    ingest = bot.services.ingest
    ingest.ingest_records([record("f1", 3, clock)], source="test")
    assert account_total(db) == 1 and handoffs(db) == []
    with db.session() as s:
        [comment_id] = s.exec(select(Comment.id).where(Comment.comment_id == "f1")).all()
    comments = ingest._load_for_handoff(IngestHandoff(listener="alerts", new_ids=[comment_id], updated_ids=[],
                                                      created_at=clock.now()))
    assert [c.comment_id for c in comments] == ["f1"]
    # e.g. another worker's retry of the same hand-off committed first: its row is gone
    bot.services.extra["alerts"].on_comments(comments, Handoff(12345, "alerts"))
    assert account_total(db) == 1


def test_handoffs_pending_for_over_a_week_are_dropped_by_the_retention_purge(bot, db, clock, app_config):
    from bot.retention import purge_expired

    with db.session() as s:
        s.add(IngestHandoff(listener="switched-off", new_ids=[1], updated_ids=[], created_at=clock.now() - timedelta(days=8)))
        s.add(IngestHandoff(listener="switched-off", new_ids=[2], updated_ids=[], created_at=clock.now() - timedelta(days=6)))
    counts = purge_expired(db, clock.now(), app_config.retention)
    assert counts["stale_handoffs"] == 1
    assert [h.new_ids for h in handoffs(db)] == [[2]]
