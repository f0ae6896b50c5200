"""Durations in chat text: Chinese words, whole minutes, and "just overdue" under a minute."""

from __future__ import annotations

from datetime import timedelta

from bot.durations import duration_en, duration_zh, overdue_zh_en


def test_durations_in_words():
    assert duration_zh(timedelta(minutes=2)) == "2 分钟" and duration_en(timedelta(minutes=2)) == "2 min"
    assert duration_zh(timedelta(hours=1)) == "1 小时" and duration_en(timedelta(hours=1)) == "1 h"
    assert duration_zh(timedelta(minutes=90)) == "1 小时 30 分钟"
    assert duration_zh(timedelta(days=2, hours=3, minutes=4)) == "2 天 3 小时 4 分钟"
    assert duration_en(timedelta(days=2)) == "2 d"


def test_overdue_under_a_minute_then_whole_minutes():
    assert overdue_zh_en(timedelta(seconds=0)) == ("刚刚超时", "just overdue")
    assert overdue_zh_en(timedelta(seconds=59)) == ("刚刚超时", "just overdue")
    assert overdue_zh_en(timedelta(seconds=61)) == ("超时 1 分钟", "1 min overdue")
    assert overdue_zh_en(timedelta(minutes=5, seconds=59), "逾期") == ("逾期 5 分钟", "5 min overdue")
