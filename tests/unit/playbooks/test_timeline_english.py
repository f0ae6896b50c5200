"""The timeline's stored texts (Chinese-worded: the service finds its links and the review its reopen reasons in
them) read in English for a channel set to English, one kind at a time; the same entries in a Chinese channel
read as before. Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.playbooks.machine import Answer, Reopen, Start, TimelineEntry, apply, plan_run
from bot.playbooks.render import RunView, exit_hint_message, nag_message, timeline_message
from bot.playbooks.review import EnglishNames, entry_text, entry_text_en
from bot.playbooks.schema import Playbook

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
KEY = "douyin:lanji_official|*@20260301T0000"


def playbook() -> Playbook:
    return Playbook.model_validate({
        "id": "p", "name": "舆情", "title_en": "Outbreak",
        "roles": {"指挥": {"en": "Commander"}, "运营": {"en": "Ops"}},
        "variables": {},
        "exit": {"rule": "回到常态"},
        "steps": [
            {"id": "a", "title": "定级", "title_en": "Set severity", "owner": "指挥", "due": "15m"},
            {"id": "q", "title": "核实", "title_en": "Verify", "owner": "指挥", "due": "1h",
             "question": "属实吗？", "branches": {"属实": ["b"], "不属实": []},
             "answers_en": {"属实": ["yes", "true"], "不属实": ["no", "false"]}},
            {"id": "b", "title": "致歉", "owner": "运营", "due": "2h"},
        ],
    })


def names():
    state = apply(plan_run(playbook()), Start("console:lead"), T0).state
    state = apply(state, Answer("q", "属实", "console:lead"), T0).state
    return state, EnglishNames(titles={"a": "Set severity", "q": "Verify"}, roles={"指挥": "Commander", "运营": "Ops"},
                               state=state)


def entry(kind: str, text: str, step: str | None = None) -> TimelineEntry:
    return TimelineEntry(T0, "console:lead", kind, text, step)


STORED = [  # (kind, stored text, step, English reading)
    ("start", "启动预案 / run started", None, ""),
    ("done", "定级", "a", "Set severity"),
    ("done", "定级（提前完成，前置步骤 x、y 尚未完成 / finished early: x, y still open）", "a",
     "Set severity (finished early: x, y still open)"),
    ("answer", "核实：属实", "q", "Verify: yes"),
    ("note", "定级：已定为一级", "a", "Set severity: 已定为一级"),  # the remark as typed
    ("note", "statement drafted", None, "statement drafted"),
    ("skip", "定级（原因：已由客服处理）", "a", "Set severity (reason: 已由客服处理)"),
    ("assign", "定级 → console:bob", "a", "Set severity → bob"),
    ("assign", "角色 运营 → console:bob", None, "role Ops → bob"),
    ("reopen", "核实（原答案：属实；原因：看错了）", "q", "Verify (was answered yes; reason: 看错了)"),
    ("reopen", "定级（原为跳过；原因：x）", "a", "Set severity (was skipped; reason: x)"),
    ("resolve", "事件解除 / resolved", None, ""),
    ("resolve", "all quiet", None, "all quiet"),
    ("cancel", "取消：误报", None, "误报"),
    ("alert", f"由告警 {KEY} 启动 / from alert", None, "started from alert douyin:lanji_official · from 2026-03-01 08:00"),
    ("alert", f"关联告警 {KEY}：sev2，负面占比 35%", None,
     "douyin:lanji_official · from 2026-03-01 08:00: SEV2 serious, negative share 35%"),
    ("alert", f"关联告警 {KEY}：sev1，小王 按下启动预案", None,
     "douyin:lanji_official · from 2026-03-01 08:00: SEV1 explosive, 小王 pressed Start playbook"),
    ("remind", "console:bob：a、q 已超时 / overdue", None, "bob: a, q overdue"),
    ("remind", "角色 运营（未指派）：b 已超时 / overdue", None, "role Ops (unassigned): b overdue"),
    ("remind", "请指挥更新进展（已 1 小时没有进展）/ status update requested (1 h without one)", None,
     "status update requested (1 h without one)"),
    ("remind", "提醒推迟 30 分钟：a、q", None, "reminders snoozed for 30 min: a, q"),
    ("exit_hint", "负面占比 3.0% 已回到常态（≤ 8.0%），建议解除", None,
     "negative share 3.0% back to normal (≤ 8.0%): consider resolving"),
    ("severity", "降级为二级（一级 → 二级）：平息 / lowered to SEV2 (was SEV1): 平息", None,
     "lowered to SEV2 (was SEV1): 平息"),
    ("escalation", "升级评论 / escalated comment douyin:c1：「过敏了」", None, "escalated comment douyin:c1: 「过敏了」"),
]


def test_every_stored_form_reads_in_english():
    _, english = names()
    for kind, text, step, expected in STORED:
        assert entry_text_en(entry(kind, text, step), [], ZONE, english) == expected, (kind, text)


def test_a_chinese_channel_reads_them_as_before():
    assert entry_text(entry("skip", "定级（原因：已由客服处理）", "a"), [], ZONE) == "定级（原因：已由客服处理）"
    assert entry_text(entry("cancel", "取消：误报"), [], ZONE) == "误报"


def view(state) -> RunView:
    return RunView(id=3, channel="console:lanji", title="面霜", severity=1, account="douyin:lanji_official",
                   playbook=playbook(), state=state, version=1, started_by="console:lead", alert_id=None,
                   variables={}, normal_max=None, baseline_share=None, last_status_at=T0, exit_hint_at=None)


def test_the_timeline_command_and_the_bots_notices_in_english():
    state, _ = names()
    reopened = apply(state, Reopen("q", "console:bob", "看错了"), T0 + timedelta(minutes=5))
    entries = [entry("start", "启动预案 / run started"), *reopened.entries]
    en = timeline_message(view(reopened.state), entries, "Asia/Shanghai", lang="en")
    assert en.title == "Run #3 timeline"
    assert en.text.splitlines() == [
        "All times in Asia/Shanghai (UTC+08:00)",
        "03-01 08:00 lead started",
        "03-01 08:05 bob reopened q: Verify (was answered yes; reason: 看错了)",
    ]
    zh = timeline_message(view(reopened.state), entries, "Asia/Shanghai")
    assert zh.title == "预案 #3 时间线 / timeline"
    assert zh.text.splitlines()[2] == "03-01 08:05 bob 重开 q：核实（原答案：属实；原因：看错了）"
    nag = nag_message(view(state), timedelta(minutes=70), "en")
    assert (nag.title, nag.text) == ("📣 Run #3 status update due", "No status update for 1 h 10 min: post one with "
                                                                     "/crisis note.")
    hint = exit_hint_message(view(state), 0.03, 0.08, timedelta(hours=2), account_name="澜肌官方旗舰店", lang="en")
    assert hint.title == "✅ Run #3: consider resolving"
    assert hint.text.startswith("The negative share of 澜肌官方旗舰店 has been 3.0% for 2 h, back within its normal "
                                "range (≤ 8.0%): consider resolving.\nExit rule: 回到常态"), hint.text
    assert [b.label for b in hint.buttons] == ["Resolve"]
