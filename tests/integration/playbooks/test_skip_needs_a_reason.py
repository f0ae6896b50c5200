"""A step is never skipped without a reason (docs/playbooks.md: `/crisis skip 步骤 原因`, 必须写原因).

The run card's 跳过 button carries no reason on Feishu and the console, and a Slack form can be submitted
with blanks: such a skip is refused, privately, with the exact command that gives the reason; the step
stays open and the timeline records nothing.
"""

from __future__ import annotations

from sqlmodel import select

from bot.messages import Action
from bot.playbooks.models import CrisisTimelineEntry
from tests.integration.playbooks.helpers import CrisisDriver, flatten

START = "/crisis start rumor 网传停产"


def _status(d: CrisisDriver, run_id: int, step: str) -> str:
    return d.service.get(run_id).state.step(step).status.value


def _skips(d: CrisisDriver) -> list[str]:
    with d.service.db.session() as session:
        return [e.text for e in session.exec(select(CrisisTimelineEntry).where(CrisisTimelineEntry.kind == "skip"))]


def test_the_skip_button_without_a_form_is_refused_with_the_command_to_type(bot):
    d = CrisisDriver(bot)
    d.run(START)
    skip = next(b for b in d.card(1).all_buttons() if b.action_id == "crisis.skip")
    step = skip.value.split(":")[1]
    (reply,) = d.press(skip.action_id, skip.value)
    assert reply.ephemeral, reply
    assert f"/crisis skip {step} 原因" in reply.text and "需要说明原因" in reply.text
    assert "needs a reason" in reply.text and f"/crisis skip {step} REASON" in reply.text
    assert _status(d, 1, step) == "open" and _skips(d) == []
    assert "未填写原因" not in d.text("/crisis timeline")
    # the command it names works
    assert "跳过了" in d.text(f"/crisis skip {step} 已由客服私信处理")
    assert _status(d, 1, step) == "skipped"
    assert any("已由客服私信处理" in text for text in _skips(d))


def test_a_blank_form_reason_is_refused(bot):
    d = CrisisDriver(bot)
    d.run(START)
    for blank in ("   ", "\u3000", "\n\t", '""', "「」"):
        (reply,) = d.press("crisis.skip", "1:spread", form={"reason": blank})
        assert reply.ephemeral and "/crisis skip spread 原因" in reply.text, (blank, reply.text)
    assert _status(d, 1, "spread") == "open" and _skips(d) == []
    (reply,) = d.press("crisis.skip", "1:spread", form={"reason": "  未扩散  "})
    assert "跳过了 spread" in flatten(reply) and "未扩散" in reply.text
    assert _status(d, 1, "spread") == "skipped"
    assert "原因：未扩散" in d.text("/crisis timeline")


def test_a_typed_skip_without_a_reason_names_the_command(bot):
    d = CrisisDriver(bot)
    d.run(START)
    for line in ("/crisis skip capture", '/crisis skip capture "  "', "/crisis skip capture 「　」"):
        (reply,) = d.run(line)
        assert reply.ephemeral and "/crisis skip capture 原因" in reply.text, (line, reply.text)
    assert _status(d, 1, "capture") == "open" and _skips(d) == []


def test_with_several_runs_the_command_names_the_run(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis start rumor 网传倒闭")
    (reply,) = d.press("crisis.skip", "2:spread")
    assert "/crisis skip #2 spread 原因" in reply.text, reply.text
    assert "跳过了" in d.text("/crisis skip #2 spread 未扩散")
    assert _status(d, 2, "spread") == "skipped" and _status(d, 1, "spread") == "open"


def test_a_skip_that_cannot_happen_says_why_instead_of_asking_for_a_reason(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done spread")
    (reply,) = d.press("crisis.skip", "1:spread")
    assert "已是" in reply.text and "原因" not in reply.text, reply.text
    (reply,) = d.press("crisis.skip", "1:nosuchstep")
    assert "没有步骤" in reply.text, reply.text
    d.run("/crisis cancel 误报")
    (reply,) = d.press("crisis.skip", "1:capture")
    assert "不能执行" in reply.text, reply.text


def test_in_slack_the_refusal_also_points_at_the_form(bot):
    service = bot.services.playbooks
    view = service.start_run("slack:C1", "rumor", "网传停产", 2, None, "slack:U1")
    action = Action("slack", "slack:C1", "slack:U2", "crisis.skip", f"{view.id}:spread",
                    form={"reason": "   "}, event_id="slack-blank-form")
    (reply,) = bot.dispatcher.handle(action)
    assert reply.ephemeral and "/crisis skip spread 原因" in reply.text and "弹窗" in reply.text
    assert service.get(view.id).state.step("spread").status.value == "open"
