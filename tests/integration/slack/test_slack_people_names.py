"""People named in texts show by name in Slack, not as mentions that notify them again with every post.

Handlers name people by address ('slack:U1') in status cards, timelines, reviews and confirmations; a <@U1>
in a new Slack message notifies U1, so every /crisis status or timeline pinged every assignee again. The
port looks the names up (users.info, scope users:read, cached) and the texts show them, escaped; only
`Message.mentions` still notify. Through the real slack_sdk WebClient against the fake Slack Web API.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
from datetime import timedelta

import pytest

from bot.adapters.slack.port import NAME_OUTAGE_RETRY_S, NAME_RETRY_S, NAME_TTL_S, SlackChatPort
from bot.config import Settings, parse_config
from bot.messages import Command, Field, Message, Section
from tests.conftest import TEST_CONFIG
from tests.fakes.slack_api import VALID_BOT_TOKEN, server_error


class Monotonic:
    """The port's monotonic clock, moved by the test (name cache windows)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic():
    return Monotonic()


@pytest.fixture
def port(fake_slack, monotonic):
    return SlackChatPort(VALID_BOT_TOKEN, base_url=fake_slack.base_url, sleep=lambda _s: None, monotonic=monotonic)


def shown(call) -> str:
    """Everything a posted or updated message puts before people: its fallback text and its blocks."""
    return json.dumps({"text": call.args.get("text"), "blocks": call.args.get("blocks")}, ensure_ascii=False)


def looked_up(fake_slack) -> list[str]:
    return [c.args.get("user") for c in fake_slack.calls("users.info")]


def test_a_status_text_shows_the_name_and_only_message_mentions_notify(port, fake_slack):
    fake_slack.add_user("U1", display_name="小王", real_name="王芳")
    fake_slack.add_user("U2", display_name="老李")
    status = Message(
        title="预案 #1 状态 / status",
        text="第1步 triage 确认事态并定级 · 指挥（slack:U1） · 截止 11-22 20:15",
        fields=(Field("负责人 / owner", "slack:U1"),),
        sections=(Section("11-22 20:00 slack:U1 完成 triage"),),
        mentions=("slack:U2",),  # meant to notify: stays a mention, and costs no lookup
    )
    port.post("C1", status, idempotency_key="status-1")
    (call,) = fake_slack.calls("chat.postMessage")
    assert "<@U1>" not in shown(call)
    assert call.args["text"].count("小王") == 2  # the body and the section
    assert "指挥（小王）" in shown(call) and "*负责人 / owner*\\n小王" in shown(call)
    assert "<@U2>" in call.args["text"] and any(b.get("text", {}).get("text") == "<@U2>" for b in call.args["blocks"])
    assert "老李" not in shown(call)
    assert looked_up(fake_slack) == ["U1"]


def test_one_lookup_per_person_for_posts_thread_replies_and_updates_until_the_name_expires(port, fake_slack,
                                                                                           monotonic):
    fake_slack.add_user("U1", display_name="", real_name="王芳")  # no display name set: the full name
    ts = port.post("C1", Message(text="👤 指挥 → slack:U1"), idempotency_key="assign")
    reply = Message(text="slack:U1 完成了 triage", meta={"reply": {"thread_ts": ts}})
    port.post("C1", reply, idempotency_key="done-in-thread")
    port.update("C1", ts, Message(text="👤 指挥 → slack:U1（已确认）"))
    posts, (update,) = fake_slack.calls("chat.postMessage"), fake_slack.calls("chat.update")
    assert [c.args["text"] for c in posts] == ["👤 指挥 → 王芳", "王芳 完成了 triage"]
    assert posts[1].args["thread_ts"] == ts and update.args["text"] == "👤 指挥 → 王芳（已确认）"
    assert looked_up(fake_slack) == ["U1"]

    fake_slack.add_user("U1", display_name="芳芳", real_name="王芳")
    monotonic.now += NAME_TTL_S + 1  # a renamed person shows by the new name once the cached one expires
    port.post("C1", Message(text="slack:U1 跳过了 monitor"), idempotency_key="skip")
    assert fake_slack.calls("chat.postMessage")[-1].args["text"] == "芳芳 跳过了 monitor"
    assert looked_up(fake_slack) == ["U1", "U1"]


