"""First-run audit: the run card said "预案 #1 负面舆情爆发 12-06 15:20｜负面舆情爆发" (the default title is the
playbook's name and the start time) and "账号 / Account: douyin:lanji_official" (an id where alerts name the
account). Through the real dispatcher, service and console."""

from __future__ import annotations

from dataclasses import replace

from bot.playbooks.render import account_text
from tests.integration.playbooks.helpers import CrisisDriver


def account_field(card):
    return next(f.value for f in card.fields if f.label.startswith("账号"))


def test_a_default_title_does_not_repeat_the_playbook_and_the_account_has_its_name(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start negative-outbreak --account douyin:lanji_official")
    card = d.card(1)
    assert card.title.startswith("预案 #1 负面舆情爆发 "), card.title
    assert card.title.count("负面舆情爆发") == 1 and "｜" not in card.title, card.title
    assert account_field(card) == "澜肌官方旗舰店（抖音）"
    [listed] = d.run("/crisis list")
    active = listed.sections[1].text
    assert active.count("负面舆情爆发") == 1, active
    [status] = d.run("/crisis status")
    assert status.title == card.title


def test_a_title_of_its_own_still_names_the_playbook(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start negative-outbreak 面霜过敏 --account lanji_official")
    card = d.card(1)
    assert card.title == "预案 #1 面霜过敏｜负面舆情爆发", card.title
    assert account_field(card) == "澜肌官方旗舰店（抖音）"


def test_an_account_config_does_not_name_shows_its_id_with_the_platform(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start negative-outbreak --account douyin:lanji_official")
    unnamed = replace(d.service.get(1), account_name=None)
    assert account_text(unnamed) == "lanji_official（抖音）"
