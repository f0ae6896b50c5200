"""Calendar periods of client reports: a whole month, an ISO week (Monday to Sunday), a day, or a range of
whole days, in the client's time zone. Pure (no database, no clock).

Agencies owe their clients "November's report" or "last week's report": a rolling 30 days ending at the
minute a report is made (`11-06 09:26 – 12-06 09:26`) is neither, and cannot be made again later. These
periods start and end at the zone's midnights (23 or 25 hours on the day of a DST change), so a report of
the same period made again later covers exactly the same comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.reports.settings import MAX_PERIOD, PeriodError, period_error

#: the words naming a calendar period (schedules, `report --period`, `/report`): the last whole one
CALENDAR_WORDS = {
    "日报": "day", "daily": "day", "day": "day",
    "周报": "week", "weekly": "week", "week": "week",
    "月报": "month", "monthly": "month", "month": "month", "1mo": "month",
}
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def calendar_kind(text: str | None) -> str | None:
    """'day', 'week' or 'month' for a word naming a calendar period (日报, weekly, 月报 ...), else None."""
    return CALENDAR_WORDS.get((text or "").strip().lower())


@dataclass(frozen=True)
class CalendarPeriod:
    """Whole days of a zone: from `first` to `last` (inclusive), and the period compared against."""

    kind: str  # "day", "week", "month" or "days" (a range given by its dates)
    first: date
    last: date
    previous_first: date
    zone: str

    def _midnight(self, day: date) -> datetime:
        # a midnight the clocks skip (a few zones change at 00:00) is the moment of the change
        from bot.reports.service import resolve_local

        return resolve_local(datetime.combine(day, time(0)), ZoneInfo(self.zone))[0]

    @property
    def start(self) -> datetime:
        return self._midnight(self.first)

    @property
    def end(self) -> datetime:
        return self._midnight(self.last + timedelta(days=1))

    @property
    def previous_start(self) -> datetime:
        return self._midnight(self.previous_first)

    @property
    def label(self) -> str:
        """The period in a file name: 2026-11, 2026-W47, 2026-11-22, 20261101-20261115."""
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.first == self.last:
            return f"{self.first:%Y-%m-%d}"
        return f"{self.first:%Y%m%d}-{self.last:%Y%m%d}"


def month_period(year: int, month: int, zone: str) -> CalendarPeriod:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    previous = date(year - (month == 1), (month - 2) % 12 + 1, 1)
    return CalendarPeriod("month", first, following - timedelta(days=1), previous, zone)


def week_period(monday: date, zone: str) -> CalendarPeriod:
    return CalendarPeriod("week", monday, monday + timedelta(days=6), monday - timedelta(days=7), zone)


def day_period(day: date, zone: str) -> CalendarPeriod:
    return CalendarPeriod("day", day, day, day - timedelta(days=1), zone)


def days_period(first: date, last: date, zone: str) -> CalendarPeriod:
    """`first` to `last`, both included; compared with as many days just before."""
    if last < first:
        raise period_error(f"结束日期 {last} 早于开始日期 {first}", f"the end date {last} is before the start date {first}")
    days = (last - first).days + 1
    if timedelta(days=days) > MAX_PERIOD:
        raise period_error(f"{first} – {last} 超过 92 天", f"{first} – {last} is longer than 92 days")
    return CalendarPeriod("days", first, last, first - timedelta(days=days), zone)


def last_whole(kind: str, moment: datetime, zone: str) -> CalendarPeriod:
    """The last whole day, ISO week (Monday to Sunday) or calendar month of `zone` that ended at or before
    `moment`: a monthly report due on December 1st (or on the 3rd) covers November, a weekly one due on
    Monday covers the week before, a daily one the day before."""
    today = moment.astimezone(ZoneInfo(zone)).date()
    if kind == "day":
        return day_period(today - timedelta(days=1), zone)
    if kind == "week":
        return week_period(today - timedelta(days=today.weekday() + 7), zone)
    if kind == "month":
        last = today.replace(day=1) - timedelta(days=1)
        return month_period(last.year, last.month, zone)
    raise ValueError(f"unknown calendar period {kind!r}")


def parse_month(text: str) -> tuple[int, int]:
    """'2026-11' -> (2026, 11)."""
    match = _MONTH.match(str(text))
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1971:
        raise period_error(f"{text!r} 不是月份，应写成 2026-11", f"{text!r} is not a month; write e.g. 2026-11")
    return int(match.group(1)), int(match.group(2))


def parse_day(text: str) -> date:
    """'2026-11-01' -> a date."""
    try:
        day = date.fromisoformat(str(text).strip())
    except ValueError:
        raise period_error(f"{text!r} 不是日期，应写成 2026-11-01", f"{text!r} is not a date; write e.g. 2026-11-01") from None
    if day.year < 1971:
        raise period_error(f"{text!r} 太早", f"{text!r} is too early")
    return day


class OptionConflict(PeriodError):
    """--month, --from and --to given in a combination that names no period."""


@dataclass(frozen=True)
class FixedPeriod:
    """`--month` or `--from/--to` as typed (`report` and `/report` take both), parsed; the zone is the
    channel's, known later."""

    month: tuple[int, int] | None
    days: tuple[date, date] | None

    def in_zone(self, zone: str) -> CalendarPeriod:
        return month_period(*self.month, zone) if self.month is not None else days_period(*self.days, zone)


def fixed_period(month: str | None, first: str | None, last: str | None) -> FixedPeriod | None:
    """The period `--month` or `--from/--to` name (None when none is given). Raises OptionConflict for both
    at once or one of --from/--to alone, ValueError for a value that is no month or date."""
    if month is None and first is None and last is None:
        return None
    if month is not None and (first is not None or last is not None):
        raise OptionConflict("--month 与 --from/--to 只能用一个 / use either --month or --from/--to",
                             en="use either --month or --from/--to")
    if (first is None) != (last is None):
        raise OptionConflict("--from 与 --to 要一起写，例如 --from 2026-11-01 --to 2026-11-15 / give both --from and --to",
                             en="give both --from and --to, e.g. --from 2026-11-01 --to 2026-11-15")
    if month is not None:
        return FixedPeriod(parse_month(month), None)
    return FixedPeriod(None, (parse_day(first), parse_day(last)))


def check_over(period: CalendarPeriod, now: datetime) -> None:
    """Refuse a period that has not ended yet: its report would change when made again, and its comparison
    with a whole previous period would read as a drop."""
    if period.end > now.astimezone(UTC):
        shown = f"{period.first} – {period.last}"
        raise period_error(f"{shown} 还没有结束；截至现在的报告请用 --period（如 7d）",
                            f"{shown} has not ended yet; for a report up to now use --period (e.g. 7d)")
