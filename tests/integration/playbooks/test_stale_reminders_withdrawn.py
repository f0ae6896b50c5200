"""Reminders and nags queued during a chat outage must not arrive after what they remind of is over: a run
resolved or cancelled meanwhile withdraws its waiting reminders and nags; a step done or skipped meanwhile
drops out of the waiting reminder that lists it (withdrawn when nothing is left in it). Through the real
bot (dispatcher, reminder job, outbox, Slack adapter) against the local fake Slack, down then up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.integration.playbooks import test_reminders_outage_audit12 as outage
from tests.integration.playbooks.test_reminders_outage_audit12 import command, posts, tick

# the outage tests' fixtures: the local fake Slack and bots with Slack on
fake_slack = outage.fake_slack
slack_bots = outage.slack_bots


def _outage_with_reminders(slack_bots, fake_slack: FakeSlack, clock):
    bot = slack_bots()
    command(bot, "/crisis start 负面舆情爆发 面霜过敏 --severity 1")  # severity 1: a nag after 30 minutes
    command(bot, "/crisis assign 指挥 <@UCMD|cmd>")
    command(bot, "/crisis assign monitor <@UMON|mon>")
    command(bot, "/crisis assign pause_content <@UMON|mon>")
    fake_slack.down = True
    clock.advance(timedelta(minutes=31))  # triage (15m), monitor and pause_content (30m) are late
    tick(bot)
    return bot


def _back(bot, fake_slack: FakeSlack, clock) -> None:
    fake_slack.down = False
    clock.advance(timedelta(minutes=6))  # past the outbox's longest backoff
    bot.services.outbox.drain()


@pytest.mark.parametrize("end", ["/crisis resolve 平息", "/crisis cancel 误报"])
def test_a_run_ended_in_an_outage_sends_none_of_its_waiting_reminders_or_nags(slack_bots, fake_slack, clock, end):
    bot = _outage_with_reminders(slack_bots, fake_slack, clock)
    pending = bot.services.outbox.pending_count()
    command(bot, end, user="slack:UCMD")
    _back(bot, fake_slack, clock)
    assert bot.services.outbox.pending_count() == 0 < pending
    assert posts(fake_slack, "超时提醒") == []
    assert posts(fake_slack, "请更新进展") == []


def test_steps_finished_in_an_outage_leave_the_waiting_reminders(slack_bots, fake_slack, clock):
    bot = _outage_with_reminders(slack_bots, fake_slack, clock)
    command(bot, "/crisis done triage", user="slack:UCMD")  # the commander's only late step
    command(bot, "/crisis skip monitor 已有舆情监测", user="slack:UMON")  # one of mon's two
    _back(bot, fake_slack, clock)
    reminders = [c.args.get("text") or "" for c in posts(fake_slack, "超时提醒")]
    assert len(reminders) == 1, reminders  # no reminder for the commander any more
    (text,) = reminders
    assert "<@UMON>" in text and "pause_content" in text and "monitor" not in text, text
    assert len(posts(fake_slack, "请更新进展")) == 1  # the run goes on: its nag still stands
