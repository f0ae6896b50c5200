"""A command file piped into the console that starts with a UTF-8 BOM (Windows Notepad) still switches
channel on its first line, and a BOM before a command does not turn it into "commands start with /"."""

import io

from bot.console_repl import repl


def test_a_bom_before_the_first_line_still_switches_channel(bot, capsys):
    out = io.StringIO()
    bot.console.echo = out
    code = repl(bot, channel="lanji", user="alice", stdin=io.StringIO("\ufeff#xiaochu\r\n/help\r\n"))
    assert code == 0
    assert "[xiaochu]> " in capsys.readouterr().out
    text = out.getvalue()
    assert "#xiaochu" in text and "#lanji" not in text


def test_a_bom_before_a_command_runs_the_command(bot):
    out = io.StringIO()
    bot.console.echo = out
    repl(bot, channel="lanji", user="alice", stdin=io.StringIO("\ufeff/help\n"))
    text = out.getvalue()
    assert "命令以 / 开头" not in text and "/crisis" in text
