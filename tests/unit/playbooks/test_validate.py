"""Playbook validation: each rule has a failing fixture; all problems are reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.playbooks.cli import app
from bot.playbooks.schema import format_duration, parse_duration
from bot.playbooks.validate import default_playbook_dir, load_playbook_file, load_playbooks

FIXTURES = Path(__file__).parent / "fixtures"

# fixture -> (step named in the error, key named in the error)
RULES = {
    "no_steps.yaml": (None, "steps"),
    "step_without_owner.yaml": ("a", "owner"),
    "step_without_due.yaml": ("a", "due"),
    "undeclared_role.yaml": ("a", "owner"),
    "branch_to_missing_step.yaml": ("q", "branches.否"),
    "condition_to_missing_step.yaml": ("apology", "when.step"),
    "cycle.yaml": (None, "after/branches/when"),
    "duplicate_step_ids.yaml": ("a", "id"),
    "template_variable_not_provided.yaml": ("a", "templates[0].text"),
    "step_in_two_branches.yaml": ("notify", "branches"),
    "when_against_branch.yaml": ("apology", "when"),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_rule_rejects_its_fixture(name):
    playbook, problems = load_playbook_file(FIXTURES / name)
    assert playbook is None
    step, key = RULES[name]
    matching = [p for p in problems if p.key == key and (step is None or p.step == step)]
    assert matching, [str(p) for p in problems]
    assert all(name in str(p) for p in problems)  # the file is named


def test_cycle_names_the_steps():
    _, problems = load_playbook_file(FIXTURES / "cycle.yaml")
    assert any("a" in p.message and "b" in p.message and "c" in p.message for p in problems)


def test_template_problem_names_the_variable():
    _, problems = load_playbook_file(FIXTURES / "template_variable_not_provided.yaml")
    assert any("{product}" in p.message for p in problems)
    assert not any("{brand}" in p.message for p in problems)


def test_all_problems_are_reported_at_once():
    _, problems = load_playbook_file(FIXTURES / "many_problems.yaml")
    keys = {(p.step, p.key) for p in problems}
    assert ("a", "owner") in keys and ("a", "due") in keys  # step a lacks both
    assert ("a", "id") in keys  # duplicate
    assert ("a", "due") in keys or ("a", "due") in keys
    assert ("c", "after") in keys and ("c", "templates[0].text") in keys
    assert any(p.key == "due" and "soon" in p.message for p in problems)  # unparsable duration
    assert len(problems) >= 6


def test_shipped_playbooks_are_valid_and_complete():
    result = load_playbooks()
    assert result.ok, [str(p) for p in result.problems]
    ids = {p.id for p in result.playbooks}
    assert {"negative-outbreak", "product-complaint", "account-penalty", "rumor", "comment-pileon"} <= ids
    names = {p.name for p in result.playbooks}
    assert {
        "负面舆情爆发",
        "产品/服务质量投诉",
        "账号限流或违规处罚",
        "不实信息/谣言",
        "评论区冲突/网暴",
    } <= names
    for playbook in result.playbooks:
        assert {"指挥", "公关", "客服", "法务", "运营"} <= set(playbook.roles)
        assert playbook.title_en and playbook.exit.rule
        assert any(s.branches for s in playbook.steps), playbook.id  # a decision
        assert any(s.when for s in playbook.steps), playbook.id  # conditional steps
        assert any(s.templates for s in playbook.steps), playbook.id  # response statements
        assert all(s.checklist and s.instructions for s in playbook.steps), playbook.id


def test_find_by_id_chinese_name_or_english_title():
    result = load_playbooks()
    assert result.find("负面舆情爆发").id == "negative-outbreak"
    assert result.find("rumour or false claim").id == "rumor"
    assert result.find("nope") is None


def test_duration_round_trip():
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration(15).total_seconds() == 900
    assert format_duration(parse_duration("2d")) == "2d"
    with pytest.raises(ValueError):
        parse_duration("15 minutes")


def test_cli_exit_codes():
    runner = CliRunner()
    ok = runner.invoke(app, ["validate"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["validate", str(FIXTURES / "cycle.yaml"), str(default_playbook_dir())])
    assert bad.exit_code == 2
    assert "cycle.yaml" in bad.output
    folder = runner.invoke(app, ["validate", str(FIXTURES)])
    assert folder.exit_code == 2
    missing = runner.invoke(app, ["validate", str(FIXTURES / "nope.yaml")])
    assert missing.exit_code == 2


def test_cli_default_is_the_configured_folder(tmp_path):
    config = tmp_path / "crisisbot.yaml"
    config.write_text(f"playbooks:\n  directory: {FIXTURES}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate"], env={"CRISISBOT_CONFIG": str(config)})
    assert result.exit_code == 2 and "no_steps.yaml" in result.output


def test_a_minimal_playbook_needs_no_english_title_and_no_exit_rule(tmp_path):
    # issue #6 names what validation rejects; title_en and exit are not among them (the shipped five have both)
    path = tmp_path / "minimal.yaml"
    path.write_text("id: minimal\nname: 最小预案\nroles:\n  指挥: {en: Commander}\n"
                    "steps:\n  - {id: a, title: 第一步, owner: 指挥, due: 30m}\n", encoding="utf-8")
    playbook, problems = load_playbook_file(path)
    assert problems == [] and playbook is not None
    assert playbook.title_en == "最小预案" and playbook.matches("最小预案")
    assert playbook.exit.rule.startswith("负面占比回到常态") and playbook.exit.hold.total_seconds() == 7200
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
