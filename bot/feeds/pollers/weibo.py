"""Weibo comments API: `GET /2/comments/show.json` (open.weibo.com/wiki/2/comments/show).

Query `access_token`, `id` (the post), `count`, `max_id` (older pages) / `since_id`; answer
`comments[]` with `id`, `text`, `created_at` ('Sat Nov 22 20:15:00 +0800 2026'), `user{id,
screen_name, followers_count}`, `reply_comment` (the comment answered), `status` (the post), and
`next_cursor` (0 at the end). Errors come as `{"error", "error_code", "request"}` (open.weibo.com/wiki/
Error_code): 21327 expired_token, 21314-21317 / 21332 / 21301 token problems (Weibo apps cannot refresh:
a human re-authorises), 10022-10024 rate limits, 10001-10003 / 10009 service trouble.
"""

from __future__ import annotations

from typing import Any

from bot.feeds.pollers.base import (
    CONFIG,
    RATE_LIMITED,
    REAUTH_REQUIRED,
    TARGET,
    TRANSIENT,
    Item,
    Page,
    PollContext,
    PollError,
    int_or_none,
    iso,
    parse_weibo_time,
    platform_text,
    raise_for_code,
    text_or_none,
)
from bot.feeds.pollers.engine import PlatformAdapter

TOKEN_CODES = {21327, 21314, 21315, 21316, 21317, 21319, 21332, 21301, 21501}
RATE_CODES = {10022, 10023, 10024}
BUSY_CODES = {10001, 10002, 10003, 10009, 10010, 10011}
CONFIG_CODES = {10005, 10006, 10008, 10014, 10016, 10017}
TARGET_CODES = {20101, 20112, 20135}


def map_comment(comment: Any, *, account_id: str | None, post_id: str) -> Item:
    if not isinstance(comment, dict):
        return Item(record={"platform": "weibo", "account_id": account_id, "content_id": post_id}, created_at=None)
    user = comment.get("user") if isinstance(comment.get("user"), dict) else {}
    reply_to = comment.get("reply_comment") if isinstance(comment.get("reply_comment"), dict) else None
    status = comment.get("status") if isinstance(comment.get("status"), dict) else {}
    try:
        created = parse_weibo_time(comment["created_at"]) if isinstance(comment.get("created_at"), str) else None
    except ValueError:
        created = None
    author = text_or_none(user.get("idstr") or user.get("id"))
    content_id = text_or_none(status.get("idstr") or status.get("id")) or post_id
    record = {
        "platform": "weibo",
        "account_id": account_id,
        "content_id": content_id,
        "content_url": f"https://m.weibo.cn/detail/{content_id}",
        "content_title": status.get("text") if isinstance(status.get("text"), str) else None,
        "comment_id": text_or_none(comment.get("idstr") or comment.get("id")),
        "parent_id": text_or_none((reply_to.get("idstr") or reply_to.get("id")) if reply_to else None),
        "text": comment.get("text"),
        "created_at": iso(created) if created else comment.get("created_at"),
        "author_id": author,
        "author_name": user.get("screen_name"),
        "author_followers": int_or_none(user.get("followers_count")),
        "is_from_account": bool(author is not None and account_id is not None and author == account_id),
    }
    if record["content_title"] and len(record["content_title"]) > 120:
        record["content_title"] = record["content_title"][:120]
    return Item(record=record, created_at=created)


class WeiboAdapter(PlatformAdapter):
    default_base_url = "https://api.weibo.com"

    def list_recent(self, ctx: PollContext) -> list[dict[str, Any]]:
        return self._list_posts(ctx)

    def _list_posts(self, ctx: PollContext) -> list[dict[str, Any]]:
        """The account's newest posts (open.weibo.com/wiki/2/statuses/user_timeline: `uid`, `count`;
        answer `statuses[]` with `idstr`, `text`)."""
        answer = ctx.http.request(
            "GET",
            f"{self._base(ctx)}/2/statuses/user_timeline.json",
            params={"access_token": ctx.credential("access_token"), "uid": ctx.account_id,
                    "count": ctx.source.settings.recent_posts},
            timeout=ctx.source.timeout,
            accept_statuses=(400, 401, 403, 404),
        )
        body = self._checked(answer)
        posts = []
        for status in body.get("statuses") or []:
            if not isinstance(status, dict):
                continue
            post_id = text_or_none(status.get("idstr") or status.get("id"))
            text = status.get("text") if isinstance(status.get("text"), str) else None
            posts.append({"id": post_id, "title": text[:60] if text else None,
                          "url": f"https://m.weibo.cn/detail/{post_id}"})
        return posts

    @staticmethod
    def _checked(answer: Any) -> dict[str, Any]:
        body = answer.body if isinstance(answer.body, dict) else {}
        if "error_code" in body or answer.status >= 400:
            code = int_or_none(body.get("error_code"))
            detail = f"weibo error_code {code}: {platform_text(body.get('error'))}".strip()
            raise_for_code(code, detail, (
                (TOKEN_CODES, REAUTH_REQUIRED),
                (RATE_CODES, RATE_LIMITED),
                (CONFIG_CODES, CONFIG),
                (TARGET_CODES, TARGET),
            ))
        return body

    def fetch_page(self, ctx: PollContext, target: str, cursor: Any) -> Page:
        params: dict[str, Any] = {
            "access_token": ctx.credential("access_token"),
            "id": target,
            "count": ctx.source.settings.count,
        }
        newest: dict[str, int] = ctx.state.extra.setdefault("newest_ids", {})
        if cursor:
            params["max_id"] = cursor
        elif ctx.source.settings.since_id and target in newest:
            # The first page of a scan: only comments newer than the newest one stored (a quiet post
            # answers an empty page). Older pages page down with max_id and end where the engine's
            # high-water mark and overlap say.
            params["since_id"] = newest[target]
        answer = ctx.http.request(
            "GET",
            f"{self._base(ctx)}/2/comments/show.json",
            params=params,
            timeout=ctx.source.timeout,
            accept_statuses=(400, 401, 403, 404),
        )
        body = self._checked(answer)
        comments = body.get("comments")
        if not isinstance(comments, list):
            raise PollError(TRANSIENT, "weibo answer without a comments list")
        items = [map_comment(c, account_id=ctx.account_id, post_id=target) for c in comments]
        next_cursor = body.get("next_cursor")
        done = not comments or next_cursor in (None, 0, "0", "")
        # Only comments with a readable time count: one dead-lettered for its time is read again when the
        # platform corrects it (since_id past it would hide the corrected version).
        page_newest = max((n for n, item in zip((_numeric_id(c) for c in comments), items, strict=True)
                           if n is not None and item.created_at is not None), default=None)

        def remember() -> None:  # once the page is stored: a failed page never moves since_id
            if page_newest is not None and page_newest > newest.get(target, 0):
                newest[target] = page_newest

        return Page(items=items, next_cursor=None if done else next_cursor, is_end=done, after_store=[remember])


def _numeric_id(comment: Any) -> int | None:
    """A comment's id as a number (Weibo ids grow with time, which since_id relies on); None if not one."""
    if not isinstance(comment, dict):
        return None
    value = comment.get("idstr") or comment.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None
