"""Commands acknowledged to the platform survive a crash before a worker ran them (the inbound journal).

A slow outside call (the platform's contact lookup, the first thing a worker does) holds the workers, as a
slow Feishu API would; a second bot on the same database plays the process that starts after the crash.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.messages import Command
from bot.storage.models import InboundItem, OutboxMessage, ProcessedEvent


def feishu_command(text: str, event_id: str) -> Command:
    return Command("feishu", "feishu:oc_lanji", "feishu:ou_alice", text, event_id=event_id)


def journal_rows(db) -> list[InboundItem]:
    with db.session() as session:
        return list(session.exec(select(InboundItem).order_by(InboundItem.id)).all())


def reply_keys(db) -> list[str]:
    with db.session() as session:
        return sorted(row.key for row in session.exec(select(OutboxMessage)).all() if row.key.startswith("reply:"))


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# The process that crashes: its workers hang in the platform's name lookup (a slow Feishu contact API),
# the commands are submitted as an adapter would, then it waits to be killed.
CRASHING_PROCESS = """
import sys, threading, time
from bot.app import build_app
from bot.config import Settings, parse_config
from bot.messages import Command
from bot.storage.db import Database
from tests.conftest import TEST_CONFIG

url, schema, texts = sys.argv[1], sys.argv[2] or None, sys.argv[3:]
db = Database(url, schema=schema)
app = build_app(Settings(_env_file=None), parse_config(TEST_CONFIG, source="tests"), db=db, upgrade=False)
stuck = threading.Event()
app.dispatcher.register_name_lookup("feishu", lambda user_id: stuck.wait())
for number, text in enumerate(texts, 1):
    app.dispatcher.submit(Command("feishu", "feishu:oc_lanji", "feishu:ou_alice", text, event_id=f"Ev-{number}"))
print("submitted", flush=True)
time.sleep(600)
"""


def crash_after_submitting(db, texts: list[str]) -> None:
    """Run a bot in its own process, submit `texts`, wait until they are journalled, kill -9 it."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    process = subprocess.Popen([sys.executable, "-c", CRASHING_PROCESS, db.url, db.schema or "", *texts],
                               cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "submitted"
        wait_for(lambda: len(journal_rows(db)) == len(texts), timeout=30)
        # the two workers have begun the first two commands (their event ids are stored), not the third
        wait_for(lambda: started_event_ids(db) == {"feishu:Ev-1", "feishu:Ev-2"}, timeout=30)
    finally:
        process.kill()
        process.wait(30)


def started_event_ids(db) -> set[str]:
    with db.session() as session:
        return {row.key for row in session.exec(select(ProcessedEvent)).all()}


def heartbeat(db, event_id: str):
    """The journal row's heartbeat (None before this column existed, so the test fails, not errors, there)."""
    rows = [row for row in journal_rows(db) if row.payload.get("event_id") == event_id]
    return getattr(rows[0], "heartbeat_at", None) if rows else None


def looked_at(app, when) -> bool:
    """The app's dispatcher has looked at the begun rows another process left, at `when` or later."""
    checked = getattr(app.dispatcher, "begun_checked_at", None)
    return checked is not None and checked >= when


def restart_notices(db) -> list[str]:
    return [key for key in reply_keys(db) if ":restart:" in key]


def until_settled(clock, condition) -> None:
    """wait_for, moving the fake clock a second per look: the restarted process measures on its own clock
    how long the heartbeat of a row the crashed process had begun has stood still."""
    wait_for(lambda: (clock.advance(1), condition())[1], timeout=30)


def outbox_rows(db) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_commands_acknowledged_before_a_crash_are_not_lost(db, settings, app_config, clock):
    crash_after_submitting(db, ["/help", "/help crisis", "/help reply-queue"])
    assert reply_keys(db) == []

    restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    restarted.dispatcher.heartbeat_interval_s = 0.02
    try:
        restarted.start(scheduler=False, replay_inbound=True)
        until_settled(clock, lambda: journal_rows(db) == [] and len(reply_keys(db)) == 3)
    finally:
        restarted.stop()
    rows = {row.key: row for row in outbox_rows(db) if row.key.startswith("reply:")}
    # the third never began: it runs now
    assert "/reply-queue" in rows["reply:feishu:Ev-3:0"].payload["title"]
    # the first two were being handled when the process died: not run twice, the person is asked to check
    # under keys of their own: a notice never takes the place of a real answer
    assert "reply:feishu:Ev-1:0" not in rows and "reply:feishu:Ev-2:0" not in rows
    for key, typed in (("reply:feishu:Ev-1:restart:0", "/help"), ("reply:feishu:Ev-2:restart:0", "/help crisis")):
        notice = rows[key].payload
        assert f"「{typed}」" in notice["text"] and "重启" in notice["text"] and "restarted" in notice["text"]
        assert notice["mentions"] == ["feishu:ou_alice"]
        assert rows[key].channel == "feishu:oc_lanji"


