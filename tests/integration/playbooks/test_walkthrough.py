"""Each shipped playbook walked end to end through the console dispatcher, branches included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.playbooks.machine import StepStatus
from bot.playbooks.validate import load_playbooks
from tests.integration.playbooks.helpers import CrisisDriver, flatten, review_markdown

PLAYBOOKS = load_playbooks().playbooks


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[p.id for p in PLAYBOOKS])
@pytest.mark.parametrize("branch", [0, 1])
def test_walk_every_shipped_playbook(bot, clock, playbook, branch):
    d = CrisisDriver(bot)
    out = d.text(f"/crisis start {playbook.name} 测试事件 --severity 2 --account douyin:lanji_official")
    assert "#1" in out
    view = d.service.get(1)
    assert view.state.started_at == clock.now()
    assert all(s.due_at == clock.now() + s.due_after for s in view.state.steps)  # relative -> absolute

    d.text("/crisis assign 指挥 @lead")
    guard = 0
    while True:
        guard += 1
        assert guard < 60
        view = d.service.get(1)
        current = view.state.current_steps()
        if not current:
            break
        step = current[0]
        clock.advance(timedelta(minutes=5))
        if step.is_decision:
            answer = step.answers[branch % len(step.answers)]
            reply = d.text(f"/crisis done {step.step_id} {answer}", user="console:lead")
            assert answer in reply
        elif step.position % 4 == 3:
            reply = d.text(f"/crisis skip {step.step_id} 本次不需要", user="console:ops")
            assert "跳过" in reply
        else:
            reply = d.text(f"/crisis done {step.step_id}", user="console:ops")
            assert "完成" in reply, reply
        card = d.card(1)
        assert step.step_id not in "\n".join(s.text for s in card.sections)  # the card moved on

    view = d.service.get(1)
    statuses = {s.status for s in view.state.steps}
    assert StepStatus.OPEN not in statuses and StepStatus.NA in statuses  # the other branch was ruled out
    d.text("/crisis note 负面已回落，准备解除", user="console:lead")
    assert "已解除" in d.text("/crisis resolve 事件平息", user="console:lead")
    card = d.card(1)
    assert "已解除" in flatten(card) and not card.all_buttons()
    reports = [m for m in d.channel_messages() if (m.title or "").startswith("复盘报告")]
    assert len(reports) == 1 and reports[0].images[0].png.startswith(b"\x89PNG")
    assert "## 步骤与时限" in review_markdown(reports[0]) and playbook.name in reports[0].text
    timeline = d.text("/crisis timeline")  # no active run: the channel's latest run
    assert "解除" in timeline and "负面已回落" in timeline
    assert "进行中的预案" in d.text("/crisis done anything")  # no active run left
