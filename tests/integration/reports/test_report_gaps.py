"""Gaps found by acceptance testing the scheduled and on-demand reports from the outside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG

SHANGHAI = ZoneInfo("Asia/Shanghai")
ANGRY = "垃圾产品，过敏了，客服也不理人，退款！"


@pytest.fixture
def app_config():
    return parse_config(TEST_CONFIG, source="tests")


@pytest.fixture
def clock():
    from bot.clock import FakeClock

    return FakeClock(datetime(2026, 11, 23, 0, 30, tzinfo=UTC))  # Monday 08:30 in Shanghai


def _record(comment_id, text, created_at):
    return {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": text, "created_at": created_at.isoformat()}


def test_a_weekly_reports_daily_bars_are_the_channels_calendar_days(bot, clock):
    """The chart's days were UTC days: in Shanghai a bar ran 08:00-08:00, so Saturday night's and Sunday
    morning's comments shared one bar and each bar was labelled 08:00."""
    from bot.reports.service import ReportRequest

    saturday_night = datetime(2026, 11, 21, 23, 30, tzinfo=SHANGHAI)
    sunday_morning = datetime(2026, 11, 22, 7, 0, tzinfo=SHANGHAI)  # the same UTC day as Saturday night
    bot.services.ingest.ingest_records([_record("sat", ANGRY, saturday_night),
                                        _record("sun", ANGRY, sunday_morning)], source="test")
    service = bot.services.extra["reports"]
    end = clock.now()
    result = service.build(ReportRequest("console:lanji", end - timedelta(days=7), end, "周报"))
    starts = [p.start.astimezone(SHANGHAI) for p in result.data.series]
    assert all((s.hour, s.minute) == (0, 0) for s in starts), starts
    assert starts[0].date() == (end - timedelta(days=7)).astimezone(SHANGHAI).date()
    assert starts[-1].date() == end.astimezone(SHANGHAI).date()
    by_day = {p.start.astimezone(SHANGHAI).date(): p.total for p in result.data.series}
    assert by_day[saturday_night.date()] == 1 and by_day[sunday_morning.date()] == 1
    assert result.png is not None
