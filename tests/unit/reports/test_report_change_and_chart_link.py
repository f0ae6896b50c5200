"""The change against the previous period never reads "-0%" (one decimal when a real change rounds to 0%,
"持平" when there is none), and the Markdown written by `report --out` links its chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.reports import render
from bot.reports.render import Counts, ReportData, change_text


def _data(now: int, before: int) -> ReportData:
    end = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    return ReportData(channel="console:lanji", audience="澜肌护肤", period_name="日报 / daily report",
                      start=end - timedelta(days=1), end=end, tz="Asia/Shanghai",
                      now=Counts(comments=now), before=Counts(comments=before))


@pytest.mark.parametrize(("now", "before", "expected"), [
    (66_562, 66_812, "-0.4% 较上期 / vs previous"),
    (66_812, 66_562, "+0.4% 较上期 / vs previous"),
    (1_005, 1_000, "+0.5% 较上期 / vs previous"),
    (99, 100, "-1% 较上期 / vs previous"),
    (150, 100, "+50% 较上期 / vs previous"),
    (0, 5, "-100% 较上期 / vs previous"),
    (100_001, 100_000, "+<0.1% 较上期 / vs previous"),
    (66_812, 66_812, "较上期持平 / unchanged vs previous"),
])
def test_the_change_is_worded_without_a_signed_zero(now, before, expected):
    assert change_text(now, before) == expected


def test_the_report_text_and_card_fields_use_the_same_wording():
    data = _data(66_562, 66_812)
    comments = {f.label: f.value for f in render.fields(data)}["评论 / comments"]
    assert comments == "66,562（-0.4% 较上期 / vs previous，上期 66,812）"
    text = render.markdown(data)
    assert "-0.4% 较上期" in text and "-0%" not in text
    message = render.report_message(data, None)
    assert "-0.4% 较上期" in message.text
    same = render.markdown(_data(500, 500))
    assert "较上期持平 / unchanged vs previous" in same and "+0%" not in same


def test_the_markdown_written_by_report_out_links_its_chart(tmp_path):
    data = _data(10, 8)
    first = render.write_report_files(tmp_path, data, render.markdown(data) + "\n", b"\x89PNG fake")
    second = render.write_report_files(tmp_path, data, render.markdown(data) + "\n", b"\x89PNG fake")
    for stem in (first, second):
        text = stem.with_name(stem.name + ".md").read_text(encoding="utf-8")
        assert f"![趋势 / trend]({stem.name}.png)" in text  # relative: the folder can be moved or zipped
        assert stem.with_name(stem.name + ".png").exists()
    assert first.name != second.name


def test_no_chart_link_when_there_is_no_chart(tmp_path):
    data = _data(0, 0)
    stem = render.write_report_files(tmp_path, data, render.markdown(data) + "\n", None)
    text = stem.with_name(stem.name + ".md").read_text(encoding="utf-8")
    assert "![" not in text and not stem.with_name(stem.name + ".png").exists()
