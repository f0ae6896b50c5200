"""Which of the config's watched terms (`alerts.watch_terms`) a channel sees is one rule, the alert service's
(`config_watch_terms`): `/watch list` shows those, and `/watch add`/`/watch remove` look a term up among the
same ones. The handler used to filter the config by scope itself for the list."""

from __future__ import annotations

import pytest

from bot.config import AppConfig, parse_config
from tests.conftest import TEST_CONFIG

TERMS = [{"term": "过敏"}, {"term": "iPhone", "account": "douyin:lanji_official"},
         {"term": "漏油", "account": "bilibili:xiaochu_kitchen"}]


@pytest.fixture
def app_config() -> AppConfig:
    return parse_config({**TEST_CONFIG, "alerts": {"watch_terms": TERMS}}, source="tests")


def test_a_channel_sees_the_account_less_terms_and_those_on_its_accounts(bot):
    alerts = bot.services.extra["alerts"]
    assert [t.term for t in alerts.config_watch_terms("console:lanji")] == ["过敏", "iPhone"]
    assert [t.term for t in alerts.config_watch_terms("console:xiaochu")] == ["过敏", "漏油"]
    # looked up by spelling, in any letter case, among the same ones
    assert [t.term for t in alerts.config_watch_terms("console:lanji", "IPHONE")] == ["iPhone"]
    assert alerts.config_watch_terms("console:xiaochu", "iphone") == []


def test_watch_list_shows_the_config_terms_the_service_gives(bot, run_command):
    alerts = bot.services.extra["alerts"]
    for channel in ("console:lanji", "console:xiaochu"):
        (listed,) = run_command("/watch list", channel=channel)
        shown = [line for line in listed.text.splitlines() if line.startswith("（配置 config）风险词")]
        assert [line.split("「")[1].split("」")[0] for line in shown] == \
            [t.term for t in alerts.config_watch_terms(channel)], listed.text
    (lanji,) = run_command("/watch list", channel="console:lanji")
    assert "（配置 config）风险词 term「过敏」 全部账号 all accounts" in lanji.text, lanji.text
    assert "（配置 config）风险词 term「iPhone」 澜肌官方旗舰店（抖音）" in lanji.text, lanji.text
    assert "漏油" not in lanji.text
