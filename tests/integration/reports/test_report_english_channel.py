"""Reports driven from outside in an English channel and a Chinese one (audit 15), on SQLite and PostgreSQL
with the real sentiment engine and a moved clock: `/report` in chat and `crisisbot report`, accounts on
three platforms, an alert and a playbook run in the period.

1. an English report names platforms as an English channel's cards do ("Douyin", not the raw "douyin"),
   reads as English titles do ("Daily report | …", "## By account", "- Comments: …") and says "1 comment";
2. `/report` answers an English channel in English alone: a bad period, a bad month, a half-given
   --from/--to, its scheduled reports (they came Chinese first);
3. an English chart needs no CJK font: without one it is drawn with no "labels will not render" error;
4. a long client name no longer runs the chart's title off both edges of the image.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from datetime import timedelta

import pytest
from PIL import Image as PILImage
from typer.testing import CliRunner

from bot.config import parse_config
from tests.conftest import TEST_CONFIG
from tests.integration.reports.test_reports import record

LANJI = ("douyin", "lanji_official")
RED = ("xiaohongshu", "lanji_red")
LONG_CLIENT = "Lanji Skincare International Holdings (Greater China) Co., Ltd."
CONFIG = {
    **TEST_CONFIG,
    "clients": [{"id": "lanji", "name": "澜肌护肤"}, {"id": "xiaochu", "name": "小厨科技"},
                {"id": "longname", "name": LONG_CLIENT}],
    "accounts": [
        {"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店", "client": "lanji"},
        {"platform": "xiaohongshu", "account_id": "lanji_red", "name": "Lanji Skincare", "client": "lanji"},
        {"platform": "weibo", "account_id": "lanji_wb", "name": "Lanji Weibo", "client": "lanji"},
        {"platform": "bilibili", "account_id": "xiaochu_kitchen", "name": "小厨科技官方", "client": "xiaochu"},
        {"platform": "douyin", "account_id": "long_official", "name": "Long Official", "client": "longname"},
    ],
    "channels": [
        {"id": "console:lanji-en", "client": "lanji", "language": "en", "timezone": "America/New_York"},
        {"id": "console:lanji", "client": "lanji"},
        {"id": "console:xiaochu", "client": "xiaochu"},
        {"id": "console:long", "client": "longname", "language": "en"},
    ],
    "reports": {"schedules": [{"id": "lanji-weekly", "channel": "console:lanji-en", "cron": "0 9 * * 1",
                               "period": "weekly"},
                              {"id": "lanji-daily", "channel": "console:lanji", "cron": "0 9 * * *",
                               "period": "日报"}]},
}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# what a report quotes as written: the client's and accounts' names, the comments, their words
DATA = ("澜肌护肤", "澜肌官方旗舰店", "用了过敏烂脸，太差了，要求退款，我要投诉！", "烂脸", "退款", "太差", "过敏", "投诉",
        "要求")


@pytest.fixture
def app_config():
    return parse_config(CONFIG, source="tests")


def seed(bot, clock, run_command) -> None:
    now = clock.now()
    accepted = bot.services.ingest.ingest_records(
        [record(f"n{n}", LANJI, DATA[2], now - timedelta(hours=n + 2), likes=1200 + n) for n in range(3)]
        + [record(f"p{n}", RED, "很好用，回购第三次了，推荐", now - timedelta(hours=n + 2)) for n in range(2)],
        source="test")
    assert accepted.accepted == 5
    from bot.alerts.models import AlertEpisode
    from bot.playbooks.validate import load_playbooks

    playbook = load_playbooks().playbooks[0]
    run_command(f"/crisis start {playbook.name} cream allergy --severity 2 --account douyin:lanji_official",
                channel="console:lanji-en")
    with bot.services.db.session() as session:
        session.add(AlertEpisode(
            episode_key="douyin:lanji_official::volume:1", platform="douyin", account_id="lanji_official",
            status="resolved", severity="sev2", reason="volume", started_at=now - timedelta(hours=3),
            detected_at=now - timedelta(hours=3), updated_at=now, recovered_at=now, last_notified_at=now))
        session.commit()
    clock.advance(timedelta(hours=1))


def no_chinese_but_data(text: str) -> str:
    for quoted in DATA:
        text = text.replace(quoted, "")
    return "".join(CJK.findall(text))


# ---- 1. platforms --------------------------------------------------------------------------------------
def test_an_english_report_names_platforms_in_english_and_a_chinese_one_as_before(bot, clock, run_command):
    seed(bot, clock, run_command)
    [english] = run_command("/report", channel="console:lanji-en")
    page = english.files[0].content.decode("utf-8")
    for text in (english.text, page):
        assert "澜肌官方旗舰店 (Douyin): 3 comments, negative share 100%" in text, text
        assert "Lanji Skincare (Xiaohongshu): 2 comments, negative share 0%" in text, text
        assert "Lanji Weibo (Weibo): 0 comments" in text, text
        assert "(douyin)" not in text and "(xiaohongshu)" not in text
        assert no_chinese_but_data(text) == "", text
    # the alert and the run of the period are there, in English
    assert "SEV2 澜肌官方旗舰店 (resolved)" in page and "cream allergy (active)" in page, page
    [chinese] = run_command("/report", channel="console:lanji")
    assert "澜肌官方旗舰店（抖音）：评论 3，负面占比 100%" in chinese.text, chinese.text
    assert "Lanji Skincare（小红书）：评论 2，负面占比 0%" in chinese.text, chinese.text


def test_an_english_report_is_titled_and_headed_as_english_is_written(bot, clock, run_command):
    seed(bot, clock, run_command)
    bot.services.ingest.ingest_records([record("w1", ("weibo", "lanji_wb"), "good", clock.now() - timedelta(hours=2))],
                                       source="test")
    [daily] = run_command("/report 日报", channel="console:lanji-en")
    assert daily.title.startswith("Daily report | 澜肌护肤 | 2026-11-21 America/New_York (UTC-05:00)"), daily.title
    [recent] = run_command("/report", channel="console:lanji-en")
    assert recent.title.startswith("Report for the last 24 hours | 澜肌护肤 | "), recent.title
    assert "- Comments: 6 (no previous data)" in recent.text, recent.text
    assert "- Lanji Weibo (Weibo): 1 comment, negative share" in recent.text, recent.text
    page = recent.files[0].content.decode("utf-8")
    assert re.findall(r"<h2>(.*)</h2>", page) == [
        "By account", "What the negative comments say", "Most-liked negative comments", "Risk terms", "Alerts",
        "Playbook runs"], page
    assert PILImage.open(io.BytesIO(recent.images[0].png)).text["Title"].startswith("Report for the last 24 hours")
    [chinese] = run_command("/report", channel="console:lanji")  # the Chinese title as it was
    assert chinese.title.startswith("近 24 小时报告 / report for the last 24 hours｜澜肌护肤｜"), chinese.title
    assert "Lanji Weibo（微博）：评论 1，负面占比" in chinese.text, chinese.text


def test_the_cli_report_of_an_english_channel_names_platforms_in_english(tmp_path, monkeypatch):
    """`crisisbot report` on a fresh database: every configured account is listed, with its platform."""
    import yaml

    from bot.cli import app as cli

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({k: v for k, v in CONFIG.items() if k != "reports"}, allow_unicode=True),
                      encoding="utf-8")
    for name in ("CRISISBOT_LANGUAGE", "CRISISBOT_TIMEZONE", "CRISISBOT_DEFAULT_CHANNEL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    env = {"CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    english = CliRunner().invoke(cli, ["report", "--channel", "lanji-en", "--period", "7d"], env=env)
    assert english.exit_code == 0, english.output
    assert "- 澜肌官方旗舰店 (Douyin): 0 comments" in english.output, english.output
    assert "- Lanji Weibo (Weibo): 0 comments" in english.output and "(douyin)" not in english.output
    chinese = CliRunner().invoke(cli, ["report", "--channel", "lanji", "--period", "7d"], env=env)
    assert "- 澜肌官方旗舰店（抖音）：评论 0，负面占比 —" in chinese.output, chinese.output


# ---- 2. the chat command in English ----------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "english"), [
    ("/report 3x", "'3x' is not a period (use e.g. '24h', '1d', '7d', '2w')"),
    ("/report 1000d", "'1000d' is longer than 92 days"),
    ("/report --month 2026-13", "'2026-13' is not a month; write e.g. 2026-11"),
    ("/report --from 2026-11-01", "give both --from and --to"),
    ("/report --month 2099-01", "has not ended yet"),
])
def test_a_bad_period_is_explained_in_english_alone_in_an_english_channel(bot, run_command, typed, english):
    [reply] = run_command(typed, channel="console:lanji-en")
    assert english in reply.text, reply.text
    assert not CJK.search(reply.text.replace("周报", "").replace("日报", "").replace("月报", "")), reply.text
    [chinese] = run_command(typed, channel="console:lanji")
    assert english in chinese.text and "用法有误" in chinese.text, chinese.text  # Chinese first, as before


def test_the_scheduled_reports_are_listed_in_english_in_an_english_channel(bot, run_command):
    [reply] = run_command("/report schedules", channel="console:lanji-en")
    assert reply.title == "Scheduled reports"
    assert reply.text == "- lanji-weekly: cron `0 9 * * 1` (America/New_York), covers weekly", reply.text
    [chinese] = run_command("/report schedules", channel="console:lanji")
    assert chinese.title == "定时报告 / scheduled reports"
    assert chinese.text == "- lanji-daily：cron `0 9 * * *`（Asia/Shanghai），覆盖 日报", chinese.text
    [none] = run_command("/report schedules", channel="console:long")
    assert none.text == "No scheduled reports for this channel (add them under reports.schedules).", none.text


# ---- 3. fonts --------------------------------------------------------------------------------------------
@pytest.fixture
def no_cjk_font(monkeypatch):
    """A machine without Chinese fonts: no bundled font package, and matplotlib finds none of the known
    CJK families (the outside world; the project's own code runs as it is)."""
    from matplotlib import font_manager

    from bot.reports.charts import KNOWN_CJK_FAMILIES, cjk_font

    real = font_manager.findfont

    def findfont(prop, *args, **kwargs):
        families = prop.get_family() if hasattr(prop, "get_family") else [prop]
        if any(family in KNOWN_CJK_FAMILIES for family in families):
            raise ValueError("no such font")
        return real(prop, *args, **kwargs)

    monkeypatch.setitem(sys.modules, "pylopdf_fonts_zh_cn", None)
    monkeypatch.setattr(font_manager, "findfont", findfont)
    cjk_font.cache_clear()
    yield
    cjk_font.cache_clear()


def test_an_english_chart_needs_no_cjk_font(bot, clock, run_command, no_cjk_font, caplog):
    bot.services.ingest.ingest_records([record("l1", ("douyin", "long_official"), "bad product, refund",
                                               clock.now() - timedelta(hours=2))], source="test")
    with caplog.at_level(logging.INFO, logger="bot.reports.charts"):
        [english] = run_command("/report", channel="console:long")
    assert english.images and english.images[0].png.startswith(b"\x89PNG")
    assert [r.message for r in caplog.records if r.levelno >= logging.WARNING] == []
    with caplog.at_level(logging.INFO, logger="bot.reports.charts"):
        run_command("/report", channel="console:lanji")  # control: a Chinese chart still says what is missing
    assert any("no CJK font" in r.message for r in caplog.records if r.levelno >= logging.ERROR)


# ---- 4. a long client name -------------------------------------------------------------------------------
def test_a_long_client_name_keeps_the_chart_title_inside_the_image(bot, clock, run_command):
    bot.services.ingest.ingest_records([record("l1", ("douyin", "long_official"), "bad product, refund",
                                               clock.now() - timedelta(hours=2))], source="test")
    [reply] = run_command("/report", channel="console:long")
    chart = PILImage.open(io.BytesIO(reply.images[0].png))
    assert chart.text["Title"].endswith(f"| {LONG_CLIENT} negative comment share"), chart.text
    # the title's band: no ink on the image's left or right edge (a title running off them leaves some)
    grey = chart.convert("L")
    edges = [grey.getpixel((x, y)) for y in range(40) for x in (*range(3), *range(chart.width - 3, chart.width))]
    assert min(edges) > 200, min(edges)


# ---- 5. a scheduled report given up, told to an English default channel ----------------------------------
def test_a_given_up_report_is_told_in_english_to_an_english_default_channel(db, clock, settings):
    """The notice that a scheduled report was given up goes to the default channel, in its language: an
    English one got it Chinese first."""
    from datetime import UTC, datetime

    from bot.app import build_app
    from tests.integration.reports.test_report_retries import break_comment, failure_notices

    config = parse_config({**TEST_CONFIG, "language": "en", "reports": {
        "schedules": [{"id": "lanji_hourly", "channel": "console:lanji", "cron": "0 * * * *", "period": "1h"}],
        "catch_up_hours": 0}}, source="tests")
    clock.set(datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC))
    bot = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        bot.services.ingest.ingest_records(
            [record("at-0830", LANJI, "用了过敏烂脸，要求退款！", datetime(2026, 11, 23, 0, 30, tzinfo=UTC))], source="test")
        break_comment(db, "at-0830")
        for _ in range(4):
            for tick in bot.wiring.ticks:
                tick()
            clock.advance(timedelta(seconds=61))
        [row] = failure_notices(db)
    finally:
        bot.stop()
    from bot.messages import Message

    notice = Message.from_dict(row.payload)
    assert notice.title == "⚠️ Scheduled report could not be built", notice.title
    assert notice.text.startswith("Not built within the catch-up window"), notice.text
    fields = {f.label: f.value for f in notice.fields}
    assert fields["Report"] == "lanji_hourly | 1-hour report | 澜肌护肤 (console:lanji)", fields
    assert fields["Period"] == "11-23 08:00 – 11-23 09:00 (Asia/Shanghai)", fields
    assert fields["Reason"].startswith("TypeError: "), fields


# ---- 6. the chart's count axis -------------------------------------------------------------------------
def test_the_charts_count_axis_writes_thousands_as_the_text_does(bot, clock, run_command, monkeypatch):
    """1,100 comments in an hour: the count axis read "1000", beside "Comments: 1,100" in the text."""
    import bot.reports.charts as charts

    drawn = []
    real = charts.negative_share_chart

    def spy(points, **options):  # the real chart, kept to be looked at
        png, figure = real(points, **options)
        drawn.append(figure)
        return png, figure

    monkeypatch.setattr(charts, "negative_share_chart", spy)
    now = clock.now()
    accepted = bot.services.ingest.ingest_records(
        [record(f"c{n}", RED, "很好用" if n % 3 else "太差了要退款", now - timedelta(minutes=n % 50 + 1))
         for n in range(1_100)], source="test")
    assert accepted.accepted == 1_100
    for channel in ("console:lanji-en", "console:lanji"):
        [reply] = run_command("/report", channel=channel)
        assert "1,100" in reply.text, reply.text
        counts = [t.get_text() for t in drawn.pop().axes[1].get_yticklabels()]
        assert "1,050" in counts and not [c for c in counts if re.fullmatch(r"\d{4,}", c)], counts
