"""The report's chart from counts per span of UTC time (what the database returns) is the chart drawn from
every comment one by one: the span (`steady_span`) never straddles two of the channel's hours or days, in
whole-hour, half-hour and quarter-hour zones, across DST changes and an offset of odd seconds."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.reports.charts import counted_share_series, local_share_series, steady_span


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("tz", "start", "span"), [
    ("Asia/Shanghai", utc(2026, 11, 20), 3600),
    ("Europe/Berlin", utc(2026, 10, 22), 3600),  # across the autumn change
    ("America/St_Johns", utc(2026, 11, 1), 1800),  # UTC-03:30 / -02:30
    ("Asia/Kolkata", utc(2026, 11, 20), 1800),
    ("Australia/Lord_Howe", utc(2026, 10, 1), 1800),  # the clocks move half an hour
    ("Asia/Kathmandu", utc(2026, 11, 20), 900),  # UTC+05:45
    ("Pacific/Chatham", utc(2026, 9, 25), 900),  # UTC+12:45 / +13:45, across its change
    ("Africa/Monrovia", utc(1972, 1, 4), 1),  # UTC-00:44:30 until 1972-01-07 00:44:30 UTC
])
def test_the_span_is_the_longest_the_zones_offsets_and_changes_allow(tz, start, span):
    assert steady_span(tz, start, start + timedelta(days=7)) == span


CASES = [
    ("Europe/Berlin", utc(2026, 10, 21, 12), timedelta(days=7)),
    ("Europe/Berlin", utc(2026, 10, 24, 12), timedelta(days=1)),
    ("Europe/Berlin", utc(2026, 3, 28, 10), timedelta(days=2)),  # spring: a 23-hour day, hourly bars
    ("America/Santiago", utc(2026, 9, 2, 12), timedelta(days=7)),  # midnight is skipped on 2026-09-06
    ("America/New_York", utc(2026, 10, 11, 12), timedelta(days=30)),
    ("Asia/Kolkata", utc(2026, 10, 21, 0, 0, 0, 250000), timedelta(hours=24)),
    ("Australia/Lord_Howe", utc(2026, 10, 3, 6), timedelta(days=1)),
    ("Australia/Lord_Howe", utc(2026, 4, 4, 6), timedelta(days=1)),
    ("Asia/Kathmandu", utc(2026, 11, 20, 3, 7), timedelta(days=1)),
    ("Pacific/Chatham", utc(2026, 9, 26, 6), timedelta(days=1)),
    ("Africa/Monrovia", utc(1972, 1, 6, 3, 3, 3), timedelta(days=3)),
]


@pytest.mark.parametrize(("tz", "start", "period"), CASES)
def test_counting_per_span_gives_the_chart_of_every_comment(tz, start, period):
    rng = random.Random(f"{tz}{start}")
    end = start + period
    seconds = period.total_seconds()
    moments = [start + timedelta(seconds=rng.random() * seconds) for _ in range(3000)]
    moments += [start, end - timedelta(microseconds=1)]
    labelled = [(moment, rng.choice(("neg", "neu", "pos", None, "mixed"))) for moment in moments]
    daily = period > timedelta(days=2)
    expected = local_share_series(labelled, start, end, daily=daily, tz=tz)

    # what the database does: whole seconds since `base`, divided by the span
    span = steady_span(tz, start, end)
    base = int(start.timestamp()) // span * span
    counts = Counter(((int(moment.timestamp()) - base) // span, label) for moment, label in labelled)
    counted = [(max(start, datetime.fromtimestamp(base + index * span, UTC)), label, n)
               for (index, label), n in counts.items()]
    assert counted_share_series(counted, start, end, daily=daily, tz=tz) == expected
    assert sum(p.total for p in expected) > 0


@pytest.mark.parametrize(("tz", "start", "period", "daily"), [
    *((tz, start, period, period > timedelta(days=2)) for tz, start, period in CASES),
    ("Australia/Lord_Howe", utc(2026, 10, 3, 12), timedelta(hours=10), False),  # +10:30 -> +11 at 02:00
    ("Australia/Lord_Howe", utc(2026, 4, 4, 12), timedelta(hours=10), False),  # +11 -> +10:30 at 02:00
    ("Europe/Berlin", utc(2026, 10, 24, 22, 5), timedelta(hours=5, minutes=2), False),  # the repeated hour
    ("Africa/Monrovia", utc(1972, 1, 6, 20, 50), timedelta(hours=8, minutes=55), False),  # hours at :44:30
])
def test_every_scored_comment_of_the_period_is_in_a_bar_of_the_chart(tz, start, period, daily):
    """Hourly bars in a zone whose clocks move half an hour: the bars after the change held nothing (the
    grid stepped one UTC hour from the hour before, and the local hours start half an hour off it)."""
    end = start + period
    moments = [start + timedelta(minutes=7 * n) for n in range(int(period.total_seconds() // 420))]
    moments.append(end - timedelta(microseconds=1))
    points = local_share_series([(moment, "neg") for moment in moments], start, end, daily=daily, tz=tz)
    assert sum(p.total for p in points) == len(moments)
    assert [p.start for p in points] == sorted(p.start for p in points)
    assert points[0].start <= start and points[-1].start < end
