"""`/crisis reopen STEP 原因` (重开, 重新打开) through the real dispatcher, service and database (SQLite and
PostgreSQL): a step done, answered or skipped by mistake is taken back and finished again; the timeline
keeps the earlier answer and says who reopened it, when and why; the step is reminded again as a fresh open step, never for a closed run; a restart loses nothing;
`playbooks.permissions.reopen` restricts who may."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.playbooks import test_reminders_outage_audit12 as outage
from tests.integration.playbooks.helpers import CrisisDriver, flatten

# the outage tests' fixtures: the local fake Slack and bots with Slack on
fake_slack = outage.fake_slack
slack_bots = outage.slack_bots

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"


def _tick(d: CrisisDriver) -> list:
    before = len(d.channel_messages())
    d.service.tick()
    d.bot.services.outbox.deliver_due()
    return d.channel_messages()[before:]


def _reminders(messages) -> str:
    return "\n".join(m.text for m in messages if "超时提醒" in (m.title or ""))


def test_a_decision_answered_by_mistake_is_reopened_and_answered_again(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done triage")
    d.run("/crisis assign verify @小王")
    d.run("/crisis done verify 属实")
    assert d.service.get(1).state.step("apology").status.value == "open"  # the 属实 branch applies

    out = d.text("/crisis reopen verify 核实结论有误，截图是伪造的", user="console:bob")
    assert out.startswith("↩️ bob 重开了 verify：核实结论有误，截图是伪造的 / reopened verify"), out
    assert "/crisis answer verify 答案" in out and "属实 (yes/true)" in out, out
    step = d.service.get(1).state.step("verify")
    assert step.status.value == "open" and step.answer is None and step.assignee == "@小王"
    assert "**verify**" in flatten(d.card(1))  # back among the card's current steps, with its answer buttons

    assert "verify：不属实" in d.text("/crisis answer verify 不属实")
    state = d.service.get(1).state
    assert state.step("verify").answer == "不属实"
    assert state.step("apology").status.value == "na" and state.step("evidence").status.value == "open"

    timeline = d.text("/crisis timeline")
    lines = timeline.splitlines()
    answered = next(i for i, line in enumerate(lines) if "判断 verify：核实事实：属实" in line)
    reopened = next(i for i, line in enumerate(lines) if " bob 重开 verify：" in line)
    again = next(i for i, line in enumerate(lines) if "判断 verify：核实事实：不属实" in line)
    assert answered < reopened < again, timeline  # the earlier answer stays, as history
    assert "原答案：属实；原因：核实结论有误，截图是伪造的" in lines[reopened]
    # the review's rendering of it: tests/unit/playbooks/test_review_reopen.py (a chart per report costs seconds)


def test_a_done_or_skipped_step_is_reopened_with_the_chinese_words_too(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done triage")
    d.run("/crisis skip monitor 已有舆情监测")
    out = d.text("/crisis 重开 triage 还没定级")
    assert "重开了 triage：还没定级" in out and "/crisis done triage" in out, out
    out = d.text("/crisis 重新打开 第2步 监测其实没建")  # a step by its number, as elsewhere
    assert "重开了 monitor" in out, out
    state = d.service.get(1).state
    assert state.step("triage").status.value == "open" and state.step("monitor").reason is None
    # holding_statement comes after triage: open, it waits for triage again
    assert "等待前置步骤" in next(line for line in d.text("/crisis status").splitlines() if "holding_statement" in line)


def test_what_cannot_be_reopened_is_refused_in_chinese_first(bot):
    d = CrisisDriver(bot)
    d.run(START)
    (reply,) = d.run("/crisis reopen triage 误点")
    assert reply.ephemeral and reply.text.startswith("步骤 triage 尚未完成（待办），无需重开 / step triage is still open")
    out = d.text("/crisis reopen 第九十九步 误点")
    assert out.startswith("没有步骤「第九十九步」") and "No step" in out and "triage 确认事态并定级" in out, out
    d.run("/crisis done triage")
    for blank in ("/crisis reopen triage", "/crisis reopen triage \u200b\u3000", '/crisis reopen triage ""'):
        (reply,) = d.run(blank)
        assert reply.ephemeral and reply.text.startswith("⚠️ 重开步骤 triage 需要说明原因，未重开。"), reply.text
        assert "/crisis reopen triage 原因" in reply.text and "Reopening triage needs a reason" in reply.text
    assert d.service.get(1).state.step("triage").status.value == "done"
    d.run("/crisis done verify 不属实")
    out = d.text("/crisis reopen apology 误点")  # the branch verify left out
    assert out.startswith("步骤 apology 不适用（判断 verify 没有选它所在的分支），不能重开；要改判断请重开 verify / "), out
    out = d.text("/crisis reopen")
    # the error names the form to type; the whole usage under it would bury it, a pointer says where it is
    assert "重开需要步骤和原因：/crisis reopen 步骤 原因" in out and "输入 /crisis help 查看完整用法" in out, out
    assert "/crisis reopen|重开 步骤 原因" not in out, out
    d.run("/crisis resolve 平息")
    (reply,) = d.run("/crisis reopen triage 还没完 #1")
    assert reply.ephemeral and reply.text.startswith("预案处于「已解除」状态，不能重开步骤 / the run is resolved")
    assert d.service.get(1).state.step("triage").status.value == "done"


def test_the_help_and_the_unknown_subcommand_answer_name_reopen(bot):
    d = CrisisDriver(bot)
    for command in ("/crisis help", "/crisis 帮助", "/crisis --help", "/help crisis"):
        out = d.text(command)
        assert "/crisis reopen|重开 步骤 原因" in out and "不撤销" in out and "not undone" in out, (command, out)
        assert "未知子命令" not in out, (command, out)
    out = d.text("/crisis reopne triage 误点")
    assert "是不是要输入 /crisis reopen？/ did you mean /crisis reopen?" in out, out


def test_a_reopened_step_is_reminded_as_a_fresh_open_step(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    clock.advance(timedelta(minutes=16))  # triage (15m) is late
    assert "**triage**" in _reminders(_tick(d))
    d.press("crisis.snooze", "1:triage")  # snoozed for 30 minutes ...
    d.run("/crisis done triage")
    clock.advance(timedelta(minutes=2))
    d.run("/crisis reopen triage 定级还要和法务确认")
    clock.advance(timedelta(minutes=1))
    # ... yet reopened, it is reminded at the next round: neither that snooze nor the reminder before it counts
    assert "**triage**" in _reminders(_tick(d))
    clock.advance(timedelta(minutes=5))
    assert "triage" not in _reminders(_tick(d))  # then every remind_every_minutes, as any step
    timeline = [e for e in d.service.timeline(1) if e.kind == "remind" and e.actor == "crisisbot" and "triage" in e.text]
    assert len(timeline) == 2


def test_a_step_reopened_and_then_the_run_closed_is_never_reminded(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done triage")
    d.run("/crisis reopen triage 误点")
    d.run("/crisis cancel 误报")
    clock.advance(timedelta(hours=3))
    assert _reminders(_tick(d)) == ""


def test_a_reopen_survives_a_restart(make_bot, clock):
    d = CrisisDriver(make_bot())
    d.run(START)
    d.run("/crisis done triage")
    d.run("/crisis reopen triage 误点")
    d.bot.stop()
    again = CrisisDriver(make_bot())  # a new process on the same database
    assert again.service.get(1).state.step("triage").status.value == "open"
    assert any(e.kind == "reopen" and e.step_id == "triage" for e in again.service.timeline(1))
    clock.advance(timedelta(minutes=16))
    assert "**triage**" in _reminders(_tick(again))
    assert "完成了 triage" in again.text("/crisis done triage")


def test_reopening_takes_its_permission(make_bot):
    d = CrisisDriver(make_bot({"roles": {"commander": ["console:boss"]},
                               "playbooks": {"permissions": {"reopen": ["commander"]}}}))
    d.run(START)
    d.run("/crisis done triage")
    (reply,) = d.run("/crisis reopen triage 误点", user="console:alice")
    assert reply.ephemeral and "没有权限" in reply.text, reply.text
    assert ("只有角色 commander（console:boss）可以重开步骤（playbooks.permissions.reopen）/ only commander "
            "(console:boss) may reopen a finished step (playbooks.permissions.reopen)") in reply.text, reply.text
    assert d.service.get(1).state.step("triage").status.value == "done"
    assert "重开了 triage" in d.text("/crisis reopen triage 误点", user="console:boss")


# ---- a step waiting again drops out of a reminder still waiting in the outbox (a chat outage) -------------


def test_a_step_waiting_again_leaves_the_reminder_still_in_the_outbox(slack_bots, fake_slack, clock):
    bot = slack_bots()
    outage.command(bot, "/crisis start 负面舆情爆发 面霜过敏 --severity 1")
    outage.command(bot, "/crisis assign 公关 <@UPR|pr>")
    outage.command(bot, "/crisis done triage")
    fake_slack.down = True
    clock.advance(timedelta(minutes=61))  # holding_statement (1h, after triage) is late: pr's reminder waits
    outage.tick(bot)
    outage.command(bot, "/crisis reopen triage 定级有误")  # holding_statement waits for triage again
    fake_slack.down = False
    clock.advance(timedelta(minutes=6))  # past the outbox's longest backoff
    bot.services.outbox.drain()
    reminders = [c.args.get("text") or "" for c in outage.posts(fake_slack, "超时提醒")]
    assert reminders and not any("holding_statement" in text for text in reminders), reminders
    assert not any("<@UPR>" in text for text in reminders), reminders  # nothing else of pr's was late
