"""`Reopen` in the pure run state machine: a step done, answered or skipped by mistake is taken back (open
again, owner kept, answer cleared, the reason on the timeline); what followed it is not undone; an open,
unknown or not-applicable step, a closed run and a blank reason are refused with words for people."""

from __future__ import annotations

import pytest

from bot.playbooks.machine import (
    Answer,
    Assign,
    Cancel,
    Done,
    Reopen,
    Resolve,
    Skip,
    StepStatus,
    TransitionRejected,
    apply,
    invariant_violations,
    reopen_reason,
)
from tests.unit.playbooks.test_machine import T0, started


def _apply(state, *events):
    for event in events:
        state = apply(state, event, T0).state
        assert not invariant_violations(state), (event, invariant_violations(state))
    return state


def test_a_done_step_reopened_is_open_again_with_its_owner_and_the_reason_on_the_timeline():
    state = _apply(started(), Assign("a", "slack:U1", "u"), Done("a", "slack:U1", note="已确认"))
    outcome = apply(state, Reopen("a", "slack:U2", "  还没确认完  "), T0)
    step = outcome.state.step("a")
    assert step.status is StepStatus.OPEN and step.assignee == "slack:U1"
    assert (step.finished_at, step.finished_by, step.reason, step.answer) == (None, None, None, None)
    (entry,) = outcome.entries
    assert (entry.kind, entry.actor, entry.step_id) == ("reopen", "slack:U2", "a")
    assert entry.text == "A（原为完成；原因：还没确认完）"
    assert reopen_reason(entry.text) == "还没确认完"
    assert not invariant_violations(outcome.state)
    # and it can be finished again
    assert _apply(outcome.state, Done("a", "u")).step("a").status is StepStatus.DONE


def test_a_skipped_step_reopened_loses_its_skip_reason():
    state = _apply(started(), Skip("a", "u", "总部处理"))
    outcome = apply(state, Reopen("a", "u", "总部没处理"), T0)
    assert outcome.state.step("a").status is StepStatus.OPEN and outcome.state.step("a").reason is None
    assert outcome.entries[0].text == "A（原为跳过；原因：总部没处理）"


def test_a_reopened_decision_opens_the_branches_it_left_out_and_takes_a_new_answer():
    state = _apply(started(), Answer("q1", "否", "u"))
    assert {state.step(s).status for s in ("y1", "q2", "y2", "z2")} == {StepStatus.NA}
    outcome = apply(state, Reopen("q1", "u", "答错了"), T0)
    assert outcome.entries[0].text == "Q1（原答案：否；原因：答错了）"
    state = outcome.state
    assert not invariant_violations(state)
    assert state.step("q1").status is StepStatus.OPEN and state.step("q1").answer is None
    # every branch is open again (the nested decision's too), waiting for the new answer
    for sid in ("y1", "q2", "y2", "z2", "n1"):
        assert state.step(sid).status is StepStatus.OPEN and state.is_gated_open(state.step(sid)), sid
    assert "n1" not in [s.step_id for s in state.current_steps()]
    state = _apply(state, Answer("q1", "是", "u"))
    assert state.step("q1").answer == "是"
    assert state.step("n1").status is StepStatus.NA and state.step("y1").status is StepStatus.OPEN
    assert state.step("q2").status is StepStatus.OPEN


def test_a_skipped_decision_reopened_opens_all_its_branches():
    state = _apply(started(), Skip("q1", "u", "不需要"), Reopen("q1", "u", "需要判断"))
    assert {state.step(s).status for s in ("y1", "q2", "y2", "z2", "n1")} == {StepStatus.OPEN}


