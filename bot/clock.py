"""An injectable clock: services ask it for the time, so tests move time instead of sleeping."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to; thread-safe so workers and tests can share it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock.set needs a timezone-aware time")
        with self._lock:
            self._now = when


def ensure_aware(value: datetime) -> datetime:
    """Treat a naive datetime as UTC (databases such as SQLite drop the zone) and return it in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


__all__ = ["Clock", "SystemClock", "FakeClock", "ReplayClock", "MAX_REPLAY_SPEED", "check_replay_speed", "ensure_aware",
           "timedelta"]


# Feed seconds per real second, at most: 3 days of feed in under 3 s. Far faster, feed time leaves the calendar
# (datetime ends in year 9999) within hours of real time and `now()` raised OverflowError.
MAX_REPLAY_SPEED = 100_000.0


class ReplayClock:
    """Feed time for the demo replay: starts at `start` and runs `speed` times faster than real time.

    `advance_to` lets a fast replay jump ahead (the clock never goes backwards). `speed` must be a finite
    number above 0 and at most MAX_REPLAY_SPEED: nan, inf or a huge speed made `now()` raise (ValueError
    "cannot convert NaN to integer ratio", OverflowError), 0 or less stops or reverses feed time.
    """

    def __init__(self, start: datetime, speed: float = 1.0, *, real: Clock | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("ReplayClock needs a timezone-aware start")
        check_replay_speed(speed)
        self._real = real or SystemClock()
        self._origin_real = self._real.now()
        self._origin = start
        self.speed = speed
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (self._real.now() - self._origin_real) * self.speed
            return self._origin + elapsed + self._offset

    @property
    def real(self) -> Clock:
        """The wall clock underneath (e.g. to judge request timestamps during a demo replay)."""
        return self._real

    def advance_to(self, when: datetime) -> None:
        current = self.now()
        if when > current:
            with self._lock:
                self._offset += when - current

    def slow_to(self, speed: float) -> None:
        """Run at `speed` from now on, feed time going on from where it is (setting `speed` alone would
        apply it to all the time since the start: feed time would jump). The demo slows down once its alert
        is posted, so the alert stays open while people try its buttons."""
        check_replay_speed(speed)
        with self._lock:
            real_now = self._real.now()
            self._origin += (real_now - self._origin_real) * self.speed + self._offset
            self._origin_real, self._offset, self.speed = real_now, timedelta(0), speed


def check_replay_speed(speed: float) -> float:
    """`speed` if a replay can run at it, else ValueError saying why (Chinese first, shown by `serve --speed`)."""
    if not math.isfinite(speed):
        raise ValueError(f"回放倍速应为有限的数，例如 600 / the replay speed must be a finite number, e.g. 600 "
                         f"(got {speed:g})")
    if speed <= 0:
        raise ValueError(f"回放倍速应大于 0 / the replay speed must be above 0 (got {speed:g})")
    if speed > MAX_REPLAY_SPEED:
        raise ValueError(f"回放倍速最多 {MAX_REPLAY_SPEED:g} / the replay speed is at most {MAX_REPLAY_SPEED:g} "
                         f"(got {speed:g})")
    return speed
