"""The optional English fields of a playbook for channels set to English: `question_en` (a decision's
question), `exit.rule_en`, and a template's `name_en`/`text_en`. Validated like the other English fields
(`answers_en`): the English statement may use only declared variables, an English question belongs to a step
with a question; the shipped playbooks have them all."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from bot.playbooks.machine import Start, apply, plan_run
from bot.playbooks.render import RunView, exit_hint_message
from bot.playbooks.validate import check_playbook_data, default_playbook_dir, load_playbooks

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

BASE = {
    "id": "verify",
    "name": "核实",
    "roles": {"指挥": {}},
    "variables": {"brand": {"default": "我们"}},
    "exit": {"rule": "结束", "rule_en": "Over for {brand}"},
    "steps": [
        {"id": "q", "title": "Q", "owner": "指挥", "due": "1h", "question": "属实？", "question_en": "True?",
         "branches": {"属实": ["say"], "不属实": []}},
        {"id": "say", "title": "S", "owner": "指挥", "due": "2h",
         "templates": [{"name": "声明", "name_en": "Statement", "text": "{brand}致歉", "text_en": "{brand} is sorry"}]},
    ],
}


def problems_of(data) -> list[str]:
    return [f"{p.step or ''}|{p.key}|{p.message}" for p in check_playbook_data(data, "v.yaml")[1]]


def test_the_english_fields_load_and_read_per_language():
    playbook, problems = check_playbook_data(BASE, "v.yaml")
    assert not problems
    step, say = playbook.step("q"), playbook.step("say").templates[0]
    assert (step.question_in("en"), step.question_in("zh")) == ("True?", "属实？")
    assert (playbook.exit.rule_in("en"), playbook.exit.rule_in("zh")) == ("Over for {brand}", "结束")
    assert (say.name_in("en"), say.text_in("en"), say.name_in("zh"), say.text_in("zh")) == (
        "Statement", "{brand} is sorry", "声明", "{brand}致歉")


def test_absent_or_blank_english_falls_back_to_the_chinese():
    data = copy.deepcopy(BASE)
    data["steps"][0]["question_en"] = "  "
    del data["exit"]["rule_en"]
    del data["steps"][1]["templates"][0]["text_en"]
    playbook, problems = check_playbook_data(data, "v.yaml")
    assert not problems
    assert playbook.step("q").question_in("en") == "属实？" and playbook.exit.rule_in("en") == "结束"
    assert playbook.step("say").templates[0].text_in("en") == "{brand}致歉"


@pytest.mark.parametrize(("where", "value", "expected"), [
    ("text_en", "{brnd} is sorry", "say|templates[0].text_en|模板变量 {brnd}"),
    ("text_en", "{brand is sorry", "say|templates[0].text_en|模板格式错误"),
    ("rule_en", "Over for {who}", "|exit.rule_en|模板变量 {who}"),
])
def test_an_english_text_may_use_only_declared_variables(where, value, expected):
    data = copy.deepcopy(BASE)
    if where == "rule_en":
        data["exit"]["rule_en"] = value
    else:
        data["steps"][1]["templates"][0]["text_en"] = value
    found = problems_of(data)
    assert any(p.startswith(expected) for p in found), found


def test_an_english_question_needs_the_steps_question():
    data = copy.deepcopy(BASE)
    data["steps"][1]["question_en"] = "Post it?"
    found = problems_of(data)
    assert any(p.startswith("say|question_en|") for p in found), found


def test_a_mistyped_english_key_is_refused():
    data = copy.deepcopy(BASE)
    data["steps"][0]["quesiton_en"] = "True?"
    assert any("quesiton_en" in p for p in problems_of(data))


def test_every_shipped_playbook_has_its_english_question_rule_and_statements():
    loaded = load_playbooks([default_playbook_dir()])
    assert not loaded.problems, loaded.problems
    missing = []
    for playbook in loaded.playbooks:
        if not playbook.exit.rule_en:
            missing.append(f"{playbook.id}: exit.rule_en")
        for step in playbook.steps:
            if step.question and not step.question_en:
                missing.append(f"{playbook.id}/{step.id}: question_en")
            missing += [f"{playbook.id}/{step.id}: templates[{i}]" for i, t in enumerate(step.templates)
                        if not (t.name_en and t.text_en)]
    assert not missing, missing


def test_the_exit_suggestion_says_the_english_rule_in_an_english_channel():
    playbook, _ = check_playbook_data(BASE, "v.yaml")
    state = apply(plan_run(playbook), Start("console:lead"), T0).state
    view = RunView(id=3, channel="console:lanji", title="面霜", severity=1, account="douyin:lanji_official",
                   playbook=playbook, state=state, version=1, started_by="console:lead", alert_id=None,
                   variables={}, normal_max=None, baseline_share=None, last_status_at=T0, exit_hint_at=None)
    en = exit_hint_message(view, 0.03, 0.08, timedelta(hours=2), lang="en")
    assert en.text.endswith("\nExit rule: Over for {brand}"), en.text  # shown as written, as the Chinese rule is
    zh = exit_hint_message(view, 0.03, 0.08, timedelta(hours=2))
    assert "\n退出规则：结束\n" in zh.text and "Over for" not in zh.text
