"""Rate-limited warnings for refused inbound requests (`POST /slack/events`, `/feishu/events`,
`/api/v1/comments`).

Anyone who can reach the port can send forged requests, and each used to write one WARNING line: a
loop of them filled the disk. `RefusalLog` writes the first refusal of each (endpoint, reason) in full,
then at most one line per `interval_s` for that key, which is the latest refusal in full plus how many
more were left out since the last line. Nothing else is lost: the endpoints still count every refusal
exactly in their metrics. Left-out refusals are said only when the next one of the same kind arrives (no
timer runs for them).

The clock is the bot's Clock (tests inject a FakeClock); under the demo's replay clock the pace is real
time. Keys are bounded: a reason that names a value (a Slack workspace id) cannot grow memory for ever.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock, ReplayClock, SystemClock

#: seconds between two lines of the same (endpoint, reason)
SUMMARY_INTERVAL_S = 60.0
#: (endpoint, reason) keys remembered; the oldest is forgotten beyond (its next refusal is logged in full)
MAX_KEYS = 256


def real_time(clock: Clock | None) -> Clock:
    """The clock to pace log lines by: real time, also under the demo's replay clock (feed time there runs
    many times faster, which would turn one line a minute into one a second)."""
    if clock is None:
        return SystemClock()
    return clock.real if isinstance(clock, ReplayClock) else clock


@dataclass(slots=True)
class _Pace:
    last_line: datetime
    left_out: int = 0


class RefusalLog:
    """One WARNING line per (endpoint, reason) and interval; see the module docstring. Thread-safe (the
    Slack Socket Mode thread and the Feishu long connection's thread refuse too)."""

    def __init__(self, logger: logging.Logger, *, clock: Clock | None = None,
                 interval_s: float = SUMMARY_INTERVAL_S, max_keys: int = MAX_KEYS) -> None:
        self._logger = logger
        self._clock = real_time(clock)
        self._interval_s = interval_s
        self._max_keys = max_keys
        self._paces: OrderedDict[tuple[str, str], _Pace] = OrderedDict()
        self._lock = threading.Lock()

    def refused(self, endpoint: str, reason: str, message: str, *args: Any) -> bool:
        """Log `message % args` at WARNING unless a line of this (endpoint, reason) was written within the
        interval (then it is only counted). True when a line was written."""
        now = self._clock.now()
        key = (endpoint, reason)
        with self._lock:
            pace = self._paces.get(key)
            if pace is None:
                self._paces[key] = _Pace(now)
                while len(self._paces) > self._max_keys:
                    self._paces.popitem(last=False)
                left_out, since_s = 0, 0.0
            else:
                since_s = (now - pace.last_line).total_seconds()
                # a clock set back counts as a new interval: it must not silence the key until it catches up
                if 0 <= since_s < self._interval_s:
                    pace.left_out += 1
                    return False
                left_out = pace.left_out
                pace.last_line, pace.left_out = now, 0
                self._paces.move_to_end(key)
        if left_out:
            self._logger.warning(message + " (%d more refused like it in the last %.0f s; /metrics counts all)",
                                 *args, left_out, max(since_s, 0.0))
        else:
            self._logger.warning(message, *args)
        return True
