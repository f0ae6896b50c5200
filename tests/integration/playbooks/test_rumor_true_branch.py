"""The rumour playbook when the claim turns out true: its decision had only 不实 and 部分属实, so a team
whose check found the claim accurate had no answer to give and no steps to follow (辟谣 would make it
worse). 属实 now leads to an apology and a fix, and the other branches drop out."""

from __future__ import annotations

from tests.integration.playbooks.helpers import CrisisDriver, flatten

NOT_APPLICABLE = {"refute", "platform_report", "legal_action", "partial_statement", "fix_issue"}


def _statuses(d: CrisisDriver, run_id: int) -> dict[str, str]:
    return {s.step_id: s.status.value for s in d.service.get(run_id).state.steps}


def test_a_true_claim_leads_to_apology_and_fix_not_rebuttal(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start rumor 网传原料过期 --var rumor_summary=门店使用过期原料")
    d.run("/crisis done capture")
    out = d.text("/crisis done fact_check 属实")
    assert "fact_check：属实" in out, out
    statuses = _statuses(d, 1)
    assert {k: v for k, v in statuses.items() if k in NOT_APPLICABLE} == dict.fromkeys(NOT_APPLICABLE, "na")
    assert statuses["apology"] == "open" and statuses["rectify"] == "open"
    card = flatten(d.card(1))
    assert "承认并致歉" in card and "发布辟谣声明" not in card.split("不适用")[0]
    # the statement is filled with the run's variables and the default for what was done
    following = d.text("/crisis next")
    assert "关于网传“门店使用过期原料”，经核实情况属实，我们诚恳道歉。目前我们已暂停相关业务并启动内部调查" in following, following


def test_true_is_an_english_answer(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start rumor 网传停产")
    d.run("/crisis done capture")
    d.run("/crisis done fact_check true")
    assert d.service.get(1).state.step("fact_check").answer == "属实"
    assert _statuses(d, 1)["apology"] == "open"
