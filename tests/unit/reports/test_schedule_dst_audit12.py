"""Report schedules as standard cron reads them: across DST changes (a skipped time fires once at the change,
a repeated one once, never a hang), day of month OR day of week when both are restricted, Sunday as 0 or 7;
daily and weekly periods as calendar days of the channel's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.reports.service import MAX_LOOKBACK, due_times, period_start
from bot.reports.settings import cron_trigger

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(times: list[datetime], zone: ZoneInfo) -> list[str]:
    return [t.astimezone(zone).isoformat() for t in times]


# ---- autumn: a time that occurs twice -------------------------------------------------------------------
@pytest.mark.timeout(30)
@pytest.mark.parametrize(("cron", "zone", "now", "expected"), [
    # 2026-10-25 03:00 CEST -> 02:00 CET in Berlin: 02:00 happens twice; the daily report fires at the first
    ("0 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 12), [utc(2026, 10, 25, 0)]),
    ("30 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 12), [utc(2026, 10, 25, 0, 30)]),
    # 2026-11-01 02:00 EDT -> 01:00 EST in New York
    ("30 1 * * *", "America/New_York", utc(2026, 11, 1, 12), [utc(2026, 11, 1, 5, 30)]),
])
def test_a_daily_time_that_occurs_twice_fires_once_and_the_search_ends(cron, zone, now, expected):
    # APScheduler's own stepping (fire + 1 s, in wall-clock time) returned the second 02:00 for ever
    assert due_times(cron, zone, now, timedelta(hours=12)) == expected


@pytest.mark.timeout(30)
def test_an_hourly_schedule_fires_in_each_real_hour_of_the_repeated_hour():
    """As Vixie cron runs a wildcard-hour job by the new time: 02:00 CEST and 02:00 CET are two real hours,
    each an hour's report of its own (no hour is reported twice or left out)."""
    times = due_times("0 * * * *", "Europe/Berlin", utc(2026, 10, 25, 3), timedelta(hours=4))
    assert local(times, BERLIN) == [
        "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00",
    ]
    assert times == [utc(2026, 10, 24, 23) + timedelta(hours=h) for h in range(5)]


# ---- spring: a time the clocks skip ---------------------------------------------------------------------
@pytest.mark.parametrize(("cron", "zone", "now", "expected"), [
    # 2026-03-29 02:00 CET -> 03:00 CEST in Berlin: 02:30 does not exist; it fires at the change (03:00 CEST)
    ("30 2 * * *", "Europe/Berlin", utc(2026, 3, 29, 12), [utc(2026, 3, 29, 1)]),
    ("0,30 2 * * *", "Europe/Berlin", utc(2026, 3, 29, 12), [utc(2026, 3, 29, 1)]),  # once, not twice
    # 2026-03-08 02:00 EST -> 03:00 EDT in New York
    ("30 2 * * *", "America/New_York", utc(2026, 3, 8, 12), [utc(2026, 3, 8, 7)]),
])
def test_a_daily_time_the_clocks_skip_fires_once_at_the_change(cron, zone, now, expected):
    times = due_times(cron, zone, now, timedelta(hours=20))
    assert times == expected
    assert times[0].astimezone(ZoneInfo(zone)).strftime("%H:%M") == "03:00"


def test_an_hourly_schedule_has_no_report_for_the_hour_that_does_not_exist():
    times = due_times("0 * * * *", "Europe/Berlin", utc(2026, 3, 29, 3), timedelta(hours=4))
    assert local(times, BERLIN) == [
        "2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00", "2026-03-29T05:00:00+02:00",
    ]


@pytest.mark.parametrize("cron, zone, now, expected", [
    # review finding: a skipped time of a wildcard line was moved to the change, an extra off-grid report
    ("30 * * * *", "Europe/Berlin", utc(2026, 3, 29, 4),
     ["00:30+0100", "01:30+0100", "03:30+0200", "04:30+0200", "05:30+0200"]),
    ("0 */2 * * *", "Europe/Berlin", utc(2026, 3, 29, 4), ["00:00+0100", "04:00+0200", "06:00+0200"]),
    ("0 * * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 18),
     ["00:00+1030", "01:00+1030", "03:00+1100", "04:00+1100", "05:00+1100"]),
])
def test_a_wildcard_line_has_no_report_at_the_change_for_a_skipped_time(cron, zone, now, expected):
    times = due_times(cron, zone, now, timedelta(hours=5))
    assert [t.astimezone(ZoneInfo(zone)).strftime("%H:%M%z") for t in times] == expected


