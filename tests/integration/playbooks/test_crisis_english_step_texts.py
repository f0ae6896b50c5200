"""A step's instructions and checklist in a channel set to English: after `/crisis start`, `/crisis next` shows
the playbook's `instructions_en` and `checklist_en`; a Chinese channel beside it reads exactly the Chinese it
read before. A checklist is only shown (nothing is ticked or stored), so runs started in either language store
the same playbook snapshot and step states.

Real database, dispatcher, outbox and console port, driven through /crisis commands.
"""

from __future__ import annotations

import pytest

from tests.integration.playbooks.helpers import CrisisDriver

# the same two channels, start line and section finder as the question/rule/statement tests
from tests.integration.playbooks.test_crisis_english_playbook_texts import CHANNELS, START, section_of

TRIAGE_ZH = (
    "拉起处置群（本频道），确认首发内容、首发平台、发布时间与当前传播量。\n"
    "按影响面定级：一级=上热搜/媒体跟进/大V转发；二级=单平台负面占比明显高于常态；三级=局部评论区。\n"
    "指定每个角色的负责人（/crisis assign 角色 @人）。\n"
    "☐ 首发链接与截图已贴到频道\n"
    "☐ 已标注涉及平台（抖音/快手/B站/微博/小红书）与账号\n"
    "☐ 严重程度已确认，各角色已指派"
)
TRIAGE_EN = (
    "Open the response room (this channel) and confirm the first post, where and when it appeared, and how far it "
    "has spread.\n"
    "Set severity by reach: SEV1 = trending, covered by media or reposted by influencers; SEV2 = negative share on "
    "one platform well above normal; SEV3 = a single comment section.\n"
    "Name an owner for each role (/crisis assign Role @person).\n"
    "☐ Link and screenshots of the first post shared in the channel\n"
    "☐ Platforms (Douyin, Kuaishou, Bilibili, Weibo, Xiaohongshu) and accounts involved noted\n"
    "☐ Severity confirmed, every role assigned"
)


@pytest.fixture
def bot(make_bot):
    return make_bot({"channels": CHANNELS})


def test_an_english_channel_reads_the_steps_instructions_and_checklist_in_english(bot):
    en = CrisisDriver(bot, "console:lanji")
    en.run(START)
    [steps] = en.run("/crisis next")
    triage = section_of(steps, "triage")
    assert triage.endswith("\n" + TRIAGE_EN), triage
    assert "拉起处置群" not in triage and "☐ 首发链接" not in triage
    # the other current steps too (the unit tests check every shipped step has its English)
    monitor = section_of(steps, "monitor")
    assert "\nPost an update here every 30 minutes:" in monitor and "\n☐ First data update posted" in monitor, monitor


def test_a_chinese_channel_reads_the_same_steps_as_written(bot):
    zh = CrisisDriver(bot, "console:xiaochu")
    zh.run(START)
    [steps] = zh.run("/crisis next")
    triage = section_of(steps, "triage")
    assert triage.endswith("\n" + TRIAGE_ZH), triage
    assert "Open the response room" not in triage and "☐ Link and screenshots" not in triage


def test_the_language_changes_nothing_the_run_stores(bot):
    en, zh = CrisisDriver(bot, "console:lanji"), CrisisDriver(bot, "console:xiaochu")
    for driver in (en, zh):
        driver.run(START)
        driver.run("/crisis next")
        driver.run("/crisis done triage")
    first, second = bot.services.playbooks.get(1), bot.services.playbooks.get(2)
    assert first.playbook.snapshot() == second.playbook.snapshot()
    assert [(s.step_id, s.status) for s in first.state.steps] == [(s.step_id, s.status) for s in second.state.steps]