def test_what_followed_a_reopened_step_is_not_undone_but_waits_again_when_still_open():
    # y1 comes after a, last after y1
    state = _apply(started(), Answer("q1", "是", "u"), Done("a", "u"))
    assert "y1" in [s.step_id for s in state.current_steps()]
    reopened = _apply(state, Reopen("a", "u", "误点"))
    assert reopened.is_blocked(reopened.step("y1"))  # open: waits for a again (the card's next step is a)
    assert [s.step_id for s in reopened.current_steps()][0] == "a"
    finished = _apply(state, Done("y1", "u"), Reopen("a", "u", "误点"))
    assert finished.step("y1").status is StepStatus.DONE  # finished: stays finished


def test_a_decision_reopened_keeps_the_finished_steps_of_its_branch_and_the_new_answer_leaves_out_the_rest():
    state = _apply(started(), Done("a", "u"), Answer("q1", "是", "u"), Done("y1", "u"))
    state = _apply(state, Reopen("q1", "u", "核实有误"))
    assert state.step("y1").status is StepStatus.DONE  # done under the old answer: history, not undone
    assert state.step("q2").status is StepStatus.OPEN and state.is_gated_open(state.step("q2"))
    # a step finished under the decision may itself be reopened: it then waits for the new answer
    waiting = _apply(state, Reopen("y1", "u", "也做错了"))
    assert waiting.step("y1").status is StepStatus.OPEN and waiting.is_gated_open(waiting.step("y1"))
    state = _apply(state, Answer("q1", "否", "u"))
    assert state.step("y1").status is StepStatus.DONE
    assert {state.step(s).status for s in ("q2", "y2", "z2")} == {StepStatus.NA}
    assert state.step("n1").status is StepStatus.OPEN
    # y1's branch is no longer taken: it cannot be reopened into it
    with pytest.raises(TransitionRejected) as error:
        apply(state, Reopen("y1", "u", "再看看"), T0)
    assert error.value.code == "branch_left_out"
    assert str(error.value).startswith("步骤 y1 所在的分支已不适用（判断 q1 为「否」）") and " / step y1" in str(error.value)


@pytest.mark.parametrize("reason", ["", "   ", "\u200b", "\u3000", '""', "“”"])
def test_a_reopen_needs_a_reason(reason):
    state = _apply(started(), Done("a", "u"))
    with pytest.raises(TransitionRejected) as error:
        apply(state, Reopen("a", "u", reason), T0)
    assert error.value.code == "needs_reason"
    assert str(error.value) == "重开需要说明原因 / reopening needs a reason"


def test_an_open_unknown_or_not_applicable_step_is_not_reopened():
    state = started()
    with pytest.raises(TransitionRejected) as error:
        apply(state, Reopen("a", "u", "x"), T0)
    assert error.value.code == "step_state"
    assert str(error.value) == "步骤 a 尚未完成（待办），无需重开 / step a is still open: nothing to reopen"
    with pytest.raises(TransitionRejected) as error:
        apply(state, Reopen("a", "u", ""), T0)  # refused for what it is, not for the missing reason
    assert error.value.code == "step_state"
    with pytest.raises(TransitionRejected) as error:
        apply(state, Reopen("nope", "u", "x"), T0)
    assert error.value.code == "unknown_step" and str(error.value).startswith("没有步骤 nope")
    state = _apply(state, Answer("q1", "否", "u"))
    with pytest.raises(TransitionRejected) as error:
        apply(state, Reopen("y1", "u", "x"), T0)
    assert error.value.code == "not_applicable"
    assert str(error.value).startswith("步骤 y1 不适用（判断 q1 没有选它所在的分支），不能重开；要改判断请重开 q1 / ")


@pytest.mark.parametrize("close", [Resolve("u", "平息"), Cancel("u", "误报")])
def test_a_closed_run_reopens_nothing(close):
    state = _apply(started(), Done("a", "u"), close)
    with pytest.raises(TransitionRejected) as error:
        apply(state, Reopen("a", "u", "还没完"), T0)
    assert error.value.code == "run_state"
    assert str(error.value).startswith("预案处于「已") and "状态，不能重开步骤 / the run is " in str(error.value)
