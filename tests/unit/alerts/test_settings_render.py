"""Config validation and the wording of alert messages (pure)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.alerts.render import alert_message, escalation_message
from bot.alerts.settings import AlertsConfig

ZONE = ZoneInfo("Asia/Shanghai")


def test_config_refuses_unknown_keys_and_bad_surges():
    with pytest.raises(ValidationError):
        AlertsConfig.model_validate({"no_such_key": 1})
    with pytest.raises(ValidationError, match="unknown detector settings"):
        AlertsConfig.model_validate({"detector": {"threshhold": 5}})
    with pytest.raises(ValidationError, match="time zone"):
        AlertsConfig.model_validate({"surges": [{"account": "douyin:a", "from": "2026-11-11T20:00", "until": "2026-11-11T23:00"}]})
    with pytest.raises(ValidationError, match="after"):
        AlertsConfig.model_validate({"surges": [{"account": "douyin:a", "from": "2026-11-11T20:00+08:00",
                                                 "until": "2026-11-11T19:00+08:00"}]})
    ok = AlertsConfig.model_validate({"detector": {"min_count": 10}, "surges": [
        {"account": "douyin:a", "from": "2026-11-11T20:00+08:00", "until": "2026-11-12T01:00+08:00", "factor": 4}]})
    assert ok.surges[0].factor == 4


def episode(**over):
    ep = {
        "episode_key": "douyin:a|v1@20261122T1230", "platform": "douyin", "account_id": "a", "severity": "sev2",
        "status": "open", "started_at": "2026-11-22T12:30:00+00:00", "recovered_at": None, "muted_until": None,
        "history": [{"action": "opened", "user": "bot", "at": "2026-11-22T12:35:20+00:00"}],
        "stats": {"account_name": "澜肌官方旗舰店", "content_id": "v1", "content_title": "新品面霜",
                  "content_url": "https://www.douyin.com/video/v1", "window_minutes": 15, "window_observed": 47,
                  "window_expected": 3.1, "share": 0.62, "share_expected": 0.08, "metric": "negative",
                  "playbook": "negative-outbreak",
                  "keywords": [{"term": "过敏", "count": 21, "baseline_count": 1}],
                  "top_comments": [{"text": "用了过敏", "likes": 320, "url": "https://www.douyin.com/video/v1"}]},
    }
    ep.update(over)
    return ep


def test_quiet_hours_never_hold_a_sev1():
    # the issue: sev1 ignores quiet hours; a config holding it would silence the crisis at night
    with pytest.raises(ValidationError, match="sev1"):
        AlertsConfig(hold_in_quiet_hours=["sev3", "sev1"])
    with pytest.raises(ValidationError, match="sev4"):
        AlertsConfig(hold_in_quiet_hours=["sev4"])
    assert AlertsConfig(hold_in_quiet_hours=["sev2", "sev3"]).hold_in_quiet_hours == ["sev2", "sev3"]


def test_escalation_severities_refuse_a_typo():
    """"sve1" was accepted and silently meant: never escalate a sev1."""
    with pytest.raises(ValidationError, match="unknown severity sve1"):
        AlertsConfig(escalation={"severities": ["sve1", "sev2"]})
    assert AlertsConfig(escalation={"severities": ["sev1"]}).escalation.severities == ["sev1"]


def test_serve_ticks_at_the_configured_interval():
    from bot.config import AppConfig
    from bot.serve import tick_seconds

    assert tick_seconds(AppConfig()) == 5.0
    assert tick_seconds(AppConfig(alerts={"tick_seconds": 30})) == 30.0


def test_alert_explains_itself_in_chinese_and_english():
    zh = alert_message(episode(), zone=ZONE)
    assert "负面评论激增" in zh.title and "二级" in zh.title
    assert "15 分钟内负面评论 **47** 条，基线 3.1 条，x15" in zh.text
    assert "负面占比 62%（平时 8%）" in zh.text
    assert "[新品面霜](https://www.douyin.com/video/v1)" in zh.text
    body = "\n".join(s.text for s in zh.sections)
    # the keyword baseline is the day before the window (not "usually" in a window of the same length)
    assert "过敏 ×21（前一天 1）" in body and "👍 320" in body and "negative-outbreak" in body
    assert [b.label for b in zh.buttons] == ["启动预案", "确认", "静默 1 小时", "误报"]
    assert zh.severity == 2 and zh.meta["kind"] == "alert"
    en = alert_message(episode(), lang="en", zone=ZONE)
    assert "Negative comment surge" in en.title and "47** negative comments in 15 min" in en.text
    # the running total counts from the alert, and says so (beside the headline's window it read as less)
    with_total = episode()
    with_total["stats"] = {**with_total["stats"], "episode_negative": 6, "episode_total": 8}
    assert "告警以来负面评论 6 条 / 全部 8 条" in alert_message(with_total, zone=ZONE).text
    assert "since the alert: 6 negative comments of 8" in alert_message(with_total, lang="en", zone=ZONE).text


def test_resolved_alert_drops_the_buttons_and_says_when():
    msg = alert_message(episode(status="resolved", recovered_at="2026-11-22T15:05:00+00:00"), zone=ZONE)
    assert msg.buttons == () and "已恢复" in msg.title and "23:05" in msg.text


def test_escalation_mentions_and_acknowledge_button():
    msg = escalation_message(episode(severity="sev1"), lang="zh", zone=ZONE, mentions=("here", "U1"), minutes=15)
    assert msg.mentions == ("here", "U1") and "15 分钟无人确认" in msg.text
    assert msg.buttons[0].action_id == "alert.ack"


def test_a_share_alert_says_volume_as_planned_only_when_it_was():
    """A share alert on a new pile-on (8 negative comments where 0.2 were usual, x37, no planned surge)
    said "评论量在预期内" right under the headline "5 分钟内负面评论 8 条，基线 0.2 条，x37"."""
    surge = dict(episode()["stats"], reason="share", window_minutes=5, window_observed=8, window_expected=0.2)
    text = alert_message(episode(stats=surge), zone=ZONE).text
    assert "x40" in text and "评论量在预期内" not in text and "由负面占比异常升高触发" in text
    planned = dict(surge, window_observed=30, window_expected=28)
    text = alert_message(episode(stats=planned), zone=ZONE).text
    assert "评论量在预期内，但负面占比异常升高" in text
    assert "volume as planned" in alert_message(episode(stats=planned), zone=ZONE, lang="en").text


def test_an_alert_opened_on_history_says_when_it_began():
    stats = dict(episode()["stats"], began_in_history="2026-11-22T11:05:00+00:00")
    assert "始于 11-22 19:05（补录的历史评论中发现，现在仍在持续）" in alert_message(episode(stats=stats), zone=ZONE).text
    assert "began 11-22 19:05, found in comments that arrived late" in alert_message(
        episode(stats=stats), zone=ZONE, lang="en").text
    assert "始于" not in alert_message(episode(), zone=ZONE).text
    # the "开始" field says the same time, not the later bucket that opened the episode
    started = {f.label: f.value for f in alert_message(episode(stats=stats), zone=ZONE).fields}["开始"]
    assert started == "11-22 19:05"


def test_a_baseline_at_the_detector_floor_reads_as_almost_none():
    """A stream with almost no negative comments has the detector's floor (0.2 per bucket) as baseline:
    "基线 2.4 条" read as "usually 2.4" for a video that usually has none."""
    floor = dict(episode()["stats"], window_minutes=60, window_observed=31, window_expected=2.4,
                 window_expected_is_floor=True)
    zh = alert_message(episode(stats=floor), zone=ZONE).text
    assert "60 分钟内负面评论 **31** 条，平时几乎没有（基线按下限 2.4 条计），x13" in zh
    en = alert_message(episode(stats=floor), zone=ZONE, lang="en").text
    assert "normally almost none (baseline taken at its floor, 2.4), x13" in en
    learned = dict(floor, window_expected_is_floor=False)
    assert "基线 2.4 条，x13" in alert_message(episode(stats=learned), zone=ZONE).text


def test_a_link_written_in_a_comment_is_quoted_as_typed():
    """A commenter's "[官方客服](http://…)" reached the team as a link labelled 官方客服 (Slack and Feishu
    render the alert's light Markdown)."""
    from bot.adapters.slack.render import to_mrkdwn
    from bot.alerts.render import risk_notice_message

    phish = "退款找 [官方客服](http://evil.example) **速度**"
    stats = dict(episode()["stats"], top_comments=[{"text": phish, "likes": 9, "url": "https://www.douyin.com/video/v1"}])
    body = "\n".join(s.text for s in alert_message(episode(stats=stats), zone=ZONE).sections)
    assert "退款找 ［官方客服］(http://evil.example) ＊＊速度＊＊" in body
    assert "|官方客服>" not in to_mrkdwn(body)
    notice = risk_notice_message({"kind": "term", "term": "退款", "count": 1, "window_start": "2026-11-22T12:00:00+00:00",
                                  "notice_key": "n1", "examples": [{"text": phish, "likes": 1}]},
                                 lang="zh", zone=ZONE, account_name="兰吉")
    assert "[官方客服](" not in notice.text and "［官方客服］" in notice.text
