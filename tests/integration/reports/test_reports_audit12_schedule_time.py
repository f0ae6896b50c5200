"""Scheduled reports and time: a schedule due in the repeated DST hour is sent once (the check used to spin
for ever), daily reports of a DST zone tile its local days, a report built late counts no reply activity
after its period, and the title says the zone; on SQLite and PostgreSQL with a moved clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.messages import Message
from bot.replies.models import ReplyQueueItem
from bot.reports.service import ReportRequest
from tests.conftest import TEST_CONFIG
from tests.integration.reports.test_reports import LANJI, record, reports_in_outbox, run_ticks

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def scheduled_bot(db, settings, clock, *, cron: str, period: str = "1d", tz: str | None = None):
    from bot.app import build_app

    lanji = {"id": "console:lanji", "client": "lanji", **({"timezone": tz} if tz else {})}
    config = parse_config({**TEST_CONFIG, "channels": [lanji, {"id": "console:xiaochu", "client": "xiaochu"}],
                           "reports": {"schedules": [{"id": "lanji", "channel": "console:lanji", "cron": cron,
                                                      "period": period}], "catch_up_hours": 12}}, source="tests")
    return build_app(settings, config, clock=clock, db=db, upgrade=False)


def reports(db) -> list[Message]:
    return [Message.from_dict(row.payload) for row in reports_in_outbox(db)]


@pytest.mark.timeout(60)
def test_a_schedule_due_in_the_repeated_hour_is_sent_once_and_the_check_ends(db, clock, settings):
    """Berlin goes back from 03:00 CEST to 02:00 CET on 2026-10-25: "0 2 * * *" is due at the first 02:00
    only. The check used to loop for ever on the second one (serve's scheduler thread at 100% CPU)."""
    bot = scheduled_bot(db, settings, clock, cron="0 2 * * *", tz="Europe/Berlin")
    try:
        for moment in (datetime(2026, 10, 25, 0, 0, 30, tzinfo=UTC),   # 02:00:30 CEST
                       datetime(2026, 10, 25, 1, 0, 30, tzinfo=UTC),   # 02:00:30 CET, the repeat
                       datetime(2026, 10, 25, 3, 0, tzinfo=UTC),
                       datetime(2026, 10, 26, 1, 0, 30, tzinfo=UTC)):  # the next day's 02:00 CET
            clock.set(moment)
            run_ticks(bot)
    finally:
        bot.stop()
    assert [row.key for row in reports_in_outbox(db)] == ["report:lanji:20261025T0000Z", "report:lanji:20261026T0100Z"]
    first, second = reports(db)
    # calendar days: the 25th's report covers 25 hours, and the next one starts where it ended
    assert datetime.fromisoformat(first.meta["start"]) == datetime(2026, 10, 24, 2, tzinfo=BERLIN)
    assert second.meta["start"] == first.meta["end"]


def test_daily_reports_across_the_spring_change_tile_the_local_days(db, clock, settings):
    """"0 9 * * *" + 1d in Berlin: the 03-29 report covers 03-28 09:00 CET to 03-29 09:00 CEST (23 hours),
    not from 08:00 (24 hours back), which the 03-28 report had covered already."""
    bot = scheduled_bot(db, settings, clock, cron="0 9 * * *", tz="Europe/Berlin")
    try:
        for day in (27, 28, 29, 30):
            clock.set(datetime(2026, 3, day, 9, 0, 30, tzinfo=BERLIN))
            run_ticks(bot)
    finally:
        bot.stop()
    sent = reports(db)
    assert len(sent) == 4
    for before, after in zip(sent, sent[1:], strict=False):
        assert after.meta["start"] == before.meta["end"]
    assert [datetime.fromisoformat(m.meta["start"]).astimezone(BERLIN).strftime("%m-%d %H:%M") for m in sent] == [
        "03-26 09:00", "03-27 09:00", "03-28 09:00", "03-29 09:00"]
    assert sent[2].title == ("日报 / daily report｜澜肌护肤｜2026-03-28 09:00 – 03-29 09:00 "
                             "Europe/Berlin（UTC+01:00 → UTC+02:00）")
    assert sent[3].title.endswith("｜2026-03-29 09:00 – 03-30 09:00 Europe/Berlin（UTC+02:00）")


def test_a_skipped_due_time_is_sent_at_the_change_and_the_next_period_starts_there(db, clock, settings):
    """"30 2 * * *" in Berlin: 2026-03-29 02:30 does not exist; as cron, the report goes out at 03:00 CEST,
    once, and the next day's report starts there."""
    bot = scheduled_bot(db, settings, clock, cron="30 2 * * *", tz="Europe/Berlin")
    try:
        for moment in (datetime(2026, 3, 28, 2, 30, 30, tzinfo=BERLIN), datetime(2026, 3, 29, 3, 0, 30, tzinfo=BERLIN),
                       datetime(2026, 3, 29, 3, 40, tzinfo=BERLIN), datetime(2026, 3, 30, 2, 30, 30, tzinfo=BERLIN)):
            clock.set(moment)
            run_ticks(bot)
    finally:
        bot.stop()
    assert [row.key for row in reports_in_outbox(db)] == [
        "report:lanji:20260328T0130Z", "report:lanji:20260329T0100Z", "report:lanji:20260330T0030Z"]
    sent = reports(db)
    assert [m.meta["start"] for m in sent[1:]] == [sent[0].meta["end"], sent[1].meta["end"]]
    assert datetime.fromisoformat(sent[1].meta["start"]) == datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN)


