"""The paging algorithm every comment source shares.

Platforms list comments newest first with an opaque "next page" cursor. For each target we keep a
high-water mark (the newest comment time already stored; on the first run, now minus the backfill
window). A poll reads pages from the top until it reaches a comment older than the mark, a last page,
or the page budget. After every page the records go to ingestion and the scan position is persisted
(`pending`), so a restart or a budget cut continues exactly where the scan stopped: nothing is re-read
from the history and no gap is left. Only a finished scan moves the mark.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from bot.feeds.pollers.base import TARGET, Page, PollContext, PollError, epoch


class CommentAdapter(Protocol):
    default_base_url: str

    def max_pages(self, ctx: PollContext) -> int: ...

    def targets(self, ctx: PollContext) -> list[str]: ...

    def fetch_page(self, ctx: PollContext, target: str, cursor: Any) -> Page: ...


def default_targets(ctx: PollContext) -> list[str]:
    targets = ctx.source.targets
    return ["recent"] if targets == "recent" else list(targets)


def poll_comments(ctx: PollContext, adapter: CommentAdapter) -> int:
    """Poll every target of the source once; returns the number of platform records read.

    Raises PollError for a source-wide failure (the state of finished pages is already saved).
    A TARGET error is recorded on that target and the other targets go on."""
    fetched = 0
    for target in adapter.targets(ctx):
        try:
            fetched += _poll_target(ctx, adapter, target)
            ctx.state.target(target).error = None
        except PollError as exc:
            if exc.kind != TARGET:
                raise
            ctx.state.target(target).error = exc.detail
            ctx.save()
    return fetched


def _poll_target(ctx: PollContext, adapter: CommentAdapter, target: str) -> int:
    state = ctx.state.target(target)
    now = ctx.now()
    if state.hwm is None:
        state.hwm = epoch(now - timedelta(seconds=ctx.source.backfill))
    if state.pending:
        cursor = state.pending.get("cursor")
        stop_at = float(state.pending["stop_at"])
        new_hwm = float(state.pending["new_hwm"])
    else:
        cursor, stop_at, new_hwm = None, float(state.hwm), float(state.hwm)

    fetched = 0
    seen_ids: set[str] = set()
    for _ in range(adapter.max_pages(ctx)):
        page = adapter.fetch_page(ctx, target, cursor)
        fetched += len(page.items)
        fresh: list[dict[str, Any]] = []
        reached_known = False
        for item in page.items:
            if item.created_at is not None:
                stamp = epoch(item.created_at)
                if stamp < stop_at:
                    if not item.unordered:
                        reached_known = True
                    continue  # already stored by an earlier scan, or older than the backfill window
                new_hwm = max(new_hwm, stamp)
            comment_id = item.record.get("comment_id")
            if comment_id is not None:
                key = f"{item.record.get('platform')}:{comment_id}"
                if key in seen_ids:
                    continue  # the same comment on two pages of one scan (lists shift while we page)
                seen_ids.add(key)
            fresh.append(item.record)
        if fresh:
            tally = ctx.ingest(fresh)
            ctx.state.accepted += tally.accepted
            ctx.state.duplicates += tally.duplicates
            ctx.state.rejected += tally.rejected
        newest = max((i.created_at for i in page.items if i.created_at is not None), default=None)
        if newest is not None and (ctx.state.newest_item_at is None or newest > ctx.state.newest_item_at):
            ctx.state.newest_item_at = newest
        if reached_known or page.is_end or page.next_cursor in (None, ""):
            state.hwm = new_hwm
            state.pending = None
            ctx.save()
            return fetched
        cursor = page.next_cursor
        state.pending = {"cursor": cursor, "stop_at": stop_at, "new_hwm": new_hwm}
        ctx.save()
    return fetched  # page budget used up: `pending` carries the rest of the scan to the next poll
