"""The paging algorithm every comment source shares.

Platforms list comments newest first with an opaque "next page" cursor. For each target we keep a
high-water mark (the newest comment time already stored; on the first run, now minus the backfill
window). A poll reads pages from the top until it reaches a comment older than the mark minus an overlap
window, a last page, or the page budget. Comments inside the overlap window are remembered by id, so a
comment that shows up late with an older timestamp (held in review, clock skew) is still stored, and a
known one is not sent again. After every page the records go to ingestion and the scan position is persisted
(`pending`), so a restart or a budget cut continues exactly where the scan stopped: nothing is re-read
from the history and no gap is left (a list paged by position whose comments were deleted meanwhile, which
moves the rest up, resumes one page earlier: see PlatformAdapter.resume_cursor). A next-page cursor that goes back to a page
already read in the poll ends the scan (else a target read to its end would page through it again).
Only a finished scan moves the mark, only to the time of a comment ingestion took (a rejected one, e.g.
dated weeks ahead, would hide every comment until that date), and never beyond the bot's clock plus
MAX_CLOCK_SKEW (an accepted comment a few days ahead likewise).

Some endpoints (a crawler export, a vendor API) list oldest first. Stopping at the first known comment
would then stop on page 1 and never reach the new comments at the end: a page whose comments get newer
down the list marks the target as listed oldest first (one warning in the log), and such a target is read
to its last page on every scan. A source declared `order: oldest_first` is read that way from its first
page on, without the warning (and without a page of one comment, which shows no order, hiding it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from bot.feeds.pollers.base import TARGET, Page, PollContext, PollError, TargetState, epoch

log = logging.getLogger(__name__)

#: how far past the bot's clock a comment's time may move the mark (platform clocks run a little fast)
MAX_CLOCK_SKEW = 300.0
#: the most comment keys one target remembers (the overlap window's ids); beyond it the oldest are forgotten
#: (a forgotten one read again is a duplicate, never a loss)
MAX_REMEMBERED = 5000


class CommentAdapter(Protocol):
    default_base_url: str

    def max_pages(self, ctx: PollContext) -> int: ...

    def targets(self, ctx: PollContext) -> list[str]: ...

    def fetch_page(self, ctx: PollContext, target: str, cursor: Any) -> Page: ...


def default_targets(ctx: PollContext) -> list[str]:
    targets = ctx.source.targets
    return ["recent"] if targets == "recent" else list(targets)


def recent_targets(ctx: PollContext, list_posts: Callable[[], list[dict[str, Any]]]) -> list[str]:
    """The account's newest post ids for `targets: recent`, from `list_posts()` ({id, title, url}
    newest first), re-read every `settings.recent_refresh` seconds; titles and links are remembered
    for the records' content_title / content_url."""
    settings = ctx.source.settings
    cache = ctx.state.extra.get("recent_targets")
    now = ctx.now().timestamp()
    if cache and now - cache.get("fetched_at", 0) < settings.recent_refresh:
        return list(cache["ids"])
    posts = [p for p in list_posts() if p.get("id")][: settings.recent_posts]
    ctx.state.extra["recent_targets"] = {
        "fetched_at": now,
        "ids": [str(p["id"]) for p in posts],
        "titles": {str(p["id"]): p.get("title") for p in posts if p.get("title")},
        "urls": {str(p["id"]): p.get("url") for p in posts if p.get("url")},
    }
    return [str(p["id"]) for p in posts]


class PlatformAdapter:
    """What the platform adapters share: the page budget from settings, `targets: recent` through the
    adapter's `list_recent`, and the API base URL (overridable per source, e.g. a test server)."""

    default_base_url = ""
    # True when the adapter writes credentials into SourceState.tokens (startup warns if they would be
    # stored unencrypted).
    stores_tokens = False

    def max_pages(self, ctx: PollContext) -> int:
        return ctx.source.settings.max_pages

    def targets(self, ctx: PollContext) -> list[str]:
        if ctx.source.targets != "recent":
            return default_targets(ctx)
        return recent_targets(ctx, lambda: self.list_recent(ctx))

    def list_recent(self, ctx: PollContext) -> list[dict[str, Any]]:
        """The account's newest posts ({id, title, url}, newest first)."""
        raise NotImplementedError

    def resume_cursor(self, ctx: PollContext, cursor: Any) -> Any:
        """The page before `cursor`, for a list paged by position whose pages say how many comments it
        holds (Page.total), else `cursor` itself. A scan left unfinished by an earlier poll that finds fewer
        comments in the list than it left knows some were deleted meanwhile (a moderator at work): the older
        ones moved up, and the first of them would slip past between the two pages unread. It reads the
        page before its cursor again (its comments are known by id: nothing is stored twice)."""
        return cursor

    def _base(self, ctx: PollContext) -> str:
        return ctx.source.base_url or self.default_base_url


