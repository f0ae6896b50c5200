"""Reminders and status nags during a chat outage (audit item 4): they must not pile up in the outbox and
arrive together when Slack is back. Each owner gets one reminder, with the content of the last reminder
round, and the next one counts from its delivery; the same for the status nag. Through the real bot
(dispatcher, reminder job, outbox, Slack adapter) against the local fake Slack, with a restart during the
outage, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import itertools
from datetime import timedelta

import pytest

from bot.config import Settings, parse_config
from bot.messages import Command
from tests.conftest import TEST_CONFIG
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack

_events = itertools.count(1)


@pytest.fixture
def fake_slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack_bots(db, clock, fake_slack):
    """Build bots with Slack on, on the test database (a second one is a restart)."""
    from bot.app import build_app

    config = copy.deepcopy(TEST_CONFIG)
    config["channels"].append({"id": "slack:C1", "client": "lanji"})
    settings = Settings(_env_file=None, slack_bot_token=VALID_BOT_TOKEN,  # type: ignore[call-arg]
                        slack_signing_secret="test-signing-secret", slack_api_url=fake_slack.base_url)
    built = []

    def make():
        app = build_app(settings, parse_config(config, source="tests"), clock=clock, db=db, upgrade=False)
        built.append(app)
        return app

    yield make
    for app in built:
        app.stop()


def command(bot, text: str, user: str = "slack:ULEAD") -> None:
    bot.dispatcher.handle(Command("slack", "slack:C1", user, text, event_id=f"outage{next(_events)}"))
    bot.services.outbox.drain()


def tick(bot) -> None:
    """One round of the reminder job, then one delivery round (as serve's threads do)."""
    bot.services.playbooks.tick()
    bot.services.outbox.deliver_due()


def posts(fake: FakeSlack, marker: str) -> list:
    return [c for c in fake.successful("chat.postMessage") if marker in (c.args.get("text") or "")]


def shown(fake: FakeSlack, call) -> str:
    """What the channel shows for a posted message now (after any chat.update of it)."""
    return fake.messages[(call.args["channel"], call.answer["ts"])].get("text") or ""


def owner_of(text: str) -> str:
    """The reminder's first line after its title: who it is for ("<@UCMD>：…" or "角色 运营 尚未指派…")."""
    return next(line for line in text.splitlines() if "已超时" in line)


def test_an_outage_delivers_one_current_reminder_per_owner_and_one_nag(slack_bots, fake_slack, clock):
    bot = slack_bots()
    command(bot, "/crisis start 负面舆情爆发 面霜过敏 --severity 1")  # severity 1: a nag after 30 minutes
    command(bot, "/crisis assign 指挥 <@UCMD|cmd>")
    assert fake_slack.successful("chat.postMessage")  # the card is out: Slack works

    fake_slack.down = True
    clock.advance(timedelta(minutes=16))  # triage (指挥, 15m) is late
    tick(bot)
    # Two hours of outage: four more reminder intervals (remind_every_minutes: 30), a restart halfway.
    for round_ in range(4):
        clock.advance(timedelta(minutes=30))
        if round_ == 2:
            bot.stop()
            bot = slack_bots()  # the restart: nothing of the first process is in memory
        tick(bot)
    assert posts(fake_slack, "超时提醒") == []  # nothing got through

    fake_slack.down = False
    clock.advance(timedelta(minutes=6))  # past the outbox's longest backoff
    bot.services.outbox.drain()
    reminders = posts(fake_slack, "超时提醒")
    owners = [owner_of(c.args["text"]) for c in reminders]
    assert len(owners) == len(set(owners)), owners  # one reminder per owner, not one per interval
    assert any("<@UCMD>" in o for o in owners) and any("角色 运营" in o for o in owners), owners
    # ... showing the last round's content (136 minutes after the start): triage (due at 15 min) is late by
    # 2 h 1 min (the version first queued said 1 min)
    (commander,) = [c for c in reminders if "<@UCMD>" in owner_of(c.args["text"])]
    assert "超时 2 小时 1 分钟" in shown(fake_slack, commander), shown(fake_slack, commander)
    nags = posts(fake_slack, "请更新进展")
    assert len(nags) == 1, [c.args["text"] for c in nags]
    assert "已有 2 小时 16 分钟没有进展更新" in shown(fake_slack, nags[0]), shown(fake_slack, nags[0])

    # The next reminder counts from this delivery, not from when the first one was queued two hours ago.
    clock.advance(timedelta(minutes=20))
    tick(bot)
    assert len(posts(fake_slack, "超时提醒")) == len(reminders)
    assert len(posts(fake_slack, "请更新进展")) == 1
    clock.advance(timedelta(minutes=11))  # 31 minutes after the delivery
    tick(bot)
    again = posts(fake_slack, "超时提醒")[len(reminders):]
    assert sorted(owner_of(c.args["text"]) for c in again) == sorted(owners)
    assert len(posts(fake_slack, "请更新进展")) == 2


def test_two_bot_processes_ticking_through_an_outage_still_send_one_reminder_per_owner(slack_bots, fake_slack,
                                                                                       clock):
    import threading

    first, second = slack_bots(), slack_bots()
    command(first, "/crisis start 负面舆情爆发 两个进程 --severity 1")
    fake_slack.down = True
    for minutes in (16, 30, 30, 30):
        clock.advance(timedelta(minutes=minutes))
        barrier = threading.Barrier(2)

        def run(app, barrier: threading.Barrier) -> None:
            barrier.wait()  # both processes run the reminder job at the same moment
            tick(app)

        threads = [threading.Thread(target=run, args=(app, barrier)) for app in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    fake_slack.down = False
    clock.advance(timedelta(minutes=6))
    first.services.outbox.drain()
    second.services.outbox.drain()
    owners = [owner_of(c.args["text"]) for c in posts(fake_slack, "超时提醒")]
    assert sorted(owners) == sorted(set(owners)) and len(owners) == 2, owners  # 指挥 and 运营, once each
    assert len(posts(fake_slack, "请更新进展")) == 1
