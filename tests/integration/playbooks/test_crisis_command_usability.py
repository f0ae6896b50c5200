"""/crisis as people type it in a hurry (acceptance probe): the run number anywhere, steps by title or number,
a hint for "end", names without platform prefixes, and times written in words.

Every command goes through the real dispatcher (parsing, handler, service, database, outbox).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import timedelta

from bot.messages import Command, Message
from bot.storage.models import Comment
from tests.integration.playbooks.helpers import CrisisDriver, flatten

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"


def _text(replies: list[Message]) -> str:
    return "\n".join(flatten(m) for m in replies)


def _steps(bot, run_id: int = 1):
    return bot.services.playbooks.get(run_id).state.steps


# ---- 1. #N anywhere ----------------------------------------------------------------------------------
def test_the_run_number_is_taken_wherever_it_stands(bot, run_command):
    run_command(START)
    run_command(START.replace("面霜过敏", "第二起"))  # two active runs: every step command must name one
    out = _text(run_command("/crisis done verify 属实 #2"))
    assert "属实" in out and "多个进行中" not in out, out
    service = bot.services.playbooks
    assert service.get(2).state.step("verify").answer == "属实"
    assert service.get(1).state.step("verify").answer is None

    out = _text(run_command("/crisis skip monitor #2 已有舆情监测"))  # between the step and the reason
    assert "跳过了 monitor：已有舆情监测" in out, out
    assert service.get(2).state.step("monitor").reason == "已有舆情监测"

    out = _text(run_command("/crisis note 已同步法务 ＃1"))  # full-width, at the end of a note
    assert "#1" in out and any(e.text == "已同步法务" for e in service.timeline(1) if e.kind == "note")


def test_a_quoted_run_number_stays_text_and_a_stray_one_says_how_to_keep_it(bot, run_command):
    run_command(START)
    run_command(START.replace("面霜过敏", "第二起"))
    run_command('/crisis note #2 客户说 "#1" 楼的截图已保存')
    notes = [e.text for e in bot.services.playbooks.timeline(2) if e.kind == "note"]
    assert notes == ['客户说 "#1" 楼的截图已保存'], notes
    out = _text(run_command("/crisis note #1 客户说 #9 楼的截图已保存"))  # the first #N names the run
    assert "已记录" in out and "#1" in out, out
    out = _text(run_command("/crisis note 客户说 #9 楼的截图已保存"))  # two runs, and #9 names none of them
    assert "加引号" in out and "quotes" in out and "#9" in out, out


def test_a_ticket_number_in_a_note_stays_text_and_the_last_run_number_wins(bot, run_command):
    # "#N" anywhere used to name the run: a ticket number in a note ("工单 #4521") was refused as "no run
    # #4521", and "/crisis skip verify 与 #1 重复 #2" skipped the step on run #1
    run_command(START)
    out = _text(run_command("/crisis note 工单 #4521 已处理"))  # the channel's only run
    assert "已记录" in out, out
    assert any(e.text == "工单 #4521 已处理" for e in bot.services.playbooks.timeline(1) if e.kind == "note")
    run_command(START.replace("面霜过敏", "第二起"))
    out = _text(run_command("/crisis skip verify 与 #1 重复 #2"))
    service = bot.services.playbooks
    assert service.get(2).state.step("verify").reason == "与 #1 重复", out
    assert service.get(1).state.step("verify").reason is None


# ---- 2. steps by id in any case, by number, by title ------------------------------------------------
def test_steps_are_named_by_id_in_any_case_by_number_or_by_title(bot, run_command):
    run_command(START)
    steps = _steps(bot)
    first, second, third = steps[0], steps[1], steps[2]
    card = bot.console.messages("lanji")[0]
    assert f"第1步 **{first.step_id}**" in flatten(card)  # the card shows the numbers commands accept

    assert "完成了" in _text(run_command(f"/crisis done #1 {first.step_id.upper()}"))
    assert "完成了" in _text(run_command("/crisis done 2"))
    assert "完成了" in _text(run_command("/crisis done 第三步 已建群"))
    state = bot.services.playbooks.get(1).state
    assert [state.step(s.step_id).status.value for s in (first, second, third)] == ["done"] * 3

    # titles: exact, a prefix of one title only, a part of one title only
    open_steps = [s for s in steps[3:] if not s.is_decision and s.gate is None]
    titles = [s.title for s in steps]

    def unique(part: str) -> bool:
        return sum(part in t for t in titles) == 1

    exact = open_steps[0]
    assert "完成了 " + exact.step_id in _text(run_command(f"/crisis done {exact.title}"))
    by_prefix = next(s for s in open_steps[1:] if unique(s.title[:3]) and s.title[:3] != s.title)
    assert "完成了 " + by_prefix.step_id in _text(run_command(f"/crisis done {by_prefix.title[:3]}"))
    by_part = next(s for s in open_steps if s not in (exact, by_prefix) and unique(s.title[1:4]))
    out = _text(run_command(f"/crisis assign {by_part.title[1:4]} @小王"))
    assert f"{by_part.step_id} → @小王" in out, out


def test_an_unknown_step_lists_the_steps_with_their_titles(bot, run_command):
    run_command(START)
    out = _text(run_command("/crisis done 第九十九步"))
    assert "没有步骤" in out and "No step" in out, out
    for step in _steps(bot):
        assert f"{step.step_id} {step.title}" in out, step.step_id
    out = _text(run_command("/crisis assign 不存在 @小王"))
    assert "没有步骤" in out and "角色" in out and "指挥" in out, out


# ---- 3. "end" is answered with resolve and cancel -----------------------------------------------------
def test_end_words_point_to_resolve_and_cancel_without_ending_the_run(bot, run_command):
    run_command(START)
    for word in ("end", "结束", "close", "stop", "END"):
        out = _text(run_command(f"/crisis {word}"))
        assert "未知子命令" not in out, (word, out)
        assert "/crisis 解除" in out and "/crisis 取消" in out, (word, out)
        assert "resolve" in out and "cancel" in out, (word, out)
        assert out.index("解除") < out.index("resolve"), out  # Chinese first
    assert bot.services.playbooks.get(1).state.status.value == "active"


# ---- 4. a person is shown by name, not by address -------------------------------------------------------
def test_people_are_shown_by_name_on_the_card_timeline_and_replies(bot, run_command):
    run_command(START, user="console:alice")
    out = _text(run_command("/crisis assign 指挥 console:bob", user="console:alice"))
    assert "→ bob" in out and "console:" not in out, out
    first = _steps(bot)[0].step_id
    run_command(f"/crisis assign {first} me", user="console:carol")
    card = flatten(run_command("/crisis status")[0])
    assert "11-22 20:00 · alice" in card and "（carol）" in card, card
    timeline = _text(run_command("/crisis timeline"))
    assert "alice 启动" in timeline and "→ bob" in timeline and "carol 指派" in timeline, timeline
    assert "console:" not in card + timeline
    cards = [m for m in bot.console.messages("lanji") if m.meta.get("crisis_run") == 1 and m.fields]
    assert cards and all("console:" not in flatten(m) for m in cards)


# ---- 5. the timeline's cancel line --------------------------------------------------------------------
def test_a_cancel_reads_once_on_the_timeline(bot, run_command):
    run_command(START)
    run_command("/crisis cancel 不需要了")
    timeline = _text(run_command("/crisis timeline"))
    assert "取消：不需要了" in timeline and "取消：取消" not in timeline, timeline


# ---- 6. the exit suggestion writes its time in words ------------------------------------------------
def _comments(db, start, hours, per_hour, negative_share, offset):
    counter = itertools.count(offset)
    with db.session() as session:
        for hour in range(hours):
            for i in range(per_hour):
                n = next(counter)
                at = start + timedelta(hours=hour, minutes=i * 60 / per_hour)
                session.add(Comment(platform="douyin", account_id="lanji_official", content_id="v1",
                                    comment_id=f"c{n}", text="测试评论", created_at=at, ingested_at=at,
                                    sentiment_label="neg" if i < per_hour * negative_share else "pos"))


def test_the_exit_suggestion_says_its_hold_time_in_chinese(make_bot, db, clock):
    bot = make_bot()
    t0 = clock.now()
    _comments(db, t0 - timedelta(days=3), 72, 10, 0.1, offset=0)  # baseline: 10% negative
    d = CrisisDriver(bot)
    d.run(START)
    _comments(db, t0, 2, 30, 0.6, offset=10_000)  # the outbreak
    _comments(db, t0 + timedelta(hours=2), 30, 30, 0.05, offset=20_000)  # calm for longer than any hold
    clock.advance(d.service.get(1).playbook.exit.hold + timedelta(hours=2, minutes=30))
    d.service.tick()
    bot.services.outbox.deliver_due()
    (hint,) = [m for m in d.channel_messages() if "可以考虑解除" in (m.title or "")]
    assert re.search(r"近 \d+ (分钟|小时|天)", hint.text), hint.text
    assert not re.search(r"近 \d+[dhms]", hint.text), hint.text
    assert re.search(r"for \d+ (min|h|d)\b", hint.text), hint.text


# ---- 7. small overdue times ---------------------------------------------------------------------------
def test_overdue_steps_say_just_overdue_then_whole_minutes(bot, run_command, clock):
    run_command(START)
    first = _steps(bot)[0]
    due = bot.services.playbooks.get(1).state.step(first.step_id).due_at
    clock.advance(due - clock.now() + timedelta(seconds=30))
    status = flatten(run_command("/crisis status")[0])
    line = next(x for x in status.splitlines() if f"**{first.step_id}**" in x)
    assert "刚刚超时 / just overdue" in line and "0 分" not in line and "0分" not in line, line
    clock.advance(timedelta(minutes=5))
    status = flatten(run_command("/crisis status")[0])
    line = next(x for x in status.splitlines() if f"**{first.step_id}**" in x)
    assert "超时 5 分钟 / 5 min overdue" in line, line


# ---- 8. the skip hint on Feishu ---------------------------------------------------------------------
def test_the_skip_hint_on_feishu_mentions_the_bot(bot, run_command):
    channel = "feishu:oc_ops"
    run_command("/crisis start rumor 网传停产", channel=channel, user="feishu:ou_alice")
    (reply,) = run_command("/crisis skip spread", channel=channel, user="feishu:ou_alice")
    assert "请输入：@机器人 /crisis skip spread 原因" in reply.text, reply.text
    assert "Type: @bot /crisis skip spread REASON" in reply.text, reply.text
    # in a direct chat the bot hears every message, and a typed "@机器人" would break the command
    direct = Command("feishu", "feishu:oc_dm", "feishu:ou_alice", "/crisis start rumor 网传停产",
                     reply={"chat_type": "p2p"}, event_id="dm-1")
    bot.dispatcher.handle(direct)
    (reply,) = bot.dispatcher.handle(replace(direct, text="/crisis skip spread", event_id="dm-2"))
    assert "请输入：/crisis skip spread 原因" in reply.text and "@机器人" not in reply.text, reply.text
    run_command("/crisis start rumor 网传停产")
    (reply,) = run_command("/crisis skip spread")  # the console needs no mention
    assert "@机器人" not in reply.text
