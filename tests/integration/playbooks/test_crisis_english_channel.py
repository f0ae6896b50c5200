"""A crisis run in a channel set to English (`channels: [{id, language: en}]`): the run card, its step lines,
roles and status words, reminders, the timeline, /crisis list and status, the review (its summary, file and
chart) and the handler's refusals are in English alone; the playbook's own Chinese words where it has no
English for them (a decision's answers; its exit rule and questions have `*_en`, see
test_crisis_english_playbook_texts.py) and the account's name are the only Chinese left. A channel left in Chinese
beside it reads everything as before (Chinese first, English beside it).

Real database, dispatcher, outbox and console port, driven through /crisis commands and the reminder job.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.alerts.models import AlertEpisode
from bot.messages import Message
from bot.playbooks.models import CrisisTimelineEntry
from tests.integration.playbooks.helpers import CrisisDriver

#: Chinese characters and Chinese (full-width) punctuation
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ACCOUNT = "澜肌官方旗舰店"
START = "/crisis start negative-outbreak Cream complaints --severity 1 --account douyin:lanji_official"


#: #lanji set to English, #xiaochu left Chinese (the default)
CHANNELS = [{"id": "console:lanji", "client": "lanji", "language": "en"}, {"id": "console:xiaochu", "client": "xiaochu"}]


@pytest.fixture
def two_bots(make_bot):
    return make_bot({"channels": CHANNELS})


@pytest.fixture
def en(two_bots) -> CrisisDriver:
    return CrisisDriver(two_bots, "console:lanji")


def flat(message: Message) -> str:
    parts = [message.title or "", message.text or ""]
    parts += [f"{f.label} {f.value}" for f in message.fields]
    for section in message.sections:
        parts.append(section.text or "")
        parts += [b.label for b in section.buttons]
    parts += [b.label for b in message.buttons]
    parts += [i.title or "" for i in message.images]
    parts += [f.title or "" for f in message.files]
    return "\n".join(parts)


def playbook_words(bot) -> list[str]:
    """What the playbook itself says in Chinese and an English channel shows as written: its exit rule,
    its decisions' questions and answers (the stored answer is the playbook's own word)."""
    book = bot.services.playbooks.playbooks.find("negative-outbreak")
    words = [book.exit.rule, ACCOUNT]
    for step in book.steps:
        words += [step.question or "", *step.branches]
    return sorted((w for w in words if w), key=len, reverse=True)


def own_words(bot, text: str) -> str:
    for word in playbook_words(bot):
        text = text.replace(word, "")
    return text


def assert_english(bot, text: str) -> None:
    left = own_words(bot, text)
    assert not CJK.search(left), f"Chinese in an English channel: {CJK.findall(left)}\n{text}"


def test_a_run_in_an_english_channel_reads_in_english_throughout(en, clock):
    bot = en.bot
    start = len(en.channel_messages())
    replies = en.run(START)
    assert_english(bot, "\n".join(flat(m) for m in replies))
    [card] = [m for m in en.channel_messages()[start:] if m.meta.get("crisis_run") == 1 and m.fields]
    text = flat(card)
    assert card.title == "Run #1 Cream complaints | Negative sentiment outbreak", card.title
    labels = {f.label: f.value for f in card.fields}
    assert labels["Status"] == "active" and labels["Severity"] == "SEV1 (highest)", labels
    assert labels["Account"] == f"{ACCOUNT} (Douyin)", labels
    assert "Step 1 **triage** Confirm the situation and set severity · Commander (unassigned) · due" in text, text
    assert [b.label for b in card.sections[0].buttons] == ["Done", "Skip", "Assign"]
    assert "All times in Asia/Shanghai (UTC+08:00)" in text
    assert_english(bot, text)

    # work on the run: every answer and the card's updates in English
    for command in ("/crisis assign Commander me", "/crisis done triage", "/crisis done verify yes",
                    "/crisis skip monitor covered by the agency", "/crisis note statement drafted",
                    "/crisis severity 2 calmer now", "/crisis status", "/crisis list"):
        out = en.run(command)
        assert out, command
        assert_english(bot, "\n".join(flat(m) for m in out))
    [steps] = en.run("/crisis next")  # the step in English: its title_en, and its instructions_en and checklist_en
    assert steps.title == "Run #1 next steps"
    assert steps.sections[0].text.startswith("Step 3 **pause_content** Pause scheduled posts and paid promotion · "
                                             "Ops (unassigned) · due 11-22 20:30\n"), steps.sections[0].text
    [listed] = en.run("/crisis list")
    assert listed.title == "Playbooks"
    assert "#1 Cream complaints | Negative sentiment outbreak · SEV2 ·" in flat(listed), flat(listed)
    [status] = en.run("/crisis status")
    assert "✅ Step 5 **verify** Verify the facts · Commander (alice) · due" in status.text, status.text
    assert "· done: yes" in status.text and "· skipped (covered by the agency)" in status.text, status.text

    # a reminder of the overdue steps (and the status nag), in English
    before = len(en.channel_messages())
    clock.advance(timedelta(hours=1, minutes=10))
    bot.services.playbooks.tick()
    bot.services.outbox.deliver_due()
    posted = en.channel_messages()[before:]
    reminders = [m for m in posted if (m.title or "") == "⏰ Run #1 reminder"]
    [reminder] = [m for m in reminders if "role Ops" in m.text]
    assert reminder.text.startswith("Overdue, role Ops unassigned: /crisis assign Ops @user\n"), reminder.text
    assert "Step 3 **pause_content** Pause scheduled posts and paid promotion · Ops (unassigned) · due" in reminder.text
    assert "min overdue" in reminder.text, reminder.text
    assert [b.label for b in reminder.buttons] == ["Snooze"]
    for message in posted:
        assert_english(bot, flat(message))
    [snoozed] = en.press("crisis.snooze", reminder.buttons[0].value)
    assert snoozed.text.startswith("⏰ Snoozed until "), snoozed.text

    # the timeline: stored in the Chinese-worded form the service reads back, shown in English
    [timeline] = en.run("/crisis timeline")
    assert timeline.title == "Run #1 timeline"
    lines = timeline.text.splitlines()
    assert lines[0] == "All times in Asia/Shanghai (UTC+08:00)"
    assert any(line.endswith("alice assigned: role Commander → alice") for line in lines), lines
    assert any(line.endswith("alice done triage: Confirm the situation and set severity") for line in lines), lines
    assert any(line.endswith("alice decided verify: Verify the facts: yes") for line in lines), lines
    assert any(line.endswith("alice skipped monitor: Set up monitoring and data updates (reason: covered by the "
                             "agency)") for line in lines), lines
    assert any("crisisbot reminder: role Ops (unassigned): pause_content overdue" in line for line in lines), "\n".join(lines)
    assert any(line.endswith("alice severity: lowered to SEV2 (was SEV1): calmer now") for line in lines), lines
    assert any("bob reminder: reminders snoozed for 30 min: pause_content" in line for line in lines), "\n".join(lines)
    assert_english(bot, timeline.text)
    with bot.services.db.session() as session:  # the stored entries keep the form the service parses
        stored = [e.text for e in session.exec(select(CrisisTimelineEntry)).all()]
    assert any(t.startswith("角色 运营（未指派）：") for t in stored), stored

    # the review: its chat summary, its Markdown file and the chart's title
    en.run("/crisis resolve handled")
    [review] = [m for m in en.channel_messages() if (m.title or "").startswith("Post-incident review")]
    assert review.title == "Post-incident review #1: Cream complaints", review.title
    assert "• Severity: SEV2" in review.text.splitlines(), review.text
    assert "• Status: resolved" in review.text.splitlines(), review.text
    assert any(re.fullmatch(r"• Duration: \d h \d+ min", line) for line in review.text.splitlines()), review.text
    assert_english(bot, flat(review))
    markdown = review.files[0].content.decode()
    assert markdown.startswith("# Post-incident review: Cream complaints\n"), markdown[:200]
    assert "| Step | Owner | Status | SLA | Finished | Took | Late |" in markdown
    assert "| triage Confirm the situation and set severity | Commander (alice) | done |" in markdown, markdown
    assert_english(bot, markdown)
    assert review.images[0].title == "Negative share"


def test_a_chinese_channel_beside_it_reads_as_before(two_bots, clock):
    zh = CrisisDriver(two_bots, "console:xiaochu")
    zh.run("/crisis start negative-outbreak 小厨投诉 --account bilibili:xiaochu_kitchen")
    card = zh.card(1)
    assert card.title == "预案 #1 小厨投诉｜负面舆情爆发", card.title
    assert [f.label for f in card.fields][:3] == ["状态 / Status", "严重程度 / Severity", "进度 / Progress"]
    assert "第1步 **triage** 确认事态并定级 · 指挥（未指派 / unassigned） · 截止 / due" in flat(card)
    assert [b.label for b in card.sections[0].buttons] == ["完成", "跳过", "指派"]
    [listed] = zh.run("/crisis list")
    assert listed.title == "预案 / Playbooks"
    zh.run("/crisis done triage")
    [timeline] = zh.run("/crisis timeline")
    assert timeline.title == "预案 #1 时间线 / timeline"
    assert timeline.text.splitlines()[0].startswith("时间均为 Asia/Shanghai")
    assert any(line.endswith("alice 完成 triage：确认事态并定级") for line in timeline.text.splitlines())
    clock.advance(timedelta(minutes=40))
    two_bots.services.playbooks.tick()
    two_bots.services.outbox.deliver_due()
    [reminder] = [m for m in zh.channel_messages() if "超时提醒" in (m.title or "")]
    assert reminder.title == "⏰ 预案 #1 超时提醒 / reminder"
    zh.run("/crisis resolve 已平息")
    [review] = [m for m in zh.channel_messages() if (m.title or "").startswith("复盘报告")]
    assert "• 严重程度 / Severity：一级（最高） / SEV1" in review.text.splitlines(), review.text
    assert review.files[0].content.decode().startswith("# 复盘报告：小厨投诉\n")


def test_the_handlers_refusals_and_usage_are_english_there(en):
    bot = en.bot
    en.run(START)
    for command, expected in [
        ("/crisis done nosuchstep", "No step 'nosuchstep'."),
        ("/crisis skip triage", "⚠️ Skipping triage needs a reason; it was not skipped."),
        ("/crisis frobnicate", "Bad usage: Unknown subcommand frobnicate"),
        ("/crisis start", "Bad usage: Name a playbook"),
        ("/crisis start nosuchbook", "Unknown playbook 'nosuchbook'."),
        ("/crisis assign triage tomorrow", "'tomorrow' names no person"),
        ("/crisis status --fast", "Unknown option --fast"),
        ("/crisis end", "There is no 'end'."),
        ("/crisis status #9", "No run #9 in this channel."),
        ("/crisis frobnicate", "\n\n  /crisis start PLAYBOOK [TITLE]"),  # the usage after it, in English
    ]:
        [reply] = en.run(command)
        text = flat(reply)
        assert expected in text, (command, text)
        assert_english(bot, text)
    en.run("/crisis done triage")
    [refused] = en.run("/crisis done triage")
    assert refused.text == "Step triage is already done.", refused.text
    [button] = en.press("crisis.done", "1:triage")
    assert button.text == "Step triage is already done.", button.text


def _alert(bot, key: str, account_name: str, clock) -> None:
    """An alert episode as the detector stores it, for the alert card's 启动预案 button to start a run from."""
    platform, _, rest = key.partition(":")
    now = clock.now()
    with bot.services.db.session() as session:
        session.add(AlertEpisode(
            episode_key=key, platform=platform, account_id=rest.partition("|")[0], severity="sev1",
            started_at=now, detected_at=now, updated_at=now, last_notified_at=now,
            stats={"account_name": account_name}, channels={}, history=[],
        ))