def test_a_second_start_runs_nothing_again(db, settings, app_config, clock):
    crash_after_submitting(db, ["/help", "/help crisis", "/help reply-queue"])
    for _ in range(2):
        restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
        restarted.dispatcher.heartbeat_interval_s = 0.02
        restarted.start(scheduler=False, replay_inbound=True)
        until_settled(clock, lambda: journal_rows(db) == [])
        restarted.stop()
    assert len(reply_keys(db)) == 3


def test_an_item_still_being_finished_by_the_old_process_gets_no_restarted_notice(db, settings, app_config, clock):
    """The new process starts while two commands begun by the old one are in the journal. The one whose
    answer removes its row before the grace is over gets no "restarted" notice; the one still there once
    its heartbeat has stood still that long does."""
    crash_after_submitting(db, ["/help", "/help crisis", "/help reply-queue"])
    restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    restarted.dispatcher.heartbeat_interval_s = 0.02
    restarted.dispatcher.interrupted_grace_s = 5
    try:
        restarted.start(scheduler=False, replay_inbound=True)
        wait_for(lambda: "reply:feishu:Ev-3:0" in reply_keys(db))
        now = clock.advance(4)
        wait_for(lambda: looked_at(restarted, now))
        assert len(journal_rows(db)) == 2 and restart_notices(db) == []
        with db.session() as session:  # the old process answers Ev-1: its answer and its row go together
            session.delete(session.exec(select(InboundItem).where(InboundItem.id == journal_rows(db)[0].id)).one())
        clock.advance(1)
        wait_for(lambda: journal_rows(db) == [])
    finally:
        restarted.stop()
    assert reply_keys(db) == ["reply:feishu:Ev-2:restart:0", "reply:feishu:Ev-3:0"]


def test_a_slow_command_the_old_process_still_runs_gets_no_interrupted_notice(db, settings, app_config, clock):
    """A rolling deploy: the new process starts while the old one still runs a command slower than the grace
    (a report with charts, a slow Slack API). The old process keeps its row's heartbeat moving, so the new
    one leaves it alone however long it runs: the sender gets its answer, and no false "interrupted by a
    restart" notice before it. (Each run of the replay's old timer sent that notice once the grace was over.)"""
    import threading

    old = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    old.dispatcher.heartbeat_interval_s = 0.01
    release = threading.Event()
    old.dispatcher.register_name_lookup("feishu", lambda user_id: release.wait(60) and None)
    new = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    new.dispatcher.heartbeat_interval_s = 0.01
    new.dispatcher.interrupted_grace_s = 2
    try:
        future = old.dispatcher.submit(feishu_command("/help", "Ev-slow"))
        wait_for(lambda: started_event_ids(db) == {"feishu:Ev-slow"})  # a worker of the old process began it
        new.start(scheduler=False, replay_inbound=True)
        for _ in range(20):  # ten times the grace, a second at a time
            now = clock.advance(1)
            # the old process beats at the new time, then the new one looks at the row
            wait_for(lambda now=now: heartbeat(db, "Ev-slow") == now or restart_notices(db))
            wait_for(lambda now=now: looked_at(new, now) or restart_notices(db))
        assert restart_notices(db) == []
        assert len(journal_rows(db)) == 1  # still running: not run again, not settled
        release.set()
        assert future.result(timeout=30)
        wait_for(lambda: journal_rows(db) == [])
        now = clock.advance(10)
        wait_for(lambda: looked_at(new, now))  # and the new process looked again, long past the grace
    finally:
        release.set()
        old.stop()
        new.stop()
    assert reply_keys(db) == ["reply:feishu:Ev-slow:0"]


