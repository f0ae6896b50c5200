"""First-run audit: the console said "🟠 二级 回复队列" and "🟠 二级 发布前自检" (a reply queue or precheck that
needs attention read as "a level-2 queue"), and an alert's title showed its level twice ("🟠 二级 🚨 … · 二级·严重";
Slack's "严重程度 / Severity: 二级 / SEV2" line the same). A severity is a colour on every adapter; the words are
the message's own."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.console.render import render_text
from bot.adapters.feishu.cards import render_card
from bot.adapters.slack.render import render_message
from bot.alerts.render import alert_message
from bot.messages import Message, Section

LEVEL_WORDS = ("一级", "二级", "三级", "SEV1", "SEV2", "SEV3")


def level_words(text: str) -> int:
    return sum(text.count(word) for word in LEVEL_WORDS)


def an_alert(severity: str) -> Message:
    episode = {"episode_key": "douyin:lanji_official|*@20261206T0715", "platform": "douyin",
               "account_id": "lanji_official", "severity": severity, "status": "open",
               "started_at": "2026-12-06T07:15:00+00:00", "history": [],
               "stats": {"account_name": "澜肌官方旗舰店", "window_observed": 40, "window_expected": 3}}
    return alert_message(episode, zone=ZoneInfo("Asia/Shanghai"))


QUEUE = Message(title="回复队列 / Reply queue", text="3 条待回复，1 条超时", sections=(Section("#1 退款"),), severity=2)
PRECHECK = Message(title="发布前自检 / Pre-publish check", text="⛔ 有 1 处必须修改", severity=2)


def slack_text(message: Message) -> str:
    """What the Slack message shows: its blocks and the coloured bar (the notification text is apart)."""
    payload = render_message(message)
    return json.dumps([payload["blocks"], payload.get("attachments")], ensure_ascii=False)


def feishu_text(message: Message) -> str:
    return json.dumps(render_card(message), ensure_ascii=False)


@pytest.mark.parametrize("render", [render_text, slack_text, feishu_text], ids=["console", "slack", "feishu"])
@pytest.mark.parametrize("message", [QUEUE, PRECHECK], ids=["queue", "precheck"])
def test_a_message_that_needs_attention_is_coloured_not_given_a_level(render, message):
    assert level_words(render(message)) == 0, render(message)


@pytest.mark.parametrize("render", [render_text, slack_text, feishu_text], ids=["console", "slack", "feishu"])
@pytest.mark.parametrize("severity", ["sev1", "sev2", "sev3"])
def test_an_alert_says_its_level_as_often_as_the_alert_itself_does(render, severity):
    alert = an_alert(severity)
    own = level_words(json.dumps(alert.to_dict(), ensure_ascii=False))
    assert own >= 1  # the title says it ("🚨 负面评论激增 · 二级·严重")
    assert level_words(render(alert)) == own, render(alert)


def test_the_colour_stays():
    assert render_text(QUEUE).splitlines()[0] == "== 🟠 回复队列 / Reply queue =="
    title = render_text(an_alert("sev2")).splitlines()[0]
    assert title == "== 🟠 🚨 负面评论激增 · 二级·严重 ==", title
    payload = render_message(an_alert("sev1"))
    assert payload["blocks"][0]["text"]["text"] == ":red_circle: 🚨 负面评论激增 · 一级·爆发"
    assert payload["attachments"][0]["color"] == "#D93025"
    assert not any(b["type"] == "context" for b in payload["blocks"])
    assert level_words(payload["text"]) == 1 and level_words(render_message(QUEUE)["text"]) == 0
    assert render_card(QUEUE)["header"]["template"] == "orange"
