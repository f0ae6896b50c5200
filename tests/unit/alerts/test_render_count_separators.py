"""Counts people read in alerts have thousands separators from 1,000 on ("负面评论 **12,345** 条"), as reports and
the queue write them; smaller ones stay as they were ("47", "3.1", "999"), and the episode's figures themselves are left as numbers."""

from __future__ import annotations

import copy
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.render import alert_message, raised_message, risk_notice_message
from tests.unit.alerts.test_settings_render import episode

ZONE = ZoneInfo("Asia/Shanghai")


def _big_episode() -> dict:
    ep = episode()
    ep["stats"] = {**ep["stats"], "window_observed": 12345.0, "window_expected": 10240.4,
                   "episode_negative": 23456, "episode_total": 102400, "peak_bucket": 10000,
                   "keywords": [{"term": "过敏", "count": 15000, "baseline_count": 12000}],
                   "top_comments": [{"text": "用了过敏", "likes": 32000, "url": "https://www.douyin.com/video/v1"}]}
    return ep


def _all_text(message) -> str:
    return "\n".join([message.text, *(s.text for s in message.sections)])


def test_big_counts_in_a_chinese_alert_have_separators():
    text = _all_text(alert_message(_big_episode(), zone=ZONE))
    assert "15 分钟内负面评论 **12,345** 条，基线 10,240 条" in text
    assert "告警以来负面评论 23,456 条 / 全部 102,400 条，峰值 10,000 条/5 分钟" in text
    assert "过敏 ×15,000（前一天 12,000）" in text and "👍 32,000" in text


def test_big_counts_in_an_english_alert_have_separators():
    text = _all_text(alert_message(_big_episode(), lang="en", zone=ZONE))
    assert "**12,345** negative comments in 15 min, baseline 10,240" in text
    assert "since the alert: 23,456 negative comments of 102,400 comments, peak 10,000 per 5 min" in text
    assert "过敏 ×15,000 (day before: 12,000)" in text and "👍 32,000" in text


def test_counts_below_ten_thousand_are_shown_as_before():
    ep = episode()
    ep["stats"] = {**ep["stats"], "window_observed": 999, "episode_negative": 999, "episode_total": 999,
                   "peak_bucket": 47, "top_comments": [{"text": "用了过敏", "likes": 999}]}
    text = _all_text(alert_message(ep, zone=ZONE))
    assert "负面评论 **999** 条，基线 3.1 条" in text
    assert "告警以来负面评论 999 条 / 全部 999 条，峰值 47 条" in text and "👍 999" in text
    assert "," not in text.replace("，", "")  # no separator anywhere


def test_the_episode_figures_are_not_changed():
    ep = _big_episode()
    before = copy.deepcopy(ep)
    message = alert_message(ep, zone=ZONE)
    assert ep == before and message.meta == {"alert_episode": ep["episode_key"], "kind": "alert"}


def test_the_sev1_notice_shows_the_window_count_with_separators():
    for lang, figures in (("zh", "15 分钟内 12,345 条"), ("en", "12,345 in 15 min")):
        assert figures in raised_message(_big_episode(), lang=lang).text


@pytest.mark.parametrize("lang, expected", [("zh", "起收到 12,000 条评论提到「退款」"),
                                            ("en", "12,000 comment(s) mentioning “退款”")])
def test_risk_notices_count_with_separators(lang, expected):
    notice = risk_notice_message({"kind": "term", "term": "退款", "count": 12000, "notice_key": "n1",
                                  "window_start": "2026-11-22T12:00:00+00:00",
                                  "examples": [{"text": "退款", "likes": 45678}, {"text": "慢", "likes": 12}]},
                                 lang=lang, zone=ZONE, account_name="兰吉")
    assert expected in notice.text and "👍 45,678" in notice.text and "👍 12" in notice.text
