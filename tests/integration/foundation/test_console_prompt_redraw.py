"""`make run` (serve --console): what the outbox worker delivers while the prompt waits for a line (the demo's
alert, a reminder) is written above the prompt, and the prompt again under it; on a terminal the line is
read by input() with readline (arrow keys, history), as `crisisbot console` already did.

Before, the alert pushed the prompt off the screen (the person saw the alert and no prompt under it), and
serve's console read the terminal without readline: an arrow key typed into a long `/press …` line went in
as "^[[D". Piped input is written after its prompt, so a transcript shows which command each answer is for."""

from __future__ import annotations

import io
import re

from bot.adapters.console.terminal import CLEAR_LINE, above_prompt
from bot.console_repl import repl
from bot.messages import Message

ALERT = "负面评论激增 / negative spike"


class FakeTerminal(io.StringIO):
    """The person's terminal (the outside world): says it is a tty, has no file descriptor (so input()
    writes the prompt here and reads with readline() below)."""

    def isatty(self) -> bool:
        return True


class Keyboard(FakeTerminal):
    """Typed lines; before each one is "typed", `while_waiting` runs (the outbox worker delivering)."""

    def __init__(self, lines: list[str], while_waiting) -> None:
        super().__init__()
        self.lines = list(lines)
        self.while_waiting = while_waiting

    def readline(self, *args) -> str:
        self.while_waiting()
        return self.lines.pop(0) + "\n" if self.lines else ""


def _deliver_an_alert(bot):
    posted = []

    def deliver() -> None:
        if not posted:  # once: while the first prompt waits
            posted.append(bot.console.post("lanji", Message(title=ALERT), idempotency_key="alert-1"))

    return deliver


def test_a_message_delivered_while_a_piped_prompt_waits_is_followed_by_the_prompt_again(bot, capsys):
    out = io.StringIO()
    bot.console.echo = out
    stdin = Keyboard(["/help"], _deliver_an_alert(bot))
    stdin.isatty = lambda: False  # piped input

    assert repl(bot, channel="lanji", user="alice", stdin=stdin) == 0
    assert out.getvalue().startswith(f"\n#lanji\n== {ALERT} ==\n[lanji]> ")  # the prompt again, under the alert
    assert CLEAR_LINE not in out.getvalue() + capsys.readouterr().out  # no escape codes in a pipe


def test_on_a_terminal_serve_console_reads_with_input_and_redraws_the_prompt_under_a_message(bot, monkeypatch):
    screen = FakeTerminal()
    keyboard = Keyboard(["/help"], _deliver_an_alert(bot))
    monkeypatch.setattr("sys.stdout", screen)
    monkeypatch.setattr("sys.stdin", keyboard)
    bot.console.echo = screen

    assert repl(bot, channel="lanji", user="alice") == 0
    text = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())  # the styles aside (a terminal shows the title bold)
    # input() wrote the prompt; the alert cleared that line, came above it, and the prompt was written again
    assert f"[lanji]> {CLEAR_LINE}#lanji\n== {ALERT} ==\n[lanji]> " in text
    assert "crisisbot 命令 / Commands" in text  # the typed /help ran
    assert text.endswith("[lanji]> \n")  # Ctrl-D: the line ends, serve's "stopped" gets its own


def test_piped_commands_are_written_after_their_prompts(bot, capsys):
    bot.console.echo = io.StringIO()
    repl(bot, channel="lanji", user="alice", stdin=io.StringIO("\ufeff/help\n\n#xiaochu\n"))
    out = capsys.readouterr().out
    assert "[lanji]> /help\n[lanji]> \n[lanji]> #xiaochu\n[xiaochu]> \n" in out


def test_above_prompt_leaves_a_message_alone_when_no_prompt_waits():
    assert above_prompt("\n#lanji\nhi\n", None, interactive=True, typed="/cri") == "\n#lanji\nhi\n"
    assert above_prompt("\n#lanji\nhi\n", "[lanji]> ", interactive=False) == "\n#lanji\nhi\n[lanji]> "
    assert above_prompt("\n#lanji\nhi\n", "[lanji]> ", interactive=True, typed="/cri") == (
        f"{CLEAR_LINE}#lanji\nhi\n[lanji]> /cri")