def test_a_report_built_late_counts_no_reply_activity_after_its_period(db, clock, settings):
    """The 09:00 daily report is built at 10:30 (the bot was down). A negative comment of 07:55 was past its
    deadline and unanswered at 09:00, and answered at 10:00: the report must say what it would have said at
    09:00 (0 replied, 1 open and overdue, a missed SLA), not count the 10:00 reply."""
    clock.set(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    bot = scheduled_bot(db, settings, clock, cron="0 9 * * *")
    try:
        bot.services.ingest.ingest_records([
            record("late-1", LANJI, "太差了，退钱！", datetime(2026, 11, 23, 7, 55, tzinfo=SHANGHAI))], source="test")
        with db.session() as session:
            item = session.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == "late-1")).one()
        replies = bot.services.replies
        end = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
        start = end - timedelta(days=1)
        clock.set(end)  # what the report says when built on time (not queued: the bot "was down")
        on_time = bot.services.reports.build(ReportRequest("console:lanji", start, end))
        on_time_stats = replies.stats(channel="console:lanji", since=start)
        clock.set(datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI))  # after the period: a new comment, a claim
        bot.services.ingest.ingest_records([
            record("late-2", LANJI, "请问敏感肌能用吗", datetime(2026, 11, 23, 9, 29, tzinfo=SHANGHAI))], source="test")
        replies.claim(item, user="console:alice", user_name="alice", channel="console:lanji")
        clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))
        replies.mark_replied(item, user="console:alice", user_name="alice", channel="console:lanji")
        clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI))
        assert dataclasses.asdict(replies.stats(channel="console:lanji", since=start, until=end)) == \
            dataclasses.asdict(on_time_stats)
        run_ticks(bot)
    finally:
        bot.stop()
    (report,) = reports(db)
    line = next(line for line in report.text.splitlines() if line.startswith("- 评论回复 / replies："))
    assert line == "- 评论回复 / replies：已回复 0 · SLA 达成 0% · 首次回复中位 — · 期末待回复 1（超时 1）"
    assert on_time.data.replies is not None and on_time_stats.open == 1 and on_time_stats.sla_total == 1
    assert report.title.endswith("｜2026-11-22 09:00 – 11-23 09:00 Asia/Shanghai（UTC+08:00）")
