"""Durations as people read them in chat, Chinese ("1 小时 30 分钟") and English ("1 h 30 min"). Pure.

Shared by the features that show elapsed or late times, so a card and a reminder word the same span the
same way (a raw "2m" or "0分" read as a glitch in Chinese text).
"""

from __future__ import annotations

from datetime import timedelta


def _units(delta: timedelta) -> tuple[int, int, int]:
    """(days, hours, minutes) of a span, whole minutes (rounded down: "超时 1 分钟" only once it is one)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return days, hours, minutes


def duration_zh(delta: timedelta) -> str:
    """'2 分钟', '1 小时', '1 小时 30 分钟', '2 天 3 小时' (the two largest units; under a minute '不到 1 分钟')."""
    days, hours, minutes = _units(delta)
    if days:
        return f"{days} 天" + (f" {hours} 小时" if hours else "")
    if hours:
        return f"{hours} 小时" + (f" {minutes} 分钟" if minutes else "")
    return f"{minutes} 分钟" if minutes else "不到 1 分钟"


def duration_en(delta: timedelta) -> str:
    """'2 min', '1 h', '1 h 30 min', '2 d 3 h' (under a minute 'under a minute')."""
    days, hours, minutes = _units(delta)
    if days:
        return f"{days} d" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" if minutes else "under a minute"


def overdue_zh_en(late: timedelta, word: str = "超时") -> tuple[str, str]:
    """How late something is: ('刚刚超时', 'just overdue') under a minute, else ('超时 12 分钟', '12 min
    overdue'). `word` is the feature's own term (the reply queue says 逾期)."""
    if late < timedelta(minutes=1):
        return f"刚刚{word}", "just overdue"
    return f"{word} {duration_zh(late)}", f"{duration_en(late)} overdue"
