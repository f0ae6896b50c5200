"""Outside-in audit of the pollers: the high-water mark, list order, decimal epoch text and redirects,
driven through the product's own service against the local fake platform servers."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.feeds.pollers.engine import MAX_CLOCK_SKEW
from tests.fakes.platforms import FakeCrawlerExport, FakePlatform
from tests.integration.pollers.helpers import comments

DY_COMMENTS = "/item/comment/list/"


def ts(clock, seconds_ago: float) -> int:
    return int((clock.now() - timedelta(seconds=seconds_ago)).timestamp())


def _reply(bili, rpid: int, ctime: int) -> None:
    bili.add_reply("170001", rpid, mid=rpid, uname=f"u{rpid}", message=f"评论{rpid}", ctime=ctime)


# ---- 1. a comment dated ahead never blinds the poller ---------------------------------------------


def test_a_rejected_comment_dated_weeks_ahead_does_not_move_the_mark(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _reply(bili, 1, ts(clock, -20 * 86400))  # 20 days ahead: ingestion rejects it
    _reply(bili, 2, ts(clock, 30))
    service = make_bot().services.sources
    outcome = service.poll("bili")
    assert (outcome.accepted, outcome.rejected) == (1, 1), outcome
    assert service.store.load("bili").targets["170001"].hwm == ts(clock, 30)

    clock.advance(300)  # the next round (a poll less than an interval after the last one is skipped)
    _reply(bili, 3, ts(clock, 2))
    outcome = service.poll("bili")
    assert outcome.status == "ok" and outcome.accepted == 1, outcome
    assert "3" in {c.comment_id for c in comments(db, "bilibili")}


def test_an_accepted_comment_a_few_days_ahead_moves_the_mark_no_further_than_now(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _reply(bili, 1, ts(clock, -3 * 86400))  # within ingestion's 7 days: stored
    service = make_bot().services.sources
    assert service.poll("bili").accepted == 1
    assert service.store.load("bili").targets["170001"].hwm <= clock.now().timestamp() + MAX_CLOCK_SKEW

    clock.advance(3600)
    _reply(bili, 2, ts(clock, 5))
    assert service.poll("bili").accepted == 1
    assert {"1", "2"} <= {c.comment_id for c in comments(db, "bilibili")}


# ---- generic_json against a crawler export -------------------------------------------------------------


@pytest.fixture
def crawler_env(monkeypatch):
    monkeypatch.setenv("KS_TOKEN", "crawler-token")


def _crawler_source(url: str, path: str = "/export") -> dict:
    return {
        "id": "crawl", "type": "generic_json", "account": {"platform": "kuaishou", "account_id": "ks_brand"},
        "targets": "recent", "base_url": url, "backfill": "2h",
        "credentials": {"access_token": "KS_TOKEN"},
        "settings": {
            "path": path, "headers": {"Authorization": "Bearer {credential:access_token}"},
            "params": {"size": 20}, "list_path": "items",
            "fields": {"id": "cid", "text": "body", "time": "ts"},
            "cursor_param": "cursor", "cursor_path": "next_cursor", "has_more_path": "has_more",
        },
    }


def _add(crawler, clock, first: int, count: int, *, ago: int = 3600, spacing: int = 60, as_text: bool = False) -> None:
    """`count` comments k<first>..., the first `ago` seconds ago, each `spacing` seconds newer."""
    for n in range(count):
        stamp = ts(clock, ago - n * spacing) + 0.5
        crawler.items.append({"cid": f"k{first + n}", "body": f"评论{first + n}",
                              "ts": f"{stamp:.1f}" if as_text else int(stamp)})


# ---- 2. a list sorted oldest first loses nothing ------------------------------------------------------


def test_an_endpoint_listing_oldest_first_still_delivers_new_comments(make_bot, clock, db, crawler_env, caplog):
    crawler = FakeCrawlerExport(oldest_first=True).start()
    try:
        _add(crawler, clock, 0, 45, spacing=30)
        service = make_bot(lambda sources: sources.append(_crawler_source(crawler.url))).services.sources
        with caplog.at_level(logging.WARNING, logger="bot.feeds.pollers.engine"):
            assert service.poll("crawl").accepted == 45

        clock.advance(300)
        _add(crawler, clock, 200, 3, ago=10, spacing=1)  # newer than every comment listed so far: the last page
        outcome = service.poll("crawl")
        assert outcome.status == "ok" and outcome.accepted == 3, outcome
        assert len(comments(db, "kuaishou")) == 48
        assert [r for r in caplog.records if "oldest first" in r.getMessage()]  # said once, in the log
    finally:
        crawler.stop()


def _declared_oldest_first(url: str, page_size: int) -> dict:
    source = _crawler_source(url)
    source["order"] = "oldest_first"
    source["settings"]["params"] = {"size": page_size}
    return source


def test_a_source_declared_oldest_first_is_read_to_its_end_without_a_warning(make_bot, clock, db, crawler_env, caplog):
    crawler = FakeCrawlerExport(oldest_first=True).start()
    try:
        _add(crawler, clock, 0, 45, spacing=30)
        service = make_bot(lambda sources: sources.append(_declared_oldest_first(crawler.url, 20))).services.sources
        with caplog.at_level(logging.WARNING, logger="bot.feeds.pollers.engine"):
            assert service.poll("crawl").accepted == 45
            clock.advance(300)
            _add(crawler, clock, 200, 3, ago=10, spacing=1)  # on the last page
            outcome = service.poll("crawl")
        assert outcome.status == "ok" and outcome.accepted == 3, outcome
        assert len(comments(db, "kuaishou")) == 48
        assert not [r for r in caplog.records if "oldest first" in r.getMessage()]  # declared: nothing to warn about
        state = service.store.load("crawl").targets["recent"]
        assert state.hwm == crawler.items[-1]["ts"] and state.pending is None  # the mark moves as ever
    finally:
        crawler.stop()


def test_a_declared_oldest_first_source_with_pages_too_short_to_show_an_order_loses_nothing(
        make_bot, clock, db, crawler_env):
    # one comment a page: no page shows an order to detect, so only the declaration keeps the scans going
    # past the first (known) comment to the new ones at the end
    crawler = FakeCrawlerExport(oldest_first=True).start()
    try:
        _add(crawler, clock, 0, 3)
        service = make_bot(lambda sources: sources.append(_declared_oldest_first(crawler.url, 1))).services.sources
        assert service.poll("crawl").accepted == 3
        clock.advance(300)
        _add(crawler, clock, 200, 2, ago=10, spacing=1)
        outcome = service.poll("crawl")
        assert outcome.status == "ok" and outcome.accepted == 2, outcome
        assert {"k200", "k201"} <= {c.comment_id for c in comments(db, "kuaishou")}
    finally:
        crawler.stop()


# ---- 3. decimal epoch text moves the mark -------------------------------------------------------------


def test_decimal_epoch_text_is_read_as_a_time_and_moves_the_mark(make_bot, clock, db, crawler_env):
    crawler = FakeCrawlerExport().start()
    try:
        _add(crawler, clock, 0, 45, as_text=True)  # "1764900000.5": what ingestion accepts
        service = make_bot(lambda sources: sources.append(_crawler_source(crawler.url))).services.sources
        assert service.poll("crawl").accepted == 45
        state = service.store.load("crawl").targets["recent"]
        assert state.hwm == float(crawler.items[-1]["ts"])
        assert not [key for key in state.recent if key.startswith("content:")]

        clock.advance(300)
        _add(crawler, clock, 100, 1, ago=10, as_text=True)
        outcome = service.poll("crawl")
        assert (outcome.accepted, outcome.fetched) == (1, 20), outcome  # page 1 only: the rest is known
    finally:
        crawler.stop()


# ---- 4. credentials never follow a redirect to another site ------------------------------------------


class _Elsewhere(FakePlatform):
    def handle(self, request):
        return 200, {"data": {"list": [], "has_more": False, "cursor": 0}, "extra": {"error_code": 0}}


def test_douyin_token_is_not_sent_to_the_site_a_redirect_names(make_bot, fakes, clock, db):
    elsewhere = _Elsewhere().start()
    try:
        fakes["douyin"].add_comment("@item1", "c1", user="fan1", content="好", create_time=ts(clock, 60))
        fakes["douyin"].script(DY_COMMENTS, status=302, headers={"Location": f"{elsewhere.url}/steal?x=1"})
        outcome = make_bot().services.sources.poll("dy")
        assert outcome.status == "failed" and outcome.reason.startswith("config"), outcome
        assert f"{elsewhere.url}/steal" in outcome.reason and "x=1" not in outcome.reason
        assert elsewhere.requests == []
    finally:
        elsewhere.stop()


def test_a_redirect_within_the_same_site_is_followed_with_the_credentials(make_bot, clock, db, crawler_env):
    crawler = FakeCrawlerExport().start()
    try:
        _add(crawler, clock, 0, 2)
        crawler.script("/old", status=301, headers={"Location": f"{crawler.url}/export?size=20"})
        service = make_bot(lambda sources: sources.append(_crawler_source(crawler.url, "/old"))).services.sources
        assert service.poll("crawl").accepted == 2
        assert crawler.calls("/export")[0].headers["authorization"] == "Bearer crawler-token"
    finally:
        crawler.stop()
