"""Two serve processes (replicas) on one database poll a source at its interval, not twice as often (audit 5, e).

Each process runs its own interval job for every source; the lease only keeps their polls apart. A
scheduled poll now skips its round when the source's stored `last_poll_at` is less than its interval ago.
Two bots, each with its own engine on the same database (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

from datetime import timedelta

from bot.feeds.pollers.service import SKIPPED_RECENT
from tests.integration.pollers.test_poll_lease import MAIN, other_process_bot, ts  # noqa: F401 - a fixture

INTERVAL = 300  # the sources' default interval (seconds)


def test_two_replicas_poll_a_source_once_per_interval_together(make_bot, other_process_bot, fakes, clock, db):  # noqa: F811
    bili = fakes["bilibili"]
    bili.add_reply("170001", 100, mid=7, uname="u", message="评论", ctime=ts(clock, 60))
    first, second = make_bot().services.sources, other_process_bot().services.sources

    assert first.poll("bili").status == "ok"
    clock.advance(timedelta(seconds=100))  # the other replica's interval job fires a third of an interval later
    skipped = second.poll("bili")
    assert (skipped.status, skipped.reason_code) == ("skipped", SKIPPED_RECENT), skipped
    assert skipped.reason.startswith("此数据源刚被轮询过") and "/ polled less than" in skipped.reason
    assert len(bili.calls(MAIN)) == 1

    # Both replicas' jobs keep firing every interval, a third of an interval apart, for an hour.
    for _round in range(12):
        clock.advance(timedelta(seconds=INTERVAL - 100))
        first.poll("bili")
        clock.advance(timedelta(seconds=100))
        second.poll("bili")
    assert len(bili.calls(MAIN)) == 13  # once per interval in all, not 25 times

    # A poll by hand (`crisisbot poll`, forced) is never skipped for pace.
    assert second.poll("bili", force=True).status == "ok"
    assert len(bili.calls(MAIN)) == 14
