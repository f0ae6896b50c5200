"""Config section for scheduled client reports (`reports:` in config/crisisbot.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.i18n import EnglishToo

# the Chinese units too (7天, 24小时, 2周), as the reply queue's --since and other commands take them
_PERIOD = re.compile(r"^\s*(\d+)\s*(h|d|w|小时|天|周)\s*$")
_PERIOD_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
                 "小时": timedelta(hours=1), "天": timedelta(days=1), "周": timedelta(weeks=1)}
MAX_PERIOD = timedelta(days=92)


class PeriodError(EnglishToo, ValueError):
    """A report period that is not one: the message Chinese first with English, `en` the English alone (an
    English channel's `/report 3x` was answered "'3x' 不是有效的周期（…）/ '3x' is not a period …")."""


def period_error(zh: str, en: str) -> PeriodError:
    """A PeriodError reading "zh / en" (no space after a closing "）", which has its own), with `en` alone for
    an English channel."""
    return PeriodError(f"{zh}{'/ ' if zh.endswith('）') else ' / '}{en}", en=en)


def parse_period(value: str) -> timedelta:
    """A report period such as "24h", "1d", "7d", "2w", "7天" (whole hours, days or weeks; at most 92 days)."""
    match = _PERIOD.match(str(value).lower())
    # echoed in chat: a pasted wall of digits is cut short
    shown = str(value) if len(str(value)) <= 24 else str(value)[:20] + "…"
    if not match:
        raise _not_a_period(shown)
    digits, unit = match.group(1).lstrip("0"), _PERIOD_UNITS[match.group(2)]
    # Compare the count before multiplying: timedelta overflows from 10**9 days, and int() refuses
    # strings over 4300 digits, so a huge number must be "too long", not a crash.
    if len(digits) > 6:
        raise _too_long(shown)
    count = int(digits or "0")
    if count == 0:
        raise _not_a_period(shown)
    if count > MAX_PERIOD // unit:
        raise _too_long(shown)
    return count * unit


# Chinese first, as every user-facing text: these reach `/report`, `report --period` and `config check`.
def _not_a_period(shown: str) -> PeriodError:
    return period_error(f"{shown!r} 不是有效的周期（整数小时、天或周，例如 24h、1d、7d、2w）",
                         f"{shown!r} is not a period (use e.g. '24h', '1d', '7d', '2w')")


def _too_long(shown: str) -> PeriodError:
    return period_error(f"{shown!r} 超过 92 天", f"{shown!r} is longer than 92 days")


_WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_weekday(value: str) -> int:
    value = value.strip().lower()
    if value[:3] in _WEEKDAY_NAMES:
        return _WEEKDAY_NAMES.index(value[:3])
    number = int(value)
    if not 0 <= number <= 7:
        raise ValueError(f"day of week {value!r} is not 0-7")
    return number % 7


def _weekday_names(field: str) -> str:
    """Crontab's day-of-week field (0 or 7 = Sunday, 1 = Monday) as APScheduler day names.

    APScheduler 3's `CronTrigger.from_crontab` reads the numbers as its own (0 = Monday), so "0 9 * * 1"
    would fire on Tuesdays; spelling the days out keeps the standard crontab meaning.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        part, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in day of week {item!r}")
        if part == "*":
            low, high = 0, 6
        elif "-" in part:
            first, last = part.split("-", 1)
            low, high = _crontab_weekday(first), _crontab_weekday(last)
            if last.strip() == "7":
                high = 7
        else:
            low = _crontab_weekday(part)
            high = 6 if step_text else low
        if high < low:
            raise ValueError(f"day-of-week range {item!r} runs backwards")
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(_WEEKDAY_NAMES[day] for day in sorted(days))


def _restricted(field: str) -> bool:
    """Whether a day field restricts the days, in cron's sense: a field starting with `*` does not."""
    return not field.startswith(("*", "?"))


def _triggers(expression: str, zone: str) -> list:
    """The CronTriggers of a crontab line: one, or two when both day fields are restricted (see `cron_trigger`)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"{expression!r} needs 5 fields: minute hour day month weekday, e.g. '0 9 * * 1'")
    minute, hour, day, month, weekday = fields
    names = _weekday_names(weekday)

    def make(day_field: str, weekday_field: str):
        return CronTrigger(minute=minute, hour=hour, day=day_field, month=month, day_of_week=weekday_field,
                           timezone=zone)

    if _restricted(day) and _restricted(weekday):
        return [make(day, "*"), make("*", names)]
    return [make(day, names)]


def cron_trigger(expression: str, zone: str):
    """An APScheduler trigger for a standard five-field crontab line (minute hour day month weekday).

    Standard cron fires on a day that matches the day of month OR the day of week when both are
    restricted ("0 9 1 * 1": the 1st of each month and every Monday); APScheduler's CronTrigger wants
    both, and such a line never fired. It is then the union of two triggers, one per day field.
    """
    from apscheduler.triggers.combining import OrTrigger

    triggers = _triggers(expression, zone)
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


def _matches(field, moment) -> bool:
    return field.get_next_value(moment) == field.get_value(moment)


@dataclass(frozen=True)
class CronSchedule:
    """A crontab line read for `bot.reports.service.due_times`: the days it fires on (day of month OR day
    of week when both are restricted, as standard cron), its hours and minutes of those days, and whether it
    is a "wildcard" line (minute or hour starting with `*`), which decides what happens across a DST change
    (see `due_times`)."""

    triggers: tuple
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    wildcard: bool

    def fires_on(self, day: date) -> bool:
        moment = datetime(day.year, day.month, day.day)
        for trigger in self.triggers:
            fields = {field.name: field for field in trigger.fields}
            if all(_matches(fields[name], moment) for name in ("year", "month", "day", "day_of_week")):
                return True
        return False


def cron_schedule(expression: str) -> CronSchedule:
    triggers = _triggers(expression, "UTC")
    fields = {field.name: field for field in triggers[0].fields}
    hours = tuple(h for h in range(24) if _matches(fields["hour"], datetime(2000, 1, 1, h)))
    minutes = tuple(m for m in range(60) if _matches(fields["minute"], datetime(2000, 1, 1, 0, m)))
    minute, hour = expression.split()[:2]
    return CronSchedule(tuple(triggers), hours, minutes, wildcard=minute.startswith("*") or hour.startswith("*"))


def check_cron(value: str) -> str:
    if len(value.split()) != 5:
        raise ValueError(f"应有 5 个字段：分 时 日 月 星期，如 '0 9 * * 1' / {value!r} needs 5 fields: minute hour day "
                         "month weekday, e.g. '0 9 * * 1'")
    try:
        cron_trigger(value, "UTC")
    except ValueError as exc:
        # the detail (APScheduler's or ours) is English; the lead says what is wrong in Chinese first
        raise ValueError(f"不是有效的 crontab 表达式（分 时 日 月 星期，如 '0 9 * * 1'）/ {value!r} is not a crontab "
                         f"expression like '0 9 * * 1' ({exc})") from None
    return value


def is_calendar_period(value: str) -> bool:
    """Whether a schedule's `period` names a calendar period (日报/周报/月报, daily/weekly/monthly): the
    last whole day, ISO week or month before the due time, rather than a length ending at it."""
    from bot.reports.periods import calendar_kind

    return calendar_kind(value) is not None


class ReportSchedule(BaseModel):
    """One recurring report: which channel gets it, when (crontab, in the channel's time zone), and
    the period it covers: a length ending at the moment it is due (`1d`, `7d`), or the previous whole
    calendar day, ISO week or month in the channel's zone (`日报`, `周报`, `月报`; daily, weekly, monthly)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    channel: str = Field(min_length=3, description="platform:channel_id; the report covers what it may see")
    cron: str = "0 9 * * *"
    period: str = "1d"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if not is_calendar_period(value):
            parse_period(value)
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if ":" not in value:
            raise ValueError("must look like 'platform:channel_id', e.g. 'slack:C0123'")
        return value

    @property
    def period_delta(self) -> timedelta:
        """The length of a rolling period (`1d`, `7d`); a calendar one (月报) has none: see `calendar`."""
        return parse_period(self.period)

    @property
    def calendar(self) -> str | None:
        """'day', 'week' or 'month' for a calendar period (日报, 周报, 月报), None for a rolling one."""
        from bot.reports.periods import calendar_kind

        return calendar_kind(self.period)


class ReportsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedules: list[ReportSchedule] = Field(default_factory=list)
    # A report that fell due while the bot was down is still sent when it comes back within this many
    # hours (older ones are skipped: a week-old daily report helps nobody). A report that failed to build
    # is tried again within the same window (at most 5 times), then given up with a notice in the
    # default channel (bot/reports/service.py).
    catch_up_hours: int = Field(12, ge=0, le=24 * 7)
    check_every_seconds: int = Field(60, ge=5, le=3600)
    top_comments: int = Field(3, ge=0, le=10)
    top_keywords: int = Field(8, ge=0, le=20)
    # Keyword extraction reads at most this many negative comments (most-liked first) per report.
    keyword_sample: int = Field(2000, ge=100, le=20000)

    @field_validator("schedules")
    @classmethod
    def _unique_ids(cls, value: list[ReportSchedule]) -> list[ReportSchedule]:
        seen: set[str] = set()
        for schedule in value:
            if schedule.id in seen:
                raise ValueError(f"duplicate schedule id {schedule.id!r}")
            seen.add(schedule.id)
        return value
