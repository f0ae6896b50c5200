"""Platform rule and announcement pages: RSS 2.0, Atom (parsed by feedparser) or a JSON list of
`{id, title, url, published}`. Each new item, and each item whose title/link/date/summary changed,
becomes one notice with its link, its text starting "平台规则更新: <title>" (the platform name and a
changed item's mark follow the title: "平台规则更新: <title>（抖音，已修改）"); a repeated poll never posts
it twice (the state remembers a digest per item, and the notice key is the item id plus that digest).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.feeds.pollers.base import (
    CONFIG,
    TRANSIENT,
    Notice,
    PollContext,
    PollError,
    dig,
    parse_time,
    text_or_none,
)

SEEN_LIMIT = 2000  # remembered items per source (feeds only show their newest items anyway)

# A web page where a feed was expected (a login page, a wrong URL): a config error shown in `sources`,
# never an empty but healthy feed
NOT_A_FEED_HTML = "返回的不是 RSS/Atom/JSON（收到 HTML）/ not a feed: got HTML"
NOT_A_FEED = "返回的不是 RSS/Atom/JSON / not a feed: neither RSS, Atom nor JSON"
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])",
                         re.IGNORECASE | re.DOTALL)


def looks_like_html(raw: bytes, content_type: str | None = None) -> bool:
    """An HTML page: declared as text/html or starting like one (servers mislabel feeds as text/html, so
    the declaration alone decides only for a document that is no feed)."""
    return bool(_HTML_START.match(raw[:4096])) or "html" in (content_type or "").lower()


@dataclass
class Announcement:
    item_id: str
    title: str
    url: str | None
    published: datetime | None
    summary: str = ""

    @property
    def digest(self) -> str:
        stamp = self.published.isoformat() if self.published else ""
        text = "\x1f".join([self.title, self.url or "", stamp, self.summary])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_feed(
    raw: bytes, fmt: str = "auto", json_list_path: str | None = None, content_type: str | None = None
) -> list[Announcement]:
    """Announcements from an RSS 2.0 / Atom document or a JSON list; unreadable input -> PollError."""
    # A UTF-8 byte-order mark (sent by many Windows/.NET sites) hid the "[" and sent JSON to the XML
    # parser, so the feed failed on every poll
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    stripped = raw.lstrip()
    if fmt == "json" or (fmt == "auto" and stripped[:1] in (b"[", b"{")):
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            if looks_like_html(raw):  # `format: json` pointed at a web page
                raise PollError(CONFIG, NOT_A_FEED_HTML) from None
            raise PollError(TRANSIENT, "公告 JSON 格式错误 / announcement feed is not valid JSON") from None
        entries = dig(document, json_list_path) if json_list_path else document
        if isinstance(entries, dict):
            entries = entries.get("items") or entries.get("data") or entries.get("list")
        if not isinstance(entries, list):
            raise PollError(TRANSIENT, "公告 JSON 中没有条目列表 / announcement JSON holds no list of items")
        result = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            title = text_or_none(entry.get("title"))
            url = text_or_none(entry.get("url") or entry.get("link"))
            item_id = text_or_none(entry.get("id")) or url or title
            if not item_id or not title:
                continue
            published = parse_time(entry.get("published") or entry.get("updated"))
            summary = str(entry.get("summary") or entry.get("updated") or "")
            result.append(Announcement(item_id, title, url, published, summary))
        return result

    import feedparser  # parses RSS 2.0 and Atom alike, including their date formats

    parsed = feedparser.parse(raw)
    if not parsed.entries and not parsed.version:
        # feedparser reads an HTML page without complaint (no `bozo`) as a feed with no items: without
        # this, a login page or a wrong URL looked like a healthy, quiet feed. An empty RSS/Atom
        # document has a version and stays fine.
        if looks_like_html(raw, content_type):
            raise PollError(CONFIG, NOT_A_FEED_HTML)
        raise PollError(TRANSIENT if parsed.bozo else CONFIG, NOT_A_FEED)
    result = []
    for entry in parsed.entries:
        title = text_or_none(entry.get("title"))
        url = text_or_none(entry.get("link"))
        item_id = text_or_none(entry.get("id")) or url or title
        if not item_id or not title:
            continue
        # dict.get: feedparser's own .get maps a missing `updated_parsed` to `published_parsed` with a warning.
        stamp = dict.get(entry, "updated_parsed") or dict.get(entry, "published_parsed")
        published = None
        if stamp:
            from calendar import timegm

            published = parse_time(timegm(stamp), "epoch")
        summary = str(entry.get("summary") or "")
        result.append(Announcement(item_id, title, url, published, summary))
    return result


NOTICE_PREFIX = "平台规则更新: "


def notice_headline(title: str, platform: str | None, *, changed: bool) -> str:
    """`平台规则更新: <title>`, then the platform name and the mark of a changed item in brackets after
    the title: every notice starts with the same prefix, so a reader (or a filter) recognises it."""
    marks = [m for m in (platform, "已修改" if changed else None) if m]
    return NOTICE_PREFIX + title + (f"（{'，'.join(marks)}）" if marks else "")


def poll_announcements(ctx: PollContext) -> int:
    """Fetch the feed once; queue a notice per new or changed item. Returns the number of items read."""
    source = ctx.source
    answer = ctx.http.request("GET", source.base_url, timeout=source.timeout, expect_json=False)
    items = parse_feed(answer.raw, source.settings.format, source.settings.json_list_path,
                       answer.headers.get("Content-Type"))
    seen: dict[str, str] = ctx.state.extra.setdefault("seen", {})
    first_run = not ctx.state.extra.get("initialised")
    window_start = ctx.now() - timedelta(seconds=source.backfill)
    label = source.settings.platform_name or (source.account.platform if source.account else None)
    for item in items:
        previous = seen.get(item.item_id)
        if previous == item.digest:
            continue

        def remember(item_id: str = item.item_id, digest: str = item.digest) -> None:
            seen.pop(item_id, None)
            seen[item_id] = digest  # re-inserted last: the dict keeps insertion order for trimming

        if first_run and (source.backfill <= 0 or item.published is None or item.published < window_start):
            remember()  # the first run learns what already exists instead of flooding the channel
            continue
        headline = notice_headline(item.title, label, changed=previous is not None)
        ctx.notices.append(
            Notice(
                key=f"feeds:announcement:{source.id}:{item.item_id}:{item.digest}",
                title=headline,
                text=headline + (f"\n{item.url}" if item.url else ""),
                url=item.url,
                commit=remember,
            )
        )
    while len(seen) > SEEN_LIMIT:
        seen.pop(next(iter(seen)))
    ctx.state.extra["initialised"] = True
    if items:
        newest = max((i.published for i in items if i.published), default=None)
        if newest and (ctx.state.newest_item_at is None or newest > ctx.state.newest_item_at):
            ctx.state.newest_item_at = newest
    # No save here: the service queues each notice, then marks its item as seen (`commit`), then saves;
    # a crash or an outbox failure in between repeats a notice (its key makes the outbox drop a copy)
    # instead of losing it.
    return len(items)
