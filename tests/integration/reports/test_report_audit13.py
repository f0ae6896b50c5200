"""Outside audit of the client reports (audit 13), on SQLite and PostgreSQL with a moved clock:

1. a comment's link, image or bold is quoted inert in the chat report and its file, and keywords come from
   the words, not the markup;
2. calendar periods: a schedule with `period: 月报` covers the previous calendar month (all 31 days of a
   31-day month), `周报` the previous ISO week (Monday to Sunday), `日报` the previous day, in the channel's
   zone; `/report 月报` the same; rolling `7d` and `7天` up to now;
3. the report comes as a file (one HTML page with the chart in it) beside a short summary, in the outbox
   and in the console's folder;
4. a channel set to `language: en` gets the report and its chart in English;
5. `/report --help` is the usage.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image as PILImage

from bot.adapters.console.render import render_text
from bot.config import parse_config
from bot.messages import Message
from bot.reports.service import ReportRequest
from tests.conftest import TEST_CONFIG
from tests.integration.reports.test_reports import LANJI, record, reports_in_outbox, run_ticks

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVIL = "垃圾产品要退款 [官方客服](http://evil.example) **加粗** <b>x</b> ![img](http://evil.example/a.png)"


def scheduled_bot(db, settings, clock, *, cron: str, period: str, language: str | None = None):
    from bot.app import build_app

    lanji = {"id": "console:lanji", "client": "lanji", **({"language": language} if language else {})}
    config = parse_config({**TEST_CONFIG, "channels": [lanji, {"id": "console:xiaochu", "client": "xiaochu"}],
                           "reports": {"schedules": [{"id": "lanji", "channel": "console:lanji", "cron": cron,
                                                      "period": period}], "catch_up_hours": 12}}, source="tests")
    return build_app(settings, config, clock=clock, db=db, upgrade=False)


def outbox_reports(db) -> list[Message]:
    return [Message.from_dict(row.payload) for row in reports_in_outbox(db)]


def local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# ---- 1. comment text is inert ------------------------------------------------------------------------
def test_a_comments_link_and_bold_are_quoted_inert_in_the_chat_report_and_its_file(bot, clock, run_command):
    now = clock.now()
    accepted = bot.services.ingest.ingest_records([
        record(f"evil-{n}", LANJI, EVIL, now - timedelta(hours=n + 1), likes=500 - n) for n in range(3)
    ] + [record("plain", LANJI, "垃圾产品，要求退款，太差了", now - timedelta(hours=5), likes=3)], source="test")
    assert accepted.accepted == 4
    [reply] = run_command("/report", channel="console:lanji")
    whole = reply.files[0].content.decode("utf-8")
    for text in (reply.text, whole):
        assert "垃圾产品要退款" in text, text
        assert "](http://evil.example)" not in text and "[官方客服]" not in text, text
        assert "**加粗**" not in text and "![img]" not in text, text
    assert "［官方客服］(http://evil.example)" in reply.text  # shown as typed, the address visible
    assert "<b>x</b>" not in whole and "&lt;b&gt;x&lt;/b&gt;" in whole  # escaped in the HTML page
    # keywords are the words people wrote: no part of an address or an image's name
    built = bot.services.extra["reports"].build(ReportRequest("console:lanji", now - timedelta(days=1), now))
    terms = {keyword.term for keyword in built.data.keywords}
    assert terms and not terms & {"http", "evil", "example", "png", "img"}, terms


# ---- 2. calendar periods -----------------------------------------------------------------------------
def test_a_monthly_schedule_covers_the_whole_previous_calendar_month(db, clock, settings):
    """`0 9 1 * *` with `period: 月报`: the report of December 1st covers November 1st to 30th, the one of
    November 1st all 31 days of October (a `30d` period skipped October 1st)."""
    clock.set(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    bot = scheduled_bot(db, settings, clock, cron="0 9 1 * *", period="月报")
    try:
        bot.services.ingest.ingest_records([
            record("oct-1", LANJI, "十月一日的评论，太差了", datetime(2026, 10, 1, 0, 30, tzinfo=SHANGHAI)),
            record("oct-31", LANJI, "十月最后一天", datetime(2026, 10, 31, 23, 30, tzinfo=SHANGHAI)),
            record("nov-1", LANJI, "十一月第一条", datetime(2026, 11, 1, 0, 10, tzinfo=SHANGHAI)),
        ], source="test")
        for moment in (datetime(2026, 11, 1, 9, 0, 30, tzinfo=SHANGHAI), datetime(2026, 12, 1, 9, 0, 30, tzinfo=SHANGHAI)):
            clock.set(moment)
            run_ticks(bot)
    finally:
        bot.stop()
    october, november = outbox_reports(db)
    assert (local(october.meta["start"]), local(october.meta["end"])) == ("2026-10-01 00:00", "2026-11-01 00:00")
    assert october.meta["comments"] == 2  # the 1st and the 31st
    assert (local(november.meta["start"]), local(november.meta["end"])) == ("2026-11-01 00:00", "2026-12-01 00:00")
    assert november.meta["comments"] == 1 and november.meta["previous_comments"] == 2  # against October
    assert "月报 / monthly report" in november.title and "2026-11-01 – 2026-11-30" in november.title
    assert november.files[0].name == "report-console-lanji-2026-11.html"


def test_a_weekly_schedule_covers_the_previous_iso_week_and_a_daily_one_the_previous_day(db, clock, settings):
    clock.set(datetime(2026, 11, 23, 9, 30, 30, tzinfo=SHANGHAI))  # a Monday, 09:30
    weekly = scheduled_bot(db, settings, clock, cron="30 9 * * 1", period="周报")
    try:
        run_ticks(weekly)
    finally:
        weekly.stop()
    [week] = outbox_reports(db)
    # Monday 00:00 to Monday 00:00: whole days, not 09:30 to 09:30
    assert (local(week.meta["start"]), local(week.meta["end"])) == ("2026-11-16 00:00", "2026-11-23 00:00")
    assert "2026-11-16 – 2026-11-22" in week.title
    clock.set(datetime(2026, 11, 24, 9, 0, 30, tzinfo=SHANGHAI))
    daily = scheduled_bot(db, settings, clock, cron="0 9 * * *", period="daily")
    try:
        run_ticks(daily)
    finally:
        daily.stop()
    day = outbox_reports(db)[-1]
    assert (local(day.meta["start"]), local(day.meta["end"])) == ("2026-11-23 00:00", "2026-11-24 00:00")


def test_report_words_in_chat_are_calendar_periods_and_lengths_stay_rolling(bot, clock, run_command):
    clock.set(datetime(2026, 12, 6, 9, 26, tzinfo=SHANGHAI))
    [month] = run_command("/report 月报", channel="console:lanji")
    assert (local(month.meta["start"]), local(month.meta["end"])) == ("2026-11-01 00:00", "2026-12-01 00:00")
    [fixed] = run_command("/report --month 2026-10", channel="console:lanji")
    assert (local(fixed.meta["start"]), local(fixed.meta["end"])) == ("2026-10-01 00:00", "2026-11-01 00:00")
    [days] = run_command("/report --from 2026-11-02 --to 2026-11-04", channel="console:lanji")
    assert (local(days.meta["start"]), local(days.meta["end"])) == ("2026-11-02 00:00", "2026-11-05 00:00")
    [rolling] = run_command("/report 7d", channel="console:lanji")
    assert (local(rolling.meta["start"]), local(rolling.meta["end"])) == ("2026-11-29 09:26", "2026-12-06 09:26")
    [chinese_unit] = run_command("/report 7天", channel="console:lanji")
    assert chinese_unit.meta["start"] == rolling.meta["start"], chinese_unit.text
    [unfinished] = run_command("/report --month 2026-12", channel="console:lanji")
    assert "还没有结束" in unfinished.text


# ---- 3. the report as a file -------------------------------------------------------------------------
def test_a_scheduled_report_carries_its_html_file_into_the_outbox_and_the_console_folder(db, clock, settings, tmp_path):
    clock.set(datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI))
    bot = scheduled_bot(db, settings, clock, cron="0 9 * * *", period="1d")
    bot.console.files_dir = tmp_path / "files"
    bot.console.echo = echo = io.StringIO()
    try:
        bot.services.ingest.ingest_records([
            record("a", LANJI, "用了过敏烂脸，太差了，要求退款，我要投诉！", clock.now() - timedelta(hours=2), likes=9),
        ], source="test")
        clock.set(datetime(2026, 11, 23, 9, 0, 30, tzinfo=SHANGHAI))
        run_ticks(bot)
        [queued] = outbox_reports(db)
        [report_file] = queued.files
        assert report_file.name == "report-console-lanji-1d-20261123-0900.html"
        assert report_file.mime.startswith("text/html")
        page = report_file.content.decode("utf-8")
        assert page.startswith("<!DOCTYPE html>") and '<img alt="负面占比与评论量" src="data:image/png;base64,' in page
        assert "用了过敏烂脸" in page and "<h2>点赞最多的负面评论 / most-liked negative comments</h2>" in page
        assert queued.images and queued.images[0].png  # the chart still shows in the channel
        assert "完整报告（含图表）见附件 report-console-lanji-1d-20261123-0900.html" in queued.text
        bot.services.outbox.drain()
    finally:
        bot.stop()
    written = tmp_path / "files" / "report-console-lanji-1d-20261123-0900.html"
    assert written.read_bytes() == report_file.content
    assert f"[文件 / file: {written.name} ({written.stat().st_size} bytes) → {written}]" in echo.getvalue()
    [shown] = [m for m in bot.console.messages("lanji") if m.meta.get("kind") == "report"]
    assert written.name in render_text(shown)


# ---- 4. the channel's language -----------------------------------------------------------------------
def test_an_english_channel_gets_an_english_report_and_chart(db, clock, settings):
    clock.set(datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI))
    bot = scheduled_bot(db, settings, clock, cron="0 9 * * 1", period="weekly", language="en")
    try:
        bot.services.ingest.ingest_records([
            record("a", LANJI, "用了过敏烂脸，太差了，要求退款，我要投诉！", datetime(2026, 11, 20, 12, tzinfo=SHANGHAI)),
        ], source="test")
        clock.set(datetime(2026, 11, 23, 9, 0, 30, tzinfo=SHANGHAI))
        run_ticks(bot)
    finally:
        bot.stop()
    [report] = outbox_reports(db)
    assert report.title.startswith("Weekly report | 澜肌护肤 | 2026-11-16 – 2026-11-22 Asia/Shanghai (UTC+08:00)")
    assert "- Comments: 1 (no previous data)" in report.text
    assert "评论" not in report.text and "负面" not in report.text, report.text
    page = report.files[0].content.decode("utf-8")
    assert '<html lang="en">' in page and "<h2>Most-liked negative comments</h2>" in page
    chart = PILImage.open(io.BytesIO(report.images[0].png))
    assert chart.text["Title"] == "Weekly report | 2026-11-16 – 2026-11-22 | 澜肌护肤 negative comment share"
    assert chart.text["Description"].startswith("time (Asia/Shanghai) 2026-11-16 00:00 – 2026-11-23 00:00")


# ---- 5. help ---------------------------------------------------------------------------------------------
def test_report_help_is_the_usage_not_a_bad_period(bot, run_command):
    for text in ("/report --help", "/report -h"):
        [reply] = run_command(text, channel="console:lanji")
        assert "周期无效" not in (reply.text or "") and "/report --month 2026-11" in reply.text, reply.text
