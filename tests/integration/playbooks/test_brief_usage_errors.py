"""A usage error that already names what to type ("取消需要说明原因：/crisis cancel 原因") is answered with that
line and a one-line pointer to the usage, not with the whole usage under it (for /crisis some 25 lines that
buried the one line that matters); an error that does not say what to type (an unknown subcommand) still
carries the whole usage. In both a Chinese channel (Chinese first with English) and one set to English
(English alone).

Real database, dispatcher and console port, driven through /crisis and /watch commands.
"""

from __future__ import annotations

import pytest

from tests.integration.playbooks.helpers import CrisisDriver

EN, ZH = "console:lanji", "console:xiaochu"
CHANNELS = [{"id": EN, "client": "lanji", "language": "en"}, {"id": ZH, "client": "xiaochu"}]
POINTER_ZH = "输入 /crisis help 查看完整用法 / type /crisis help for the full usage"
POINTER_EN = "Type /crisis help for the full usage."


@pytest.fixture
def two_bots(make_bot):
    return make_bot({"channels": CHANNELS})


def _reply(driver: CrisisDriver, line: str) -> str:
    [reply] = driver.run(line)
    assert reply.ephemeral, reply
    return reply.text


def test_an_error_naming_the_form_is_answered_with_a_pointer_in_a_chinese_channel(two_bots):
    zh = CrisisDriver(two_bots, ZH)
    zh.run("/crisis start rumor 网传停产")
    assert _reply(zh, "/crisis cancel") == (
        "用法有误 / Bad usage：取消需要说明原因：/crisis cancel 原因 / cancel needs a reason\n" + POINTER_ZH)
    assert _reply(zh, "/crisis severity 2") == (
        "用法有误 / Bad usage：调整严重程度需要说明原因：/crisis severity 1|2|3 原因 / changing the severity needs a "
        "reason\n" + POINTER_ZH)
    # the pointer names the command it was typed under
    assert _reply(zh, "/watch add") == (
        "用法有误 / Bad usage：用法 / usage: /watch add 关键词 [--account 账号]\n"
        "输入 /watch help 查看完整用法 / type /watch help for the full usage")
    assert zh.service.get(1).state.status.value == "active"  # refused, not cancelled


def test_an_error_naming_the_form_is_answered_with_a_pointer_in_an_english_channel(two_bots):
    en = CrisisDriver(two_bots, EN)
    en.run("/crisis start rumor Rumour of closure")
    assert _reply(en, "/crisis cancel") == f"Bad usage: Cancelling needs a reason: /crisis cancel REASON\n{POINTER_EN}"
    assert _reply(en, "/crisis severity 2") == (
        f"Bad usage: Changing the severity needs a reason: /crisis severity 1|2|3 REASON\n{POINTER_EN}")
    assert _reply(en, "/watch add") == (
        "Bad usage: Usage: /watch add TERM [--account ACCOUNT]\nType /watch help for the full usage.")


def test_an_error_not_saying_what_to_type_still_carries_the_whole_usage(two_bots):
    spec = two_bots.services.registry.commands["crisis"]
    text = _reply(CrisisDriver(two_bots, ZH), "/crisis frobnicate")
    assert text.startswith("用法有误 / Bad usage：未知子命令 frobnicate") and text.endswith("\n\n" + spec.usage), text
    assert "查看完整用法" not in text
    text = _reply(CrisisDriver(two_bots, EN), "/crisis frobnicate")
    assert text.startswith("Bad usage: Unknown subcommand frobnicate") and text.endswith("\n\n" + spec.usage_en), text
    assert "for the full usage" not in text


def test_each_command_points_to_its_own_usage_under_an_error_naming_the_form(two_bots):
    zh, en = CrisisDriver(two_bots, ZH), CrisisDriver(two_bots, EN)
    zh.run("/crisis start rumor 网传停产")
    en.run("/crisis start rumor Rumour of closure")
    for line, name in [("/crisis answer", "crisis"), ("/crisis claim", "crisis"), ("/crisis skip", "crisis"),
                       ("/crisis start", "crisis"), ("/watch remove", "watch"), ("/sentiment score", "sentiment"),
                       ("/report 7d 30d", "report")]:
        spec = two_bots.services.registry.commands[name]
        text = _reply(zh, line)
        assert text.endswith(f"\n输入 /{name} help 查看完整用法 / type /{name} help for the full usage"), (line, text)
        assert spec.usage.splitlines()[0] not in text, (line, text)
        text = _reply(en, line)
        assert text.startswith("Bad usage: ") and text.endswith(f"\nType /{name} help for the full usage."), (line, text)
        assert spec.usage_en.splitlines()[0] not in text, (line, text)
