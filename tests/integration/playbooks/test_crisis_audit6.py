"""Issue 6 audit of /crisis: run numbers on resolve/cancel, --var values, full-width command words, English
role names, the snooze button. Every command goes through the real dispatcher, service and database."""

from __future__ import annotations

from tests.integration.playbooks.helpers import CrisisDriver, flatten

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"
CHANNEL = "console:lanji"


def _text(replies) -> str:
    return "\n".join(flatten(m) for m in replies)


def _status(d: CrisisDriver, run_id: int) -> str:
    return d.service.get(run_id).state.status.value


# ---- 1. a bare run number on resolve / cancel --------------------------------------------------------
def _other_channel_run_then_ours(d: CrisisDriver) -> None:
    """Run 1 in another channel (so "1" is a run number that is not this channel's), then run 2 here."""
    d.run("/crisis start rumor 网传停产", channel="console:xiaochu")
    d.run(START)
    assert [r.id for r in d.service.active_runs(CHANNEL)] == [2]


def test_resolve_with_another_channels_run_number_closes_nothing(bot):
    d = CrisisDriver(bot)
    _other_channel_run_then_ours(d)
    out = d.text("/crisis resolve 1")
    assert "本频道没有预案 #1" in out and "no run #1 in this channel" in out, out
    assert _status(d, 2) == "active" and _status(d, 1) == "active"


def test_cancel_with_another_channels_run_number_closes_nothing(bot):
    d = CrisisDriver(bot)
    _other_channel_run_then_ours(d)
    out = d.text("/crisis cancel 1 误报")
    assert "本频道没有预案 #1" in out and "加引号" in out, out  # and how to keep "1" as text
    assert _status(d, 2) == "active" and _status(d, 1) == "active"


