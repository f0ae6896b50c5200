"""Audit 14, pure parts (what an account manager reads before forwarding a report): the partly covered
previous period's start has its year, keywords say no "上期 0" when there is no previous period, a quoted
comment can neither ping a chat user by address nor reverse its line with bidi controls, and the daily
chart's share line and dates stay readable; open replies are those at the period's end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.adapters.feishu.cards import render_card
from bot.adapters.slack.render import render_message
from bot.reports import render
from bot.reports.charts import SharePoint, negative_share_chart
from bot.reports.render import CommentLine, Counts, KeywordLine, ReportData

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _data(**over) -> ReportData:
    values = dict(channel="console:lanji", audience="澜肌护肤", period_name="月报 / monthly report",
                  start=datetime(2026, 1, 1, tzinfo=SHANGHAI), end=datetime(2026, 2, 1, tzinfo=SHANGHAI),
                  tz="Asia/Shanghai", now=Counts(comments=40, scored=40, negative=23),
                  before=Counts(comments=20, scored=20, negative=14))
    values.update(over)
    return ReportData(**values)


def test_a_partly_covered_previous_period_names_the_year_its_data_starts_in():
    """A January report whose previous period's data starts on December 15th read "自 12-15 15:17 起"."""
    since = datetime(2025, 12, 15, 15, 17, tzinfo=SHANGHAI)
    zh = {f.label: f.value for f in render.fields(_data(previous_since=since))}["评论 / comments"]
    assert "上期数据不完整（自 2025-12-15 15:17 起）" in zh and "(since 2025-12-15 15:17)" in zh, zh
    en = {f.label: f.value for f in render.fields(_data(previous_since=since, lang="en"))}["Comments"]
    assert "(since 2025-12-15 15:17)" in en, en


def test_keywords_give_no_previous_count_when_there_is_no_previous_period():
    keywords = [KeywordLine("过敏", 140, 0, "用了过敏"), KeywordLine("退款", 43, 0, "要退款")]
    for lang in ("zh", "en"):
        text = render.markdown(_data(keywords=keywords, before=Counts(), lang=lang))
        lines = [line for line in text.splitlines() if "×" in line]
        assert len(lines) == 2 and not any("上期" in line or "previous" in line for line in lines), lines
    assert "- 过敏 ×140 例：「用了过敏」" in render.markdown(_data(keywords=keywords, before=Counts()))
    # with a previous period, its count is still given
    compared = render.markdown(_data(keywords=[KeywordLine("过敏", 140, 3, "用了过敏")]))
    assert "过敏 ×140（上期 3）例：「用了过敏」" in compared, compared


def test_a_chat_address_typed_in_a_comment_pings_nobody():
    """Slack turns 'slack:U0123ABCD' in a message's text into a mention of that person (it is how handlers
    name people), and a Feishu card shows 'feishu:ou_x' as that person's name."""
    data = _data(top_negative=[CommentLine("澜肌官方旗舰店", "slack:U0123ABCD feishu:ou_boss 快来看 垃圾", 9, None)],
                 keywords=[KeywordLine("垃圾", 2, 1, "slack:U0123ABCD 垃圾")])
    message = render.report_message(data, None)
    payload = render_message(message)
    slack_text = payload["text"] + "".join((b.get("text") or {}).get("text", "") for b in payload["blocks"])
    assert "<@U0123ABCD>" not in slack_text and "U0123ABCD" in slack_text, slack_text
    card = str(render_card(message, name_of=lambda open_id: "老板"))
    assert "老板" not in card and "ou_boss" in card, card
    for text in (render.markdown(data), render.html_report(data, None)):
        assert "slack:U0123ABCD" not in text and "slack：U0123ABCD" in text, text


def test_bidi_controls_in_a_comment_cannot_reverse_the_rest_of_its_line():
    rlo = "\u202e反向文字 差评\u202c \u2067隔离\u2069"
    data = _data(top_negative=[CommentLine("澜肌官方旗舰店", rlo, 9, "https://example.com/v1")],
                 keywords=[KeywordLine("差评", 2, 1, rlo)])
    for text in (render.markdown(data), render.summary(data), render.html_report(data, None)):
        assert not any(ch in text for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), text
        assert "反向文字 差评 隔离" in text


def _month_points(share_of_negative: float = 1 / 3) -> list[SharePoint]:
    first = datetime(2026, 11, 1, tzinfo=SHANGHAI).astimezone(UTC)
    return [SharePoint(first + timedelta(days=day), negative=round(10 * share_of_negative), total=10)
            for day in range(30)]


def test_a_daily_chart_is_dated_from_the_periods_first_day_and_only_within_it():
    """A November report's dates ran 10-31, 11-03 ... (a DayLocator on the axis' margin): the 1st, where the
    month starts, had no date, and a day outside the report had one."""
    _png, figure = negative_share_chart(_month_points(), title="月报", account="澜肌护肤", time_format="%m-%d")
    share_axis, _count_axis = figure.axes
    labels = [label.get_text() for label in share_axis.get_xticklabels() if label.get_text()]
    assert labels[0] == "11-01", labels
    assert all(label.startswith("11-") for label in labels), labels
    assert 2 <= len(labels) <= 12 and len(labels) == len(set(labels)), labels


