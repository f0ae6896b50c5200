"""Bilibili reply API: `/x/v2/reply/main`, or its WBI-signed twin `/x/v2/reply/wbi/main`.

Shapes follow the community-maintained reference of the public web API (SocialSisterYi/
bilibili-API-collect: docs/comment/list.md, docs/comment/readme.md "评论条目对象", docs/misc/sign/wbi.md):
`data.replies[]` with `rpid`, `oid`, `mid`, `root`, `parent`, `ctime`, `like`, `rcount`,
`member.uname`, `content.message` and nested `replies`; cursor paging `data.cursor.next` / `is_end`;
`code` != 0 on errors (-412 request intercepted, -352 risk check, -403 bad/missing WBI signature,
-404 missing, 12002 comments closed). HTTP 412 means risk control: the service pauses the source long.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import quote, urlencode

from bot.feeds.pollers.base import (
    AUTH_EXPIRED,
    CONFIG,
    RATE_LIMITED,
    REAUTH_REQUIRED,
    RISK_CONTROL,
    TARGET,
    TRANSIENT,
    Item,
    Page,
    PollContext,
    PollError,
    endpoint_missing,
    endpoint_paused,
    int_or_none,
    iso,
    listed,
    mark_endpoint_failed,
    mark_endpoint_ok,
    optional_endpoint_failed,
    parse_time,
    platform_text,
    text_or_none,
)
from bot.feeds.pollers.engine import PlatformAdapter

log = logging.getLogger(__name__)

THREAD_LIST = "/x/v2/reply/reply"
# A thread-list failure of these kinds stops the poll (as it would on the comment list); any other leaves
# the thread (and every other one) for a later poll, the page is stored, and the thread list is left alone
# for the rest of the poll and a growing number of polls after it (see mark_endpoint_failed).
STOPS_THE_POLL = (RISK_CONTROL, RATE_LIMITED, AUTH_EXPIRED, REAUTH_REQUIRED, CONFIG)
THREAD_LIST_WHAT = ("楼中楼回复列表", "the thread reply list")
THREAD_LIST_UNREAD = ("楼中楼回复暂未读取", "thread replies not read yet")

# The fixed permutation the web client applies to img_key + sub_key (docs/misc/sign/wbi.md).
MIXIN_KEY_ENC_TAB = (
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29, 28,
    14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54, 21,
    56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
)  # fmt: skip
_WBI_STRIPPED = str.maketrans("", "", "!'()*")

RISK_CODES = {-412, -352, -351}
RATE_CODES = {-509, -799}
TARGET_CODES = {-404, 12002, 12009, 12061}
# Codes of the thread list that concern one thread (or its video), not the endpoint: -404 / 12022 the root
# comment is gone, 12002 / 12061 comments closed, 12009 bad type (docs/comment/list.md 获取指定评论的回复)
THREAD_ONLY_CODES = TARGET_CODES | {12022}


def mixin_key(img_key: str, sub_key: str) -> str:
    """The 32-character signing key derived from the two daily keys."""
    raw = img_key + sub_key
    return "".join(raw[i] for i in MIXIN_KEY_ENC_TAB if i < len(raw))[:32]


def wbi_query(params: dict[str, Any], key: str, wts: int) -> tuple[str, str]:
    """The canonical query (sorted, `!'()*` removed, %XX-encoded) and its `w_rid` = md5(query + key)."""
    signed = {k: str(v).translate(_WBI_STRIPPED) for k, v in params.items() if k != "w_rid"}
    signed["wts"] = str(wts)
    query = urlencode(sorted(signed.items()), quote_via=quote)
    return query, hashlib.md5((query + key).encode()).hexdigest()


def wbi_sign(params: dict[str, Any], key: str, wts: int) -> dict[str, str]:
    """`params` plus `wts` and `w_rid`, ready to send."""
    _, w_rid = wbi_query(params, key, wts)
    signed = {k: str(v).translate(_WBI_STRIPPED) for k, v in params.items() if k != "w_rid"}
    signed["wts"] = str(wts)
    signed["w_rid"] = w_rid
    return signed


def _key_from_url(url: Any) -> str:
    if not isinstance(url, str) or "/" not in url:
        raise PollError(TRANSIENT, "nav answer without wbi_img keys")
    return url.rsplit("/", 1)[-1].split(".", 1)[0]


def map_reply(reply: Any, *, account_id: str | None, unordered: bool = False) -> list[Item]:
    """One reply (and its nested preview replies) as neutral records; missing fields stay None."""
    if not isinstance(reply, dict):
        return [Item(record={"platform": "bilibili", "account_id": account_id}, created_at=None)]
    oid = text_or_none(reply.get("oid"))
    mid = text_or_none(reply.get("mid"))
    member = reply.get("member") if isinstance(reply.get("member"), dict) else {}
    content = reply.get("content") if isinstance(reply.get("content"), dict) else {}
    parent = text_or_none(reply.get("parent_str") or reply.get("parent"))
    created = parse_time(reply.get("ctime"), "epoch")
    record = {
        "platform": "bilibili",
        "account_id": account_id,
        "content_id": oid,
        "content_url": f"https://www.bilibili.com/video/av{oid}" if oid else None,
        "comment_id": text_or_none(reply.get("rpid_str") or reply.get("rpid")),
        "parent_id": None if parent in (None, "0") else parent,
        "text": content.get("message"),
        "created_at": iso(created) if created else reply.get("ctime"),
        "author_id": mid,
        "author_name": member.get("uname"),
        "like_count": int_or_none(reply.get("like")),
        "reply_count": int_or_none(reply.get("rcount")),
        "is_from_account": bool(mid is not None and account_id is not None and mid == account_id),
    }
    items = [Item(record=record, created_at=created, unordered=unordered)]
    for child in reply.get("replies") or []:
        items.extend(map_reply(child, account_id=account_id, unordered=True))
    return items


class BilibiliAdapter(PlatformAdapter):
    default_base_url = "https://api.bilibili.com"

    def list_recent(self, ctx: PollContext) -> list[dict[str, Any]]:
        return self._list_videos(ctx)

    def _list_videos(self, ctx: PollContext) -> list[dict[str, Any]]:
        """The UP's newest videos (docs/user/space.md "查询用户投稿视频明细": `/x/space/wbi/arc/search`,
        `mid`, `ps`, `pn`, `order=pubdate`; answer `data.list.vlist[]` with `aid`, `bvid`, `title`)."""
        settings = ctx.source.settings
        params: dict[str, Any] = {"mid": ctx.account_id, "ps": settings.recent_posts, "pn": 1, "order": "pubdate"}
        answer = self._get(ctx, "/x/space/wbi/arc/search", "/x/space/arc/search", params)
        body = answer.body if isinstance(answer.body, dict) else {}
        if body.get("code") != 0:
            self._raise_for_code(ctx, body.get("code"), body.get("message"))
        videos = (((body.get("data") or {}).get("list") or {}).get("vlist")) or []
        posts = []
        for video in videos:
            if not isinstance(video, dict) or not video.get("aid"):
                continue
            bvid = video.get("bvid")
            url = f"https://www.bilibili.com/video/{bvid}" if bvid else f"https://www.bilibili.com/video/av{video['aid']}"
            posts.append({"id": str(video["aid"]), "title": video.get("title"), "url": url})
        return posts

    def _get(self, ctx: PollContext, signed_path: str, plain_path: str, params: dict[str, Any]) -> Any:
        """GET the WBI-signed endpoint (`wbi: true`), or its unsigned twin. A server without WBI (nav or the
        signed endpoint answers HTTP 404: a mirror, a proxy, an older API) is asked the unsigned endpoint
        with the same parameters, and the source remembers it (`extra.wbi_unavailable`) until the base URL
        changes or the unsigned endpoint asks for a signature (code -403). HTTP 412 and every other failure
        are raised as they are."""
        if ctx.source.settings.wbi and not self._wbi_unavailable(ctx):
            missing = "/x/web-interface/nav"
            try:
                key = self._mixin_key(ctx)
                missing = signed_path
                return self._request(ctx, signed_path, wbi_sign(params, key, int(ctx.now().timestamp())))
            except PollError as exc:
                if exc.code != 404:
                    raise
            answer = self._request(ctx, plain_path, params)  # its own failure is the poll's error
            ctx.state.extra.pop("wbi", None)
            ctx.state.extra["wbi_unavailable"] = {"base_url": self._base(ctx), "since": ctx.now().isoformat()}
            log.warning("source=%s: the server has no WBI-signed API (%s answered HTTP 404): using the unsigned %s "
                        "from now on", ctx.source.id, missing, plain_path)
            return answer
        return self._request(ctx, plain_path, params)

    def _request(self, ctx: PollContext, path: str, params: dict[str, Any]) -> Any:
        return ctx.http.request(
            "GET", f"{self._base(ctx)}{path}", params=params, cookies=self._cookies(ctx), timeout=ctx.source.timeout
        )

    def _wbi_unavailable(self, ctx: PollContext) -> bool:
        remembered = ctx.state.extra.get("wbi_unavailable")
        return bool(remembered) and remembered.get("base_url") == self._base(ctx)

    def _cookies(self, ctx: PollContext) -> dict[str, str] | None:
        sessdata = ctx.credential("sessdata", required=False)
        return {"SESSDATA": sessdata} if sessdata else None

    def _mixin_key(self, ctx: PollContext) -> str:
        cached = ctx.state.extra.get("wbi")
        now = ctx.now().timestamp()
        if cached and now - cached.get("fetched_at", 0) < ctx.source.settings.wbi_keys_ttl:
            return cached["key"]
        answer = ctx.http.request(
            "GET",
            f"{self._base(ctx)}/x/web-interface/nav",
            cookies=self._cookies(ctx),
            timeout=ctx.source.timeout,
        )
        # The nav answer carries the keys even when not logged in (code -101).
        wbi_img = ((answer.body or {}).get("data") or {}).get("wbi_img") or {}
        key = mixin_key(_key_from_url(wbi_img.get("img_url")), _key_from_url(wbi_img.get("sub_url")))
        ctx.state.extra["wbi"] = {"key": key, "fetched_at": now}
        return key

    def resume_cursor(self, ctx: PollContext, cursor: Any) -> Any:
        """The page before `cursor` (`next` is a page number): see PlatformAdapter.resume_cursor."""
        page = int_or_none(cursor)
        return page - 1 if page is not None and page > 1 else cursor

    def fetch_page(self, ctx: PollContext, target: str, cursor: Any) -> Page:
        settings = ctx.source.settings
        if not str(target).isdigit():
            raise PollError(CONFIG, f"bilibili target {target!r} must be the video's numeric aid (oid)")
        params: dict[str, Any] = {
            "oid": target,
            "type": settings.comment_type,
            "mode": settings.mode,
            "next": cursor if cursor is not None else 0,
            "ps": settings.page_size,
        }
        answer = self._get(ctx, "/x/v2/reply/wbi/main", "/x/v2/reply/main", params)
        body = answer.body if isinstance(answer.body, dict) else {}
        code = body.get("code")
        if code != 0:
            self._raise_for_code(ctx, code, body.get("message"))
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise PollError(TRANSIENT, f"bilibili answer whose data is not an object ({type(data).__name__})")
        if "v_voucher" in data and "replies" not in data:
            ctx.state.extra.pop("wbi", None)  # the signature was refused: fetch fresh keys next time
            raise PollError(TRANSIENT, "signature refused (v_voucher); WBI keys will be refreshed")
        items: list[Item] = []
        for top in listed(data.get("top_replies"), "data.top_replies"):
            items.extend(map_reply(top, account_id=ctx.account_id, unordered=True))
        threads = []
        for reply in listed(data.get("replies"), "data.replies"):
            items.extend(map_reply(reply, account_id=ctx.account_id))
            if isinstance(reply, dict):
                threads.append(reply)
        updates: list[Any] = []
        if settings.fetch_replies:
            items.extend(self._thread_replies(ctx, target, threads, updates))
        else:
            mark_endpoint_ok(ctx, THREAD_LIST)  # replies switched off: no note of an old failure stays
        page_cursor = data.get("cursor") if isinstance(data.get("cursor"), dict) else {}
        return Page(items=items, next_cursor=page_cursor.get("next"), is_end=bool(page_cursor.get("is_end", True)),
                    after_store=updates, total=int_or_none(page_cursor.get("all_count")))

    def _thread_replies(
        self, ctx: PollContext, target: str, threads: list[dict[str, Any]], updates: list[Any]
    ) -> list[Item]:
        """Replies beyond the nested previews of threads whose rcount grew (`/x/v2/reply/reply`, page
        numbers, oldest first: read from the last page back). A failure leaves the thread for later; one
        that concerns the endpoint (5xx, timeout, an error code that is not the thread's own) leaves every
        thread for later and pauses the endpoint (mark_endpoint_failed), 412 / 429 stop the poll."""
        settings = ctx.source.settings
        totals: dict[str, int] = ctx.state.extra.setdefault("reply_totals", {}).setdefault(target, {})
        read: dict[str, int] = {}
        found: list[Item] = []
        for thread in threads:
            root = text_or_none(thread.get("rpid_str") or thread.get("rpid"))
            count = int_or_none(thread.get("rcount")) or 0
            previews = len(thread.get("replies") or [])
            if not root or count <= previews or count <= totals.get(root, 0):
                continue
            if endpoint_missing(ctx, THREAD_LIST) or endpoint_paused(ctx, THREAD_LIST):
                # the server has no thread list, or it failed in this poll or recently: threads wait
                # (unread: their rcount is not remembered) until the pause ends
                break
            size = 20
            last_page = max(1, -(-count // size))
            complete = True
            for page_number in range(last_page, max(0, last_page - settings.max_reply_pages), -1):
                try:
                    answer = ctx.http.request(
                        "GET",
                        f"{self._base(ctx)}{THREAD_LIST}",
                        params={"oid": target, "type": settings.comment_type, "root": root, "ps": size,
                                "pn": page_number},
                        cookies=self._cookies(ctx),
                        timeout=ctx.source.timeout,
                    )
                except PollError as exc:
                    # the thread's replies wait for a later poll; the page's comments are stored
                    optional_endpoint_failed(ctx, THREAD_LIST, exc, stops=STOPS_THE_POLL, what=THREAD_LIST_WHAT,
                                             unread=THREAD_LIST_UNREAD)
                    complete = False
                    break
                body = answer.body if isinstance(answer.body, dict) else {}
                code = body.get("code")
                if code != 0:
                    # the thread's replies wait for a later poll (its rcount is not remembered as read). A code
                    # of the thread itself (deleted, closed) concerns it alone; any other (risk check -352 /
                    # -412, -509 too frequent, server errors, an answer without a code) concerns every thread:
                    # the thread list is left alone for a while, as on a 5xx.
                    if not (isinstance(code, int) and code in THREAD_ONLY_CODES):
                        detail = (f"bilibili code {code}: {body.get('message') or ''}".strip() if code is not None
                                  else "an answer without a code")
                        mark_endpoint_failed(ctx, THREAD_LIST, detail, what=THREAD_LIST_WHAT,
                                             unread=THREAD_LIST_UNREAD)
                    complete = False
                    break
                mark_endpoint_ok(ctx, THREAD_LIST)
                for reply in (body.get("data") or {}).get("replies") or []:
                    for item in map_reply(reply, account_id=ctx.account_id, unordered=True):
                        found.append(item)
            if complete:
                read[root] = count
        live = {text_or_none(t.get("rpid_str") or t.get("rpid")) for t in threads}

        def remember() -> None:
            totals.update(read)
            # Forget threads that left the overlap window, so the memory stays bounded.
            keep = {key.split(":", 1)[1] for key in ctx.state.target(target).recent} | live
            for root in [r for r in totals if r not in keep]:
                del totals[root]

        updates.append(remember)
        return found

    def _raise_for_code(self, ctx: PollContext, code: Any, message: Any) -> None:
        detail = f"bilibili code {platform_text(code)}: {platform_text(message)}".strip()
        if code in RISK_CODES:
            raise PollError(RISK_CONTROL, detail, code=code)
        if code in RATE_CODES:
            raise PollError(RATE_LIMITED, detail, code=code)
        if code == -403:
            ctx.state.extra.pop("wbi", None)
            # the unsigned endpoint wants a signature after all: sign again from the next poll on
            ctx.state.extra.pop("wbi_unavailable", None)
            raise PollError(TRANSIENT, detail + " (WBI keys will be refreshed)", code=code)
        if code in TARGET_CODES:
            raise PollError(TARGET, detail, code=code)
        if code in (-400, -101, -111):
            raise PollError(CONFIG, detail, code=code)
        raise PollError(TRANSIENT, detail, code=code)
