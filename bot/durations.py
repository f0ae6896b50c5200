"""Durations as people read them in chat, Chinese ("1 小时 30 分钟") and English ("1 h 30 min"), and the
time zone that shown times are in ("Asia/Shanghai（UTC+08:00）"). Pure.

Shared by the features that show elapsed or late times, so a card, a reminder, a review and a report word
the same span the same way (a raw "2m", "0分" or "220 分钟" read as a glitch in Chinese text, and "2 小时 5 分"
beside "5 分钟" as two different units).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo


def _units(delta: timedelta) -> tuple[int, int, int]:
    """(days, hours, minutes) of a span, whole minutes (rounded down: "超时 1 分钟" only once it is one)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return days, hours, minutes


#: (day, hour, minute) unit names and the words for under a minute, per language
_UNITS = {"zh": (("天", "小时", "分钟"), "不到 1 分钟"), "en": (("d", "h", "min"), "under a minute")}


def _duration(delta: timedelta, lang: str) -> str:
    """Every non-zero unit of a span down to whole minutes ("1 天 8 小时 55 分钟", "2 d 3 h"), as the language
    writes them. (Only the two largest used to be shown: "超时 1 天 8 小时" for 1 d 8 h 55 min, although
    lateness is counted in whole minutes.)"""
    names, under_a_minute = _UNITS[lang]
    parts = [f"{amount} {name}" for amount, name in zip(_units(delta), names, strict=True) if amount]
    return " ".join(parts) if parts else under_a_minute


def duration_zh(delta: timedelta) -> str:
    """'2 分钟', '1 小时', '1 小时 30 分钟', '2 天 3 小时 4 分钟' (whole minutes; under a minute '不到 1 分钟')."""
    return _duration(delta, "zh")


def duration_en(delta: timedelta) -> str:
    """'2 min', '1 h', '1 h 30 min', '2 d 3 h 4 min' (under a minute 'under a minute')."""
    return _duration(delta, "en")


def duration_zh_en(delta: timedelta) -> str:
    """'3 小时 40 分钟 / 3 h 40 min': both languages, for a line written in both."""
    return f"{duration_zh(delta)} / {duration_en(delta)}"


def ago_zh_en(delta: timedelta) -> str:
    """How long ago something happened: '2 小时 5 分钟前 / ago', '刚刚 / just now' under a minute (not
    "0分钟前", which read as a glitch)."""
    if delta < timedelta(minutes=1):
        return "刚刚 / just now"
    return f"{duration_zh(delta)}前 / ago"


def _zone(zone: str | tzinfo) -> tuple[tzinfo, str]:
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return tz, getattr(tz, "key", None) or str(tz)


def utc_offset(zone: str | tzinfo, at: datetime) -> str:
    """'UTC+08:00': the offset `zone` has at `at` (a timezone-aware moment)."""
    tz, _ = _zone(zone)
    offset = at.astimezone(tz).strftime("%z") or "+0000"
    return f"UTC{offset[:3]}:{offset[3:5]}"


def zone_text(zone: str | tzinfo, at: datetime) -> str:
    """A time zone as the post-incident review names it: 'Asia/Shanghai（UTC+08:00）', with the offset the
    zone has at `at` (a timezone-aware moment). Said once beside a card's, a timeline's or a header's times."""
    tz, name = _zone(zone)
    return f"{name}（{utc_offset(tz, at)}）"


def zone_note(zone: str | tzinfo, at: datetime) -> str:
    """'时间均为 Asia/Shanghai（UTC+08:00）/ all times in Asia/Shanghai': the review's line, for a card or a
    timeline whose times are all in one zone."""
    tz, name = _zone(zone)
    return f"时间均为 {zone_text(tz, at)} / all times in {name}"


def overdue_zh_en(late: timedelta, word: str = "超时") -> tuple[str, str]:
    """How late something is: ('刚刚超时', 'just overdue') under a minute, else ('超时 12 分钟', '12 min
    overdue'). `word` is the feature's own term (the reply queue says 逾期)."""
    if late < timedelta(minutes=1):
        return f"刚刚{word}", "just overdue"
    return f"{word} {duration_zh(late)}", f"{duration_en(late)} overdue"
