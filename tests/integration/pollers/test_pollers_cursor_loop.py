"""A next-page cursor that goes back to a page already read (one that stays put at the end of the list, or
starts over) ends the scan: a target read to its last page (listed oldest first) otherwise spent its whole
page budget on the same pages every poll, and its scan, and so its high-water mark, never ended."""

from __future__ import annotations

import pytest

from tests.fakes.platforms import FakeCrawlerExport, Recorded
from tests.integration.pollers.helpers import comments
from tests.integration.pollers.test_pollers_outside_in_audit import _add, _crawler_source

MAX_PAGES = 10  # generic_json's default page budget


@pytest.fixture
def crawler_env(monkeypatch):
    monkeypatch.setenv("KS_TOKEN", "crawler-token")  # the token the crawler export takes


class LoopingExport(FakeCrawlerExport):
    """A crawler export whose last page still says `has_more`, with the cursor `back_to`: the last page's
    own (stays put) or the first one's (starts over)."""

    back_to: int = 0

    def handle(self, request: Recorded):
        status, body = super().handle(request)
        if status == 200 and not body["has_more"]:
            body["has_more"], body["next_cursor"] = True, self.back_to
        return status, body


@pytest.mark.parametrize("back_to", [40, 0], ids=["stays-put", "starts-over"])
def test_a_cursor_going_back_ends_the_scan_of_an_oldest_first_source(make_bot, clock, db, crawler_env, back_to):
    crawler = LoopingExport(oldest_first=True).start()
    crawler.back_to = back_to
    try:
        _add(crawler, clock, 0, 45, spacing=30)  # pages at cursors 0, 20, 40
        source = _crawler_source(crawler.url)
        source["order"] = "oldest_first"
        service = make_bot(lambda sources: sources.append(source)).services.sources
        assert service.poll("crawl").accepted == 45
        state = service.store.load("crawl").targets["recent"]
        assert state.pending is None and state.hwm == crawler.items[-1]["ts"]  # the scan ended, the mark moved

        clock.advance(300)
        _add(crawler, clock, 200, 2, ago=10, spacing=1)  # new comments at the end of the list
        before = len(crawler.requests)
        outcome = service.poll("crawl")
        assert outcome.status == "ok" and outcome.accepted == 2, outcome
        assert len(crawler.requests) - before < MAX_PAGES  # not the whole budget on the same pages again
        assert service.store.load("crawl").targets["recent"].pending is None
        assert len(comments(db, "kuaishou")) == 47
    finally:
        crawler.stop()
