"""Audit 13, pure parts: calendar periods (a month, an ISO week, a day, whole days, in the client's zone),
`period: 月报` in `reports.schedules`, 7天-style periods, comment text quoted inert, keywords sorted by
count, one percent style, the .md title a heading, the year in titles, and English for `language: en`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_config
from bot.reports import render
from bot.reports.periods import days_period, last_whole, month_period
from bot.reports.render import CommentLine, Counts, KeywordLine, ReportData
from bot.reports.service import without_markup
from bot.reports.settings import parse_period
from tests.conftest import TEST_CONFIG

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
EVIL = "垃圾产品要退款 [官方客服](http://evil.example) **加粗** <b>x</b> ![img](http://evil.example/a.png)"


def test_the_last_whole_month_week_and_day_are_the_zones_calendar():
    moment = datetime(2026, 12, 6, 1, 26, tzinfo=UTC)  # 09:26 on Sunday December 6th in Shanghai
    month = last_whole("month", moment, "Asia/Shanghai")
    assert (month.start, month.end) == (datetime(2026, 11, 1, tzinfo=SHANGHAI), datetime(2026, 12, 1, tzinfo=SHANGHAI))
    assert month.previous_start == datetime(2026, 10, 1, tzinfo=SHANGHAI) and month.label == "2026-11"
    week = last_whole("week", moment, "Asia/Shanghai")  # Monday November 23rd to Sunday the 29th
    assert (week.first, week.last, week.label) == (date(2026, 11, 23), date(2026, 11, 29), "2026-W48")
    assert last_whole("day", moment, "Asia/Shanghai").first == date(2026, 12, 5)
    january = last_whole("month", datetime(2027, 1, 1, 1, tzinfo=UTC), "Asia/Shanghai")
    assert (january.first, january.last, january.previous_first) == (date(2026, 12, 1), date(2026, 12, 31),
                                                                     date(2026, 11, 1))


def test_a_month_across_a_dst_change_runs_midnight_to_midnight():
    march = month_period(2026, 3, "Europe/Berlin")
    assert march.start == datetime(2026, 3, 1, tzinfo=BERLIN) and march.end == datetime(2026, 4, 1, tzinfo=BERLIN)
    assert march.end - march.start == timedelta(days=31, hours=-1)


def test_whole_days_include_both_ends_and_compare_with_as_many_days_before():
    period = days_period(date(2026, 11, 1), date(2026, 11, 15), "Asia/Shanghai")
    assert period.end == datetime(2026, 11, 16, tzinfo=SHANGHAI)
    assert period.previous_start == datetime(2026, 10, 17, tzinfo=SHANGHAI)
    with pytest.raises(ValueError, match="早于"):
        days_period(date(2026, 11, 2), date(2026, 11, 1), "Asia/Shanghai")
    with pytest.raises(ValueError, match="92"):
        days_period(date(2026, 1, 1), date(2026, 11, 1), "Asia/Shanghai")


@pytest.mark.parametrize("period", ["月报", "monthly", "1mo", "周报", "weekly", "日报", "daily", "7天", "24小时"])
def test_a_schedule_takes_calendar_words_and_chinese_units(period):
    config = parse_config({**TEST_CONFIG, "reports": {"schedules": [
        {"id": "m", "channel": "console:lanji", "cron": "0 9 1 * *", "period": period}]}}, source="tests")
    assert config.reports.schedules[0].period == period


def test_chinese_units_are_periods():
    assert parse_period("7天") == timedelta(days=7) and parse_period("24小时") == timedelta(hours=24)
    assert parse_period("2周") == timedelta(weeks=2)


def _data(**over) -> ReportData:
    start = datetime(2026, 11, 1, tzinfo=SHANGHAI)
    values = dict(channel="console:lanji", audience="澜肌护肤", period_name="月报 / monthly report", start=start,
                  end=datetime(2026, 12, 1, tzinfo=SHANGHAI), tz="Asia/Shanghai",
                  now=Counts(comments=6, scored=6, negative=1), before=Counts(comments=3, scored=3, negative=1))
    values.update(over)
    return ReportData(**values)


def test_comment_text_is_inert_in_the_markdown_the_summary_and_the_page():
    data = _data(top_negative=[CommentLine("澜肌官方旗舰店", EVIL, 12, "https://example.com/v1")],
                 keywords=[KeywordLine("退款", 2, 0, EVIL)])
    for text in (render.markdown(data), render.summary(data), render.html_report(data, None)):
        assert "](http://evil.example)" not in text and "**加粗**" not in text, text
        assert "［官方客服］(http://evil.example)" in text, text


def test_keywords_come_from_the_words_not_the_markup():
    plain = without_markup(EVIL)
    assert "官方客服" in plain and "加粗" in plain
    assert "http" not in plain and "png" not in plain and "<b>" not in plain and "**" not in plain


def test_keywords_are_listed_by_count():
    data = _data(keywords=[KeywordLine("过敏", 2, 0, "a"), KeywordLine("退款", 5, 0, "b"), KeywordLine("客服", 3, 0, "c")])
    listed = [line.split(" ×")[0].removeprefix("- ") for line in render.markdown(data).splitlines() if " ×" in line]
    assert listed == ["退款", "客服", "过敏"]


def test_one_percent_style_whole_percent_as_the_reply_queue():
    markdown = render.markdown(_data())
    assert "负面占比 / negative share：17%（负面 1 / 已评分 6；上期 33%）" in markdown, markdown
    assert render._pct(1 / 1000) == "<1%" and render._pct(0.999) == ">99%" and render._pct(0) == "0%"


def test_the_title_is_a_heading_with_the_year_and_a_calendar_period_names_its_days():
    first = render.markdown(_data()).splitlines()[0]
    assert first == "# 月报 / monthly report｜澜肌护肤｜2026-11-01 – 2026-11-30 Asia/Shanghai（UTC+08:00）"
    assert "\n## " in render.markdown(_data(keywords=[KeywordLine("退款", 2, 0, "b")]))
    assert render.chart_title(_data()) == "月报｜2026-11-01 – 2026-11-30"


def test_an_english_report_has_no_chinese_labels():
    data = _data(lang="en", period_name="monthly report", keywords=[KeywordLine("退款", 2, 0, "要退款")])
    text = render.markdown(data)
    assert text.startswith("# monthly report | 澜肌护肤 | 2026-11-01 – 2026-11-30 Asia/Shanghai (UTC+08:00)")
    assert "- Comments: 6 (+100% vs previous, previous 3)" in text
    assert "- Negative share: 17% (negative 1 / scored 6; previous 33%)" in text
    assert "## What the negative comments say" in text
    assert "评论 /" not in text and "负面占比" not in text and "上期" not in text
