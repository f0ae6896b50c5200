"""When a failed scheduled report is tried again, what its failure says, and the notice that gives it up
(pure: no database, no clock)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from bot.reports.render import failure_message
from bot.reports.service import MAX_ATTEMPTS, failure_key, failure_reason, retry_at

DUE = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(("attempts", "delay"), [(1, 1), (2, 5), (3, 15), (4, 30)])
def test_a_failed_report_is_tried_again_later_and_later(attempts, delay):
    failed_at = DUE + timedelta(minutes=2)
    assert retry_at(attempts, DUE, failed_at, timedelta(hours=12)) == failed_at + timedelta(minutes=delay)


def test_a_failed_report_is_given_up_after_the_last_attempt_or_past_the_window():
    assert MAX_ATTEMPTS == 5
    assert retry_at(MAX_ATTEMPTS, DUE, DUE, timedelta(hours=12)) is None
    # the next try would come after the window closes: no point waiting for it
    assert retry_at(2, DUE, DUE + timedelta(minutes=1), timedelta(minutes=2)) is None
    assert retry_at(1, DUE, DUE + timedelta(seconds=30), timedelta(minutes=2)) == DUE + timedelta(seconds=90)


def test_a_database_failure_reads_without_its_sql_or_parameters():
    error = OperationalError("SELECT comment.text FROM comment WHERE comment.author_name = ?", ("王小受",),
                             sqlite3.OperationalError("no such table: comment"))
    assert failure_reason(error) == "OperationalError: no such table: comment"


def test_a_failure_is_one_short_line():
    assert failure_reason(TypeError("'int' object is not iterable")) == "TypeError: 'int' object is not iterable"
    assert failure_reason(RuntimeError("first line\nsecond line")) == "RuntimeError: first line"
    assert failure_reason(KeyError()) == "KeyError"
    long = failure_reason(ValueError("x" * 500))
    assert len(long) == 200 and long.endswith("…")


def test_the_notice_key_names_schedule_and_due_time_in_utc():
    assert failure_key("lanji-daily", DUE) == "report-failed:lanji-daily:20261123T0100Z"


def test_the_give_up_notice_is_chinese_first_and_names_report_period_and_reason():
    message = failure_message(
        schedule_id="lanji-daily", channel="slack:C1", audience="澜肌护肤", period_name="日报 / daily report",
        start=DUE - timedelta(days=1), end=DUE, tz="Asia/Shanghai", attempts=5, reason="TypeError: boom",
    )
    assert message.title.index("定时报告未能生成") < message.title.index("Scheduled report could not be built")
    assert message.text.index("已尝试 5 次") < message.text.index("after 5 attempts")
    fields = {f.label: f.value for f in message.fields}
    assert fields == {
        "报告 / report": "lanji-daily｜日报 / daily report｜澜肌护肤（slack:C1）",
        "周期 / period": "11-22 09:00 – 11-23 09:00（Asia/Shanghai）",
        "原因 / reason": "TypeError: boom",
    }
    windowed = failure_message(
        schedule_id="x", channel="slack:C1", audience="a", period_name="p", start=DUE - timedelta(hours=1),
        end=DUE, tz="UTC", attempts=2, reason="r", window=timedelta(hours=12),
    )
    assert "补发时限（12 小时）" in windowed.text and "catch-up window (12 h, 2 attempts)" in windowed.text
