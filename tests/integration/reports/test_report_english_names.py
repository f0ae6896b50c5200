"""An English report built by the service (audit 16): its risk categories carry the English names of the
risk lexicon in use (`category_names_en` in sentiment/risk_terms.yaml), and a channel that lists its
accounts (no client) names them in its title as English lists are written, and the default channel's
title names its "Accounts of no client" as a title names things. Chinese reports as before."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG
from tests.integration.reports.test_reports import LANJI, XIAOCHU, record

SHOPS = ["douyin:lanji_official", "bilibili:xiaochu_kitchen"]
# English by default (the default channel's language), Chinese where a channel says so
CONFIG = {
    **TEST_CONFIG, "language": "en",
    "accounts": [*TEST_CONFIG["accounts"], {"platform": "weibo", "account_id": "agency_own", "name": "Agency Weibo"}],
    "channels": [
        {"id": "console:lanji", "client": "lanji", "language": "zh"},
        {"id": "console:lanji-en", "client": "lanji"},
        {"id": "console:shops-en", "accounts": SHOPS},
        {"id": "console:shops", "accounts": SHOPS, "language": "zh"},
    ],
}


@pytest.fixture
def app_config():
    return parse_config(CONFIG, source="tests")


def test_an_english_report_names_risk_categories_as_the_lexicon_names_them_in_english(bot, clock, run_command,
                                                                                      tmp_path, monkeypatch):
    bot.services.ingest.ingest_records(
        [record("r1", LANJI, "我要维权，要求退款！太差了", clock.now() - timedelta(hours=2))], source="test")
    # a config folder whose lexicon names a category in English (set after the comment was scored: the
    # scorer, shared by the whole test session, keeps the lexicon it loaded)
    (tmp_path / "sentiment").mkdir()
    (tmp_path / "sentiment" / "risk_terms.yaml").write_text(
        "维权: rights\n退款: refund\ncategory_names_en:\n  refund: refund demand\n", encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(tmp_path / "crisisbot.yaml"))
    [english] = run_command("/report", channel="console:lanji-en")
    page = english.files[0].content.decode("utf-8")
    # the lexicon's own English name, and ours where it gives none (rights: "维权" is rights defence)
    assert "维权 (rights defence) ×1" in page and "退款 (refund demand) ×1" in page, page
    [chinese] = run_command("/report", channel="console:lanji")
    page = chinese.files[0].content.decode("utf-8")
    assert "维权（维权 rights）×1" in page and "退款（退款 refund）×1" in page, page


def test_a_channel_of_listed_accounts_names_them_as_its_language_lists_them(bot, clock, run_command):
    bot.services.ingest.ingest_records(
        [record("a1", LANJI, "很好用", clock.now() - timedelta(hours=2)),
         record("b1", XIAOCHU, "不错", clock.now() - timedelta(hours=2))], source="test")
    [english] = run_command("/report", channel="console:shops-en")
    assert english.title.startswith("Report for the last 24 hours | 澜肌官方旗舰店, 小厨科技官方 | "), english.title
    [chinese] = run_command("/report", channel="console:shops")
    assert "｜澜肌官方旗舰店、小厨科技官方｜" in chinese.title, chinese.title
    # the default channel's report: a name in its title, capitalised as the others are
    [default] = run_command("/report", channel="console:general")
    assert default.title.startswith("Report for the last 24 hours | Accounts of no client | "), default.title
