"""Audit 12, findings 7, 8b and 8c: one way to write a span, down to whole minutes, and a zone said once.

8b: only the two largest units were kept, so up to 59 minutes disappeared ("超时 1 天 8 小时" for 1 d 8 h
55 min) although lateness is counted in whole minutes. 8c: the daily report wrote "2 小时 5 分" and the
reply queue "3小时5分" / "0分钟前" beside "分钟" everywhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.durations import ago_zh_en, duration_en, duration_zh, overdue_zh_en, zone_note, zone_text
from bot.replies.service import ReplyStats
from bot.reports import render as reports
from bot.reports.render import Counts, ReportData


def test_every_unit_down_to_minutes_is_shown():
    span = timedelta(days=1, hours=8, minutes=55, seconds=59)
    assert duration_zh(span) == "1 天 8 小时 55 分钟"
    assert duration_en(span) == "1 d 8 h 55 min"
    assert overdue_zh_en(span) == ("超时 1 天 8 小时 55 分钟", "1 d 8 h 55 min overdue")
    # zero units are left out, not written as "0 小时"
    assert duration_zh(timedelta(days=2, minutes=4)) == "2 天 4 分钟"
    assert duration_en(timedelta(hours=3)) == "3 h"
    # short spans read as before
    assert duration_zh(timedelta(minutes=220)) == "3 小时 40 分钟"
    assert duration_zh(timedelta(seconds=30)) == "不到 1 分钟" and duration_en(timedelta(0)) == "under a minute"


def test_ages_say_just_now_under_a_minute():
    assert ago_zh_en(timedelta(seconds=40)) == "刚刚 / just now"
    assert ago_zh_en(timedelta(hours=2, minutes=5)) == "2 小时 5 分钟前 / ago"


def test_zones_are_named_as_the_review_names_them():
    winter = datetime(2026, 1, 15, tzinfo=UTC)
    summer = datetime(2026, 7, 15, tzinfo=UTC)
    assert zone_text("Asia/Shanghai", winter) == "Asia/Shanghai（UTC+08:00）"
    assert zone_text("Europe/Berlin", winter) == "Europe/Berlin（UTC+01:00）"
    assert zone_text("Europe/Berlin", summer) == "Europe/Berlin（UTC+02:00）"  # the offset at that moment
    assert zone_text("America/St_Johns", winter) == "America/St_Johns（UTC-03:30）"
    assert zone_note("Asia/Shanghai", winter) == "时间均为 Asia/Shanghai（UTC+08:00） / all times in Asia/Shanghai"


def test_the_report_writes_the_first_response_time_in_the_shared_words():
    end = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    stats = ReplyStats(since=end - timedelta(days=1), responded=3,
                       median_first_response=timedelta(hours=2, minutes=5))
    data = ReportData(channel="console:lanji", audience="澜肌护肤", period_name="日报 / daily report",
                      start=end - timedelta(days=1), end=end, tz="Asia/Shanghai", now=Counts(comments=3),
                      before=Counts(comments=3), replies=stats)
    replies = {f.label: f.value for f in reports.fields(data)}["评论回复 / replies"]
    assert "首次回复中位 2 小时 5 分钟 ·" in replies, replies
