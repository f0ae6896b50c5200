"""The console's own texts in a channel set to English: the banner, a `/press` without a button, a `#channel`
it cannot open, an unconfigured channel's warning and the quit notice are English alone there (they were
Chinese first with English, beside the dispatcher's English answers); a Chinese channel reads them exactly
as before. Real database, dispatcher and console port, as tests/integration/test_english_channel_replies.py."""

from __future__ import annotations

import copy
import io
import re

import pytest

from bot.config import parse_config
from bot.console_repl import repl
from tests.conftest import TEST_CONFIG

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
EN, ZH = "console:lanji", "console:xiaochu"


def _config(**top):
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [{"id": EN, "client": "lanji", "language": "en"}, {"id": ZH, "client": "xiaochu"}]
    data.update(top)
    return parse_config(data, source="tests")


@pytest.fixture
def app_config():
    return _config()


def _run(bot, capsys, channel: str, script: str) -> str:
    assert repl(bot, channel=channel, user="alice", stdin=io.StringIO(script)) == 0
    return capsys.readouterr().out


def test_the_consoles_own_texts_are_english_alone_in_an_english_channel(bot, capsys):
    out = _run(bot, capsys, "lanji", "/press\n#slack:C1\n#\n/press\nquit\n/help\n")
    assert not CJK.search(out), out
    assert out.startswith("Type /help for commands; /press ACTION_ID VALUE [REASON…] presses a button")
    assert "usage: /press ACTION_ID [VALUE] [REASON…] (a skip's or a rejection's reason follows the value" in out
    assert "error: the console opens console channels only; 'slack:C1' is a slack channel" in out
    assert "quit: the 1 line(s) after it in the input were not run" in out


def test_an_unconfigured_channel_speaks_the_configured_language(db, settings, clock, capsys):
    """It has no language of its own: the warning on switching to it, and what is said in it, follow the
    configured `language`."""
    from bot.app import build_app

    app = build_app(settings, _config(language="en"), clock=clock, db=db, upgrade=False)
    try:
        out = _run(app, capsys, "nowhere", "#elsewhere\nquit\n/help\n")
    finally:
        app.stop()
    assert not CJK.search(out), out
    assert "warning: channel console:elsewhere is not configured: it sees no client's accounts" in out
    assert "quit: the 1 line(s) after it in the input were not run" in out


def test_a_chinese_channel_reads_them_as_before(bot, capsys):
    out = _run(bot, capsys, "xiaochu", "/press\n#slack:C1\n#nowhere\nquit\n/help\n")
    assert out.startswith("crisisbot 控制台 / console — 输入 /help 查看命令")
    assert ("用法 / usage: /press ACTION_ID [VALUE] [原因…]（跳过、驳回的原因写在值后面，如 /press crisis.skip 1:spread "
            "未扩散 / a skip's or a rejection's reason follows the value)") in out
    assert ("错误 / error: 控制台只能打开 console 频道，'slack:C1' 属于 slack / the console opens console channels only; "
            "'slack:C1' is a slack channel") in out
    assert "注意：频道 console:nowhere 未配置，看不到任何客户的账号 / warning: channel console:nowhere is not configured" in out
    assert "已退出：输入中 quit 之后的 1 行未执行 / quit: the 1 line(s) after it in the input were not run" in out
