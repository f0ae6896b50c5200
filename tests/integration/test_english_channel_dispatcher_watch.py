"""The dispatcher's own answers, `/watch` and the alert card's buttons in a channel set to English: English
alone there (they were Chinese first with English); a Chinese channel reads them exactly as before.

- the dispatcher: an unknown command and its "did you mean", an unknown button, an internal error, a command
  line it cannot parse, a usage error of a button, and the "restarted / not run" notices of the journal;
- `/watch add`, `remove`, `list` and `surge` (the config's terms and surges included);
- 确认 / 静默 / 误报 / 启动预案 on an alert card, the "unchanged" answers and "alert not found".

Real database, dispatcher and console port, as tests/integration/test_english_channel_replies.py.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.alerts.models import AlertEpisode
from bot.config import parse_config
from bot.messages import Command
from bot.storage.models import InboundItem, OutboxMessage, ProcessedEvent
from tests.integration.test_english_channel_replies import (  # noqa: F401 - app_config is a fixture
    CJK,
    EN,
    ZH,
    _config,
    _one,
    app_config,
)

LANJI_EN = "澜肌官方旗舰店 (Douyin)"  # an account's own name stays Chinese in any language


def _english(text: str, *names: str) -> str:
    """`text`, checked to hold no Chinese once the names it quotes are taken out."""
    own = text
    for name in sorted(("澜肌官方旗舰店", "澜肌护肤", *names), key=len, reverse=True):
        own = own.replace(name, "")
    assert not CJK.search(own), text
    return text


# ---- 1. the dispatcher's own answers --------------------------------------------------------------------
def test_an_unknown_command_and_its_suggestion_are_english_alone_in_an_english_channel(bot, run_command):
    reply = _one(run_command("/crisi status", channel=EN))
    assert reply.text == "Unknown command /crisi. Type /help for commands.\nDid you mean /crisis?"
    assert _one(run_command("/nothinglikeit", channel=EN)).text == (
        "Unknown command /nothinglikeit. Type /help for commands.")


def test_an_unknown_command_in_a_chinese_channel_reads_as_before(bot, run_command):
    assert _one(run_command("/crisi status", channel=ZH)).text == (
        "未知命令 /crisi。输入 /help 查看可用命令。\nUnknown command /crisi. Type /help for commands.\n"
        "是不是要输入 /crisis？\nDid you mean /crisis?")


def test_an_unknown_button_is_english_alone_in_the_english_channel_it_was_pressed_in(bot, press_button):
    assert _one(press_button("nosuch.button", channel=EN)).text == "Unknown button nosuch.button."
    assert _one(press_button("nosuch.button", channel=ZH)).text == "未知按钮 nosuch.button。\nUnknown button nosuch.button."


def test_an_internal_error_is_english_alone_in_an_english_channel(bot, run_command):
    def broken(ctx, parsed):
        raise RuntimeError("a bug")

    # a command of the test's own: the bot's commands have no bug to trigger on purpose
    bot.services.registry.add_command("broken", broken, summary_zh="坏的", summary_en="broken", usage="  /broken")
    en = _one(run_command("/broken", channel=EN)).text
    assert re.fullmatch(r"Something went wrong handling the command; it is logged\. Please retry \(ref [0-9a-f]{8}\)\.",
                        en), en
    zh = _one(run_command("/broken", channel=ZH)).text
    assert re.fullmatch(r"处理命令时出错了，已记录日志，请稍后再试（编号 ([0-9a-f]{8})）。\n"
                        r"Something went wrong handling the command; it is logged\. Please retry \(ref \1\)\.", zh), zh


def test_a_command_line_that_cannot_be_parsed_is_english_alone_in_an_english_channel(bot, run_command):
    assert _one(run_command('/watch add "过敏', channel=EN)).text == 'Bad usage: unclosed quote "'
    assert _one(run_command("/ ", channel=EN)).text == "Bad usage: empty command"
    assert _one(run_command('/watch add "过敏', channel=ZH)).text == '用法有误 / Bad usage：引号没有闭合 / unclosed quote "'


def _journal_leftover(bot, clock, channel: str, event_id: str, text: str, *, begun: bool) -> None:
    """A command acknowledged two hours ago and left in the journal by a process that died (`begun`: a worker
    of it had started the command), as the next start finds it."""
    command = Command("console", channel, "console:alice", text, user_name="alice", event_id=event_id)
    then = clock.now() - timedelta(hours=2)
    with bot.services.db.session() as session:
        session.add(InboundItem(kind="command", platform="console", payload=asdict(command), received_at=then))
        if begun:
            session.add(ProcessedEvent(key=f"console:{event_id}", received_at=then))


def _notice(bot, event_id: str) -> str:
    with bot.services.db.session() as session:
        row = session.exec(select(OutboxMessage).where(
            OutboxMessage.key == f"reply:console:{event_id}:restart:0")).one()
        return row.payload["text"]


def test_the_restart_notices_are_english_alone_in_an_english_channel(bot, clock):
    for channel, tag in ((EN, "en"), (ZH, "zh")):
        _journal_leftover(bot, clock, channel, f"lost-{tag}", "/watch list", begun=True)
        _journal_leftover(bot, clock, channel, f"late-{tag}", "/report", begun=False)
    assert bot.dispatcher.replay_journal() == 0  # both too old to run: their senders are told
    assert _notice(bot, "lost-en") == (
        '⚠️ The bot restarted while handling your request "/watch list"; it may not have finished. '
        "Please check and retry if needed.")
    assert _notice(bot, "late-en") == (
        '⚠️ Your request "/report" arrived while the bot was down and was more than 1 h old when it came back, '
        "so it was not run. Please retry if needed.")
    assert _notice(bot, "lost-zh") == (
        "⚠️ 机器人在处理你的操作「/watch list」时重启了，它可能没有完成：请查看结果，需要的话再试一次。\n"
        '⚠️ The bot restarted while handling your request "/watch list"; it may not have finished. '
        "Please check and retry if needed.")
    assert _notice(bot, "late-zh").startswith("⚠️ 机器人停机期间收到了你的操作「/report」，恢复时已超过 1 小时，没有执行")


# ---- 2. /watch --------------------------------------------------------------------------------------------
def test_watch_add_list_and_remove_answer_in_english_alone_in_an_english_channel(bot, run_command):
    assert _one(run_command("/watch list", channel=EN)).text == "Nothing watched yet"
    assert _one(run_command("/watch add 过敏", channel=EN)).text == (
        "Watching “过敏” (all of this channel's accounts), #1.")
    assert _one(run_command("/watch add 退款 --account douyin:lanji_official", channel=EN)).text == (
        f"Watching “退款” ({LANJI_EN}), #2.")
    surge = _one(run_command("/watch surge lanji_official --from 2026-12-05T20:00 --until 2026-12-05T22:00", channel=EN))
    assert surge.text == (f"Planned surge #3 recorded: {LANJI_EN} 12-05 20:00 – 12-05 22:00, expected x3. Volume up "
                          "to x3 will not alert during it; a jump in the negative share still does.")
    listed = _one(run_command("/watch list", channel=EN))
    assert (listed.title, listed.text.splitlines()) == ("Watches", [
        "#1 term “过敏” all of this channel's accounts",
        f"#2 term “退款” {LANJI_EN}",
        f"#3 surge {LANJI_EN} 12-05 20:00–12-05 22:00 x3",
    ])
    assert _one(run_command("/watch remove 过敏", channel=EN)).text == "Removed 1 watch"
    assert _one(run_command("/watch remove 过敏", channel=EN)).text == "Nothing watched matches '过敏'"


def test_a_surge_already_over_is_noted_in_english_alone_in_an_english_channel(bot, run_command):
    # the clock says 2026-11-22 20:00 in Shanghai
    reply = _one(run_command("/watch surge lanji_official --from 2026-11-20T20:00 --until 2026-11-20T22:00",
                             channel=EN))
    recorded, note = reply.text.split("\n")
    assert recorded.startswith(f"Planned surge #1 recorded: {LANJI_EN} 11-20 20:00 – 11-20 22:00"), reply.text
    assert note == ("⚠️ Note: --until 11-20 22:00 (Asia/Shanghai) has already passed (now 11-22 20:00): it only "
                    "applies to comments of that time imported from now on and is not shown in /watch list. Is the "
                    "date or year wrong?")


def test_watch_answers_in_a_chinese_channel_read_as_before(bot, run_command):
    assert _one(run_command("/watch list", channel=ZH)).text == "暂无监控项 / nothing watched yet"
    assert _one(run_command("/watch add 漏油", channel=ZH)).text == (
        "已监控风险词「漏油」（本频道的全部账号 / all of this channel's accounts），编号 #1。\n"
        "Watching “漏油” (all of this channel's accounts), #1.")
    assert _one(run_command("/watch add 糊了 --account bilibili:xiaochu_kitchen", channel=ZH)).text == (
        "已监控风险词「糊了」（小厨科技官方（B站）），编号 #2。\nWatching “糊了” (小厨科技官方 (Bilibili)), #2.")
    listed = _one(run_command("/watch list", channel=ZH))
    assert (listed.title, listed.text.splitlines()) == ("监控列表 / Watches", [
        "#1 风险词 term「漏油」 本频道的全部账号 / all of this channel's accounts",
        "#2 风险词 term「糊了」 小厨科技官方（B站）",
    ])
    assert _one(run_command("/watch remove 漏油", channel=ZH)).text == "已取消 1 项监控 / removed 1 watch"
    assert _one(run_command("/watch remove 漏油", channel=ZH)).text == "没有找到监控项 漏油 / nothing watched matches '漏油'"


class TestTheConfigsWatches:
    """Terms and surges of the config (`alerts.watch_terms`, `alerts.surges`), as /watch names them."""

    @pytest.fixture
    def app_config(self):
        return parse_config(_config(alerts={
            "watch_terms": [{"term": "差评"}, {"term": "iPhone", "account": "douyin:lanji_official"}],
            "surges": [{"account": "douyin:lanji_official", "from": "2026-12-01T20:00:00+08:00",
                        "until": "2026-12-01T23:00:00+08:00", "factor": 4}]}), source="tests")

    def test_in_an_english_channel_in_english_alone(self, bot, run_command):
        assert _one(run_command("/watch add 差评", channel=EN)).text == (
            "“差评” is already watched by the config (`alerts.watch_terms`, all accounts): not added again.")
        assert _one(run_command("/watch remove iPhone", channel=EN)).text == (
            "“iPhone” is set in the config (`alerts.watch_terms`) and cannot be removed from chat: edit the config "
            "file.")
        run_command("/watch add iphone", channel=EN)  # all the channel's accounts: not only the config's one
        assert _one(run_command("/watch remove iphone", channel=EN)).text == (
            "Removed 1 watch\n“iPhone” is still watched by the config (`alerts.watch_terms`).")
        listed = _one(run_command("/watch list", channel=EN))
        assert listed.text.splitlines() == [
            "(config) term “差评” all accounts",
            f"(config) term “iPhone” {LANJI_EN}",
            f"(config) surge {LANJI_EN} 12-01 20:00–12-01 23:00 x4",
        ]

    def test_in_a_chinese_channel_as_before(self, bot, run_command):
        assert _one(run_command("/watch add 差评", channel=ZH)).text == (
            "风险词「差评」已在配置中监控（alerts.watch_terms，全部账号），无需重复添加。\n"
            "“差评” is already watched by the config (`alerts.watch_terms`, all accounts): not added again.")
        assert _one(run_command("/watch list", channel=ZH)).text == "（配置 config）风险词 term「差评」 全部账号 all accounts"


# ---- 3. the alert card's buttons --------------------------------------------------------------------------
def _episode(bot, key: str, account: str = "douyin:lanji_official") -> None:
    platform, _, account_id = account.partition(":")
    now = bot.services.clock.now()
    with bot.services.db.session() as session:
        session.add(AlertEpisode(
            episode_key=key, platform=platform, account_id=account_id, severity="sev2", started_at=now,
            detected_at=now, updated_at=now, last_notified_at=now, stats={}, channels={}, history=[]))


def test_alert_buttons_answer_in_english_alone_in_the_english_channel_they_were_pressed_in(bot, press_button):
    _episode(bot, "ep-1")
    assert _one(press_button("alert.ack", "ep-1", channel=EN)).text == "alice acknowledged the alert; escalation stopped."
    assert _one(press_button("alert.ack", "ep-1", channel=EN)).text == "Unchanged: already acknowledged"
    assert _one(press_button("alert.mute", "ep-1", channel=EN)).text == "alice muted the alert for 1 hour."
    assert _one(press_button("alert.mute", "ep-1", channel=EN)).text == "Unchanged: already muted until 11-22 21:00"
    assert _one(press_button("alert.false_positive", "ep-1", channel=EN)).text == (
        "alice marked it a false alarm; recorded for tuning.")
    assert _one(press_button("alert.playbook", "ep-1", channel=EN)).text == (
        "Unchanged: this alert is marked a false alarm, so no playbook was started. To start one anyway: "
        "`/crisis start negative-outbreak --account douyin:lanji_official`.")
    assert _one(press_button("alert.ack", "nosuch", channel=EN)).text == "Bad usage: Alert not found"
    assert _one(press_button("alert.bogus", "ep-1", channel=EN)).text == "Bad usage: Unknown button alert.bogus"


def test_start_playbook_answers_in_english_alone_in_an_english_channel(bot, press_button):
    _episode(bot, "ep-2")
    _episode(bot, "ep-3")
    started = _one(press_button("alert.playbook", "ep-2", channel=EN)).text
    assert re.fullmatch(r"alice started playbook \S.* \(run #1\)\.", started), started
    _english(started)
    again = _one(press_button("alert.playbook", "ep-2", channel=EN))
    assert again.text.startswith("Run #1 (") and again.text.endswith(") already exists for this alert"), again.text
    _english(again.text)
    linked = _one(press_button("alert.playbook", "ep-3", channel=EN)).text
    assert linked.startswith("Run #1 (") and linked.endswith(
        ") is already handling this account: the alert is on its timeline. Use /crisis start for a separate run.")
    _english(linked)


def test_alert_buttons_in_a_chinese_channel_read_as_before(bot, press_button):
    _episode(bot, "ep-zh", account="bilibili:xiaochu_kitchen")
    assert _one(press_button("alert.ack", "ep-zh", channel=ZH)).text == (
        "alice 已确认告警，升级提醒停止。\nalice acknowledged the alert; escalation stopped.")
    assert _one(press_button("alert.ack", "ep-zh", channel=ZH)).text == "状态未变：该告警已确认 / unchanged: already acknowledged"
    assert _one(press_button("alert.ack", "nosuch", channel=ZH)).text == "用法有误 / Bad usage：找不到这条告警 / alert not found"
    started = _one(press_button("alert.playbook", "ep-zh", channel=ZH)).text
    assert started.startswith("alice 已启动预案「") and "\nalice started playbook " in started, started
    assert _one(press_button("alert.playbook", "ep-zh", channel=ZH)).text.startswith("已有预案 #1（")
