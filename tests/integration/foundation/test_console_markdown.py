"""The console shows a message's light Markdown as a terminal user reads it, not as typed.

It printed it raw: "**#12** 退款", "[详情](https://…)", in the demo's alert, /help and every card: the first
thing a new user saw. On a terminal bold is bold now; in a pipe or a file (tests, logs, `serve --console <
file`) the text alone, no escape codes: "x" for **x**, "t (u)" for a link, the address alone when it is its
own text; inline code keeps its backticks in both. Outside text (a comment, a name: `messages.inert`) comes out
as written, never read as markup; the hints of the buttons still fit the terminal, Chinese taking two columns.
"""

from __future__ import annotations

import io
import re

import pytest

from bot.adapters.console.port import ConsolePort
from bot.adapters.console.render import render_text
from bot.console_repl import ChannelFeed
from bot.messages import Button, Field, Message, Section, inert, outsider_text

SGR = re.compile(r"\x1b\[[0-9;]*m")  # a style's codes (bold, colour, reset)
BOLD_ON = "\x1b[1m"

# A comment as its writer typed it: every character a chat's Markdown reads is in it.
COMMENT = "5*3*2 **加急** [官方客服](http://evil.example) `rm -rf` a_b __c__ [微笑] (笑) ~~哈~~ C:\\tmp\\*"


class FakeTerminal(io.StringIO):
    """The person's terminal (the outside world): it says it is one."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def a_colour_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


def _card() -> Message:
    quoted = outsider_text(COMMENT)
    return Message(
        title="**负面评论激增** / negative spike", severity=2,
        text=(f"**“面霜过敏”**事件：见 [详情](https://example.cn/r/1) 或 https://example.cn\n> {quoted}\n"
              f"用 `/crisis start 负面舆情爆发 \"面霜\"` 启动"),
        fields=(Field("状态", "**已确认**"), Field("Source", "[https://example.cn](https://example.cn)")),
        sections=(Section(f"**{inert('小明**[客服](http://x.example)')}** 说：\n> {quoted}",
                          buttons=(Button("认领 Claim", "reply.claim:12", "12"),
                                   Button("查看详情 / Open", "feeds:open", url="https://example.cn/n/1"))),),
        buttons=(Button("下一页 Next", "reply.page", "2"),),
    )


def test_in_a_pipe_the_markdown_reads_as_plain_text_without_escape_codes():
    text = render_text(_card())
    assert "\x1b" not in text
    lines = text.splitlines()
    assert lines[0] == "== 🟠 负面评论激增 / negative spike =="
    assert lines[1] == "“面霜过敏”事件：见 详情 (https://example.cn/r/1) 或 https://example.cn"
    assert lines[3] == '用 `/crisis start 负面舆情爆发 "面霜"` 启动'  # code keeps its backticks
    assert "  状态：已确认" in lines
    assert "  Source: https://example.cn" in lines  # a link that is its own text: the address once
    assert "  ─ 小明**[客服](http://x.example) 说：" in lines  # a name's own markup, as typed
    assert "    [认领 Claim: /press reply.claim:12 12] [查看详情 / Open: https://example.cn/n/1]" in lines


def test_outside_text_comes_out_exactly_as_written_in_a_pipe_and_on_a_terminal():
    assert outsider_text(COMMENT) != COMMENT  # made inert for the chats (full-width brackets and asterisks)
    plain = render_text(_card()).splitlines()
    assert plain[2] == f"> {COMMENT}"
    assert f"    > {COMMENT}" in plain
    styled = render_text(_card(), styled=True).splitlines()
    quote = next(line for line in styled if "evil.example" in line)
    assert SGR.sub("", quote) == f"> {COMMENT}"
    assert BOLD_ON not in quote and "\x1b[4m" not in quote  # neither its ** as bold nor its link as one


def test_on_a_terminal_bold_is_bold_and_the_layout_is_the_pipes():
    card = _card()
    styled = render_text(card, width=40, styled=True)
    assert f"{BOLD_ON}== 🟠 负面评论激增 / negative spike ==" in styled  # the title, bold
    assert f"{BOLD_ON}“面霜过敏”\x1b[0m事件" in styled
    assert "**" not in SGR.sub("", styled).split("\n")[1]
    # the same characters and line breaks: the hints packed into 40 columns as before, none cut
    assert SGR.sub("", styled) == render_text(card, width=40)
    hint_lines = [line for line in render_text(card, width=40).splitlines() if "/press" in line]
    assert len(hint_lines) == 2


def test_a_dumb_terminal_gets_no_codes(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    assert render_text(_card(), styled=True) == render_text(_card())


def test_the_console_port_styles_a_terminal_and_leaves_a_pipe_plain(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every row of buttons: the same lines as the pipe's
    screen, pipe = FakeTerminal(), io.StringIO()
    ConsolePort(echo=screen).post("lanji", _card(), idempotency_key="c1")
    ConsolePort(echo=pipe).post("lanji", _card(), idempotency_key="c1")
    assert BOLD_ON in screen.getvalue()
    assert "\x1b" not in pipe.getvalue() and "“面霜过敏”事件" in pipe.getvalue()
    assert SGR.sub("", screen.getvalue()) == pipe.getvalue()


def test_crisisbot_console_shows_the_channels_messages_the_same_way(bot):
    screen, pipe = FakeTerminal(), io.StringIO()
    feeds = [ChannelFeed(bot.services.db, "console:lanji", out=out) for out in (screen, pipe)]
    bot.services.outbox.send(channel="console:lanji", message=_card(), key="card-1")
    assert [feed.show_new() for feed in feeds] == [1, 1]
    assert BOLD_ON in screen.getvalue() and "\x1b" not in pipe.getvalue()
    assert "“面霜过敏”事件：见 详情 (https://example.cn/r/1)" in pipe.getvalue()
    assert f"> {COMMENT}" in pipe.getvalue()


def test_a_comments_control_characters_never_reach_the_terminal():
    """A comment can hold ESC sequences (recolour, retitle, clear the screen, write the clipboard), a CR that
    overwrites the line or a bidi override: the console shows them as escapes, its own lines intact."""
    from bot.adapters.console.render import render_text
    from bot.messages import Message

    hostile = "好评\x1b]52;c;ZXZpbA==\x07\x1b[2J\r伪造\u202e反转"
    for styled in (False, True):
        out = render_text(Message(title="告警", text=f"> {hostile}\n第二行\t列"), styled=styled)
        assert "\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J\\r伪造\\u202e反转" in out, out
        assert "\x07" not in out and "\r" not in out and "\u202e" not in out and "\x1b]" not in out
        assert "\n第二行" in out and "\\t" not in out  # the message's own line breaks and tabs stay (rich: spaces)