def _describe(ctx: PollContext, target: str, record: dict[str, Any]) -> None:
    """Fill the post's title and link from the recent-posts list when the comment API lacks them."""
    known = ctx.state.extra.get("recent_targets")
    if not known:
        return
    if not record.get("content_title") and known.get("titles", {}).get(target):
        record["content_title"] = known["titles"][target]
    if not record.get("content_url") and known.get("urls", {}).get(target):
        record["content_url"] = known["urls"][target]


def _content_key(record: dict[str, Any]) -> str:
    """A key for a record without a usable id or time: a digest of what it holds."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return "content:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


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
    # no mark beyond this: a mark set ahead of the clock (also one stored before this cap) skips every
    # comment written until then
    ceiling = epoch(now) + MAX_CLOCK_SKEW
    # The backfill window is exact; the overlap applies below a mark set by comments actually read.
    overlap = float(getattr(ctx.source, "overlap", 0.0))
    if state.hwm is None:
        state.hwm = epoch(now - timedelta(seconds=ctx.source.backfill))
        overlap = 0.0
    state.hwm = min(float(state.hwm), ceiling)
    rereading = False  # the first page is one read in an earlier poll (see resume_cursor)
    fetched_ahead: dict[str, Page] = {}  # cursor key -> a page fetched before its turn
    if state.pending:
        cursor = state.pending.get("cursor")
        stop_at = min(float(state.pending["stop_at"]), ceiling)
        new_hwm = min(float(state.pending["new_hwm"]), ceiling)
        overlap = float(state.pending.get("overlap", overlap))
        cursor, rereading = _resume(ctx, adapter, target, cursor, state.pending.get("total"), fetched_ahead)
    else:
        cursor, stop_at, new_hwm = None, float(state.hwm), float(state.hwm)

    fetched = 0
    recent = state.recent
    seen_ids: set[str] = set()
    asked: set[str] = set()  # the cursors this poll has asked for (see _cursor_key)
    # a page read again does not count against the budget: with one page a poll, the scan moves on
    for _ in range(adapter.max_pages(ctx) + int(rereading)):
        asked.add(_cursor_key(cursor))
        page = fetched_ahead.pop(_cursor_key(cursor), None) or adapter.fetch_page(ctx, target, cursor)
        fetched += len(page.items)
        fresh: list[dict[str, Any]] = []
        fresh_stamps: list[float | None] = []
        fresh_keys: dict[str, float] = {}
        reached_known = False
        ordered_seen, ordered_known = 0, 0
        ordered_stamps: list[float] = []
        for item in page.items:
            comment_id = item.record.get("comment_id")
            key = f"{item.record.get('platform')}:{comment_id}" if comment_id is not None else None
            stamp = epoch(item.created_at) if item.created_at is not None else None
            if key is None or stamp is None:
                # No id or no readable time: ingestion refuses it, and without a key or a time nothing
                # would mark it as read, so every poll would dead-letter it again. It is remembered by
                # its content instead (a corrected record reads as new), like a stored comment.
                key = _content_key(item.record)
            if not item.unordered and stamp is not None:
                ordered_seen += 1
                ordered_stamps.append(stamp)
            if stamp is not None and stamp < stop_at - overlap:
                if not item.unordered:
                    reached_known = True
                continue  # stored by an earlier scan, or older than the backfill window
            if key is not None and (key in recent or key in seen_ids):
                if not item.unordered and stamp is not None:
                    ordered_known += 1
                continue  # already stored, or on two pages of one scan (lists shift while we page)
            if key is not None:
                seen_ids.add(key)
            # kept for the overlap window below the mark; one without a time, below the mark as it is now
            fresh_keys[key] = stamp if stamp is not None else max(epoch(now), new_hwm)
            fresh_stamps.append(stamp)
            _describe(ctx, target, item.record)
            fresh.append(item.record)
        if fresh:
            tally = ctx.ingest(fresh)  # may raise: then nothing of this page counts as known
            ctx.state.accepted += tally.accepted
            ctx.state.duplicates += tally.duplicates
            ctx.state.rejected += tally.rejected
            # only what ingestion took moves the mark (a rejected one is remembered, not stored)
            for index, stamp in enumerate(fresh_stamps):
                if stamp is not None and index not in tally.rejected_indexes:
                    new_hwm = max(new_hwm, min(stamp, ceiling))
            recent.update(fresh_keys)
        for update in page.after_store:
            update()
        # (not one dated beyond the ceiling: `sources` would show a "newest comment" from next month)
        newest = max((i.created_at for i in page.items if i.created_at is not None and epoch(i.created_at) <= ceiling),
                     default=None)
        if newest is not None and (ctx.state.newest_item_at is None or newest > ctx.state.newest_item_at):
            ctx.state.newest_item_at = newest
        # A whole page of comments already stored: nothing late hides below it (bounds the overlap cost).
        # Not the page read again on resuming: it is known by design, and the scan goes on below it.
        if ordered_seen and ordered_known == ordered_seen and not rereading:
            reached_known = True
        rereading = False
        if _lists_oldest_first(ctx, target, state, ordered_stamps):
            reached_known = False  # listed oldest first: the new comments are on the last pages
        looped = not page.is_end and page.next_cursor not in (None, "") and _cursor_key(page.next_cursor) in asked
        if looped:
            # The endpoint sent back a cursor this poll already asked for (one that stays put at the end of
            # the list, or goes back to the start): paging on reads the same pages again. A target read to
            # its last page (listed oldest first) never reaches a known comment, so without this every poll
            # spent its whole page budget on them and the scan, and with it the mark, never ended.
            # (warned once a process: the endpoint does it on every poll)
            level = logging.DEBUG if (ctx.source.id, target) in _LOOP_WARNED else logging.WARNING
            _LOOP_WARNED.add((ctx.source.id, target))
            log.log(level, "source=%s target=%s: the endpoint's next-page cursor goes back to a page already "
                    "read in this poll; the scan ends there", ctx.source.id, target)
        if reached_known or looped or page.is_end or page.next_cursor in (None, ""):
            state.hwm = new_hwm
            state.pending = None
            keep = float(getattr(ctx.source, "overlap", 0.0))  # what the next scan's overlap will need
            state.recent = _bounded({k: v for k, v in recent.items() if v >= new_hwm - keep})
            ctx.save()
            return fetched
        cursor = page.next_cursor
        state.pending = {"cursor": cursor, "stop_at": stop_at, "new_hwm": new_hwm, "overlap": overlap}
        if page.total is not None:
            state.pending["total"] = page.total  # how many the list held at the pause (see _resume)
        state.recent = recent = _bounded(recent)
        ctx.save()
    return fetched  # page budget used up: `pending` carries the rest of the scan to the next poll


def _resume(ctx: PollContext, adapter: CommentAdapter, target: str, cursor: Any, total: Any,
            fetched_ahead: dict[str, Page]) -> tuple[Any, bool]:
    """Where a scan left by an earlier poll goes on, and whether that is a page read again: the page at
    `cursor` is fetched first (kept in `fetched_ahead`); when its list holds fewer comments than `total`,
    the number at the pause, comments were deleted meanwhile and the scan goes on from the page before
    (PlatformAdapter.resume_cursor), so that none of the comments moved up is skipped."""
    resume = getattr(adapter, "resume_cursor", None)
    if resume is None or not isinstance(total, int):
        return cursor, False
    earlier = resume(ctx, cursor)
    if earlier == cursor:
        return cursor, False
    page = adapter.fetch_page(ctx, target, cursor)
    fetched_ahead[_cursor_key(cursor)] = page
    if page.total is None or page.total >= total:
        return cursor, False
    log.info("source=%s target=%s: %d comment(s) deleted since the scan paused; the page before its cursor is "
             "read again", ctx.source.id, target, total - page.total)
    return earlier, True


#: (source id, target) whose endpoint was seen sending a cursor back to a page already read
_LOOP_WARNED: set[tuple[str, str]] = set()


def _cursor_key(cursor: Any) -> str:
    """A cursor as a comparable key: cursors are opaque (a number, text, a dict of paging fields)."""
    return json.dumps(cursor, sort_keys=True, ensure_ascii=False, default=str)


def _bounded(recent: dict[str, float]) -> dict[str, float]:
    """At most MAX_REMEMBERED keys, the newest kept."""
    if len(recent) <= MAX_REMEMBERED:
        return recent
    return dict(sorted(recent.items(), key=lambda entry: entry[1])[-MAX_REMEMBERED:])


def _lists_oldest_first(ctx: PollContext, target: str, state: TargetState, stamps: list[float]) -> bool:
    """Whether the target lists oldest first: as the source's `order` declares it, or else as its pages
    show it (see _note_order)."""
    if getattr(ctx.source, "order", "newest_first") == "oldest_first":
        return True  # declared: nothing to learn from the page, nothing to warn about
    return _note_order(ctx, target, state, stamps)


def _note_order(ctx: PollContext, target: str, state: TargetState, stamps: list[float]) -> bool:
    """Whether the target lists oldest first, learnt from this page's comment times (in list order):
    one getting newer down the page is not newest first; a page getting older (ties allowed) is."""
    pairs = list(zip(stamps, stamps[1:], strict=False))
    rising = any(later > earlier for earlier, later in pairs)
    falling = not rising and any(later < earlier for earlier, later in pairs)
    if rising and not state.oldest_first:
        state.oldest_first = True
        log.warning(
            "source=%s target=%s lists comments oldest first (not newest first): every scan reads it to its "
            "last page, or new comments at the end would be missed", ctx.source.id, target,
        )
    elif falling and state.oldest_first:
        state.oldest_first = False
        log.info("source=%s target=%s lists comments newest first again", ctx.source.id, target)
    return state.oldest_first
