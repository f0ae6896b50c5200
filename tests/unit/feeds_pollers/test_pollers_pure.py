"""Pure parts of the pollers: config, signing, time parsing, backoff, record mapping, the paging engine."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.clock import FakeClock
from bot.feeds.pollers.announcements import parse_feed
from bot.feeds.pollers.base import (
    IngestTally,
    Item,
    Page,
    PollContext,
    PollError,
    SourceState,
    backoff_delay,
    dig,
    parse_retry_after,
    parse_time,
    parse_weibo_time,
)
from bot.feeds.pollers.bilibili import map_reply, mixin_key, wbi_query, wbi_sign
from bot.feeds.pollers.douyin import map_comment as map_douyin
from bot.feeds.pollers.engine import poll_comments
from bot.feeds.pollers.generic import effective_settings
from bot.feeds.pollers.weibo import map_comment as map_weibo
from bot.feeds.records import validate_record
from bot.feeds.settings import FeedsConfig, GenericJsonSettings, parse_duration
from tests.fakes.platforms import atom, rss
from tests.unit.feeds_pollers.platform_pages import (
    BILIBILI_NAV_LOGGED_OUT,
    BILIBILI_REPLY_PAGE,
    DOUYIN_COMMENT_PAGE,
    WEIBO_COMMENTS_PAGE,
)

# ------------------------------------------------------------------------------------------- config


def test_durations():
    assert parse_duration("90") == 90 and parse_duration("5m") == 300 and parse_duration("1.5h") == 5400
    assert parse_duration(30) == 30.0 and parse_duration("7d") == 7 * 86400
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_config_accepts_every_type_and_refuses_mistakes():
    config = FeedsConfig.model_validate({"sources": [
        {"id": "b", "type": "bilibili", "account": {"platform": "bilibili", "account_id": 42}, "targets": [170001],
         "interval": "2m"},
        {"id": "rules", "type": "announcements", "base_url": "https://example.invalid/rss"},
    ]})
    bili = config.source("b")
    assert bili.interval == 120 and bili.effective_jitter == 12 and bili.targets == ["170001"]
    assert bili.account.account_id == "42" and bili.settings.wbi is True

    bad = [
        {"id": "x", "type": "douyin", "account": {"platform": "douyin", "account_id": "a"}, "targets": ["i"],
         "credentials": {"access_token": "act.secret-value"}},  # a secret instead of an env var name
        {"id": "y", "type": "weibo", "targets": ["1"]},  # no account
        {"id": "z", "type": "tiktok"},
        {"id": "w", "type": "bilibili", "account": {"platform": "bilibili", "account_id": "1"}, "targets": ["1"],
         "surprise": True},
    ]
    for entry in bad:
        with pytest.raises(ValidationError):
            FeedsConfig.model_validate({"sources": [entry]})
    with pytest.raises(ValidationError, match="duplicate id"):
        FeedsConfig.model_validate({"sources": [
            {"id": "r", "type": "announcements", "base_url": "https://a.invalid/"},
            {"id": "r", "type": "announcements", "base_url": "https://b.invalid/"},
        ]})


def test_generic_preset_merges_with_explicit_keys():
    merged = effective_settings(GenericJsonSettings(preset="kuaishou_open", list_path="data.comments",
                                                    fields={"text": "body"}))
    assert merged["list_path"] == "data.comments"
    assert merged["fields"]["text"] == "body" and merged["fields"]["id"] == "comment_id"
    assert merged["cursor_param"] == "pcursor" and merged["ok_values"] == [1]


# ---------------------------------------------------------------------------------------- signing


def test_wbi_signature_matches_the_documented_example():
    # docs/misc/sign/wbi.md worked example.
    img = BILIBILI_NAV_LOGGED_OUT["data"]["wbi_img"]["img_url"].rsplit("/", 1)[1][:-4]
    sub = BILIBILI_NAV_LOGGED_OUT["data"]["wbi_img"]["sub_url"].rsplit("/", 1)[1][:-4]
    key = mixin_key(img, sub)
    assert key == "ea1db124af3c7062474693fa704f4ff8"
    query, w_rid = wbi_query({"foo": "114", "bar": "514", "zab": 1919810}, key, 1702204169)
    assert query == "bar=514&foo=114&wts=1702204169&zab=1919810"
    assert w_rid == "8f6f2b5b3d485fe1886cec6a0be8c5d4"
    signed = wbi_sign({"q": "a!b'c(d)e*f 五"}, key, 1)
    assert signed["q"] == "abcdef 五" and set(signed) == {"q", "wts", "w_rid"}


# -------------------------------------------------------------------------------------------- time


def test_time_parsing():
    weibo = parse_weibo_time("Sat Nov 22 20:15:00 +0800 2026")
    assert weibo == datetime(2026, 11, 22, 12, 15, tzinfo=UTC)
    assert parse_time(1763812800) == datetime.fromtimestamp(1763812800, UTC)
    assert parse_time(1763812800123) == datetime.fromtimestamp(1763812800.123, UTC)  # ms detected
    assert parse_time("2026-11-22 20:15:00", "%Y-%m-%d %H:%M:%S").utcoffset() == timedelta(hours=8)
    assert parse_time("2026-11-22T12:15:00Z") == datetime(2026, 11, 22, 12, 15, tzinfo=UTC)
    assert parse_time("yesterday") is None and parse_time(None) is None and parse_time(True) is None


def test_backoff_and_retry_after():
    rng = random.Random(7)
    delays = [backoff_delay(n, base=30, maximum=3600, rng=rng) for n in range(1, 12)]
    assert 15 <= delays[0] <= 30
    assert all(d <= 3600 for d in delays) and delays[-1] >= 1800
    assert backoff_delay(1, base=30, maximum=3600, retry_after=900, rng=rng) == 900
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Sun, 22 Nov 2026 12:05:00 GMT", now) == 300
    assert parse_retry_after("garbage", now) is None


def test_dig():
    doc = {"data": {"cursor": {"next": 3}, "list": [{"id": 1}]}}
    assert dig(doc, "data.cursor.next") == 3 and dig(doc, "data.list.0.id") == 1
    assert dig(doc, "data.missing.x", "d") == "d" and dig(doc, "") is doc


# ----------------------------------------------------------------------------------------- mapping


def test_bilibili_mapping_keeps_threads_pins_and_our_replies():
    data = BILIBILI_REPLY_PAGE["data"]
    items = [i for r in data["replies"] for i in map_reply(r, account_id="42")]
    records = {i.record["comment_id"]: i for i in items}
    assert set(records) == {"201", "202", "200"}
    reply = records["202"]
    assert reply.record["parent_id"] == "201" and reply.record["is_from_account"] is True and reply.unordered
    top = records["201"].record
    assert top["text"] == "质量有问题,客服不回[生气]" and top["like_count"] == 12 and top["reply_count"] == 1
    assert top["author_name"] == "路人甲" and top["content_url"] == "https://www.bilibili.com/video/av170001"
    for item in items:
        assert not isinstance(validate_record(item.record), list)
    pinned = map_reply(data["top_replies"][0], account_id="42", unordered=True)[0]
    assert pinned.unordered and pinned.record["is_from_account"]


def test_douyin_mapping():
    page = DOUYIN_COMMENT_PAGE["data"]["list"]
    items = [map_douyin(e, account_id="brand", item_id="@item", own_ids={"brand-open-id"}) for e in page]
    assert items[0].unordered and items[0].record["is_from_account"] is True
    record = items[1].record
    assert record["comment_id"] == "@9VwKzuuES8gnaWf" and record["like_count"] == 3
    assert record["content_id"] == "@item" and not isinstance(validate_record(record), list)


def test_weibo_mapping():
    first, second = (map_weibo(c, account_id="1900", post_id="4900000000000001") for c in WEIBO_COMMENTS_PAGE["comments"])
    assert first.record["parent_id"] == "5099" and first.record["is_from_account"] is True
    assert first.record["author_followers"] == 120000
    assert first.created_at == datetime(2026, 11, 22, 12, 15, tzinfo=UTC)
    assert second.record["parent_id"] is None and second.record["author_name"] == "网友A"
    broken = map_weibo({"id": 1, "created_at": "not a date"}, account_id="1900", post_id="p")
    assert isinstance(validate_record(broken.record), list)  # rejected by ingestion with a reason


def test_feeds_parse():
    items = parse_feed(rss([{"id": "g1", "title": "规则", "url": "https://e.invalid/1",
                             "published": "Sun, 22 Nov 2026 10:00:00 +0800"}]))
    assert items[0].item_id == "g1" and items[0].published == datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    items = parse_feed(atom([{"id": "urn:1", "title": "A", "url": "https://e.invalid/a", "published": "2026-11-22T00:00:00Z"}]))
    assert items[0].url == "https://e.invalid/a"
    items = parse_feed(b'{"items": [{"id": 5, "title": "J", "url": "https://e.invalid/j"}]}')
    assert items[0].item_id == "5" and items[0].published is None
    with pytest.raises(PollError):
        parse_feed(b"{not json")


# ------------------------------------------------------------------------------------------ engine


class ListAdapter:
    """A platform whose comments are an in-memory list (newest first), two per page."""

    default_base_url = ""

    def __init__(self, stamps, page_size=2):
        self.stamps = stamps  # epoch seconds, any order
        self.page_size = page_size
        self.requested = []

    def max_pages(self, ctx):
        return ctx.source.settings.max_pages

    def targets(self, ctx):
        return ["t"]

    def fetch_page(self, ctx, target, cursor):
        self.requested.append(cursor)
        ordered = sorted(self.stamps, reverse=True)
        start = cursor or 0
        chunk = ordered[start:start + self.page_size]
        items = [Item(record={"platform": "bilibili", "comment_id": str(s)}, created_at=datetime.fromtimestamp(s, UTC))
                 for s in chunk]
        end = start + self.page_size >= len(ordered)
        return Page(items=items, next_cursor=None if end else start + self.page_size, is_end=end)


def _ctx(state, clock, stored, *, max_pages=10, backfill=3600):
    source = FeedsConfig.model_validate({"sources": [
        {"id": "s", "type": "bilibili", "account": {"platform": "bilibili", "account_id": "1"}, "targets": ["1"],
         "backfill": backfill, "settings": {"max_pages": max_pages}}]}).sources[0]

    def ingest(records):
        stored.extend(r["comment_id"] for r in records)
        return IngestTally(accepted=len(records))

    return PollContext(source=source, state=state, http=None, now=clock.now, env={}, ingest=ingest, save=lambda: None)


def test_engine_backfills_the_window_then_reads_only_new_comments():
    clock = FakeClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    now = int(clock.now().timestamp())
    adapter = ListAdapter([now - 7200, now - 3000, now - 300, now - 200, now - 10])
    state, stored = SourceState("s"), []
    poll_comments(_ctx(state, clock, stored), adapter)
    assert sorted(stored) == sorted(str(s) for s in [now - 3000, now - 300, now - 200, now - 10])
    assert state.targets["t"].hwm == now - 10 and state.targets["t"].pending is None

    adapter.stamps.append(now + 50)
    stored.clear()
    poll_comments(_ctx(state, clock, stored), adapter)
    assert stored == [str(now + 50)]  # comments inside the overlap window are known by id: not sent again
    assert adapter.requested[-2:] == [None, 2]  # page 2 is entirely known: the scan stops

    # A comment that shows up late with an older timestamp (held in review) is still read when it sits
    # on a page that is not entirely known (a whole known page ends the scan).
    adapter.stamps.append(now - 5)
    stored.clear()
    poll_comments(_ctx(state, clock, stored), ListAdapter(adapter.stamps, page_size=3))
    assert stored == [str(now - 5)]


def test_engine_page_budget_leaves_a_pending_scan_that_the_next_poll_finishes():
    clock = FakeClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    now = int(clock.now().timestamp())
    adapter = ListAdapter([now - i for i in range(1, 9)])
    state, stored = SourceState("s"), []
    poll_comments(_ctx(state, clock, stored, max_pages=2), adapter)
    assert len(stored) == 4 and state.targets["t"].pending["cursor"] == 4
    poll_comments(_ctx(state, clock, stored, max_pages=2), adapter)
    assert len(stored) == 8 and state.targets["t"].pending is None
    adapter.stamps.append(now + 5)  # a new comment: the next scan starts at the top again
    poll_comments(_ctx(state, clock, stored, max_pages=2), adapter)
    assert str(now + 5) in stored
    assert adapter.requested == [None, 2, 4, 6, None, 2]


def test_documented_examples_are_valid_and_disabled():
    """Every source example in docs/sources.md validates, and none is enabled (none reaches the internet)."""
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parents[3] / "docs" / "sources.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.lstrip().startswith("- id:")]
    entries = [entry for block in blocks for entry in yaml.safe_load(block)]
    assert len(entries) >= 6
    config = FeedsConfig.model_validate({"sources": entries})
    assert {s.type for s in config.sources} == {"bilibili", "douyin", "weibo", "generic_json", "announcements"}
    assert not any(s.enabled for s in config.sources)


def test_a_secret_pasted_into_credentials_is_refused_without_echoing_it():
    with pytest.raises(ValidationError) as info:
        FeedsConfig.model_validate({"sources": [
            {"id": "x", "type": "weibo", "account": {"platform": "weibo", "account_id": "1"}, "targets": ["2"],
             "credentials": {"access_token": "2.00SecretTokenValue"}}]})
    messages = " ".join(error["msg"] for error in info.value.errors())  # what `config check` prints
    assert "NAME of an environment variable" in messages and "2.00SecretTokenValue" not in messages