def test_one_update_beats_for_all_the_rows_a_process_is_running(db, settings, app_config, clock):
    """The heartbeat costs one UPDATE per interval for the whole process, not one per running command."""
    import threading

    from sqlalchemy import event

    app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    app.dispatcher.heartbeat_interval_s = 0.01
    release = threading.Event()
    app.dispatcher.register_name_lookup("feishu", lambda user_id: release.wait(60) and None)
    beats: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE INBOUND_ITEM"):
            beats.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        futures = [app.dispatcher.submit(feishu_command("/help", f"Ev-{n}")) for n in (1, 2)]
        wait_for(lambda: started_event_ids(db) == {"feishu:Ev-1", "feishu:Ev-2"})
        ids = sorted(row.id for row in journal_rows(db))

        def named(start: int) -> list[list[int]]:  # the journal ids each UPDATE from `start` on names
            return [sorted(v for v in (p.values() if isinstance(p, dict) else p) if isinstance(v, int))
                    for _, p in beats[start:]]

        wait_for(lambda: ids in named(0))  # both are running: a beat names both
        seen = len(beats)
        now = clock.advance(1)
        wait_for(lambda: all(heartbeat(db, f"Ev-{n}") == now for n in (1, 2)))
        # and every beat since then, one statement for both
        since = named(seen)
        assert since and since == [ids] * len(since)
        assert all(" IN " in statement.upper() for statement, _ in beats[seen:])
        release.set()
        assert all(future.result(timeout=30) for future in futures)
    finally:
        release.set()
        event.remove(db.engine, "before_cursor_execute", record)
        app.stop()
    assert journal_rows(db) == []


def test_a_crashed_process_rows_get_the_notice_once_after_the_heartbeat_went_stale(db, settings, app_config, clock):
    """The process that had begun two commands was killed: their heartbeats stop. The new process tells
    each sender once, when the heartbeat has stood still for the stale limit (3 beats, at least the grace),
    and not before."""
    crash_after_submitting(db, ["/help", "/help crisis", "/help reply-queue"])
    restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    restarted.dispatcher.heartbeat_interval_s = 0.01
    restarted.dispatcher.interrupted_grace_s = 3
    try:
        restarted.start(scheduler=False, replay_inbound=True)
        wait_for(lambda: "reply:feishu:Ev-3:0" in reply_keys(db))
        for _ in range(2):
            now = clock.advance(1)
            wait_for(lambda now=now: looked_at(restarted, now) or restart_notices(db))
        assert restart_notices(db) == [] and len(journal_rows(db)) == 2
        clock.advance(1)  # the heartbeats have stood still for the stale limit
        wait_for(lambda: journal_rows(db) == [])
        assert restart_notices(db) == ["reply:feishu:Ev-1:restart:0", "reply:feishu:Ev-2:restart:0"]
        clock.advance(60)
        restarted.stop()
        again = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
        again.start(scheduler=False, replay_inbound=True)  # a later start has nothing left to tell
        again.stop()
    finally:
        restarted.stop()
    keys = [row.key for row in outbox_rows(db)]
    assert sorted(keys) == ["reply:feishu:Ev-1:restart:0", "reply:feishu:Ev-2:restart:0", "reply:feishu:Ev-3:0"]


