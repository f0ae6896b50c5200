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


#: (day, hour, minute) unit names and the words for under a minute, per language
_UNITS = {"zh": (("天", "小时", "分钟"), "不到 1 分钟"), "en": (("d", "h", "min"), "under a minute")}


def _duration(delta: timedelta, lang: str) -> str:
    """The two largest non-zero units of a span ("1 小时 30 分钟", "2 d 3 h"), as the language writes them."""
    names, under_a_minute = _UNITS[lang]
    amounts = _units(delta)
    first = next((i for i, amount in enumerate(amounts) if amount), None)
    if first is None:
        return under_a_minute
    parts = [f"{amounts[first]} {names[first]}"]
    if first < 2 and amounts[first + 1]:
        parts.append(f"{amounts[first + 1]} {names[first + 1]}")
    return " ".join(parts)


def duration_zh(delta: timedelta) -> str:
    """'2 分钟', '1 小时', '1 小时 30 分钟', '2 天 3 小时' (the two largest units; under a minute '不到 1 分钟')."""
    return _duration(delta, "zh")


def duration_en(delta: timedelta) -> str:
    """'2 min', '1 h', '1 h 30 min', '2 d 3 h' (under a minute 'under a minute')."""
    return _duration(delta, "en")


def overdue_zh_en(late: timedelta, word: str = "超时") -> tuple[str, str]:
    """How late something is: ('刚刚超时', 'just overdue') under a minute, else ('超时 12 分钟', '12 min
    overdue'). `word` is the feature's own term (the reply queue says 逾期)."""
    if late < timedelta(minutes=1):
        return f"刚刚{word}", "just overdue"
    return f"{word} {duration_zh(late)}", f"{duration_en(late)} overdue"
