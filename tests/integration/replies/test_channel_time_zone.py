"""A channel with its own `timezone` reads the queue's times (claims, ages, reminders, --since) in that zone."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG

from .conftest import KeywordScorer, ago, cmd, rec


@pytest.fixture
def london_bot(db, settings, clock):
    from bot.app import build_app

    data = copy.deepcopy(TEST_CONFIG)
    data["channels"][0]["timezone"] = "Europe/London"  # console:lanji; the bot's zone stays Asia/Shanghai
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    app.services.ingest._scorer = lambda: KeywordScorer()
    yield app
    app.stop()


def test_claim_expiry_and_reminders_in_the_channels_zone(london_bot, db, clock):
    # the clock reads 12:00 UTC: 12:00 in London in November, 20:00 in Shanghai
    london_bot.services.ingest.ingest_records([rec("q", ago(clock, 10), "用了过敏了")], source="test")
    (stats,) = london_bot.dispatcher.handle(cmd("/reply-queue stats --since 2026-11-22"))
    assert "11-22 00:00" in stats.text  # London's midnight (Shanghai's would show as 11-21 16:00)
    clock.advance(timedelta(hours=1))  # 13:00 UTC, past the 30-minute SLA
    (claimed,) = london_bot.dispatcher.handle(cmd("/reply-queue claim 1"))
    assert "至 11-22 13:15" in claimed.text
    (queue,) = london_bot.dispatcher.handle(cmd("/reply-queue"))
    assert "至 11-22 13:15" in "".join(s.text for s in queue.sections)
    assert london_bot.services.replies.overdue_reminders() == 1
    london_bot.services.outbox.drain()
    (reminder,) = [m for m in london_bot.console.messages("lanji") if "逾期未回复" in (m.title or "")]
    sections = "".join(s.text for s in reminder.sections)
    assert "至 11-22 13:15" in sections and "21:15" not in sections
