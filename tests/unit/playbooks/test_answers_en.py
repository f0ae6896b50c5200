"""`answers_en` in a playbook: English words for a decision's answers, validated and used by the machine."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from bot.playbooks.machine import Answer, Done, Start, TransitionRejected, apply, plan_run
from bot.playbooks.validate import check_playbook_data, load_playbook_file, load_playbooks

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

BASE = {
    "id": "verify",
    "name": "核实",
    "title_en": "Verify",
    "roles": {"指挥": {}},
    "exit": {"rule": "结束"},
    "steps": [
        {"id": "a", "title": "A", "owner": "指挥", "due": "15m"},
        {"id": "q", "title": "Q", "owner": "指挥", "due": "1h", "question": "属实？",
         "branches": {"属实": ["yes_step"], "不属实": ["no_step"]},
         "answers_en": {"属实": ["yes", "true"], "不属实": "no"}},
        {"id": "yes_step", "title": "Y", "owner": "指挥", "due": "2h"},
        {"id": "no_step", "title": "N", "owner": "指挥", "due": "2h"},
    ],
}


def _with(**step_q):
    data = copy.deepcopy(BASE)
    data["steps"][1].update(step_q)
    return data


def _run(data=BASE):
    playbook, problems = check_playbook_data(data, "verify.yaml")
    assert not problems, [str(p) for p in problems]
    return apply(plan_run(playbook), Start("u"), T0).state


@pytest.mark.parametrize(("typed", "stored"), [("yes", "属实"), ("TRUE", "属实"), ("ｙｅｓ。", "属实"),
                                               ("no", "不属实"), ("属实", "属实")])
def test_english_words_store_the_playbooks_answer(typed, stored):
    state = apply(_run(), Answer("q", typed, "u"), T0).state
    assert state.step("q").answer == stored


def test_done_with_text_answers_a_decision_and_notes_an_ordinary_step():
    state = apply(_run(), Done("q", "u", note="yes"), T0).state
    assert state.step("q").answer == "属实"
    outcome = apply(_run(), Done("a", "u", note="已完成，见群聊"), T0)
    assert outcome.state.step("a").status.value == "done"
    assert [e.kind for e in outcome.entries] == ["done", "note"]
    assert "已完成，见群聊" in outcome.entries[1].text and outcome.entries[1].step_id == "a"


def test_unknown_word_lists_the_english_choices():
    with pytest.raises(TransitionRejected) as caught:
        apply(_run(), Answer("q", "maybe", "u"), T0)
    assert "属实 (yes/true)" in str(caught.value) and "不属实 (no)" in str(caught.value)


@pytest.mark.parametrize(("change", "key", "words"), [
    ({"answers_en": {"也许": ["maybe"]}}, "answers_en.也许", "没有答案"),
    ({"answers_en": {"属实": ["yes"], "不属实": ["YES"]}}, "answers_en.不属实", "无法区分"),
    ({"answers_en": {"属实": ["不属实"]}}, "answers_en.属实", "无法区分"),
    ({"answers_en": {"属实": [" "]}}, "answers_en.属实", "不能为空"),
    ({"answers_en": {"属实": [True]}}, "answers_en", "加引号"),
])
def test_bad_answers_en_are_refused(change, key, words):
    _, problems = check_playbook_data(_with(**change), "verify.yaml")
    assert any(p.key == key and p.step == "q" and words in p.message for p in problems), \
        [str(p) for p in problems]


def test_answers_en_on_an_ordinary_step_is_refused():
    data = copy.deepcopy(BASE)
    data["steps"][0]["answers_en"] = {"x": ["y"]}
    _, problems = check_playbook_data(data, "verify.yaml")
    assert any(p.key == "answers_en" and p.step == "a" for p in problems)


def test_unquoted_yes_in_a_file_is_explained(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text(
        "id: v\nname: 核实\ntitle_en: V\nroles: {指挥: {}}\nexit: {rule: 结束}\nsteps:\n"
        "  - {id: q, title: Q, owner: 指挥, due: 1h, branches: {是: [], 否: []}, answers_en: {是: [yes], 否: [no]}}\n",
        encoding="utf-8",
    )
    playbook, problems = load_playbook_file(path)
    assert playbook is None and any("加引号" in p.message for p in problems)


def test_every_shipped_decision_has_english_answers():
    loaded = load_playbooks(None)
    assert not loaded.problems
    for playbook in loaded.playbooks:
        for step in playbook.steps:
            if step.branches:
                assert set(step.answers_en) == set(step.branches), (playbook.id, step.id)