def test_the_answer_and_the_journal_row_go_in_one_transaction(bot, db):
    """A crash between storing the answer and deleting the row made the next start send a false "restarted"
    notice (for a handler with no reply, always). One commit now holds both."""
    from sqlalchemy import event

    statements: list[tuple[int, str]] = []
    transaction = [0]

    def count_commits(conn):
        transaction[0] += 1

    def record(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split()[0].upper()
        if verb in ("INSERT", "DELETE") and ("outbox_message" in statement or "inbound_item" in statement):
            statements.append((transaction[0], f"{verb} {'outbox' if 'outbox_message' in statement else 'journal'}"))

    event.listen(db.engine, "commit", count_commits)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert bot.dispatcher.submit(feishu_command("/help", "Ev-tx")).result(timeout=30)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        event.remove(db.engine, "commit", count_commits)
    deletes = [tx for tx, what in statements if what == "DELETE journal"]
    answers = [tx for tx, what in statements if what == "INSERT outbox"]
    assert len(deletes) == 1 and answers and set(answers) == set(deletes), statements
    assert journal_rows(db) == []


def test_a_handled_command_leaves_no_journal_row(bot, db):
    future = bot.dispatcher.submit(feishu_command("/help", "Ev-9"))
    assert future.result(timeout=30)
    assert journal_rows(db) == []
    assert reply_keys(db) == ["reply:feishu:Ev-9:0"]


def test_only_the_serving_start_replays_and_old_commands_are_not_run(db, settings, app_config, clock):
    crash_after_submitting(db, ["/help", "/help crisis", "/help reply-queue"])
    console = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    console.start(scheduler=False)  # e.g. `crisisbot console` beside the server: it takes nothing
    console.stop()
    assert len(journal_rows(db)) == 3

    clock.set(datetime.now(UTC) + timedelta(hours=2))  # the bot stayed down for two hours
    restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    restarted.start(scheduler=False, replay_inbound=True)
    restarted.stop()
    assert journal_rows(db) == []
    notice = {row.key: row.payload["text"] for row in outbox_rows(db)}["reply:feishu:Ev-3:restart:0"]
    assert "「/help reply-queue」" in notice and "没有执行" in notice and "not run" in notice


def test_the_web_app_start_replays_the_journal(db, settings, app_config, clock):
    from tests.support.asgi_server import running_server

    crash_after_submitting(db, ["/help", "/help crisis", "/help reply-queue"])
    served = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    served.dispatcher.heartbeat_interval_s = 0.02
    with running_server(served.web):  # uvicorn with the ASGI lifespan, as `crisisbot serve` runs it
        until_settled(clock, lambda: journal_rows(db) == [] and "reply:feishu:Ev-3:0" in reply_keys(db))


def test_the_replay_runs_before_this_process_takes_anything_new(db, settings, app_config, clock):
    """The replay ran after the hooks had started Socket Mode / the Feishu long connection, so it also
    read rows this process had just journalled: a command mid-run got the "restarted" notice and its
    real answer was dropped under the same key. It runs before the hooks now."""
    import threading

    app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    release = threading.Event()
    app.dispatcher.register_name_lookup("feishu", lambda user_id: release.wait(30) and None)
    futures = []

    def adapter_receives_a_command() -> None:
        # a hook standing for an adapter that starts receiving: a command arrives and a worker begins it
        futures.append(app.dispatcher.submit(feishu_command("/help", "Ev-live")))
        wait_for(lambda: started_event_ids(db) == {"feishu:Ev-live"} and len(journal_rows(db)) == 1)

    app.wiring.on_start.append(adapter_receives_a_command)
    try:
        app.start(scheduler=False, replay_inbound=True)
        release.set()
        assert futures[0].result(timeout=30)
        assert reply_keys(db) == ["reply:feishu:Ev-live:0"]
        assert journal_rows(db) == []
    finally:
        release.set()
        app.stop()


def test_a_command_that_ran_but_whose_answer_was_not_stored_is_not_run_again_at_the_next_start(
        db, settings, app_config, clock):
    """Its event id is forgotten so the platform's retry is handled; the journal row must go too, or the
    next start would run the command a second time (a second crisis run, a second reply)."""
    from sqlalchemy import event

    from bot.dispatcher import RepliesNotStored

    app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    engine = db.engine

    def refuse_outbox_writes(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT") and "outbox_message" in statement.lower():
            raise RuntimeError("disk full while storing outbox_message")

    event.listen(engine, "before_cursor_execute", refuse_outbox_writes)
    try:
        future = app.dispatcher.submit(feishu_command("/help", "Ev-unstored"))
        with pytest.raises(RepliesNotStored):
            future.result(timeout=30)
    finally:
        event.remove(engine, "before_cursor_execute", refuse_outbox_writes)
        app.dispatcher.shutdown()
    assert journal_rows(db) == []


def test_a_retry_of_a_command_whose_answer_was_not_stored_runs_also_under_its_other_event_ids(
        db, settings, app_config, clock):
    """A Slack mention is keyed by its message and by its envelope's event_id (`also_event_ids`): when its answer
    could not be stored, every key is forgotten, or the retry (same event_id) was dropped as a duplicate."""
    from dataclasses import replace

    from sqlalchemy import event

    from bot.dispatcher import RepliesNotStored

    app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    engine = db.engine
    mention = replace(feishu_command("/help", "msg:C1:1700000000.000100"), also_event_ids=("ev:EvRETRY",))

    def refuse_outbox_writes(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT") and "outbox_message" in statement.lower():
            raise RuntimeError("disk full while storing outbox_message")

    event.listen(engine, "before_cursor_execute", refuse_outbox_writes)
    try:
        with pytest.raises(RepliesNotStored):
            app.dispatcher.submit(mention).result(timeout=30)
    finally:
        event.remove(engine, "before_cursor_execute", refuse_outbox_writes)
    try:
        with db.session() as session:
            assert session.exec(select(ProcessedEvent.key)).all() == []
        app.dispatcher.submit(mention).result(timeout=30)  # the platform's retry
    finally:
        app.dispatcher.shutdown()
    assert len(reply_keys(db)) == 1


def test_the_inbound_journal_migrations_match_the_model(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diffs if "inbound_item" in repr(d)] == []
