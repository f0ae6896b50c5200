"""First-run audit: on a terminal, pasting "/crisis status⏎/help" ran only the status. Readline (8.1 on:
bracketed paste) returns a pasted block as one line with its line breaks inside, and the console sent it as
one command, /help a word of it. Each line of a paste is a command of its own, shown and run in order.

The terminal is faked as in test_console_prompt_redraw (the outside world): input() reads a line from it
as readline hands over a bracketed paste; the REPL, dispatcher and handlers are real."""

from __future__ import annotations

import io

from bot.console_repl import repl
from tests.integration.foundation.test_console_prompt_redraw import FakeTerminal


class PastingKeyboard(FakeTerminal):
    """Each entry is what one input() returns: a pasted block holds its line breaks."""

    def __init__(self, reads: list[str]) -> None:
        super().__init__()
        self.reads = list(reads)

    def readline(self, *args) -> str:
        return self.reads.pop(0) + "\n" if self.reads else ""


def run_on_a_terminal(bot, monkeypatch, reads: list[str]) -> str:
    screen = FakeTerminal()
    monkeypatch.setattr("sys.stdout", screen)
    monkeypatch.setattr("sys.stdin", PastingKeyboard(reads))
    bot.console.echo = screen
    assert repl(bot, channel="lanji", user="alice") == 0
    return screen.getvalue()


def test_each_line_of_a_paste_is_shown_and_run_in_order(bot, monkeypatch):
    text = run_on_a_terminal(bot, monkeypatch, ["/crisis status\n\n/help\r\n/crisis list"])
    status = text.index("本频道没有进行中的预案")
    shown_help = text.index("[lanji]> /help\n")
    help_answer = text.index("crisisbot 命令 / Commands")
    shown_list = text.index("[lanji]> /crisis list\n")
    assert status < shown_help < help_answer < shown_list < text.index("预案 / Playbooks"), text
    assert "[lanji]> \n[lanji]> /help" not in text  # the blank line between is skipped, not shown


def test_a_quit_inside_a_paste_says_what_it_did_not_run(bot, monkeypatch):
    text = run_on_a_terminal(bot, monkeypatch, ["/help\nquit\n/crisis list\n/crisis status", "/help"])
    assert "crisisbot 命令 / Commands" in text and "预案 / Playbooks" not in text
    assert "quit 之后的 2 行未执行" in text, text


def test_a_piped_line_is_still_one_command(bot, capsys):
    bot.console.echo = io.StringIO()
    repl(bot, channel="lanji", user="alice", stdin=io.StringIO("/help\n/crisis list\n"))
    out = capsys.readouterr().out
    assert out.count("[lanji]> /help") == 1 and out.count("[lanji]> /crisis list") == 1, out
