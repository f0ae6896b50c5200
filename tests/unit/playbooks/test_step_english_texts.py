"""A step's English instructions and checklist (`instructions_en`, `checklist_en`) for channels set to English.

`checklist_en` pairs with `checklist` by position, so one of another length is refused, naming the file, the
step and both counts; the accessors fall back to the Chinese where the English is missing or blank. The shipped
playbooks have English for every step's instructions and checklist.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime

from typer.testing import CliRunner

from bot.playbooks.cli import app
from bot.playbooks.machine import Start, apply, plan_run
from bot.playbooks.render import RunView, next_message
from bot.playbooks.validate import check_playbook_data, default_playbook_dir, load_playbooks

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

BASE = {
    "id": "steps-en",
    "name": "步骤英文",
    "roles": {"指挥": {"en": "Commander"}},
    "variables": {"brand": {"default": "我们", "default_en": "our team"}},
    "steps": [
        {"id": "call", "title": "联系", "title_en": "Call", "owner": "指挥", "due": "1h",
         "instructions": "请{brand}联系投诉人。", "instructions_en": "{brand} calls the customer.",
         "checklist": ["已联系", "{brand}已登记", "已回访"],
         "checklist_en": ["Contacted", "{brand} logged it", "  "]},
    ],
}


def problems_of(data) -> list[str]:
    return [str(p) for p in check_playbook_data(data, "steps-en.yaml")[1]]


def test_the_english_instructions_and_checklist_read_per_language():
    playbook, problems = check_playbook_data(BASE, "steps-en.yaml")
    assert not problems
    step = playbook.step("call")
    assert step.instructions_in("en") == "{brand} calls the customer."
    assert step.instructions_in("zh") == "请{brand}联系投诉人。"
    # a blank English item shows its Chinese item; the list keeps the playbook's own order and length
    assert step.checklist_in("en") == ["Contacted", "{brand} logged it", "已回访"]
    assert step.checklist_in("zh") == ["已联系", "{brand}已登记", "已回访"]


def test_without_english_the_chinese_shows_in_an_english_channel():
    data = copy.deepcopy(BASE)
    del data["steps"][0]["instructions_en"], data["steps"][0]["checklist_en"]
    playbook, problems = check_playbook_data(data, "steps-en.yaml")
    assert not problems
    step = playbook.step("call")
    assert step.instructions_in("en") == "请{brand}联系投诉人。"
    assert step.checklist_in("en") == ["已联系", "{brand}已登记", "已回访"]


def test_next_steps_fill_the_english_words_with_the_english_defaults():
    playbook, _ = check_playbook_data(BASE, "steps-en.yaml")
    state = apply(plan_run(playbook), Start("console:lead"), T0).state
    view = RunView(id=4, channel="console:lanji", title="面霜", severity=2, account=None, playbook=playbook,
                   state=state, version=1, started_by="console:lead", alert_id=None, variables={},
                   normal_max=None, baseline_share=None, last_status_at=T0, exit_hint_at=None)
    [en] = next_message(view, T0, "Asia/Shanghai", lang="en").sections
    assert en.text.split("\n")[1:] == ["Our team calls the customer.", "☐ Contacted", "☐ Our team logged it",
                                       "☐ 已回访"], en.text
    [zh] = next_message(view, T0, "Asia/Shanghai").sections
    assert zh.text.split("\n")[1:] == ["请我们联系投诉人。", "☐ 已联系", "☐ 我们已登记", "☐ 已回访"], zh.text


def test_a_checklist_en_of_another_length_is_refused_naming_file_step_and_counts():
    for english in (["Contacted", "Logged"], ["Contacted", "Logged", "Followed up", "Extra"]):
        data = copy.deepcopy(BASE)
        data["steps"][0]["checklist_en"] = english
        found = [p for p in problems_of(data) if "checklist_en" in p]
        assert found == [
            f"steps-en.yaml: 步骤/step call · checklist_en: checklist_en 有 {len(english)} 项，checklist 有 3 项，"
            f"应逐项对应 / checklist_en has {len(english)} items but checklist has 3: give one English item for "
            "each item, in the same order"], found


def test_a_checklist_en_without_a_checklist_is_refused():
    data = copy.deepcopy(BASE)
    data["steps"][0]["checklist"] = []
    assert any("checklist_en has 3 items but checklist has 0" in p for p in problems_of(data))


def test_the_validate_command_refuses_a_mismatched_checklist_en(tmp_path):
    path = tmp_path / "mismatch.yaml"
    path.write_text(
        "id: mismatch\nname: 不匹配\nroles: {指挥: {en: Commander}}\nsteps:\n"
        "  - id: a\n    title: 第一步\n    owner: 指挥\n    due: 30m\n"
        "    checklist: [已联系, 已登记]\n    checklist_en: [Contacted]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "步骤/step a · checklist_en: checklist_en 有 1 项，checklist 有 2 项" in result.output, result.output


def test_english_instructions_need_instructions_and_declared_variables():
    data = copy.deepcopy(BASE)
    data["steps"][0]["instructions"] = ""
    assert any("instructions_en: 只有写了 instructions" in p for p in problems_of(data))
    data = copy.deepcopy(BASE)
    data["steps"][0]["instructions_en"] = "{brnd} calls"
    data["steps"][0]["checklist_en"][1] = "{brand logged"
    found = problems_of(data)
    assert any("· instructions_en: 模板变量 {brnd}" in p for p in found), found
    assert any("· checklist_en[1]: 模板格式错误" in p for p in found), found


def test_a_mistyped_english_key_is_refused():
    data = copy.deepcopy(BASE)
    data["steps"][0]["checklist_eng"] = data["steps"][0].pop("checklist_en")
    assert any("checklist_eng" in p for p in problems_of(data))


CHINESE = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]")


def test_every_shipped_step_has_english_instructions_and_checklist():
    loaded = load_playbooks([default_playbook_dir()])
    assert not loaded.problems, loaded.problems
    missing = []
    for playbook in loaded.playbooks:
        for step in playbook.steps:
            where = f"{playbook.id}/{step.id}"
            if not step.instructions_en.strip() or CHINESE.search(step.instructions_en):
                missing.append(f"{where}: instructions_en")
            english = step.checklist_en
            if len(english) != len(step.checklist) or any(not i.strip() or CHINESE.search(i) for i in english):
                missing.append(f"{where}: checklist_en")
    assert not missing, missing
