"""Douyin open platform: item comment list, with the refresh-token flow.

Follows developer.open-douyin.com: 互动管理 > 评论管理 > 评论列表 (`GET /item/comment/list/`, header
`access-token`, query `open_id`, `item_id`, `cursor`, `count`, `sort_type`; answer `data.list[]` with
`comment_id`, `comment_user_id`, `content`, `create_time`, `digg_count`, `reply_comment_total`, `top`,
`data.cursor`, `data.has_more`, errors in `data.error_code` / `data.description`), 评论回复列表
(`GET /item/comment/reply/list/`, same shape, plus `comment_id`), 刷新 access_token
(`POST /oauth/refresh_token/`, form `client_key`, `grant_type=refresh_token`, `refresh_token`; error
10010 = refresh_token expired -> the user must authorise again) and 状态码排查 (2190008 / 28001008 access
token expired, 28003018 too frequent, 2100004 / 28001005 busy, 2100005 / 28001007 bad parameter).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.feeds.pollers.base import (
    AUTH_EXPIRED,
    CONFIG,
    RATE_LIMITED,
    REAUTH_REQUIRED,
    RISK_CONTROL,
    TRANSIENT,
    Item,
    Page,
    PollContext,
    PollError,
    endpoint_missing,
    endpoint_paused,
    fingerprint,
    int_or_none,
    iso,
    listed,
    mark_endpoint_failed,
    mark_endpoint_ok,
    optional_endpoint_failed,
    parse_time,
    platform_text,
    raise_for_code,
    text_or_none,
)
from bot.feeds.pollers.engine import PlatformAdapter

log = logging.getLogger(__name__)

REPLY_LIST = "/item/comment/reply/list/"
# A reply-list failure of these kinds stops the poll (as it would on the comment list); any other leaves
# the thread (and every other one) for a later poll, the page is stored, and the reply list is left alone
# for the rest of the poll and a growing number of polls after it (see mark_endpoint_failed).
STOPS_THE_POLL = (RATE_LIMITED, RISK_CONTROL, AUTH_EXPIRED, REAUTH_REQUIRED)
REPLY_LIST_WHAT = ("评论回复列表", "the reply list")
REPLY_LIST_UNREAD = ("回复暂未读取", "replies not read yet")

ACCESS_EXPIRED_CODES = {2190008, 28001008, 10008, 2190002, 28001003}
REFRESH_EXPIRED_CODES = {10010, 10020}  # expired / refreshed too often: a human must re-authorise
RATE_CODES = {28003018, 28003017, 2190001}
BUSY_CODES = {2100004, 28001005, 28001006}
CONFIG_CODES = {2100005, 28001007, 2100007, 28001012, 28001014, 28001015, 28001018, 10005, 10004}


def map_comment(item: Any, *, account_id: str | None, item_id: str, own_ids: set[str]) -> Item:
    if not isinstance(item, dict):
        return Item(record={"platform": "douyin", "account_id": account_id, "content_id": item_id}, created_at=None)
    author = text_or_none(item.get("comment_user_id"))
    created = parse_time(item.get("create_time"), "epoch")
    record = {
        "platform": "douyin",
        "account_id": account_id,
        "content_id": item_id,
        "comment_id": text_or_none(item.get("comment_id")),
        "parent_id": text_or_none(item.get("parent_id")),
        "text": item.get("content"),
        "created_at": iso(created) if created else item.get("create_time"),
        "author_id": author,
        "like_count": int_or_none(item.get("digg_count")),
        "reply_count": int_or_none(item.get("reply_comment_total")),
        "is_from_account": bool(author is not None and author in own_ids),
    }
    return Item(record=record, created_at=created, unordered=bool(item.get("top")))


class DouyinAdapter(PlatformAdapter):
    default_base_url = "https://open.douyin.com"
    stores_tokens = True

    def list_recent(self, ctx: PollContext) -> list[dict[str, Any]]:
        return self._with_token(ctx, self._list_videos)

    def _list_videos(self, ctx: PollContext, token: str) -> list[dict[str, Any]]:
        """The account's newest videos (内容管理 > 查询授权账号视频列表: `GET /video/list/`, `open_id`,
        `cursor`, `count`; answer `data.list[]` with `item_id`, `title`, `share_url`)."""
        settings = ctx.source.settings
        answer = ctx.http.request(
            "GET",
            f"{self._base(ctx)}/video/list/",
            params={"open_id": settings.open_id or ctx.account_id, "cursor": 0, "count": settings.recent_posts},
            headers={"access-token": token, "Content-Type": "application/json"},
            timeout=ctx.source.timeout,
        )
        data = self._checked_data(answer)
        return [
            {"id": v.get("item_id"), "title": v.get("title"), "url": v.get("share_url")}
            for v in data.get("list") or []
            if isinstance(v, dict)
        ]

    def _with_token(self, ctx: PollContext, call: Any) -> Any:
        """Run `call(ctx, token)`; on an expired access token refresh once and run it again."""
        try:
            return call(ctx, self.access_token(ctx))
        except PollError as exc:
            if exc.kind != AUTH_EXPIRED:
                raise
        return call(ctx, self.refresh(ctx))

    @staticmethod
    def _checked_data(answer: Any) -> dict[str, Any]:
        data = (answer.body or {}).get("data") if isinstance(answer.body, dict) else None
        if not isinstance(data, dict):
            raise PollError(TRANSIENT, "douyin answer without a data object")
        code = data.get("error_code", 0)
        if code:
            detail = f"douyin error_code {code}: {platform_text(data.get('description'))}".strip()
            raise_for_code(code, detail, (
                (ACCESS_EXPIRED_CODES, AUTH_EXPIRED),
                (RATE_CODES, RATE_LIMITED),
                (BUSY_CODES, TRANSIENT),
                (CONFIG_CODES, CONFIG),
            ))
        return data

    # ------------------------------------------------------------------------------------ tokens

    def _env_pair(self, ctx: PollContext) -> tuple[str, str | None]:
        access = ctx.credential("access_token")
        refresh = ctx.credential("refresh_token", required=False)
        return access, refresh  # type: ignore[return-value]

    def access_token(self, ctx: PollContext) -> str:
        """The newest access token: a refreshed one from the state, unless the env pair has changed
        since (a human re-authorised and exported a new pair)."""
        access, refresh = self._env_pair(ctx)
        if ctx.state.tokens.get("env_fingerprint") == fingerprint(access, refresh):
            stored = ctx.stored_token("access_token")
            if stored:
                return stored
        return access

    def refresh(self, ctx: PollContext) -> str:
        """Exchange the refresh token for a new access token and store the new pair."""
        access, env_refresh = self._env_pair(ctx)
        stored = ctx.state.tokens
        env_fp = fingerprint(access, env_refresh)
        # A pair from before the env changed is obsolete (a human re-authorised): it is not read, so a
        # lost CRISISBOT_SECRET_KEY is recovered from by re-authorising.
        refresh = ctx.stored_token("refresh_token") if stored.get("env_fingerprint") == env_fp else env_refresh
        if not refresh:
            raise PollError(REAUTH_REQUIRED, "访问令牌已过期，且未配置刷新令牌 / access token expired and no refresh token is configured")
        answer = ctx.http.request(
            "POST",
            f"{self._base(ctx)}/oauth/refresh_token/",
            data={
                "client_key": ctx.credential("client_key"),
                "grant_type": "refresh_token",
                "refresh_token": refresh,
            },
            timeout=ctx.source.timeout,
        )
        data = (answer.body or {}).get("data") or {}
        code = data.get("error_code", 0)
        if code in REFRESH_EXPIRED_CODES:
            raise PollError(REAUTH_REQUIRED, f"抖音拒绝了刷新令牌（error_code {code}）/ douyin refresh token rejected (error_code {code})",
                            code=code)
        if code != 0 or not data.get("access_token"):
            raise PollError(TRANSIENT, f"douyin token refresh failed (error_code {code})", code=code)
        ctx.state.tokens = {
            "access_token": data["access_token"],
            "refresh_token": data.get("refresh_token") or refresh,
            "expires_in": int_or_none(data.get("expires_in")),
            "refreshed_at": ctx.now().isoformat(),
            "env_fingerprint": env_fp,
        }
        ctx.save()
        return data["access_token"]

    # ------------------------------------------------------------------------------------- pages

    def fetch_page(self, ctx: PollContext, target: str, cursor: Any) -> Page:
        return self._with_token(ctx, lambda c, token: self._fetch(c, target, cursor, token))

    def _fetch(self, ctx: PollContext, target: str, cursor: Any, token: str) -> Page:
        settings = ctx.source.settings
        open_id = settings.open_id or ctx.account_id
        answer = ctx.http.request(
            "GET",
            f"{self._base(ctx)}/item/comment/list/",
            params={
                "open_id": open_id,
                "item_id": target,
                "cursor": cursor if cursor is not None else 0,
                "count": settings.count,
                "sort_type": settings.sort_type,
            },
            headers={"access-token": token, "Content-Type": "application/json"},
            timeout=ctx.source.timeout,
        )
        data = self._checked_data(answer)
        own = set(settings.own_user_ids) | ({open_id} if open_id else set())
        items = [
            map_comment(entry, account_id=ctx.account_id, item_id=target, own_ids=own)
            for entry in listed(data.get("list"), "data.list")
        ]
        updates: list[Any] = []
        if settings.fetch_replies:
            items.extend(self._replies(ctx, target, items, token, own, updates))
        else:
            mark_endpoint_ok(ctx, REPLY_LIST)  # replies switched off: no note of an old failure stays
        has_more = bool(data.get("has_more"))
        return Page(items=items, next_cursor=data.get("cursor") if has_more else None, is_end=not has_more,
                    after_store=updates)

    def _replies(
        self, ctx: PollContext, target: str, items: list[Item], token: str, own: set[str], updates: list[Any]
    ) -> list[Item]:
        """Replies of the comments on this page whose reply total grew since we last looked
        (评论回复列表 `GET /item/comment/reply/list/`); each keeps its parent link. Returned as
        unordered items: they never end the scan."""
        settings = ctx.source.settings
        totals: dict[str, int] = ctx.state.extra.setdefault("reply_totals", {}).setdefault(target, {})
        read: dict[str, int] = {}
        replies: list[Item] = []
        for item in items:
            comment_id = item.record.get("comment_id")
            total = item.record.get("reply_count") or 0
            if not comment_id or total <= totals.get(comment_id, 0):
                continue
            if endpoint_missing(ctx, REPLY_LIST) or endpoint_paused(ctx, REPLY_LIST):
                # the server has no reply list, or it failed in this poll or recently: threads wait
                # (unread) until the pause ends
                break
            cursor: Any = 0
            complete = True
            for _ in range(settings.max_reply_pages):
                try:
                    answer = self._reply_page(ctx, target, comment_id, cursor, token)
                except PollError as exc:
                    # the thread's replies wait for the next poll; the page's comments are stored
                    optional_endpoint_failed(ctx, REPLY_LIST, exc, stops=STOPS_THE_POLL, what=REPLY_LIST_WHAT,
                                             unread=REPLY_LIST_UNREAD)
                    complete = False
                    break
                data = (answer.body or {}).get("data") if isinstance(answer.body, dict) else None
                if not isinstance(data, dict) or data.get("error_code"):
                    # the thread's replies wait for the next poll (its total is not remembered as read);
                    # the comments themselves are fine. An answer that is no answer or says the platform is
                    # busy concerns every thread: the reply list is left alone for a while, as on a 5xx.
                    code = data.get("error_code") if isinstance(data, dict) else None
                    if code is None or code in BUSY_CODES:
                        detail = f"douyin error_code {code}" if code is not None else "an answer without data"
                        mark_endpoint_failed(ctx, REPLY_LIST, detail, what=REPLY_LIST_WHAT,
                                             unread=REPLY_LIST_UNREAD)
                    complete = False
                    break
                mark_endpoint_ok(ctx, REPLY_LIST)
                for entry in data.get("list") or []:
                    reply = map_comment(entry, account_id=ctx.account_id, item_id=target, own_ids=own)
                    reply.record["parent_id"] = reply.record.get("parent_id") or comment_id
                    reply.unordered = True
                    replies.append(reply)
                if not data.get("has_more"):
                    break
                cursor = data.get("cursor")
            if complete:
                read[comment_id] = total
        page_ids = {i.record.get("comment_id") for i in items}

        def remember() -> None:
            totals.update(read)
            # Forget threads that left the overlap window, so the memory stays bounded.
            keep = {key.split(":", 1)[1] for key in ctx.state.target(target).recent} | page_ids
            for comment_id in [c for c in totals if c not in keep]:
                del totals[comment_id]

        updates.append(remember)
        return replies

    def _reply_page(self, ctx: PollContext, target: str, comment_id: str, cursor: Any, token: str) -> Any:
        settings = ctx.source.settings
        return ctx.http.request(
            "GET",
            f"{self._base(ctx)}{REPLY_LIST}",
            params={
                "open_id": settings.open_id or ctx.account_id,
                "item_id": target,
                "comment_id": comment_id,
                "cursor": cursor,
                "count": settings.count,
                "sort_type": settings.sort_type,
            },
            headers={"access-token": token, "Content-Type": "application/json"},
            timeout=ctx.source.timeout,
        )
