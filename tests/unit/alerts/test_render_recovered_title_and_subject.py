"""Alerts probe: a recovered alert (edited in place) still led with 🚨, so it read as live; and English named
the same thing "Negative comments surge" in the alert and "negative surge" in its follow-ups."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.alerts.render import alert_message, escalation_message, raised_message, unmuted_message
from tests.unit.alerts.test_settings_render import episode

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_recovered_alert_says_it_is_over(lang):
    live = alert_message(episode(), lang=lang, zone=ZONE)
    over = alert_message(episode(status="resolved", recovered_at="2026-11-22T15:05:00+00:00"), lang=lang, zone=ZONE)
    assert live.title.startswith("🚨 ")
    assert over.title.startswith("✅ ") and "🚨" not in over.title
    # the rest stays: what it was, its level
    assert over.title == ("✅ 已恢复 · 负面评论激增 · 二级·严重" if lang == "zh"
                          else "✅ Resolved · Negative comment surge · SEV2 serious")


def test_english_names_the_surge_one_way_in_the_alert_and_its_follow_ups():
    ep = episode()
    title = alert_message(ep, lang="en", zone=ZONE).title
    follow_ups = [escalation_message(ep, lang="en", zone=ZONE, mentions=(), minutes=15).text,
                  raised_message(ep, lang="en").text, unmuted_message(ep, lang="en").text]
    assert "Negative comment surge" in title
    for text in follow_ups:
        assert "negative comment surge on 澜肌官方旗舰店" in text, text
        assert "negative surge" not in text
    volume = episode()
    volume["stats"] = {**volume["stats"], "metric": "all"}
    assert "Comment volume surge" in alert_message(volume, lang="en", zone=ZONE).title
    assert "comment volume surge on 澜肌官方旗舰店" in raised_message(volume, lang="en").text
    # Chinese was one phrase already
    assert "负面评论激增" in alert_message(ep, zone=ZONE).title and "负面评论激增" in raised_message(ep, lang="zh").text