def test_a_run_started_from_an_alert_gets_an_english_title_there(en, clock):
    """The 启动预案 button words the run's title in the channel's language (bot.playbooks.service.alert_run_title);
    the service takes a title as given, so no Chinese prefix is rewritten behind the handler's back."""
    key = "douyin:lanji_official|*@20261122T1200"
    _alert(en.bot, key, ACCOUNT, clock)
    en.press("alert.playbook", key, user="console:alice")
    [view] = [run for run in en.service.active_runs() if run.alert_id == key]
    assert view.title == f"Negative comment spike: {ACCOUNT}"
    card = en.card(view.id)
    assert card.title == f"Run #{view.id} Negative comment spike: {ACCOUNT} | Negative sentiment outbreak"
    alert = {f.label: f.value for f in card.fields}["Alert"]
    assert alert == f"{ACCOUNT} (Douyin) · SEV1 explosive · from 2026-11-22 20:00", alert
    assert_english(en.bot, flat(card))
    [timeline] = en.run("/crisis timeline")
    assert f"started from alert {ACCOUNT} (Douyin) · from 2026-11-22 20:00" in timeline.text, timeline.text
    # the same press in a Chinese channel gives the Chinese title
    zh_key = "bilibili:xiaochu_kitchen|*@20261122T1200"
    _alert(en.bot, zh_key, "小厨科技官方", clock)
    CrisisDriver(en.bot, "console:xiaochu").press("alert.playbook", zh_key, user="console:alice")
    [zh] = [run for run in en.service.active_runs() if run.alert_id == zh_key]
    assert zh.title == "负面评论激增：小厨科技官方"
    # a title handed to the service stays as it was given, in an English channel too
    kept = en.service.start_run(channel="console:lanji", playbook_id="rumor", title="负面评论激增：另一个",
                                severity=2, account=None, started_by="console:alice",
                                alert_id="douyin:lanji_official|*@20261122T1300")
    assert kept.title == "负面评论激增：另一个"


def test_a_permission_refusal_is_english_there(make_bot):
    bot = make_bot({"channels": CHANNELS, "roles": {"lead": ["console:bob"]},
                    "playbooks": {"permissions": {"resolve": ["lead"]}}})
    en, zh = CrisisDriver(bot, "console:lanji"), CrisisDriver(bot, "console:xiaochu")
    en.run(START)
    [refused] = en.run("/crisis resolve")
    assert refused.text.startswith("Not allowed: Only lead (console:bob) may "), refused.text
    assert not CJK.search(refused.text), refused.text
    zh.run("/crisis start negative-outbreak --account bilibili:xiaochu_kitchen")
    [as_before] = zh.run("/crisis resolve")
    assert as_before.text.startswith("没有权限 / Not allowed：只有角色 lead"), as_before.text
