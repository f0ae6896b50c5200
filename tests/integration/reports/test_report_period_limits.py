"""`/report` with a period too long for a date: the usage message, not "something went wrong"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.reports.settings import parse_period


@pytest.mark.parametrize("text", ["99999999999999999999d", "1000000000d", "9" * 5000 + "w", "93d", "2209h"])
def test_chat_report_with_a_huge_period_is_a_usage_error(bot, run_command, text):
    [reply] = run_command(f"/report {text}", channel="console:lanji")
    assert "周期无效 / bad period:" in reply.text and "is longer than 92 days" in reply.text
    assert len(reply.text) < 2000  # a pasted wall of digits is not echoed back whole


@pytest.mark.parametrize(("text", "days"), [("92d", 92), ("13w", 91), ("2208h", 92), ("0007d", 7), ("１d", 1)])
def test_periods_up_to_92_days_still_parse(text, days):
    assert parse_period(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["0d", "000h", "０d", "d", "3x"])
def test_zero_or_malformed_periods_are_not_periods(text):
    with pytest.raises(ValueError, match="is not a period"):
        parse_period(text)


def test_a_report_in_a_channel_that_sees_no_account_says_so(bot, run_command):
    [reply] = run_command("/report 1d", channel="console:random")
    shown = f"{reply.title}\n{reply.text}"
    # not an empty report: the chat is not set up, and the answer gives its address for the config
    assert "尚未配置" in shown and "console:random" in shown and "未归属客户" not in shown
