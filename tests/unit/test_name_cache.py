"""The people's-name cache both chat ports share (bot.adapters.name_cache): a found name for NAME_TTL_S, a
failed lookup for the window the port gives, at most max_entries people (the one stored longest ago goes)."""

from __future__ import annotations

from bot.adapters.name_cache import NAME_CACHE_MAX, NAME_RETRY_S, NAME_TTL_S, NameCache


class Monotonic:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_the_shared_windows_are_the_ones_the_ports_used():
    assert (NAME_TTL_S, NAME_RETRY_S, NAME_CACHE_MAX) == (12 * 3600, 600, 5000)


def test_a_found_name_is_kept_until_its_ttl_ends():
    clock = Monotonic()
    names = NameCache(monotonic=clock)
    assert names.cached("U1") == (False, None)
    names.remember("U1", "王芳")
    clock.now += NAME_TTL_S - 1
    assert names.cached("U1") == (True, "王芳")
    clock.now += 1
    assert names.cached("U1") == (False, None)  # time to ask again (a rename shows)


def test_a_failed_lookup_is_remembered_for_its_own_shorter_window():
    clock = Monotonic()
    names = NameCache(monotonic=clock)
    names.remember("U1", None, retry_s=60)
    names.remember("U2", "", retry_s=NAME_RETRY_S)  # an empty name is no name
    clock.now += 59
    assert names.cached("U1") == (True, None) and names.cached("U2") == (True, None)
    clock.now += 1
    assert names.cached("U1") == (False, None) and names.cached("U2") == (True, None)
    clock.now += NAME_RETRY_S
    assert names.cached("U2") == (False, None)
    names.remember("U2", "老李")  # found at last: the long window
    clock.now += NAME_RETRY_S + 1
    assert names.cached("U2") == (True, "老李")


def test_beyond_the_maximum_the_name_stored_longest_ago_goes_first():
    clock = Monotonic()
    names = NameCache(max_entries=3, monotonic=clock)
    for user in ("U1", "U2", "U3"):
        names.remember(user, user.lower())
    assert names.cached("U1") == (True, "u1")  # a read does not keep an entry: only storing it again does
    names.remember("U2", "u2 again")  # stored again: now the newest
    names.remember("U4", "u4")
    assert names.cached("U1") == (False, None) and len(names) == 3
    names.remember("U5", "u5")
    assert names.cached("U3") == (False, None)
    assert [names.cached(u) for u in ("U2", "U4", "U5")] == [(True, "u2 again"), (True, "u4"), (True, "u5")]
