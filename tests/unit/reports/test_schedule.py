"""Report schedules and periods: crontab in the channel's zone, catch-up window, config errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, parse_config
from bot.reports.render import period_name
from bot.reports.service import latest_due_time, schedule_key
from bot.reports.settings import parse_period


def test_latest_due_time_is_in_the_schedules_zone():
    now = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    due = latest_due_time("0 9 * * *", "Asia/Shanghai", now, timedelta(hours=12))
    assert due == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert latest_due_time("0 9 * * *", "Asia/Shanghai", now, timedelta(minutes=20)) is None
    assert latest_due_time("0 9 * * *", "UTC", now, timedelta(hours=12)) is None  # 09:00 UTC not yet
    assert schedule_key("x", due) == "report:x:20261123T0100Z"


def test_latest_due_time_picks_the_most_recent_of_several():
    now = datetime(2026, 11, 23, 5, 59, tzinfo=UTC)
    due = latest_due_time("0 * * * *", "UTC", now, timedelta(hours=12))
    assert due == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24h", timedelta(hours=24)), ("1d", timedelta(days=1)), ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2))],
)
def test_parse_period(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "3x", "1y", "-1d", "100d"])
def test_parse_period_refuses(text):
    with pytest.raises(ValueError):
        parse_period(text)


def test_period_names_are_chinese_first():
    assert period_name(timedelta(days=1)).startswith("日报")
    assert period_name(timedelta(days=7)).startswith("周报")
    assert period_name(timedelta(hours=6)).startswith("6 小时报告")
    assert period_name(timedelta(days=3)).startswith("3 天报告")


def test_bad_schedules_are_refused_with_their_key_paths():
    data = {
        "channels": [{"id": "console:lanji"}],
        "reports": {"schedules": [
            {"id": "a", "channel": "console:lanji", "cron": "61 9 * * *"},
            {"id": "b", "channel": "console:nowhere", "period": "3x"},
        ]},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="t.yaml")
    text = "\n".join(caught.value.problems)
    assert "t.yaml: reports.schedules[0].cron:" in text
    assert "t.yaml: reports.schedules[1].period:" in text
    assert "t.yaml: reports.schedules[1].channel: 未知的频道（请在 channels: 下列出）/ unknown channel 'console:nowhere'" in text


@pytest.mark.parametrize(
    ("weekday", "fires_on"),
    [
        ("1", {"Monday"}),
        ("0", {"Sunday"}),
        ("7", {"Sunday"}),
        ("1-5", {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}),
        ("sat,sun", {"Saturday", "Sunday"}),
        ("5-7", {"Friday", "Saturday", "Sunday"}),
        ("*/3", {"Sunday", "Wednesday", "Saturday"}),
    ],
)
def test_day_of_week_keeps_the_crontab_meaning(weekday, fires_on):
    # APScheduler 3 reads crontab weekday numbers with 0 = Monday; ours must keep 0/7 = Sunday.
    from bot.reports.settings import cron_trigger

    trigger = cron_trigger(f"0 9 * * {weekday}", "UTC")
    fire, seen = datetime(2026, 11, 22, tzinfo=UTC), set()
    for _ in range(14):
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
        seen.add(fire.strftime("%A"))
    assert seen == fires_on
