"""Report figures read one way: "上期无数据" alone when there is no previous period, and every count with
the thousands separator ("当前待回复 2639" stood beside "评论 12,000" in one report)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.replies.service import ReplyStats
from bot.reports import render
from bot.reports.render import AlertLine, Counts, KeywordLine, ReportData, RiskLine


def _data(now: Counts, before: Counts, **over) -> ReportData:
    end = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    return ReportData(channel="console:lanji", audience="澜肌护肤", period_name="日报 / daily report",
                      start=end - timedelta(days=1), end=end, tz="Asia/Shanghai", now=now, before=before, **over)


def _fields(data: ReportData) -> dict[str, str]:
    return {f.label: f.value for f in render.fields(data)}


def test_no_previous_data_is_said_once_and_without_a_zero_figure():
    got = _fields(_data(Counts(comments=5, scored=5, negative=1), Counts()))
    assert got["评论 / comments"] == "5（上期无数据 / no previous data）"
    nothing = _fields(_data(Counts(), Counts()))
    assert nothing["评论 / comments"] == "0（上期无数据 / no previous data）"
    # a previous period with comments keeps its figure
    got = _fields(_data(Counts(comments=12_000, scored=10_000, negative=2_500), Counts(comments=10_000, scored=1)))
    assert got["评论 / comments"] == "12,000（+20% 较上期 / vs previous，上期 10,000）"
    assert "负面 2,500 / 已评分 10,000" in got["负面占比 / negative share"]


def test_reply_figures_and_list_counts_carry_thousands_separators():
    stats = ReplyStats(since=datetime(2026, 11, 21, tzinfo=UTC), open=2639, overdue=1204, responded=1500)
    alerts = [AlertLine("sev2", "open", "surge", "澜肌官方旗舰店", datetime(2026, 11, 22, 1, tzinfo=UTC))] * 1012
    data = _data(Counts(comments=3), Counts(comments=3), replies=stats, alerts=alerts,
                 keywords=[KeywordLine("过敏", 1234, 5678, "用了过敏")], risk_terms=[RiskLine("12315", "complaint", 4321)])
    got = _fields(data)
    assert "已回复 1,500" in got["评论回复 / replies"]
    assert "期末待回复 2,639（超时 1,204）" in got["评论回复 / replies"]
    assert got["告警 / alerts"].startswith("1,012（") and "二级 1,012" in got["告警 / alerts"]
    text = render.markdown(data)
    assert "过敏 ×1,234（上期 5,678）" in text and "12315（投诉举报 complaint）×4,321" in text
    assert "另有 1,002 条 / 1,002 more" in text