def test_a_bare_run_number_on_resolve_and_cancel_names_that_run(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run(START.replace("面霜过敏", "第二起"))
    out = d.text("/crisis cancel 2 误报")
    assert "#2 已取消：误报" in out, out
    assert _status(d, 2) == "cancelled" and _status(d, 1) == "active"
    assert d.service.get(2).state.close_reason == "误报"
    assert "需要说明原因" in d.text("/crisis cancel 1")  # "cancel 1" is run 1, with no reason yet
    assert _status(d, 1) == "active"
    out = d.text("/crisis resolve 1")
    assert "#1 已解除" in out, out
    assert _status(d, 1) == "resolved" and d.service.get(1).state.close_reason is None


def test_hash_forms_and_text_reasons_still_work(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run(START.replace("面霜过敏", "第二起"))
    d.run(START.replace("面霜过敏", "第三起"))
    assert "#3 已取消：误报" in d.text("/crisis cancel #3 误报")
    assert "#2 已取消：重复" in d.text("/crisis cancel 重复 #2")
    out = d.text("/crisis cancel 3点前已由客服处理")  # a reason that starts with digits is text
    assert "#1 已取消：3点前已由客服处理" in out, out


def test_run_option_without_a_number_is_refused(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis cancel 误报 --run")
    assert "--run 需要编号" in out and "--run needs a number" in out, out
    assert _status(d, 1) == "active"


# ---- 2. --var values with commas ---------------------------------------------------------------------
def test_a_quoted_var_value_keeps_its_commas(bot):
    d = CrisisDriver(bot)
    out = d.text('/crisis start product-complaint 面霜过敏 --var brand="澜肌, 官方旗舰店",product=修护面霜 第一批')
    assert "已启动" in out, out
    view = d.service.get(1)
    assert view.variables == {"brand": "澜肌, 官方旗舰店", "product": "修护面霜"}
    assert view.title == "面霜过敏 第一批"  # the words of the quoted value are not part of the title
    d.run("/crisis cancel 演练")
    d.run("/crisis start product-complaint 面霜过敏 --var brand=“澜肌，官方” --var product=「面霜, 乳液」")
    assert d.service.get(2).variables == {"brand": "澜肌，官方", "product": "面霜, 乳液"}
    text = _text(d.run("/crisis next"))
    assert "我是澜肌，官方的客服" in text and "面霜, 乳液问题" in text, text


def test_unquoted_var_pairs_still_split_on_commas(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start product-complaint 面霜过敏 --var brand=澜肌,product=面霜 --var contact_channel=私信")
    assert d.service.get(1).variables == {"brand": "澜肌", "product": "面霜", "contact_channel": "私信"}


# ---- 3. an empty --var value -------------------------------------------------------------------------
def test_an_empty_var_value_is_refused(bot):
    d = CrisisDriver(bot)
    for line in ("/crisis start product-complaint 面霜过敏 --var brand=",
                 '/crisis start product-complaint 面霜过敏 --var brand="" --var product=面霜'):
        out = d.text(line)
        assert "brand" in out and "值为空" in out and "empty value" in out, out
        assert d.service.active_runs(CHANNEL) == []


def test_an_unset_or_blank_variable_shows_as_to_fill(bot):
    from dataclasses import replace

    from bot.playbooks.render import render_template

    d = CrisisDriver(bot)
    d.run("/crisis start product-complaint 面霜过敏")  # remedy_detail has no default
    view = d.service.get(1)
    assert render_template("我们为您安排：{remedy_detail}", view, "UTC") == "我们为您安排：【待填：remedy_detail】"
    # a blank value is never printed as a blank: a run stored before empty values were refused keeps the
    # playbook's default, a run without an account says what to fill in
    blank = replace(view, variables={"brand": " ", "product": ""}, account=None)
    assert render_template("我是{brand}的客服，{product}（{account}）", blank, "UTC") == (
        "我是我们的客服，相关产品（【待填：account】）")
    no_default = replace(view, variables={"remedy_detail": "  "})
    assert render_template("{remedy_detail}", no_default, "UTC") == "【待填：remedy_detail】"


# ---- 4. full-width letters in the command, the subcommand and the playbook ---------------------------
def test_full_width_command_subcommand_and_playbook_names(bot):
    d = CrisisDriver(bot)
    assert "已启动" in d.text("/crisis start ｒｕｍｏｒ 网传停产")
    assert d.service.get(1).playbook.id == "rumor"
    assert "已启动" in d.text("/crisis start 产品／服务质量投诉 面霜过敏")
    assert d.service.get(2).playbook.id == "product-complaint"
    d.run("/crisis cancel #2 演练")
    assert "网传停产" in d.text("／ｃｒｉｓｉｓ status")
    out = d.text("/crisis ｄｏｎｅ capture")
    assert "完成了 capture" in out, out
    assert d.service.get(1).state.step("capture").status.value == "done"
    # a full-width subcommand takes that subcommand's options: --severity in a note stays text
    d.run("/crisis ｎｏｔｅ 先别 --severity 3 回复")
    assert [e.text for e in d.service.timeline(1) if e.kind == "note"] == ["先别 --severity 3 回复"]


# ---- 5. English role names in assign -----------------------------------------------------------------
def test_assign_takes_a_roles_english_name_in_any_case(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis assign commander @carol")
    assert "指挥 → " in out and "carol" in out, out
    assert d.service.get(1).state.role_assignees["指挥"] == "@carol"
    d.run("/crisis assign COMMS @dave")
    assert d.service.get(1).state.role_assignees["公关"] == "@dave"
    out = d.text("/crisis assign janitor @erin")  # unknown: the refusal names the roles both ways
    assert "指挥 Commander" in out, out


# ---- 6. the snooze button ----------------------------------------------------------------------------
def _remind_entries(d: CrisisDriver, run_id: int) -> list[str]:
    return [e.text for e in d.service.timeline(run_id) if e.kind == "remind"]


def _snoozed(bot, run_id: int) -> dict[str, object]:
    from sqlmodel import select

    from bot.playbooks.models import CrisisStep

    with bot.services.db.session() as session:
        rows = session.exec(select(CrisisStep).where(CrisisStep.run_id == run_id)).all()
        return {r.step_id: r.snoozed_until for r in rows if r.snoozed_until is not None}


def test_snooze_is_refused_on_a_closed_run_an_unknown_or_finished_step(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done triage")
    for value, words in (("1:nope", "没有步骤 nope"), ("1:triage", "已完成"), ("1:", "没有指明步骤")):
        out = _text(d.press("crisis.snooze", value))
        assert words in out and "提醒已推迟" not in out, (value, out)
    assert _remind_entries(d, 1) == [] and _snoozed(bot, 1) == {}
    # of a reminder's group, a step finished since it was sent is left out
    assert "提醒已推迟" in _text(d.press("crisis.snooze", "1:triage,monitor"))
    assert set(_snoozed(bot, 1)) == {"monitor"}
    d.run("/crisis cancel 误报")
    out = _text(d.press("crisis.snooze", "1:verify"))
    assert "已取消" in out and "提醒已推迟" not in out, out
    assert len(_remind_entries(d, 1)) == 1 and set(_snoozed(bot, 1)) == {"monitor"}


def test_a_button_without_a_step_says_so(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = _text(d.press("crisis.done", "1"))
    assert "没有指明步骤" in out and "/crisis done" in out and "no step ''" not in out, out


# ---- lesser findings ---------------------------------------------------------------------------------
def test_assigning_two_people_to_one_step_assigns_no_one_and_says_why(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis assign holding_statement @小王 @小李")
    assert "只能指派一人" in out and "小李" in out and "one owner" in out, out
    assert d.service.get(1).state.step("holding_statement").assignee is None
    assert [e for e in d.service.timeline(1) if e.kind == "assign"] == []


def test_a_full_width_at_sign_is_a_mention(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis assign holding_statement ＠小王")
    assert d.service.get(1).state.step("holding_statement").assignee == "@小王"


def test_yes_no_in_chinese_answer_a_decision_that_takes_yes_no(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done triage")
    out = d.text("/crisis done verify 是")
    assert "verify：属实" in out, out
    assert d.service.get(1).state.step("verify").answer == "属实"
    d.run("/crisis start rumor 网传停产")  # its decision takes no yes/no, so no 是/否 either
    out = d.text("/crisis done fact_check 否 #2")
    assert "可选答案" in out and d.service.get(2).state.step("fact_check").answer is None, out


def test_an_unknown_playbook_lists_the_playbooks_not_the_whole_usage(bot):
    d = CrisisDriver(bot)
    out = d.text("/crisis start 不存在的预案 标题")
    assert "没有预案" in out and "rumor" in out and "unknown playbook" in out, out
    assert "/crisis timeline" not in out  # the 18-line usage is not appended
