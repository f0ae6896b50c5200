"""Alerts probe of `/watch` replies: the English line of `/watch surge` left out the account and the window
the Chinese line gives; `/watch remove` of a term from the config (alerts.watch_terms) answered "nothing
watched matches"; "removed 1 watch(es)"; `/watch add` of a term the config already watches added a duplicate."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.alerts.models import AlertWatch
from bot.config import AppConfig, parse_config
from tests.conftest import TEST_CONFIG


@pytest.fixture
def app_config() -> AppConfig:
    return parse_config({**TEST_CONFIG, "alerts": {"watch_terms": [
        {"term": "过敏"}, {"term": "iPhone", "account": "douyin:lanji_official"},
        {"term": "漏油", "account": "bilibili:xiaochu_kitchen"}]}}, source="tests")


def _term_watches(db) -> list[AlertWatch]:
    with db.session() as session:
        return list(session.exec(select(AlertWatch).where(AlertWatch.kind == "term",
                                                          AlertWatch.removed_at.is_(None))).all())


def test_the_english_surge_line_names_the_account_and_the_window(bot, run_command):
    (reply,) = run_command("/watch surge lanji_official --from 2026-12-05T20:00 --until 2026-12-05T22:00 --factor 5")
    zh, en = reply.text.splitlines()[:2]
    assert "澜肌官方旗舰店（抖音） 12-05 20:00 – 12-05 22:00，预期 x5" in zh, reply.text
    assert en.startswith("Planned surge #") and "澜肌官方旗舰店 (Douyin) 12-05 20:00 – 12-05 22:00, expected x5" in en, en


def test_a_config_term_is_not_removed_from_chat_and_the_reply_says_why(bot, db, run_command):
    for typed in ("/watch remove 过敏", "/watch remove iphone", "/watch remove 过敏 --account douyin:lanji_official"):
        (reply,) = run_command(typed)
        assert "来自配置文件（alerts.watch_terms），不能在聊天中取消" in reply.text, reply.text
        assert "is set in the config (`alerts.watch_terms`) and cannot be removed from chat" in reply.text
        assert "nothing watched matches" not in reply.text
    # another client's config term is none of this channel's business: as any unknown term
    (other,) = run_command("/watch remove 漏油")
    assert "nothing watched matches" in other.text and "alerts.watch_terms" not in other.text


def test_removed_counts_are_singular_and_plural_in_english(bot, run_command):
    run_command("/watch add 假货")
    assert run_command("/watch remove 假货")[0].text.endswith("removed 1 watch")
    run_command("/watch add 假货")
    run_command("/watch add 假货 --account douyin:lanji_official")
    assert run_command("/watch remove 假货")[0].text.endswith("removed 2 watches")


def test_a_term_the_config_watches_is_not_added_again(bot, db, run_command):
    (everywhere,) = run_command("/watch add 过敏")
    assert "已在配置中监控（alerts.watch_terms，全部账号），无需重复添加" in everywhere.text, everywhere.text
    assert "already watched by the config (`alerts.watch_terms`, all accounts): not added again" in everywhere.text
    (one_account,) = run_command("/watch add IPHONE --account lanji_official")
    assert "「iPhone」已在配置中监控（alerts.watch_terms，澜肌官方旗舰店（抖音））" in one_account.text, one_account.text
    assert _term_watches(db) == []
    # the config watches iPhone on one account only: a channel-wide chat watch is more, so it is added
    (wider,) = run_command("/watch add iPhone")
    assert "已监控风险词「iPhone」" in wider.text and len(_term_watches(db)) == 1
    # removing it says the config still watches the term on that account
    (removed,) = run_command("/watch remove iphone")
    assert "removed 1 watch" in removed.text and "still watched by the config" in removed.text, removed.text
    assert "已在配置中" not in run_command("/watch add 维权")[0].text
