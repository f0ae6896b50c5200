"""A scheduled report that failed to build is retried (oldest first, a bounded number of times, within the
catch-up window) even after a newer one was queued, is never sent twice, and a failure that persists is
said once in the default channel; on SQLite and PostgreSQL with a moved clock.

Failures are real database conditions: a stored comment whose risk flags the report cannot read (it breaks
only the report whose period holds that comment), and a table that refuses writes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update
from sqlmodel import select

from bot.config import parse_config
from bot.storage.models import Comment, OutboxMessage
from tests.conftest import TEST_CONFIG
from tests.integration.reports.test_reports import LANJI, record, reports_in_outbox, run_ticks

KEY = "report:lanji_hourly:202611{day:02d}T{hour:02d}00Z"


def hourly_bot(db, settings, clock, **reports):
    from bot.app import build_app

    config = parse_config({**TEST_CONFIG, "reports": {
        "schedules": [{"id": "lanji_hourly", "channel": "console:lanji", "cron": "0 * * * *", "period": "1h"}],
        "catch_up_hours": 12, **reports,
    }}, source="tests")
    return build_app(settings, config, clock=clock, db=db, upgrade=False)


def keys(db) -> list[str]:
    return [row.key for row in reports_in_outbox(db)]


def key(hour: int, day: int = 23) -> str:
    return KEY.format(day=day, hour=hour)


def break_comment(db, comment_id: str) -> None:
    """Store risk flags the report cannot read for one comment: the report of its period fails to build."""
    with db.session() as session:
        session.execute(update(Comment).where(Comment.comment_id == comment_id).values(risk_flags=7))


def mend_comment(db, comment_id: str) -> None:
    with db.session() as session:
        session.execute(update(Comment).where(Comment.comment_id == comment_id).values(risk_flags=None))


def failure_notices(db) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.key.like("report-failed:%"))
                                 .order_by(OutboxMessage.id)).all())


def test_a_report_that_failed_while_catching_up_is_retried_after_the_newer_ones_went_out(db, clock, settings):
    """Down from 09:30 to 12:30: of the 10:00, 11:00 and 12:00 reports the 11:00 one fails to build (its
    hour holds a comment it cannot read) while the others go out. Once the cause is gone, the 11:00 report
    follows: with only the due times after the last queued report looked at, it was never sent."""
    bot = hourly_bot(db, settings, clock)
    try:
        clock.set(datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC))  # 09:00:30 Shanghai
        run_ticks(bot)
    finally:
        bot.stop()
    assert keys(db) == [key(1)]
    clock.set(datetime(2026, 11, 23, 4, 30, tzinfo=UTC))  # 12:30
    restarted = hourly_bot(db, settings, clock)
    try:
        restarted.services.ingest.ingest_records([
            record("at-0945", LANJI, "很好用，回购第三次了", datetime(2026, 11, 23, 1, 45, tzinfo=UTC)),
            record("at-1030", LANJI, "用了过敏烂脸，要求退款！", datetime(2026, 11, 23, 2, 30, tzinfo=UTC)),
            record("at-1130", LANJI, "还行吧", datetime(2026, 11, 23, 3, 30, tzinfo=UTC)),
        ], source="test")
        break_comment(db, "at-1030")
        run_ticks(restarted)
        assert keys(db) == [key(1), key(2), key(4)]  # 11:00 (10:00-11:00 Shanghai) failed
        clock.advance(timedelta(minutes=2))
        run_ticks(restarted)  # still failing: retried, not queued
        assert keys(db) == [key(1), key(2), key(4)]
        mend_comment(db, "at-1030")
        clock.advance(timedelta(minutes=10))
        run_ticks(restarted)
        assert keys(db) == [key(1), key(2), key(4), key(3)]
        clock.advance(timedelta(minutes=5))
        run_ticks(restarted)
    finally:
        restarted.stop()
    again = hourly_bot(db, settings, clock)  # a restart sends none of them twice
    try:
        clock.advance(timedelta(minutes=5))  # 12:52
        run_ticks(again)
        assert keys(db) == [key(1), key(2), key(4), key(3)]
        again.services.outbox.drain()
        ends = [m.meta["end"] for m in again.console.messages("lanji") if m.meta.get("kind") == "report"]
        assert sorted(ends) == [f"2026-11-23T0{h}:00:00+00:00" for h in (1, 2, 3, 4)]
        late = [m for m in again.console.messages("lanji") if m.meta.get("end") == "2026-11-23T03:00:00+00:00"]
        assert len(late) == 1 and late[0].meta["comments"] == 1  # its own hour: the comment of 10:30
    finally:
        again.stop()
    assert failure_notices(db) == []  # it came through: nothing to tell


def notices_in_console(bot) -> list:
    bot.services.outbox.drain()
    return [m for m in bot.console.messages("general") if m.meta.get("kind") == "report_failed"]


def test_a_report_that_keeps_failing_is_tried_a_bounded_number_of_times_then_said_once(db, clock, settings, caplog):
    """The 09:00 report's hour holds a comment it cannot read: tried five times over about an hour while the
    later reports go out, then given up with one notice in the default channel, Chinese first, naming the
    report, its period and why; never tried again, nor said again, after a restart or once the data is
    mended."""
    from bot.reports.service import MAX_ATTEMPTS

    clock.set(datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC))  # 09:00:30 Shanghai
    bot = hourly_bot(db, settings, clock)
    try:
        bot.services.ingest.ingest_records(
            [record("at-0830", LANJI, "用了过敏烂脸，要求退款！", datetime(2026, 11, 23, 0, 30, tzinfo=UTC))], source="test")
        break_comment(db, "at-0830")
        with caplog.at_level(logging.WARNING, logger="bot.reports.service"):
            for _ in range(25):  # to 11:00:30, a check every 5 minutes
                run_ticks(bot)
                clock.advance(timedelta(minutes=5))
        assert keys(db) == [key(2), key(3)]  # 10:00 and 11:00 went out; 09:00 never did
        tries = [r for r in caplog.records if r.levelno == logging.ERROR and "failed" in r.getMessage()
                 and "due 2026-11-23T01:00:00" in r.getMessage()]
        assert len(tries) == MAX_ATTEMPTS == 5
        given_up = [r for r in caplog.records if "given up" in r.getMessage()]
        assert len(given_up) == 1 and "lanji_hourly" in given_up[0].getMessage()
        assert "TypeError" in given_up[0].getMessage()
        [notice] = notices_in_console(bot)
    finally:
        bot.stop()
    assert notice.title.index("定时报告未能生成") < notice.title.index("Scheduled report could not be built")
    fields = {f.label: f.value for f in notice.fields}
    assert "lanji_hourly" in fields["报告 / report"] and "澜肌护肤" in fields["报告 / report"]
    assert "1 小时报告" in fields["报告 / report"]
    assert fields["周期 / period"] == "11-23 08:00 – 11-23 09:00（Asia/Shanghai）"
    assert fields["原因 / reason"].startswith("TypeError: ")
    assert notice.text.index("已尝试 5 次") < notice.text.index("after 5 attempts")
    assert notice.meta["end"] == "2026-11-23T01:00:00+00:00" and notice.meta["attempts"] == 5
    caplog.clear()
    restarted = hourly_bot(db, settings, clock)
    try:
        run_ticks(restarted)
        mend_comment(db, "at-0830")  # too late: given up is given up
        for _ in range(6):
            clock.advance(timedelta(minutes=5))
            run_ticks(restarted)
        assert key(1) not in keys(db)
        assert not [r for r in caplog.records if "due 2026-11-23T01:00:00" in r.getMessage()]
        assert len(failure_notices(db)) == 1 and failure_notices(db)[0].channel == "console:general"
    finally:
        restarted.stop()


def test_a_failure_is_given_up_when_its_next_try_would_fall_outside_the_catch_up_window(db, clock, settings):
    """No catch-up (`catch_up_hours: 0`): the window is two checks; a failed report is tried once more
    within it, then given up at once rather than dropped silently when the window has passed."""
    clock.set(datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC))
    bot = hourly_bot(db, settings, clock, catch_up_hours=0)
    try:
        bot.services.ingest.ingest_records(
            [record("at-0830", LANJI, "用了过敏烂脸，要求退款！", datetime(2026, 11, 23, 0, 30, tzinfo=UTC))], source="test")
        break_comment(db, "at-0830")
        run_ticks(bot)
        assert failure_notices(db) == []
        clock.advance(timedelta(seconds=61))  # the first retry is due a minute after the failure
        run_ticks(bot)
        [notice] = notices_in_console(bot)
    finally:
        bot.stop()
    assert notice.meta["attempts"] == 2
    assert "补发时限（2 分钟）" in notice.text and "catch-up window (2 min, 2 attempts)" in notice.text
    assert keys(db) == []


def test_a_failure_left_behind_while_the_bot_was_down_past_the_window_is_said_once(db, clock, settings):
    """The 09:00 report failed once, then the bot was down for 13 hours: at the restart its due time is
    outside the 12-hour window, so it is given up and said, not retried and not forgotten silently."""
    clock.set(datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC))
    bot = hourly_bot(db, settings, clock)
    try:
        bot.services.ingest.ingest_records(
            [record("at-0830", LANJI, "用了过敏烂脸，要求退款！", datetime(2026, 11, 23, 0, 30, tzinfo=UTC))], source="test")
        break_comment(db, "at-0830")
        run_ticks(bot)
    finally:
        bot.stop()
    assert keys(db) == [] and failure_notices(db) == []
    clock.set(datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
    restarted = hourly_bot(db, settings, clock)
    try:
        run_ticks(restarted)
        clock.advance(timedelta(minutes=5))
        run_ticks(restarted)
        [notice] = notices_in_console(restarted)
    finally:
        restarted.stop()
    assert "补发时限（12 小时）" in notice.text and notice.meta["attempts"] == 1
    assert dict((f.label, f.value) for f in notice.fields)["原因 / reason"].startswith("TypeError")
    assert keys(db) == [key(14)]  # the latest due time; 09:00 is not tried again


def refuse_failure_records(db) -> None:
    """Make storing a failed due time fail (as when the database goes away right after the build did)."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse_report_attempt BEFORE INSERT ON report_attempt "
                              "BEGIN SELECT RAISE(ABORT, 'database briefly unavailable'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse_report_attempt() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'database briefly unavailable'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_report_attempt BEFORE INSERT ON report_attempt "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_report_attempt()"))