def test_without_users_read_people_stay_mentions_and_the_missing_scope_is_logged_once(port, fake_slack, monotonic,
                                                                                       caplog):
    fake_slack.add_user("U1", display_name="小王")
    fake_slack.add_user("U2", display_name="老李")
    fake_slack.missing_scopes["users.info"] = "users:read"
    caplog.set_level(logging.INFO, logger="crisisbot.slack")
    port.post("C1", Message(text="slack:U1 启动"), idempotency_key="a")
    port.post("C1", Message(text="slack:U1 指派：slack:U2"), idempotency_key="b")
    assert [c.args["text"] for c in fake_slack.calls("chat.postMessage")] == ["<@U1> 启动", "<@U1> 指派：<@U2>"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "users:read" in warnings[0].getMessage()
    assert len(fake_slack.calls("users.info")) == 1  # the scope is the app's: nobody else is asked meanwhile

    del fake_slack.missing_scopes["users.info"]  # the scope added, the app reinstalled
    monotonic.now += NAME_RETRY_S + 1
    port.post("C1", Message(text="slack:U2 完成了 triage"), idempotency_key="c")
    assert fake_slack.calls("chat.postMessage")[-1].args["text"] == "老李 完成了 triage"


def test_an_outage_of_users_info_never_stops_the_post_and_is_asked_again_soon(port, fake_slack, monotonic):
    fake_slack.add_user("U1", display_name="小王")
    fake_slack.script("users.info", server_error(503))
    port.post("C1", Message(text="slack:U1 完成了 triage"), idempotency_key="a")
    assert fake_slack.calls("chat.postMessage")[-1].args["text"] == "<@U1> 完成了 triage"  # as before, not held
    assert len(fake_slack.calls("users.info")) == 1  # no retry in place: the mention stands in this time

    monotonic.now += NAME_OUTAGE_RETRY_S + 1
    port.post("C1", Message(text="slack:U1 跳过了 monitor"), idempotency_key="b")
    assert fake_slack.calls("chat.postMessage")[-1].args["text"] == "小王 跳过了 monitor"


def test_a_display_name_cannot_ping_the_channel_or_forge_a_link(port, fake_slack):
    fake_slack.add_user("U1", display_name="<!channel>")
    fake_slack.add_user("U2", display_name="*x* <http://a|b> & co")
    port.post("C1", Message(text="**时间线**\nslack:U1 启动", sections=(Section("指派 → slack:U2"),)),
              idempotency_key="timeline")
    (call,) = fake_slack.calls("chat.postMessage")
    for seen in (call.args["text"], json.dumps(call.args["blocks"], ensure_ascii=False)):
        assert "<!channel>" not in seen and "<http://a|b>" not in seen and "<@U" not in seen
        assert "&lt;!channel&gt; 启动" in seen and "指派 → *x* &lt;http://a|b&gt; &amp; co" in seen


# ---- through the bot: /crisis status and timeline name the assignees by name, the nag still pings ----------

_events = itertools.count(1)


def test_crisis_status_and_timeline_name_people_without_pinging_them(fake_slack, sqlite_db, clock):
    from bot.app import build_app

    fake_slack.add_user("ULEAD", display_name="王经理")
    fake_slack.add_user("UCMD", display_name="老李")
    config = copy.deepcopy(TEST_CONFIG)
    config["channels"].append({"id": "slack:C1", "client": "lanji"})
    settings = Settings(_env_file=None, slack_bot_token=VALID_BOT_TOKEN,  # type: ignore[call-arg]
                        slack_signing_secret="test-signing-secret", slack_api_url=fake_slack.base_url)
    bot = build_app(settings, parse_config(config, source="tests"), clock=clock, db=sqlite_db, upgrade=False)
    try:
        def command(text: str, user: str = "slack:ULEAD") -> None:
            bot.dispatcher.handle(Command("slack", "slack:C1", user, text, event_id=f"names{next(_events)}"))
            bot.services.outbox.drain()

        command("/crisis start 负面舆情爆发 面霜过敏 --severity 1")
        command("/crisis assign 指挥 <@UCMD|cmd>")
        command("/crisis done triage", user="slack:UCMD")
        command("/crisis status")
        command("/crisis timeline")
        sent = fake_slack.calls("chat.postMessage") + fake_slack.calls("chat.update")
        # the new owner is told once, by the assignment (a mention meant to notify) ...
        (assigned,) = [c for c in sent if "👤" in c.args["text"]]
        assert assigned.args["text"] == "<@UCMD>\n👤 指挥 → 老李"
        # ... and nobody is pinged by merely being named
        assert not [shown(c) for c in sent if c is not assigned and "<@" in shown(c)]
        # a command without a user name (an @mention of the bot) gets one: the confirmation names the person
        assert any(c.args["text"].startswith("✅ 老李 完成了 triage") for c in sent), \
            [c.args["text"] for c in sent]
        (timeline,) = [c for c in sent if "时间线" in c.args["text"]]
        assert "王经理 指派：角色 指挥 → 老李" in timeline.args["text"]
        assert any("指挥（老李）" in c.args["text"] and "✅" in c.args["text"] for c in sent)  # the status card
        assert sorted(looked_up(fake_slack)) == ["UCMD", "ULEAD"]  # once each, for all those messages

        clock.advance(timedelta(minutes=40))  # severity 1: the commander is asked for an update (a mention)
        bot.services.playbooks.tick()
        bot.services.outbox.deliver_due()
        (nag,) = [c for c in fake_slack.calls("chat.postMessage") if "请更新进展" in c.args["text"]]
        assert nag.args["text"].startswith("<@UCMD>")
    finally:
        bot.stop()
