"""The run state machine: table-driven transitions and property tests over random command sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.playbooks.machine import (
    Answer,
    Assign,
    Cancel,
    Done,
    Note,
    Reopen,
    Resolve,
    RunStatus,
    Skip,
    Start,
    StepStatus,
    TransitionRejected,
    apply,
    invariant_violations,
    plan_run,
)
from bot.playbooks.validate import check_playbook_data, load_playbooks

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

NESTED = {
    "id": "nested",
    "name": "嵌套判断",
    "title_en": "Nested decisions",
    "roles": {"指挥": {}, "公关": {}},
    "exit": {"rule": "结束"},
    "steps": [
        {"id": "a", "title": "A", "owner": "指挥", "due": "15m"},
        {
            "id": "q1",
            "title": "Q1",
            "owner": "指挥",
            "due": "1h",
            "question": "?",
            "branches": {"是": ["y1", "q2"], "否": ["n1"]},
        },
        {"id": "y1", "title": "Y1", "owner": "公关", "due": "2h", "after": ["a"]},
        {"id": "q2", "title": "Q2", "owner": "指挥", "due": "2h", "branches": {"甲": ["y2"], "乙": ["z2"]}},
        {"id": "y2", "title": "Y2", "owner": "公关", "due": "3h"},
        {"id": "z2", "title": "Z2", "owner": "公关", "due": "3h"},
        {"id": "n1", "title": "N1", "owner": "公关", "due": "2h", "when": {"step": "q1", "answer": "否"}},
        {"id": "last", "title": "Last", "owner": "指挥", "due": "1d", "after": ["y1"]},
    ],
}


def nested_playbook():
    playbook, problems = check_playbook_data(NESTED, "nested.yaml")
    assert not problems, problems
    return playbook


def started(playbook=None):
    state = plan_run(playbook or nested_playbook())
    return apply(state, Start("console:lead"), T0).state


def test_start_copies_steps_and_makes_due_times_absolute():
    state = started()
    assert state.status is RunStatus.ACTIVE and state.started_at == T0
    assert state.step("a").due_at == T0 + timedelta(minutes=15)
    assert state.step("last").due_at == T0 + timedelta(days=1)
    assert not invariant_violations(state)


def test_answer_rules_out_the_other_branch_recursively():
    state = started()
    state = apply(state, Answer("q1", "否", "u"), T0).state
    assert state.step("n1").status is StepStatus.OPEN
    assert {state.step(s).status for s in ("y1", "q2", "y2", "z2")} == {StepStatus.NA}
    assert not invariant_violations(state)


def test_gated_step_cannot_finish_before_its_decision():
    state = started()
    with pytest.raises(TransitionRejected) as error:
        apply(state, Done("y1", "u"), T0)
    assert error.value.code == "gated"


def test_double_done_is_rejected():
    state = apply(started(), Done("a", "u1"), T0).state
    with pytest.raises(TransitionRejected) as error:
        apply(state, Done("a", "u2"), T0)
    assert error.value.code == "step_state"
    assert "已是「完成」/ step a is already done" in str(error.value)  # words, not the stored code


def test_decision_needs_an_answer_and_valid_one():
    state = started()
    with pytest.raises(TransitionRejected):
        apply(state, Done("q1", "u"), T0)
    with pytest.raises(TransitionRejected):
        apply(state, Answer("q1", "也许", "u"), T0)


def test_an_answer_typed_with_a_full_stop_or_other_case_is_understood():
    state = apply(started(), Answer("q1", " 否。", "u"), T0).state
    assert state.step("q1").answer == "否" and state.step("n1").status is StepStatus.OPEN
    data = dict(NESTED, steps=[dict(s) for s in NESTED["steps"]])
    data["steps"][1]["branches"] = {"Yes": ["y1", "q2"], "No": ["n1"]}
    data["steps"][6]["when"] = {"step": "q1", "answer": "No"}
    playbook, problems = check_playbook_data(data, "english.yaml")
    assert not problems
    state = apply(started(playbook), Answer("q1", "ｙｅｓ", "u"), T0).state
    assert state.step("q1").answer == "Yes" and state.step("n1").status is StepStatus.NA
    assert not invariant_violations(state)


def test_skipping_a_decision_rules_out_all_its_branches():
    state = apply(started(), Skip("q1", "u", "不需要"), T0).state
    assert {state.step(s).status for s in ("y1", "q2", "y2", "z2", "n1")} == {StepStatus.NA}


def test_closed_run_accepts_only_notes():
    state = apply(started(), Resolve("u"), T0).state
    assert state.status is RunStatus.RESOLVED
    for event in (Done("a", "u"), Cancel("u", "x"), Resolve("u"), Assign("a", "v", "u")):
        with pytest.raises(TransitionRejected):
            apply(state, event, T0)
    assert apply(state, Note("补充", "u"), T0).state.status is RunStatus.RESOLVED


def test_assign_role_sets_assignee_of_its_steps():
    state = apply(started(), Assign("公关", "slack:U1", "u"), T0).state
    assert state.assignee_of(state.step("y1")) == "slack:U1"
    state = apply(state, Assign("y1", "slack:U2", "u"), T0).state
    assert state.assignee_of(state.step("y1")) == "slack:U2"
    with pytest.raises(TransitionRejected):
        apply(state, Assign("法务", "slack:U3", "u"), T0)


def test_current_steps_respect_after_and_gates():
    state = started()
    current = [s.step_id for s in state.current_steps()]
    assert current == ["a", "q1", "last"] or "y1" not in current
    state = apply(state, Answer("q1", "是", "u"), T0).state
    assert "y1" not in [s.step_id for s in state.current_steps()]  # waits for a
    state = apply(state, Done("a", "u"), T0).state
    assert "y1" in [s.step_id for s in state.current_steps()]


def _event_strategy(step_ids, answers, roles):
    ids = st.sampled_from([*step_ids, "nope"])
    users = st.sampled_from(["slack:U1", "feishu:ou_2", "console:a", ""])
    text = st.sampled_from(["原因", "", " "])
    return st.one_of(
        st.builds(Start, users),
        st.builds(Done, ids, users),
        st.builds(Skip, ids, users, text),
        st.builds(Answer, ids, st.sampled_from([*answers, "?"]), users),
        st.builds(Assign, st.one_of(ids, st.sampled_from([*roles, "路人"])), users, users),
        st.builds(Reopen, ids, users, text),
        st.builds(Note, text, users),
        st.builds(Resolve, users),
        st.builds(Cancel, users, text),
    )


def _walk(playbook, events, gaps):
    state = plan_run(playbook)
    assert not invariant_violations(state)
    now = T0
    for event, gap in zip(events, gaps, strict=False):
        now = now + timedelta(minutes=gap)
        try:
            outcome = apply(state, event, now)
        except TransitionRejected:
            continue  # a rejected command leaves the state untouched (frozen dataclasses)
        assert outcome.entries, "every accepted transition writes the timeline"
        state = outcome.state
        assert not invariant_violations(state), (event, invariant_violations(state))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_no_command_sequence_reaches_an_invalid_state(data):
    playbook = nested_playbook()
    answers = sorted({a for s in playbook.steps for a in s.branches})
    events = data.draw(
        st.lists(_event_strategy([s.id for s in playbook.steps], answers, list(playbook.roles)), max_size=40)
    )
    gaps = data.draw(st.lists(st.integers(0, 120), min_size=len(events), max_size=len(events)))
    _walk(playbook, events, gaps)


SHIPPED = load_playbooks().playbooks


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_shipped_playbooks_never_reach_an_invalid_state(data):
    playbook = data.draw(st.sampled_from(SHIPPED))
    answers = sorted({a for s in playbook.steps for a in s.branches})
    events = [Start("console:lead")] + data.draw(
        st.lists(_event_strategy([s.id for s in playbook.steps], answers, list(playbook.roles)), max_size=60)
    )
    _walk(playbook, events, [1] * len(events))


# ---- `after:` orders steps; finishing one early is allowed and noted ------------------------------


def test_a_step_finished_before_the_step_it_comes_after_is_noted_on_the_timeline():
    state = apply(started(), Answer("q1", "是", "u"), T0).state  # y1 applies; it comes after a
    assert state.is_blocked(state.step("y1"))
    outcome = apply(state, Done("y1", "u", note="已并行处理"), T0)
    assert outcome.state.step("y1").status is StepStatus.DONE
    done = [e for e in outcome.entries if e.kind == "done"]
    assert done[0].text == "Y1（提前完成，前置步骤 a 尚未完成 / finished early: a still open）"
    assert not invariant_violations(outcome.state)
    # in order, the entry is the plain title
    state = apply(apply(started(), Done("a", "u"), T0).state, Answer("q1", "是", "u"), T0).state
    assert [e.text for e in apply(state, Done("y1", "u"), T0).entries] == ["Y1"]


def test_a_skipped_or_not_applicable_prerequisite_counts_as_finished():
    state = apply(started(), Answer("q1", "是", "u"), T0).state
    state = apply(state, Skip("a", "u", "已由总部处理"), T0).state
    assert not state.is_blocked(state.step("y1"))
    assert [e.text for e in apply(state, Done("y1", "u"), T0).entries] == ["Y1"]
    # `last` comes after y1; y1 not applicable (the other answer) counts as finished too
    state = apply(started(), Answer("q1", "否", "u"), T0).state
    assert state.step("y1").status is StepStatus.NA
    assert state.open_prerequisites(state.step("last")) == []


def test_a_decision_answered_before_the_step_it_comes_after_is_noted():
    data = dict(NESTED, steps=[dict(s) for s in NESTED["steps"]])
    data["steps"][1]["after"] = ["a"]  # q1 comes after a
    playbook, problems = check_playbook_data(data, "ordered.yaml")
    assert not problems
    outcome = apply(started(playbook), Done("q1", "u", note="是"), T0)
    assert outcome.state.step("q1").answer == "是"
    assert outcome.entries[0].text == "Q1：是（提前完成，前置步骤 a 尚未完成 / finished early: a still open）"