def accept_failure_records(db) -> None:
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER refuse_report_attempt"))
        else:
            conn.execute(text("DROP TRIGGER refuse_report_attempt ON report_attempt"))


def test_a_failure_that_cannot_be_stored_holds_back_the_later_due_times_until_the_next_check(db, clock, settings):
    """Catching up 10:00, 11:00 and 12:00, the 11:00 report fails and even its failure cannot be stored:
    queueing 12:00 now would leave 11:00 behind the last queued report with no trace of it. 12:00 waits
    for the next check, which tries 11:00 first."""
    bot = hourly_bot(db, settings, clock)
    try:
        clock.set(datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC))
        run_ticks(bot)
    finally:
        bot.stop()
    clock.set(datetime(2026, 11, 23, 4, 30, tzinfo=UTC))
    restarted = hourly_bot(db, settings, clock)
    try:
        restarted.services.ingest.ingest_records(
            [record("at-1030", LANJI, "用了过敏烂脸，要求退款！", datetime(2026, 11, 23, 2, 30, tzinfo=UTC))], source="test")
        break_comment(db, "at-1030")
        refuse_failure_records(db)
        run_ticks(restarted)
        assert keys(db) == [key(1), key(2)]
        accept_failure_records(db)
        clock.advance(timedelta(minutes=2))
        run_ticks(restarted)  # 11:00 fails again, stored this time; 12:00 goes out
        assert keys(db) == [key(1), key(2), key(4)]
        mend_comment(db, "at-1030")
        clock.advance(timedelta(minutes=2))
        run_ticks(restarted)
        assert keys(db) == [key(1), key(2), key(4), key(3)]
    finally:
        restarted.stop()
    assert failure_notices(db) == []


def test_report_attempt_migration_matches_the_model(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import bot.reports.models  # noqa: F401 - registers the table

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diffs if "report_attempt" in repr(d)] == []
