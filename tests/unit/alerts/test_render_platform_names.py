"""An English channel's alert names the platform as its reply-queue cards do (bot.i18n.platform_label):
"澜肌官方旗舰店 (Douyin)", where it said the platform's id ("(douyin)") beside cards saying "Douyin". A Chinese
channel's alert says 抖音 as before."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.alerts.render import account_label, alert_message
from bot.i18n import PLATFORM_EN, platform_label
from bot.replies.render import account_label as queue_account_label
from tests.unit.alerts.test_settings_render import episode

ZONE = ZoneInfo("Asia/Shanghai")


def test_an_english_alert_names_the_platform_as_the_queue_cards_do():
    text = alert_message(episode(), lang="en", zone=ZONE).text
    assert text.startswith("**澜肌官方旗舰店** (Douyin) · video: "), text
    assert "douyin)" not in text


def test_a_chinese_alert_keeps_its_platform_names():
    text = alert_message(episode(), lang="zh", zone=ZONE).text
    assert text.startswith("**澜肌官方旗舰店**（抖音） · 作品："), text


@pytest.mark.parametrize("platform", sorted(PLATFORM_EN))
def test_one_name_per_platform_and_language(platform):
    assert account_label("X", platform, "en") == f"X ({platform_label(platform, 'en')})"
    assert account_label("X", platform, "zh") == f"X（{platform_label(platform)}）"
    # the reply queue's name for an unnamed account: the same word
    assert queue_account_label(f"{platform}:acc", None, "en") == f"{platform_label(platform, 'en')} acc"
