"""`/crisis help` in the channel's language: the dispatcher answers a command's `help` itself (before the
handler sees it), from the command's usage in the channel's language (`CommandSpec.help`): English alone in
a channel set to English, Chinese first with English in a Chinese one, whichever way help is asked.

Real dispatcher and console port, driven through /crisis commands.
"""

from __future__ import annotations

import re

import pytest

from bot.handlers.crisis import USAGE, USAGE_EN
from tests.integration.playbooks.helpers import CrisisDriver

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
CHANNELS = [{"id": "console:lanji", "client": "lanji", "language": "en"}, {"id": "console:xiaochu", "client": "xiaochu"}]
ASKED = ("/crisis help", "/crisis 帮助", "/crisis --help", "/危机 help", "/crisis HELP", "/help crisis", "/帮助 危机")


@pytest.fixture
def bot(make_bot):
    return make_bot({"channels": CHANNELS})


@pytest.mark.parametrize("command", ASKED)
def test_help_in_an_english_channel_is_english_alone(bot, command):
    [reply] = CrisisDriver(bot, "console:lanji").run(command)
    assert (reply.title, reply.text) == ("/crisis — crisis playbooks: start, walk, review", USAGE_EN)
    assert not CJK.search(reply.title + reply.text)


@pytest.mark.parametrize("command", ASKED)
def test_help_in_a_chinese_channel_reads_as_before(bot, command):
    [reply] = CrisisDriver(bot, "console:xiaochu").run(command)
    assert reply.title == "/crisis — 危机预案：启动、推进、复盘 / crisis playbooks: start, walk, review"
    assert reply.text == USAGE


def test_another_command_with_english_usage_answers_help_in_english_alone(bot):
    # every command registers its English usage now (tests/integration/test_command_help_language.py);
    # one without keeps its bilingual help there too (same file)
    [reply] = CrisisDriver(bot, "console:lanji").run("/report help")
    assert reply.title == "/report — client report: volume, negative share, keywords, alerts, replies (with a chart)"
    assert not CJK.search(reply.text)