def test_a_week_of_daily_due_times_across_both_changes_has_one_a_day():
    for zone, now in (("Europe/Berlin", utc(2026, 4, 1)), ("Europe/Berlin", utc(2026, 10, 28)),
                      ("America/New_York", utc(2026, 3, 11)), ("America/New_York", utc(2026, 11, 4))):
        times = due_times("0 9 * * *", zone, now, timedelta(days=7))
        shown = [t.astimezone(ZoneInfo(zone)) for t in times]
        assert [t.strftime("%H:%M") for t in shown] == ["09:00"] * 7, zone
        assert len({t.date() for t in shown}) == 7


def test_the_lookback_is_bounded():
    with pytest.raises(ValueError):
        due_times("* * * * *", "UTC", utc(2026, 11, 23), MAX_LOOKBACK + timedelta(days=1))


# ---- day of month OR day of week ------------------------------------------------------------------------
def test_day_of_month_and_day_of_week_both_restricted_fire_on_either():
    """Standard cron: "0 9 1 * 1" is the 1st of the month and every Monday. APScheduler wants both, and
    2027-01-01 is a Friday: nothing fired for a year."""
    times = due_times("0 9 1 * 1", "Asia/Shanghai", utc(2027, 1, 5, 12), timedelta(days=7))
    assert times == [utc(2027, 1, 1, 1), utc(2027, 1, 4, 1)]  # Friday the 1st, Monday the 4th
    assert due_times("0 9 1 * 1", "Asia/Shanghai", utc(2026, 12, 31, 12), timedelta(days=30)) == [
        utc(2026, 12, 7, 1), utc(2026, 12, 14, 1), utc(2026, 12, 21, 1), utc(2026, 12, 28, 1)]
    trigger = cron_trigger("0 9 1 * 1", "Asia/Shanghai")
    assert trigger.get_next_fire_time(None, utc(2026, 12, 28, 2)) == datetime(
        2027, 1, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_one_restricted_day_field_still_narrows_the_days():
    assert due_times("0 9 1 * *", "UTC", utc(2027, 1, 5, 12), timedelta(days=7)) == [utc(2027, 1, 1, 9)]
    assert due_times("0 9 * * 1", "UTC", utc(2027, 1, 5, 12), timedelta(days=7)) == [utc(2027, 1, 4, 9)]
    # a day field starting with "*" counts as unrestricted (as in Vixie cron): both must match
    assert due_times("0 9 */2 * 1", "UTC", utc(2027, 1, 31, 12), timedelta(days=30)) == [
        utc(2027, 1, 11, 9), utc(2027, 1, 25, 9)]


@pytest.mark.parametrize("weekday", ["0", "7", "sun"])
def test_sunday_is_0_or_7(weekday):
    times = due_times(f"0 9 * * {weekday}", "Asia/Shanghai", utc(2026, 11, 30, 12), timedelta(days=14))
    assert [t.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%A %m-%d") for t in times] == [
        "Sunday 11-22", "Sunday 11-29"]


# ---- calendar periods -----------------------------------------------------------------------------------
def test_a_daily_period_is_the_previous_local_day_across_the_spring_change():
    due = datetime(2026, 3, 29, 9, tzinfo=BERLIN)
    start = period_start(due, "1d", "Europe/Berlin")
    assert start == datetime(2026, 3, 28, 9, tzinfo=BERLIN)  # not 08:00: 23 hours that day
    assert due - start == timedelta(hours=23)
    assert period_start(due, "24h", "Europe/Berlin") == due - timedelta(hours=24)  # hours stay absolute


def test_a_weekly_period_is_seven_local_days_across_the_autumn_change():
    due = datetime(2026, 10, 26, 9, 30, tzinfo=BERLIN)  # Monday
    start = period_start(due, "7d", "Europe/Berlin")
    assert start == datetime(2026, 10, 19, 9, 30, tzinfo=BERLIN)
    assert due - start == timedelta(days=7, hours=1)
    assert period_start(due, "1w", "Europe/Berlin") == start


@pytest.mark.parametrize(("cron", "zone", "now"), [
    ("0 9 * * *", "Europe/Berlin", utc(2026, 4, 2)),
    ("0 9 * * *", "Europe/Berlin", utc(2026, 10, 29)),
    ("30 2 * * *", "Europe/Berlin", utc(2026, 4, 2)),  # 03-29 fires at 03:00, and the next period starts there
    ("30 2 * * *", "Europe/Berlin", utc(2026, 10, 29)),
    ("30 1 * * *", "America/New_York", utc(2026, 11, 4)),
])
def test_consecutive_daily_reports_tile_the_local_days(cron, zone, now):
    times = due_times(cron, zone, now, timedelta(days=7))
    assert len(times) == 7
    for before, due in zip(times, times[1:], strict=False):
        assert period_start(due, "1d", zone, cron) == before, due.astimezone(ZoneInfo(zone))
