"""`/press` typed with a Chinese input method presses the button, as every other command typed that way runs.

"／press reply.claim:7 7" (full-width slash, the IME's default) and "/PRESS …" went to the dispatcher as an
unknown command /press with the hint "did you mean /crisis?"; "/press　reply.claim:7 7" (a full-width space)
pressed a button named "7" ("this button is no longer active"). Through the real REPL and dispatcher."""

from __future__ import annotations

import io

import pytest

from bot.console_repl import press_words, repl


def _pressed(bot, line: str):
    pressed = []
    bot.services.registry.add_action("e2e.", lambda ctx, action: pressed.append(action))
    out = io.StringIO()
    bot.console.echo = out
    assert repl(bot, channel="lanji", user="alice", stdin=io.StringIO(line + "\n")) == 0
    return [(a.action_id, a.value) for a in pressed], out.getvalue()


@pytest.mark.parametrize("line", [
    "／press e2e.answer 1:decide",
    "/PRESS e2e.answer 1:decide",
    "／ｐｒｅｓｓ e2e.answer 1:decide",
    "/press\u3000e2e.answer\u30001:decide",
])
def test_press_typed_with_a_chinese_input_method_presses_the_button(bot, line):
    pressed, text = _pressed(bot, line)
    assert pressed == [("e2e.answer", "1:decide")], text
    assert "未知命令" not in text


def test_a_quoted_value_stays_whole_and_an_unclosed_quote_is_taken_as_typed():
    assert press_words("/press e2e.answer “先 发声明”") == ["e2e.answer", "先 发声明"]
    assert press_words('/press crisis.skip 1:spread "未扩散') == ["crisis.skip", "1:spread", '"未扩散']


def test_other_lines_are_not_presses():
    assert press_words("/pressure 1") is None and press_words("press x 1") is None
    assert press_words("/crisis status") is None
    assert press_words("／press") == []
