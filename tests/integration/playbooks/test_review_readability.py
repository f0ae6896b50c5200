"""The review and its chart, as an acceptance probe read them: the end line of a cancelled run, the chart of
a run without an account, peak against latest, linked alerts by name, the time zone and the reminders."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

from PIL import Image

from bot.alerts.models import AlertEpisode
from bot.storage.models import Comment
from tests.integration.playbooks.helpers import CrisisDriver


def chart_text(png: bytes) -> str:
    """The chart's own description of what it draws (its PNG text chunk)."""
    image = Image.open(io.BytesIO(png))
    return image.text.get("Description", "")


def test_cancelled_run_chart_ends_with_cancel_not_resolve(bot, clock):
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official")
    clock.advance(timedelta(hours=1))
    d.run("/crisis cancel 误报")
    report = d.service.build_report(1)
    described = chart_text(report.png)
    assert "取消 2026-11-22 21:00" in described
    assert "解除" not in described


def test_run_without_account_charts_its_own_span_and_says_why(bot, clock):
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 面霜过敏")
    clock.advance(timedelta(hours=2))
    d.run("/crisis resolve 平息")
    report = d.service.build_report(1)
    described = chart_text(report.png)
    # the x-axis is the run (give or take matplotlib's margins), not years of its default date range
    shown = re.search(r"时间（Asia/Shanghai） ([\d-]+ [\d:]+) – ([\d-]+ [\d:]+)", described)
    assert shown, described
    low, high = (datetime.strptime(x, "%Y-%m-%d %H:%M") for x in shown.groups())
    assert datetime(2026, 11, 22, 19, 45) <= low <= datetime(2026, 11, 22, 20, 0), described
    assert datetime(2026, 11, 22, 22, 0) <= high <= datetime(2026, 11, 22, 22, 15), described
    assert "暂无已评分评论" in described
    assert "未指定账号（启动时没有 --account），没有评论数据" in report.markdown


def test_peak_and_latest_come_from_the_same_buckets(bot, db, clock):
    t0 = clock.now()
    with db.session() as session:  # comments only two hours before the run: half of them negative
        for i in range(10):
            at = t0 - timedelta(hours=2, minutes=i)
            session.add(Comment(platform="douyin", account_id="lanji_official", content_id="v1",
                                comment_id=f"early{i}", text="测试评论", created_at=at, ingested_at=at,
                                sentiment_label="neg" if i % 2 else "pos"))
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official")
    clock.advance(timedelta(hours=1))
    markdown = d.service.build_report(1).markdown
    line = next(x for x in markdown.splitlines() if "峰值 / Peak：" in x)
    # no "峰值 —" beside "最新 50.0%": neither has a bucket of the run, and the review says why
    assert "峰值 / Peak：—" in line and "最新 / Latest：—" in line, line
    assert "评论数 / Comments：10" in line
    assert "已评分评论都在启动之前" in markdown


def test_peak_is_at_least_the_latest_when_the_run_has_comments(bot, db, clock):
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official")
    t0 = clock.now()
    with db.session() as session:
        for i in range(10):
            at = t0 + timedelta(minutes=30, seconds=i)
            session.add(Comment(platform="douyin", account_id="lanji_official", content_id="v1",
                                comment_id=f"c{i}", text="测试评论", created_at=at, ingested_at=at,
                                sentiment_label="neg" if i % 2 else "pos"))
    clock.advance(timedelta(hours=1))
    markdown = d.service.build_report(1).markdown
    assert "峰值 / Peak：50.0%（2026-11-22 20:30）；最新 / Latest：50.0%" in markdown


def test_linked_alerts_read_as_account_video_severity_and_local_time(bot, db, clock):
    service = bot.services.playbooks
    purged = "douyin:lanji_official|*@20261122T1215"  # its row is gone: the key itself is read
    stored = "douyin:lanji_official|v9@20261122T1145"
    at = clock.now() - timedelta(minutes=15)
    with db.session() as session:
        session.add(AlertEpisode(
            episode_key=stored, platform="douyin", account_id="lanji_official", content_id="v9",
            severity="sev1", started_at=at, detected_at=at, updated_at=at, last_notified_at=at,
            stats={"content_title": "新品面霜测评"}, channels={}, history=[],
        ))
    view = service.start_run("console:lanji", "negative-outbreak", "告警：负面突增", 1, "douyin:lanji_official",
                             "console:bob", alert_id=purged)
    service.link_alert(view.id, stored, text="sev1")
    markdown = service.build_report(view.id).markdown
    summary = markdown.split("## 时间线")[0]
    assert "  - 澜肌官方旗舰店（抖音） · 2026-11-22 20:15 起" in summary  # 12:15 UTC
    assert "  - 澜肌官方旗舰店（抖音） · 作品：新品面霜测评 · 一级·爆发 · 2026-11-22 19:45 起" in summary
    assert purged not in markdown and stored not in markdown
    rows = [x for x in markdown.splitlines() if "| 关联告警 |" in x]
    assert "由告警 澜肌官方旗舰店（抖音） · 2026-11-22 20:15 起 启动" in rows[0]
    assert "| 澜肌官方旗舰店（抖音） · 作品：新品面霜测评 · 2026-11-22 19:45 起：一级·爆发 |" in rows[1]
    # the stored timeline keeps the key: linking it again is still recognised
    service.link_alert(view.id, stored)
    assert sum(e.kind == "alert" and stored in e.text for e in service.timeline(view.id)) == 1


def test_review_names_its_time_zone_once_in_the_header(bot, clock):
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official")
    markdown = d.service.build_report(1).markdown
    header = markdown.split("## 概要")[0]
    assert "时间均为 Asia/Shanghai（UTC+08:00）" in header
    assert markdown.count("Asia/Shanghai") == 2  # "时间均为 Asia/Shanghai … / all times in Asia/Shanghai"


def test_reminders_and_status_nags_are_on_the_timeline_once_each_with_repeats_counted(bot, clock):
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official")
    clock.advance(timedelta(minutes=20))  # triage (15m) overdue
    assert d.service.tick()["reminders"] == 1
    clock.advance(timedelta(minutes=15))  # 35 min without a note: the commander is asked for one
    assert d.service.tick()["nags"] == 1
    texts = [e.text for e in d.service.timeline(1) if e.kind == "remind"]
    assert texts == [
        "角色 指挥（未指派）：triage 已超时 / overdue",
        "角色 运营（未指派）：monitor、pause_content 已超时 / overdue",
        "请指挥更新进展（已 35 分钟没有进展）/ status update requested (35 min without one)",
    ]
    for _ in range(2):  # the same reminders and nag again, 30 minutes apart (once the last ones were delivered)
        d.bot.services.outbox.deliver_due()
        clock.advance(timedelta(minutes=30))
        d.service.tick()
    markdown = d.service.build_report(1).markdown
    rows = [x for x in markdown.splitlines() if "| 提醒 |" in x]
    assert len(rows) == 3, rows
    assert rows[0].startswith("| 2026-11-22 20:20 | crisisbot | 提醒 | 角色 指挥（未指派）：triage 已超时")
    assert rows[1].startswith("| 2026-11-22 20:35 | crisisbot | 提醒 | 角色 运营（未指派）：monitor、pause_content")
    assert rows[2].startswith("| 2026-11-22 20:35 | crisisbot | 提醒 | 请指挥更新进展（已 35 分钟没有进展）")
    assert all("此后又 2 次，最后 2026-11-22 21:35" in row for row in rows), rows
