"""Console buttons fit the terminal: a reply-queue item's six `/press …` hints made one ~330-column line
that the terminal wrapped anywhere ("/press reply.sk" | "ip:2 2"). On a terminal the hints are packed into
its width, each whole; in a pipe or a file every row stays on one line (no width to fit, and grep finds it)."""

from __future__ import annotations

import io

from rich.cells import cell_len

from bot.adapters.console.port import ConsolePort
from bot.adapters.console.render import button_hint, render_text
from bot.messages import Button, Message, Section


def _queue_item() -> Message:
    buttons = tuple(Button(label, f"reply.{verb}:1043", "1043") for label, verb in [
        ("认领 Claim", "claim"), ("已回复 Replied", "done"), ("跳过 Skip", "skip"),
        ("升级 Escalate", "escalate"), ("建议回复 Suggest", "suggest")])
    return Message(title="回复队列 / Reply queue", sections=(Section("**#1043** 退款！", buttons=buttons),),
                   buttons=(Button("下一页 Next", "reply.page", "2"),))


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_hints_fit_its_width_and_none_is_cut():
    message = _queue_item()
    text = render_text(message, width=60)
    hint_lines = [line for line in text.splitlines() if "/press" in line]
    assert len(hint_lines) > 2
    assert all(cell_len(line) <= 60 for line in hint_lines), hint_lines
    hints = [button_hint(b) for b in message.sections[0].buttons]
    assert all(any(hint in line for line in hint_lines) for hint in hints)  # each one whole on a line
    assert all(line.startswith("    [") for line in hint_lines[:-1])  # under the item, indented as before


def test_without_a_width_each_row_of_buttons_stays_on_one_line():
    text = render_text(_queue_item())
    assert len([line for line in text.splitlines() if "/press" in line]) == 2


def test_the_port_fits_a_terminal_and_leaves_a_pipe_alone(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    screen, pipe = FakeTerminal(), io.StringIO()
    ConsolePort(echo=screen).post("lanji", _queue_item(), idempotency_key="q1")
    ConsolePort(echo=pipe).post("lanji", _queue_item(), idempotency_key="q1")
    assert max(cell_len(line) for line in screen.getvalue().splitlines() if "/press" in line) <= 60
    assert max(cell_len(line) for line in pipe.getvalue().splitlines()) > 60
