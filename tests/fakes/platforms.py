"""Local fake platform servers (127.0.0.1, ephemeral port) for the poller tests and the benchmark.

Each fake behaves like the platform's documented API (the page each one follows is named on its class):
it refuses a request that lacks the token, signature or parameters the platform requires, with the
platform's documented error, so a passing test proves the poller sends them. Every fake records the
requests it received and can be scripted: `fake.script(path, status=429, headers={"Retry-After": "2"})`
answers the next request to `path` that way (then the normal behaviour resumes). Paths added to
`fake.missing` answer HTTP 404, as a server (a mirror, a proxy, an older API) that does not serve them.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from tests.fakes.loopback import LoopbackHttpServer


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]


@dataclass
class Hold:
    """A request kept waiting: `entered` is set when it arrives, it is answered after `release()` (or
    `timeout` seconds, so a test that goes wrong fails instead of hanging)."""

    timeout: float
    entered: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class Scripted:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


class FakePlatform(LoopbackHttpServer):
    """Base: routing, request log, scripted answers, and the HTTP server around it."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[str, deque[Scripted]] = {}
        self._holds: dict[str, deque[Hold]] = {}
        self._lock = threading.RLock()
        self.missing: set[str] = set()  # paths this server does not have: HTTP 404

    # ------------------------------------------------------------------------------------ scripting

    def script(self, path: str, *, status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
               raw: bytes | None = None, times: int = 1) -> None:
        with self._lock:
            queue = self._scripts.setdefault(path, deque())
            for _ in range(times):
                queue.append(Scripted(status, body, dict(headers or {}), raw))

    def hold(self, path: str, *, timeout: float = 20.0) -> Hold:
        """Keep the next request to `path` waiting until the returned Hold is released: a poll caught in
        the middle of its work, e.g. while another process tries the same source."""
        held = Hold(timeout)
        with self._lock:
            self._holds.setdefault(path, deque()).append(held)
        return held

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # --------------------------------------------------------------------------------------- server

    def start(self) -> FakePlatform:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                form: dict[str, str] = {}
                if body and "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
                elif body and "json" in (self.headers.get("Content-Type") or ""):
                    try:
                        loaded = json.loads(body)
                        form = {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
                    except ValueError:
                        form = {}
                cookies = {}
                for chunk in (self.headers.get("Cookie") or "").split(";"):
                    if "=" in chunk:
                        name, _, value = chunk.strip().partition("=")
                        cookies[name] = value
                request = Recorded(
                    method=self.command,
                    path=parts.path,
                    params={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    form=form,
                    cookies=cookies,
                )
                status, headers, payload = fake._dispatch(request)
                self.send_response(status)
                headers = {"Content-Type": "application/json; charset=utf-8", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

        self._serve(Handler, poll_interval=0.05)
        return self

    def _dispatch(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            holds = self._holds.get(request.path)
            held = holds.popleft() if holds else None
        if held is not None:
            held.entered.set()
            held.released.wait(held.timeout)
        if request.path in self.missing:
            return 404, {}, json.dumps({"code": -404, "message": "not found"}).encode()
        with self._lock:
            queue = self._scripts.get(request.path)
            scripted = queue.popleft() if queue else None
        if scripted is not None:
            payload = scripted.raw if scripted.raw is not None else json.dumps(scripted.body, ensure_ascii=False).encode()
            return scripted.status, scripted.headers, payload
        status, body = self.handle(request)
        if isinstance(body, bytes):
            return status, {"Content-Type": "application/xml; charset=utf-8"}, body
        return status, {}, json.dumps(body, ensure_ascii=False).encode()

    def handle(self, request: Recorded) -> tuple[int, Any]:  # pragma: no cover - overridden
        return 404, {"error": "not found"}


def _page(items: list[Any], cursor: int, size: int) -> tuple[list[Any], int, bool]:
    chunk = items[cursor : cursor + size]
    next_cursor = cursor + len(chunk)
    return chunk, next_cursor, next_cursor >= len(items)


# ------------------------------------------------------------------------------------------ Bilibili

_MIXIN = [46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29,
          28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54,
          21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52]


class FakeBilibili(FakePlatform):
    """Follows bilibili-API-collect docs/comment/list.md (`/x/v2/reply/main`, `/x/v2/reply/wbi/main`),
    docs/login/login_info.md (nav: `data.wbi_img`) and docs/misc/sign/wbi.md (w_rid/wts).
    Missing oid/type -> code -400; a missing or wrong WBI signature -> code -403."""

    def __init__(self, img_key: str = "7cd084941338484aae1ad9425b84077c",
                 sub_key: str = "4932caff0ff746eab6f01bf08b70ac45") -> None:
        super().__init__()
        self.img_key, self.sub_key = img_key, sub_key
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.threads: dict[str, list[dict[str, Any]]] = {}
        self.top: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, list[dict[str, Any]]] = {}  # mid -> newest first

    def add_video(self, mid: str, aid: int, title: str, created: int) -> None:
        self.videos.setdefault(mid, []).insert(0, {"aid": aid, "bvid": f"BV{aid}", "title": title, "created": created,
                                                     "mid": int(mid)})

    def add_reply(self, oid: str, rpid: int, *, mid: int, uname: str, message: str, ctime: int, like: int = 0,
                  parent: int = 0, root: int = 0, children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        reply = {
            "rpid": rpid, "oid": int(oid), "type": 1, "mid": mid, "root": root, "parent": parent,
            "count": len(children or []), "rcount": len(children or []), "ctime": ctime, "like": like,
            "rpid_str": str(rpid), "root_str": str(root), "parent_str": str(parent),
            "member": {"mid": str(mid), "uname": uname, "sex": "保密"},
            "content": {"message": message, "plat": 0, "members": []},
            "replies": children or [],
        }
        if parent == 0:
            self.replies.setdefault(oid, []).append(reply)
        return reply

    def add_thread_reply(self, oid: str, root: int, rpid: int, *, mid: int, uname: str, message: str,
                         ctime: int, previews: int = 3) -> None:
        """A reply inside the thread of `root`; like the real list, only `previews` nest in the page."""
        reply = self.add_reply(oid, rpid, mid=mid, uname=uname, message=message, ctime=ctime, parent=root, root=root)
        self.threads.setdefault(str(root), []).append(reply)
        for top in self.replies.get(oid, []):
            if top["rpid"] == root:
                top["rcount"] = top["count"] = len(self.threads[str(root)])
                top["replies"] = self.threads[str(root)][:previews]

    def _sub_replies(self, params: dict[str, str]) -> tuple[int, Any]:
        """docs/comment/list.md "获取指定评论的回复" (/x/v2/reply/reply): oid, type, root required;
        pn/ps page numbers, oldest first; data.page {num, size, count}."""
        if not params.get("oid") or not params.get("type") or not params.get("root"):
            return 200, {"code": -400, "message": "请求错误", "ttl": 1}
        thread = sorted(self.threads.get(params["root"], []), key=lambda r: (r["ctime"], r["rpid"]))
        size, number = int(params.get("ps") or 20), int(params.get("pn") or 1)
        chunk = thread[(number - 1) * size : number * size]
        return 200, {"code": 0, "message": "0", "ttl": 1,
                     "data": {"page": {"num": number, "size": size, "count": len(thread)}, "replies": chunk}}

    def _mixin_key(self) -> str:
        raw = self.img_key + self.sub_key
        return "".join(raw[i] for i in _MIXIN)[:32]

    def _signature_ok(self, params: dict[str, str]) -> bool:
        if "w_rid" not in params or "wts" not in params:
            return False
        rest = {k: "".join(ch for ch in v if ch not in "!'()*") for k, v in params.items() if k != "w_rid"}
        query = urlencode(sorted(rest.items()), quote_via=quote)
        return hashlib.md5((query + self._mixin_key()).encode()).hexdigest() == params["w_rid"]

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.path == "/x/web-interface/nav":
            return 200, {"code": -101, "message": "账号未登录", "ttl": 1, "data": {"isLogin": False, "wbi_img": {
                "img_url": f"https://i0.hdslb.com/bfs/wbi/{self.img_key}.png",
                "sub_url": f"https://i0.hdslb.com/bfs/wbi/{self.sub_key}.png"}}}
        if request.path == "/x/v2/reply/reply":
            return self._sub_replies(request.params)
        if request.path == "/x/space/wbi/arc/search":
            # docs/user/space.md "查询用户投稿视频明细": mid required, WBI signed; data.list.vlist[].
            if not self._signature_ok(request.params):
                return 200, {"code": -403, "message": "访问权限不足", "ttl": 1}
            if not request.params.get("mid"):
                return 200, {"code": -400, "message": "请求错误", "ttl": 1}
            videos = self.videos.get(request.params["mid"], [])[: int(request.params.get("ps") or 30)]
            return 200, {"code": 0, "message": "0", "ttl": 1,
                         "data": {"list": {"vlist": videos}, "page": {"pn": 1, "ps": 30, "count": len(videos)}}}
        if request.path not in ("/x/v2/reply/main", "/x/v2/reply/wbi/main"):
            return 404, {"code": -404, "message": "啥都木有", "ttl": 1}
        params = request.params
        if request.path.endswith("/wbi/main") and not self._signature_ok(params):
            return 200, {"code": -403, "message": "访问权限不足", "ttl": 1}
        if not params.get("oid") or not params.get("type"):
            return 200, {"code": -400, "message": "请求错误", "ttl": 1}
        oid = params["oid"]
        if oid not in self.replies and oid not in self.top:
            return 200, {"code": -404, "message": "啥都木有", "ttl": 1}
        ordered = sorted(self.replies.get(oid, []), key=lambda r: (r["ctime"], r.get("rpid", 0)), reverse=True)
        size = int(params.get("ps") or 20)
        page_number = max(1, int(params.get("next") or 0))
        chunk, _, is_end = _page(ordered, (page_number - 1) * size, size)
        data = {
            "cursor": {"is_begin": page_number == 1, "prev": page_number, "next": page_number + 1, "is_end": is_end,
                       "mode": int(params.get("mode") or 3), "all_count": len(ordered)},
            "replies": chunk,
            "top_replies": [self.top[oid]] if oid in self.top and page_number == 1 else [],
            "upper": {"mid": 0},
        }
        return 200, {"code": 0, "message": "0", "ttl": 1, "data": data}


# -------------------------------------------------------------------------------------------- Douyin


class FakeDouyin(FakePlatform):
    """Follows developer.open-douyin.com 评论列表 (`GET /item/comment/list/`, header `access-token`), 评论回复列表
    (`GET /item/comment/reply/list/`, plus `comment_id`) and
    刷新 access_token (`POST /oauth/refresh_token/`). A missing token -> error_code 2190002, an expired one
    -> 2190008, missing open_id/item_id/count -> 2100005; an expired refresh token -> 10010."""

    def __init__(self, *, client_key: str = "tt_client", access_token: str = "act.initial",
                 refresh_token: str = "rft.initial") -> None:
        super().__init__()
        self.client_key = client_key
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expired_tokens: set[str] = set()
        self.refresh_expired = False
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.videos: list[dict[str, Any]] = []  # newest first
        self._issued = 0

    def add_comment(self, item_id: str, comment_id: str, *, user: str, content: str, create_time: int,
                    digg: int = 0, replies: int = 0, top: bool = False) -> None:
        self.comments.setdefault(item_id, []).append({
            "comment_id": comment_id, "comment_user_id": user, "content": content, "create_time": create_time,
            "digg_count": digg, "reply_comment_total": replies, "top": top,
        })

    def add_reply(self, item_id: str, parent_id: str, reply_id: str, *, user: str, content: str,
                  create_time: int) -> None:
        """A reply in a comment's thread (评论回复列表); the parent's reply_comment_total grows."""
        self.replies.setdefault(parent_id, []).append({
            "comment_id": reply_id, "comment_user_id": user, "content": content, "create_time": create_time,
            "digg_count": 0, "reply_comment_total": 0, "top": False,
        })
        for comment in self.comments.get(item_id, []):
            if comment["comment_id"] == parent_id:
                comment["reply_comment_total"] += 1

    def expire_access_token(self) -> None:
        self.expired_tokens.add(self.access_token)

    @staticmethod
    def _error(code: int, description: str) -> dict[str, Any]:
        extra = {"error_code": code, "description": description, "sub_error_code": 0, "sub_description": "",
                 "logid": "202611221200000101", "now": 1763784000000}
        return {"data": {"error_code": code, "description": description}, "extra": extra}

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.path == "/oauth/refresh_token/":
            form = request.form
            if not form.get("client_key") or form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
                return 200, {"data": {"error_code": 10005, "description": "缺少参数"}, "message": "error"}
            if form["client_key"] != self.client_key or form["refresh_token"] != self.refresh_token:
                return 200, {"data": {"error_code": 10010, "description": "refresh_token 无效"}, "message": "error"}
            if self.refresh_expired:
                return 200, {"data": {"error_code": 10010, "description": "refresh_token 过期"}, "message": "error"}
            self._issued += 1
            self.access_token = f"act.refreshed{self._issued}"
            return 200, {"data": {"access_token": self.access_token, "description": "", "error_code": 0,
                                  "expires_in": 1296000, "open_id": "open-1", "refresh_expires_in": 2592000,
                                  "refresh_token": self.refresh_token, "scope": "item.comment"},
                         "message": "success"}
        if request.path not in ("/item/comment/list/", "/item/comment/reply/list/", "/video/list/"):
            return 404, self._error(28001017, "未知URI")
        token = request.headers.get("access-token")
        if not token:
            return 200, self._error(2190002, "access_token无效")
        if token in self.expired_tokens:
            return 200, self._error(2190008, "access_token过期,请刷新或重新授权")
        if token != self.access_token:
            return 200, self._error(2190002, "access_token无效")
        params = request.params
        if request.path == "/video/list/":
            # 查询授权账号视频列表: open_id and count required; data.list[] with item_id/title/share_url.
            if not params.get("open_id") or not params.get("count"):
                return 200, self._error(2100005, "参数不合法")
            videos = self.videos[: int(params["count"])]
            return 200, {"data": {"error_code": 0, "description": "", "cursor": 0, "has_more": False, "list": videos},
                         "extra": {"error_code": 0, "description": ""}}
        if not params.get("open_id") or not params.get("item_id") or not params.get("count"):
            return 200, self._error(2100005, "参数不合法")
        if request.path == "/item/comment/reply/list/":
            if not params.get("comment_id"):
                return 200, self._error(2100005, "参数不合法")
            ordered = sorted(self.replies.get(params["comment_id"], []), key=lambda c: c["create_time"], reverse=True)
        else:
            ordered = sorted(self.comments.get(params["item_id"], []), key=lambda c: c["create_time"], reverse=True)
            ordered = [c for c in ordered if c["top"]] + [c for c in ordered if not c["top"]]
        chunk, next_cursor, is_end = _page(ordered, int(params.get("cursor") or 0), int(params["count"]))
        return 200, {"data": {"error_code": 0, "description": "", "cursor": next_cursor, "has_more": not is_end,
                              "list": chunk},
                     "extra": {"error_code": 0, "description": "", "logid": "202611221200000102"}}


# --------------------------------------------------------------------------------------------- Weibo


class FakeWeibo(FakePlatform):
    """Follows open.weibo.com/wiki/2/comments/show and /wiki/Error_code: no token -> HTTP 403 error_code
    21301, an expired token -> 21327 expired_token, a missing id -> HTTP 400 error_code 10016."""

    def __init__(self, access_token: str = "2.00weibo_token") -> None:
        super().__init__()
        self.access_token = access_token
        self.expired = False
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.posts: dict[str, list[dict[str, Any]]] = {}  # uid -> statuses, newest first

    def add_comment(self, post_id: str, comment_id: int, *, created_at: str, text: str, user_id: int,
                    screen_name: str, followers: int = 0, reply_to: int | None = None) -> None:
        comment: dict[str, Any] = {
            "created_at": created_at, "id": comment_id, "idstr": str(comment_id), "mid": str(comment_id),
            "text": text, "source": "微博 weibo.com",
            "user": {"id": user_id, "idstr": str(user_id), "screen_name": screen_name, "followers_count": followers},
            "status": {"id": int(post_id), "idstr": post_id, "text": "新品发布"},
        }
        if reply_to is not None:
            comment["reply_comment"] = {"id": reply_to, "idstr": str(reply_to), "text": "..."}
        self.comments.setdefault(post_id, []).append(comment)

    @staticmethod
    def _error(request: Recorded, code: int, message: str) -> dict[str, Any]:
        return {"error": message, "error_code": code, "request": request.path}

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.path not in ("/2/comments/show.json", "/2/statuses/user_timeline.json"):
            return 404, self._error(request, 10021, "HTTP method is not suported for this request")
        params = request.params
        if not params.get("access_token"):
            return 403, self._error(request, 21301, "auth faild!")
        if params["access_token"] != self.access_token:
            return 403, self._error(request, 21332, "invalid_access_token")
        if self.expired:
            return 403, self._error(request, 21327, "expired_token")
        if request.path == "/2/statuses/user_timeline.json":
            # open.weibo.com/wiki/2/statuses/user_timeline: statuses[] newest first.
            statuses = self.posts.get(params.get("uid", ""), [])[: int(params.get("count") or 20)]
            return 200, {"statuses": statuses, "total_number": len(statuses)}
        if not params.get("id"):
            return 400, self._error(request, 10016, "miss required parameter (id), see doc for more info.")
        ordered = sorted(self.comments.get(params["id"], []), key=lambda c: c["id"], reverse=True)
        if params.get("max_id"):
            ordered = [c for c in ordered if c["id"] <= int(params["max_id"])]
        if params.get("since_id"):
            ordered = [c for c in ordered if c["id"] > int(params["since_id"])]
        count = int(params.get("count") or 20)
        chunk = ordered[:count]
        more = len(ordered) > count
        next_cursor = ordered[count]["id"] if more else 0
        return 200, {"comments": chunk, "hasvisible": False, "previous_cursor": 0, "next_cursor": next_cursor,
                     "total_number": len(self.comments.get(params["id"], []))}


# ------------------------------------------------------------------------- generic JSON (Kuaishou-like)


class FakeKuaishouOpen(FakePlatform):
    """Kuaishou open-platform conventions (app_id + access_token query, `result` 1 = ok with `error_msg`
    otherwise, `pcursor` paging ending in "no_more", millisecond times): missing app_id/access_token ->
    result 28 (the platform's invalid-token answer), missing photo_id -> result 2 (parameter error)."""

    def __init__(self, *, app_id: str = "ks_app", access_token: str = "ks_token") -> None:
        super().__init__()
        self.app_id, self.access_token = app_id, access_token
        self.comments: dict[str, list[dict[str, Any]]] = {}

    def add_comment(self, photo_id: str, comment_id: str, *, content: str, create_time_ms: int, author_id: str,
                    author_name: str, likes: int = 0, sub_comments: list[dict[str, Any]] | None = None) -> None:
        self.comments.setdefault(photo_id, []).append({
            "comment_id": comment_id, "content": content, "create_time": create_time_ms, "author_id": author_id,
            "author_name": author_name, "like_count": likes, "sub_comment_count": len(sub_comments or []),
            "sub_comments": sub_comments or [],
        })

    def handle(self, request: Recorded) -> tuple[int, Any]:
        params = request.params
        if params.get("app_id") != self.app_id or params.get("access_token") != self.access_token:
            return 200, {"result": 28, "error_msg": "access_token 无效"}
        if not params.get("photo_id"):
            return 200, {"result": 2, "error_msg": "参数错误: photo_id"}
        ordered = sorted(self.comments.get(params["photo_id"], []), key=lambda c: c["create_time"], reverse=True)
        start = int(params.get("pcursor") or 0)
        chunk, next_cursor, is_end = _page(ordered, start, int(params.get("count") or 20))
        return 200, {"result": 1, "comment_list": chunk, "pcursor": "no_more" if is_end else str(next_cursor)}


class FakeCrawlerExport(FakePlatform):
    """A team's own crawler/ETL export at /export (no platform documentation: the shape is whatever the
    source's field mapping says): `{"items": [...], "next_cursor": n, "has_more": bool}`, newest first,
    `cursor` paging, an optional `video` filter. Refuses a request without `Authorization: Bearer <token>`
    (HTTP 401). `oldest_first` lists the other way round, as some exports do."""

    def __init__(self, token: str = "crawler-token", *, oldest_first: bool = False) -> None:
        super().__init__()
        self.token = token
        self.oldest_first = oldest_first
        self.items: list[dict[str, Any]] = []

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.path != "/export":
            return 404, {"error": "not found"}
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "invalid token"}
        video = request.params.get("video")
        ordered = [i for i in self.items if not video or i.get("video") == video]
        ordered.sort(key=lambda i: float(i.get("ts") or 0), reverse=not self.oldest_first)
        chunk, next_cursor, is_end = _page(ordered, int(request.params.get("cursor") or 0),
                                           int(request.params.get("size") or 20))
        return 200, {"items": chunk, "next_cursor": next_cursor, "has_more": not is_end}


# ----------------------------------------------------------------------------------- announcements


class FakeAnnouncements(FakePlatform):
    """Serves an RSS 2.0, Atom or JSON document at /feed (set `document` and `content_type`)."""

    def __init__(self) -> None:
        super().__init__()
        self.document: bytes = b"[]"

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.path != "/feed":
            return 404, {"error": "not found"}
        if self.document.lstrip()[:1] in (b"[", b"{"):
            return 200, json.loads(self.document)
        return 200, self.document


def rss(items: list[dict[str, str]]) -> bytes:
    """A small RSS 2.0 document (RSS 2.0 specification: channel/item with title, link, guid, pubDate)."""
    entries = "".join(
        f"<item><title>{i['title']}</title><link>{i['url']}</link><guid>{i['id']}</guid>"
        f"<pubDate>{i['published']}</pubDate><description>{i.get('summary', '')}</description></item>"
        for i in items
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>平台公告</title>'
            f"<link>https://example.invalid/</link><description>rules</description>{entries}</channel></rss>").encode()


def atom(items: list[dict[str, str]]) -> bytes:
    """A small Atom 1.0 document (RFC 4287: feed/entry with id, title, link href, updated)."""
    entries = "".join(
        f'<entry><id>{i["id"]}</id><title>{i["title"]}</title><link href="{i["url"]}"/>'
        f"<updated>{i['published']}</updated></entry>"
        for i in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>规则中心</title><id>urn:rules</id><updated>2026-11-22T00:00:00Z</updated>{entries}</feed>").encode()
