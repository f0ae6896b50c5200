"""Reports that fell due while the bot was down, past the catch-up window, are not sent late; the default
channel is told once which ones (they were skipped without a word: a client's report just never came)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.storage.models import OutboxMessage
from tests.conftest import TEST_CONFIG

DAILY = {"id": "lanji-daily", "channel": "console:lanji", "cron": "0 9 * * *", "period": "1d"}


@pytest.fixture
def clock():
    from bot.clock import FakeClock

    return FakeClock(datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC))  # 09:00:30 in Shanghai


def daily_bot(db, settings, clock, language: str | None = None):
    from bot.app import build_app

    data = {**TEST_CONFIG, "reports": {"schedules": [DAILY], "catch_up_hours": 12}}
    if language:
        data["channels"] = [*data["channels"], {"id": "console:general", "language": language}]
    return build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)


def check(db, settings, clock, **kwargs) -> None:
    """One report check in a freshly started bot (a restart)."""
    bot = daily_bot(db, settings, clock, **kwargs)
    try:
        for tick in bot.wiring.ticks:
            tick()
    finally:
        bot.stop()


def rows(db, prefix: str) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))
                                 .order_by(OutboxMessage.id)).all())


def test_reports_missed_past_the_catch_up_window_are_told_once_in_the_default_channel(db, settings, clock):
    check(db, settings, clock)  # the 23rd's report goes out on time
    assert rows(db, "report-missed:") == []  # a first report misses nothing

    clock.set(datetime(2026, 11, 26, 4, 0, tzinfo=UTC))  # 12:00 on the 26th: down since the 23rd
    check(db, settings, clock)
    assert [r.key for r in rows(db, "report:")] == ["report:lanji-daily:20261123T0100Z",
                                                   "report:lanji-daily:20261126T0100Z"]  # within 12 h: sent late
    [notice] = rows(db, "report-missed:")
    assert notice.key == "report-missed:lanji-daily:20261123T0100Z" and notice.channel == "console:general"
    assert notice.payload["meta"]["periods"] == [  # the 24th's and the 25th's, not sent
        ["2026-11-23T01:00:00+00:00", "2026-11-24T01:00:00+00:00"],
        ["2026-11-24T01:00:00+00:00", "2026-11-25T01:00:00+00:00"],
    ]
    assert "有 2 期报告到期，已超过补发时限" in notice.payload["text"]
    assert "lanji-daily" in str(notice.payload["fields"])

    clock.set(datetime(2026, 11, 26, 4, 1, tzinfo=UTC))
    check(db, settings, clock)  # checked again, after another restart: not said twice
    clock.set(datetime(2026, 11, 27, 1, 0, 30, tzinfo=UTC))
    check(db, settings, clock)  # on time again: nothing missed
    assert len(rows(db, "report-missed:")) == 1


def test_the_missed_reports_notice_is_english_in_an_english_default_channel(db, settings, clock):
    check(db, settings, clock, language="en")
    clock.set(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))
    check(db, settings, clock, language="en")
    [notice] = rows(db, "report-missed:")
    assert notice.payload["text"].startswith("1 report fell due while the bot was down")
    assert "补发" not in notice.payload["text"]
