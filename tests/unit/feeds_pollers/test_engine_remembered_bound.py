"""The engine's memory of comments it has read stays bounded, whatever the endpoint sends."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import FakeClock
from bot.feeds.pollers.base import IngestTally, Item, Page, PollContext, SourceState
from bot.feeds.pollers.engine import MAX_REMEMBERED, poll_comments
from bot.feeds.settings import FeedsConfig


class TimelessAdapter:
    """An endpoint whose comments carry no readable time: each poll lists `count` new ones."""

    default_base_url = ""

    def __init__(self, count: int) -> None:
        self.count, self.polls = count, 0

    def max_pages(self, ctx):
        return 10

    def targets(self, ctx):
        return ["t"]

    def fetch_page(self, ctx, target, cursor):
        self.polls += 1
        items = [Item(record={"platform": "bilibili", "comment_id": f"{self.polls}-{n}", "created_at": "later"},
                      created_at=None) for n in range(self.count)]
        return Page(items=items, next_cursor=None, is_end=True)


def test_remembered_ids_are_bounded_when_the_mark_cannot_move():
    clock = FakeClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    source = FeedsConfig.model_validate({"sources": [
        {"id": "s", "type": "bilibili", "account": {"platform": "bilibili", "account_id": "1"}, "targets": ["1"]}]}
    ).sources[0]
    state = SourceState("s")
    adapter = TimelessAdapter(count=MAX_REMEMBERED // 2 + 1)
    for _ in range(3):
        ctx = PollContext(source=source, state=state, http=None, now=clock.now, env={},
                          ingest=lambda records: IngestTally(rejected=len(records),
                                                             rejected_indexes=frozenset(range(len(records)))),
                          save=lambda: None)
        poll_comments(ctx, adapter)
        clock.advance(300)
    assert len(state.targets["t"].recent) == MAX_REMEMBERED


def test_decimal_epoch_text_parses_as_ingestion_reads_it():
    from bot.feeds.pollers.base import parse_time

    assert parse_time("1764900000.5") == datetime.fromtimestamp(1764900000.5, UTC)
    assert parse_time(" 1764900000.5 ", "epoch") == datetime.fromtimestamp(1764900000.5, UTC)
    assert parse_time("1764900000.5.1") is None and parse_time("²") is None
