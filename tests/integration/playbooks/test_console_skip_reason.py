"""The console's 跳过 button takes the reason on the /press line: `/press crisis.skip 1:spread 未扩散`.

Slack asks for it in a modal and the Feishu card in a form; on the console the rest of the line after the
value is the reason (it used to be glued to the value, "1:spread 未扩散", naming no step). The button's
hint and the /press usage say so. Through the real REPL, dispatcher and outbox.
"""

from __future__ import annotations

import io

from sqlmodel import select

from bot.console_repl import repl
from bot.messages import Action
from bot.playbooks.models import CrisisTimelineEntry


def _console(bot, lines: str) -> str:
    out = io.StringIO()
    bot.console.echo = out
    assert repl(bot, channel="lanji", user="alice", stdin=io.StringIO(lines + "quit\n")) == 0
    return out.getvalue()


def _skips(bot) -> list[tuple[str, str]]:
    with bot.services.db.session() as session:
        rows = session.exec(select(CrisisTimelineEntry).where(CrisisTimelineEntry.kind == "skip")).all()
        return [(r.step_id, r.text) for r in rows]


def test_press_skip_takes_the_reason_from_the_rest_of_the_line(bot):
    text = _console(bot, "/crisis start rumor 网传停产\n/press crisis.skip 1:spread 未扩散，已由 客服私信处理\n")
    assert "/press crisis.skip 1:spread 原因…]" in text  # the run card's button says the reason goes after it
    assert "跳过了 spread：未扩散，已由 客服私信处理" in text, text
    state = bot.services.playbooks.get(1).state
    assert state.step("spread").status.value == "skipped"
    assert [s for s, _ in _skips(bot)] == ["spread"] and "原因：未扩散，已由 客服私信处理" in _skips(bot)[0][1]


def test_press_skip_without_a_reason_says_how_to_give_one(bot, capsys):
    text = _console(bot, "/crisis start rumor 网传停产\n/press crisis.skip 1:spread\n/press crisis.skip 1:spread '  '\n"
                         "/press\n")
    assert text.count("需要说明原因") == 2, text
    assert "/press crisis.skip 1:spread 原因" in text and "/crisis skip spread 原因" in text
    assert "/press ACTION_ID [VALUE] [原因…]" in capsys.readouterr().out  # the usage of a bare /press
    assert bot.services.playbooks.get(1).state.step("spread").status.value == "open" and _skips(bot) == []


def test_other_buttons_keep_the_whole_rest_as_their_value(bot):
    pressed = []
    bot.services.registry.add_action("e2e.", lambda ctx, action: pressed.append(action))
    _console(bot, "/press e2e.answer 1:decide:先 发声明\n")
    assert [(a.value, a.form) for a in pressed] == [("1:decide:先 发声明", {})]
    assert isinstance(pressed[0], Action)
