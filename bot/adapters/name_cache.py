"""`NameCache`: people's names as a chat platform told them (Slack users.info, Feishu contact.v3.user.get), per
user, so a text naming the same person in every status card or timeline costs one lookup per window.

A found name is kept NAME_TTL_S; a failed lookup is remembered too (no name), for a shorter window the port
chooses (NAME_RETRY_S by default), so a missing scope or an unknown person is not asked about on every post.
At most NAME_CACHE_MAX people are kept: beyond that the one stored longest ago goes first.

Hand-written rather than cachetools.TLRUCache: that one evicts the least recently *used* entry (a read
counts), is not thread-safe (the lock would stay), and would be a new dependency for these few lines.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

NAME_TTL_S = 12 * 3600  # people rarely rename; a day-old name in a timeline entry is harmless
NAME_RETRY_S = 600  # after a refused lookup (missing scope, unknown person) ask again this much later
NAME_CACHE_MAX = 5000


class NameCache:
    """user id -> name or None (a failed lookup), each until its own expiry on a monotonic clock. Thread-safe."""

    def __init__(self, *, ttl_s: float = NAME_TTL_S, max_entries: int = NAME_CACHE_MAX,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._monotonic = monotonic
        # user id -> (name or None, monotonic time it expires), the one stored longest ago first
        self._entries: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, user_id: str) -> tuple[bool, str | None]:
        """(True, name or None) while an answer for this person is fresh; (False, None) when it is time to ask."""
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is None or entry[1] <= self._monotonic():
                return False, None
            return True, entry[0]

    def remember(self, user_id: str, name: str | None, retry_s: float = NAME_RETRY_S) -> None:
        """Keep a found name for ttl_s, a failed lookup (name None or empty) for retry_s."""
        with self._lock:
            self._entries[user_id] = (name or None, self._monotonic() + (self.ttl_s if name else retry_s))
            self._entries.move_to_end(user_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
