"""An English report's own words (audit 16, pure parts): risk categories named in English as `/sentiment
score` names them (the lexicon's `category_names_en`, else "rights defence" for rights ...), the chart's
axes, legend and notes written as English labels are ("Negative share", not "negative share") with no
Chinese of its own, and the HTML page's text in a Latin font first. Chinese reports stay as they were.
The charts are drawn once for the module."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.feishu.cards import render_card
from bot.adapters.slack.render import render_message
from bot.reports import render
from bot.reports.charts import SharePoint, negative_share_chart
from bot.reports.render import CommentLine, Counts, KeywordLine, ReportData, RiskLine

SHANGHAI = ZoneInfo("Asia/Shanghai")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
CLIENT = "澜肌护肤"
RISKS = [RiskLine("12315", "complaint", 23), RiskLine("删评论", "account", 6), RiskLine("维权", "rights", 3),
         RiskLine("代购", "食安", 2), RiskLine("律师", "", 1)]
# what an English report quotes as written: the client's name, the comment, its words, the risk terms
DATA = (CLIENT, "澜肌官方旗舰店", "用了过敏烂脸，要求退款", "过敏", "12315", "删评论", "维权", "代购", "律师")


def _data(**over) -> ReportData:
    values = dict(channel="console:lanji", audience=CLIENT, period_name="月报 / monthly report",
                  start=datetime(2026, 11, 1, tzinfo=SHANGHAI), end=datetime(2026, 12, 1, tzinfo=SHANGHAI),
                  tz="Asia/Shanghai", now=Counts(comments=40, scored=40, negative=23),
                  before=Counts(comments=20, scored=20, negative=14), risk_terms=RISKS,
                  keywords=[KeywordLine("过敏", 5, 1, "用了过敏烂脸，要求退款")],
                  top_negative=[CommentLine("澜肌官方旗舰店", "用了过敏烂脸，要求退款", 9, "https://example.com/v1")])
    values.update(over)
    return ReportData(**values)


def _english(**over) -> ReportData:
    return _data(lang="en", period_name="Monthly report", category_names_en={"食安": "food safety"}, **over)


def _own_chinese(text: str) -> str:
    for quoted in DATA:
        text = text.replace(quoted, "")
    return "".join(CJK.findall(text))


# ---- 1. risk categories ----------------------------------------------------------------------------------
def test_an_english_report_names_risk_categories_in_english():
    """"代购 (食安)": a team's own category was the report's one Chinese label, and "删评论 (account)" the
    lexicon's machine id, where `/sentiment score` in the same channel said "account action"."""
    expected = ("12315 (complaint) ×23; 删评论 (account action) ×6; 维权 (rights defence) ×3; 代购 (food safety) ×2; "
                "律师 (—) ×1")
    data = _english()
    for text in (render.markdown(data), render.html_report(data, None)):
        assert expected in text, text
    # without an English name in the lexicon, a team's category shows as written (it is the team's word)
    assert "代购 (食安) ×2" in render.markdown(_data(lang="en", period_name="Monthly report"))


def test_a_chinese_report_names_risk_categories_as_before():
    text = render.markdown(_data(category_names_en={"食安": "food safety", "complaint": "complaints"}))
    assert "- 12315（投诉举报 complaint）×23，删评论（账号处置 account）×6，维权（维权 rights）×3，代购（食安）×2，律师（—）×1" in text, text


# ---- 2. the whole English report, as each chat gets it ----------------------------------------------------
def test_an_english_report_has_no_chinese_of_its_own_in_text_page_or_chat():
    data = _english(accounts=[render.AccountLine("douyin:lanji_official", "澜肌官方旗舰店", Counts(40, 40, 23))])
    message = render.report_message(data, None)
    shown = {
        "markdown": render.markdown(data),
        "html": render.html_report(data, None),
        "slack": str(render_message(message)),
        "feishu": str(render_card(message, name_of=lambda _open_id: None, lang="en")),
    }
    for where, text in shown.items():
        assert _own_chinese(text) == "", (where, _own_chinese(text), text)


# ---- 3. the HTML page's fonts ----------------------------------------------------------------------------
def _font_stack(page: str) -> list[str]:
    [stack] = re.findall(r"body\{font-family:([^;]*);", page)
    return [family.strip("'") for family in stack.split(",")]


def test_an_english_page_is_set_in_a_latin_font_first_with_cjk_fonts_after():
    """The page's font stack was CJK-first for English reports too: Windows set their English words and
    figures in Microsoft YaHei's Latin glyphs."""
    cjk = {"PingFang SC", "Noto Sans SC", "Microsoft YaHei"}
    english = _font_stack(render.html_report(_english(), None))
    first_cjk = min(english.index(family) for family in cjk)
    assert {"Segoe UI", "Roboto", "Arial"} <= set(english[:first_cjk]), english
    assert cjk <= set(english) and english[-1] == "sans-serif", english  # quoted Chinese still has its fonts
    assert _font_stack(render.html_report(_data(), None)) == [
        "-apple-system", "PingFang SC", "Noto Sans SC", "Microsoft YaHei", "sans-serif"]


# ---- 4. the chart ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def english_charts():
    """An English chart with everything it can draw (bars, the share line, the normal range, a run's start
    and end marked with the default end label), and one with no scored comment: each drawn once."""
    first = datetime(2026, 11, 1, tzinfo=SHANGHAI).astimezone(UTC)
    points = [SharePoint(first + timedelta(days=day), negative=day % 4, total=10) for day in range(30)]
    options = dict(title="Monthly report | 2026-11-01 – 2026-11-30", account=CLIENT, time_format="%m-%d",
                   lang="en")
    _png, full = negative_share_chart(points, normal_max=0.3, run_start=first + timedelta(days=3),
                                      run_end=first + timedelta(days=9), **options)
    empty_points = [SharePoint(first + timedelta(days=day), negative=0, total=0) for day in range(3)]
    _png, empty = negative_share_chart(empty_points, **options)
    return full, empty


def _texts(figure) -> list[str]:
    """Every text the figure draws: titles, axis labels, tick labels, legend entries and notes."""
    return [t.get_text() for t in figure.findobj(lambda artist: hasattr(artist, "get_text")) if t.get_text()]


def test_an_english_charts_labels_read_as_english_labels(english_charts):
    full, _empty = english_charts
    axis, bars = full.axes[0], full.axes[1]
    assert (axis.get_ylabel(), bars.get_ylabel(), axis.get_xlabel()) == (
        "Negative share (%)", "Comments", "Time (Asia/Shanghai)")
    [legend] = full.legends
    # the run's end was "解除", the Chinese default, in an English chart
    assert [t.get_text() for t in legend.get_texts()] == [
        "Negative share", "Normal range", "Playbook started", "Resolved", "Comments"]


def test_an_english_chart_draws_no_chinese_but_the_clients_name(english_charts):
    for figure in english_charts:
        texts = _texts(figure)
        assert any(CLIENT in text for text in texts), texts  # the name, as written, in the title
        assert [text for text in texts if CJK.search(text.replace(CLIENT, ""))] == [], texts
    _full, empty = english_charts
    assert "No scored comments" in _texts(empty), _texts(empty)