def test_an_all_negative_share_line_is_drawn_whole_on_the_charts_top_edge():
    """At 100% the line lies on the frame: clipped there, it showed as half a line in the border."""
    _png, figure = negative_share_chart(_month_points(1.0), title="月报", account="澜肌护肤", time_format="%m-%d")
    share_axis, _count_axis = figure.axes
    [line] = share_axis.get_lines()
    assert max(line.get_ydata()) == 100 and share_axis.get_ylim() == (0, 100)
    assert line.get_clip_on() is False


def test_the_open_reply_figures_say_they_are_the_queue_at_the_periods_end():
    """Open and overdue are counted as the queue stood when the period ended (a report built late gives the
    figures it would have given on time): yesterday's report read at 09:00 said "当前待回复 1" ("open now")
    for a comment answered at 08:00."""
    from bot.replies.service import ReplyStats

    stats = ReplyStats(since=datetime(2026, 1, 1, tzinfo=SHANGHAI), open=3, overdue=1, responded=2)
    zh = {f.label: f.value for f in render.fields(_data(replies=stats))}["评论回复 / replies"]
    assert "期末待回复 3（超时 1）" in zh and "当前" not in zh, zh
    en = {f.label: f.value for f in render.fields(_data(replies=stats, lang="en"))}["Replies"]
    assert "open at period end 3 (overdue 1)" in en and "now" not in en, en


def test_risk_categories_read_in_chinese_in_a_chinese_report():
    """"退款（refund）×46，12315（complaint）×23" gave a Chinese client the lexicon's machine words."""
    from bot.reports.render import RiskLine

    risks = [RiskLine("12315", "complaint", 23), RiskLine("删评论", "account", 6), RiskLine("律师", "", 1),
             RiskLine("代购", "团队自定", 2)]
    text = render.markdown(_data(risk_terms=risks))
    assert "12315（投诉举报 complaint）×23，删评论（账号处置 account）×6，律师（—）×1，代购（团队自定）×2" in text, text
    english = render.markdown(_data(risk_terms=risks, lang="en"))
    assert "12315 (complaint) ×23; 删评论 (account action) ×6" in english, english


def test_keyword_counts_from_a_sample_say_so():
    """In a 100,000-comment month keywords are counted in the 2,000 most-liked negative comments (and the
    previous month's first 2,000): "退款 ×392（上期 120）" beside the risk terms' "退款 ×11,067" read as totals."""
    keywords = [KeywordLine("退款", 392, 120, "要退款")]
    big = dict(keywords=keywords, now=Counts(comments=100_000, scored=100_000, negative=55_407),
               before=Counts(comments=60_000, scored=60_000, negative=17_000), keyword_sample=2000)
    text = render.markdown(_data(**big, keyword_sampled=(True, True)))
    assert "- 注：条数只统计点赞最多的 2,000 条负面评论（共 55,407 条）；上期只统计其最早的 2,000 条评论" in text, text
    assert "点赞最多的 2,000 条负面评论中" in render.summary(_data(**big, keyword_sampled=(True, True)))
    english = render.markdown(_data(**big, keyword_sampled=(False, True), lang="en"))
    assert "- Note: previous counts within its first 2,000 comments" in english, english
    # counted in every comment: no note
    small = render.markdown(_data(keywords=keywords, keyword_sample=2000, keyword_sampled=(False, False)))
    assert "注：" not in small and "sample" not in small and "most-liked negative comments）" not in small


def test_a_name_with_an_emoji_draws_no_box_in_the_chart_title():
    """A client named "小厨科技🍳": no chart font has the emoji, and the title showed a box (tofu) for it."""
    from bot.reports.charts import missing_glyphs

    _png, figure = negative_share_chart(_month_points(), title="月报｜2026-11-01 – 2026-11-30", account="小厨科技🍳 Café",
                                        time_format="%m-%d")
    title = figure.axes[0].get_title()
    assert "小厨科技 Café" in title and "🍳" not in title, title
    assert not missing_glyphs(title)


def test_accounts_of_one_name_on_two_platforms_can_be_told_apart():
    """A brand's accounts often share one name: "澜肌官方：评论 300" and "澜肌官方：评论 50" said nothing of which
    was which. Named as the alerts name them: '澜肌官方（抖音）'."""
    from bot.reports.render import AccountLine

    accounts = [AccountLine("douyin:lanji", "澜肌官方", Counts(300, 300, 90)),
                AccountLine("weibo:lanji", "澜肌官方", Counts(50, 50, 5))]
    text = render.markdown(_data(accounts=accounts))
    assert "- 澜肌官方（抖音）：评论 300，负面占比 30%" in text and "- 澜肌官方（微博）：评论 50，负面占比 10%" in text, text
    assert "澜肌官方（抖音）：评论 300" in render.summary(_data(accounts=accounts))
    english = render.markdown(_data(accounts=accounts, lang="en"))
    assert "- 澜肌官方 (Douyin): 300 comments, negative share 30%" in english, english


def test_html_written_in_a_comment_is_no_html_in_the_markdown_file():
    """Many Markdown viewers render raw HTML: a comment's tag was live markup in the report's .md file."""
    bait = '<a href="http://evil.example">官方客服</a><img src=x onerror=alert(1)>'
    data = _data(top_negative=[CommentLine("澜肌官方旗舰店", bait, 9, "https://www.douyin.com/video/v1")],
                 keywords=[KeywordLine("客服", 2, 1, bait)])
    text = render.markdown(data)
    assert not re.search(r"(?<!\\)<", text) and "\\<a href" in text and "\\<img" in text, text
    assert "https://www.douyin.com/video/v1" in text  # the link after the line is untouched
