"""A local fake of the Slack Web API (and Socket Mode gateway) for tests: real HTTP on 127.0.0.1.

It records every request, answers like Slack (`not_authed` / `invalid_auth` without a valid token, the
documented errors for missing arguments such as `channel_not_found` and `no_text`), and can be
scripted: one-off answers (429 + Retry-After, 5xx), an outage, slow answers, or answers held until the
test releases them. A scripted answer can also first let the call take effect ("accepted, then the
answer is lost"): `lost_response()` stores the message and drops the connection, `accepted_then(503)`
stores it and answers 5xx. Posted messages keep their `metadata` and `thread_ts`, and
`conversations.history` / `conversations.replies` serve them back (metadata only with
`include_all_metadata`), newest first and a page at a time (`limit`, default 100, at most 999; `cursor` /
`has_more` / `response_metadata.next_cursor`), like Slack, so duplicate checks can be tested, also in a
busy channel (`say()` adds a person's message; `delete_message()` removes one, as an admin's deletion). `FakeSlack(now=...)` makes message ts follow
the test's clock (default: a fixed 1700000000 + n sequence).
`response_url`s handed to the bot point at `/response/<id>` on the same server.
`users.info` answers for the people added with `add_user()` (a profile as Slack's, display and real name)
and `user_not_found` for anyone else; `missing_scopes["users.info"] = "users:read"` answers `missing_scope`.
Socket Mode: `apps.connections.open` returns `ws://127.0.0.1:<port>/link/?ticket=…`; the test pushes
envelopes with `send_envelope()` and reads the bot's acknowledgements with `wait_ack()`.

Usage:
    with FakeSlack() as slack:            # base_url == "http://127.0.0.1:<port>/api/"
        port = SlackChatPort("xoxb-test", base_url=slack.base_url)
        ...
        slack.calls("chat.postMessage")   # list of RecordedCall
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

VALID_BOT_TOKEN = "xoxb-test-token"
VALID_APP_TOKEN = "xapp-test-token"


@dataclass
class RecordedCall:
    method: str  # Web API method ("chat.postMessage"), "upload", "response_url" or "socket_ack"
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    status: int = 200
    answer: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    at: float = field(default_factory=time.monotonic)


@dataclass
class ScriptedAnswer:
    status: int = 200
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    accept: bool = False  # let the call take effect first (the message is stored), then answer like this
    drop: bool = False  # close the connection without any answer


def lost_response() -> ScriptedAnswer:
    """Slack accepted the call, then the connection broke before the answer arrived."""
    return ScriptedAnswer(accept=True, drop=True)


def accepted_then(status: int = 503) -> ScriptedAnswer:
    """Slack accepted the call, then something in front of it answered 5xx."""
    return ScriptedAnswer(status, "<html>bad gateway</html>", {"Content-Type": "text/html"}, accept=True)


def passthrough(delay: float = 0.0) -> ScriptedAnswer:
    """Answered as if unscripted (after `delay`): lets a later answer of the same script be the failing one."""
    return ScriptedAnswer(accept=True, delay=delay)


def missing_scope(needed: str = "channels:history,groups:history") -> ScriptedAnswer:
    return ScriptedAnswer(200, {"ok": False, "error": "missing_scope", "needed": needed, "provided": "chat:write"})


def rate_limited(retry_after: int = 1) -> ScriptedAnswer:
    return ScriptedAnswer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


def server_error(status: int = 503) -> ScriptedAnswer:
    return ScriptedAnswer(status, "<html>service unavailable</html>", {"Content-Type": "text/html"})


class FakeSlack:
    """The fake server. Thread-safe accessors; the server runs on its own event loop thread."""

    def __init__(self, *, bot_tokens: set[str] | None = None, app_tokens: set[str] | None = None,
                 now: Callable[[], float] | None = None) -> None:
        self.bot_tokens = set(bot_tokens or {VALID_BOT_TOKEN})
        self.app_tokens = set(app_tokens or {VALID_APP_TOKEN})
        self.unknown_channels: set[str] = set()
        self.not_in_channels: set[str] = set()
        self.archived_channels: set[str] = set()
        # method -> the scope the app lacks for it: `missing_scope` (with `needed`) until removed from here,
        # as Slack answers until the scope is added and the app reinstalled
        self.missing_scopes: dict[str, str] = {}
        self.down = False  # True: every Web API call answers 503 (an outage)
        self.delays: dict[str, float] = {}
        self._scripts: dict[str, list[ScriptedAnswer]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._calls: list[RecordedCall] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ts = itertools.count(1)
        self.now = now  # epoch seconds for message ts (e.g. the test's FakeClock); None: fixed sequence
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> last args
        self.users: dict[str, dict[str, Any]] = {}  # user id -> users.info's `user` (`add_user`)
        self._file_names: dict[str, str] = {}  # file id -> name given to files.getUploadURLExternal
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = threading.Event()
        self.socket_connections = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/"

    def response_url(self, name: str | None = None) -> str:
        return f"{self.root_url}/response/{name or uuid.uuid4().hex}"

    def start(self) -> FakeSlack:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application(client_max_size=50 * 1024 * 1024)
            app.router.add_route("*", "/api/{method}", self._api)
            app.router.add_post("/upload/{file_id}", self._upload)
            app.router.add_post("/response/{name}", self._response_url)
            app.router.add_get("/link/", self._socket)
            app.router.add_get("/_fake/count/{method}", self._count)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-slack", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Slack server did not start")
        return self

    def stop(self) -> None:
        for event in self._holds.values():
            event.set()
        if self._loop and self._loop.is_running():
            async def close_sockets() -> None:
                for ws in list(self._sockets):
                    await ws.close()

            asyncio.run_coroutine_threadsafe(close_sockets(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ scripting

    def script(self, method: str, *answers: ScriptedAnswer) -> None:
        """Answer the next calls of `method` with these, in order, then behave normally again."""
        with self._lock:
            self._scripts.setdefault(method, []).extend(answers)

    def hold(self, method: str) -> None:
        """Hold every answer to `method` until `release(method)`."""
        self._holds[method] = threading.Event()

    def release(self, method: str) -> None:
        event = self._holds.pop(method, None)
        if event:
            event.set()

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def successful(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls(method) if c.status == 200 and c.answer.get("ok", True)]

    def wait_for(self, method: str, count: int = 1, *, timeout: float = 10.0, ok_only: bool = True) -> list[RecordedCall]:
        """Block until `count` calls of `method` were recorded (successful ones when ok_only)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    c for c in self._calls
                    if c.method == method and (not ok_only or (c.status == 200 and c.answer.get("ok", True)))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} {method} call(s), saw {len(found)}; all calls: "
                        f"{[(c.method, c.status, c.answer.get('error')) for c in self._calls]}"
                    )
                self._changed.wait(remaining)

    def _record(self, call: RecordedCall) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    # ------------------------------------------------------------------ HTTP handlers

    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        content_type = request.headers.get("Content-Type", "")
        if request.method == "POST":
            if content_type.startswith("application/json"):
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            elif content_type.startswith("multipart/"):
                post = await request.post()
                for key, value in post.items():
                    args[key] = value.file.read() if hasattr(value, "file") else value
            else:
                raw = (await request.read()).decode("utf-8", "replace")
                args.update(dict(parse_qsl(raw, keep_blank_values=True)))
        return args

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._read_args(request)
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else args.get("token")
        headers = dict(request.headers)
        hold = self._holds.get(method)
        if hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, hold.wait)
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        scripted = None
        with self._lock:
            queue = self._scripts.get(method)
            if queue:
                scripted = queue.pop(0)
        if scripted is not None:
            applied = self._answer(method, args, token) if scripted.accept else None
            if scripted.delay:
                await asyncio.sleep(scripted.delay)
            if scripted.drop:
                self._record(RecordedCall(method, args, headers, token, 0, {"ok": False, "dropped": True,
                                                                            "applied": applied}, request.path))
                assert request.transport is not None
                request.transport.close()
                raise asyncio.CancelledError  # aiohttp then closes quietly: the client sees no answer at all
            body = scripted.body if scripted.body is not None else {"ok": scripted.status == 200}
            if scripted.accept and scripted.body is None and scripted.status == 200 and applied is not None:
                body = applied  # `passthrough()`: taken and answered as usual (after its delay, if any)
            self._record(RecordedCall(method, args, headers, token, scripted.status,
                                      body if isinstance(body, dict) else {"ok": False, "raw": body}, request.path))
            if isinstance(body, dict):
                return web.json_response(body, status=scripted.status, headers=scripted.headers)
            return web.Response(text=body, status=scripted.status, headers=scripted.headers)
        if self.down:
            self._record(RecordedCall(method, args, headers, token, 503, {"ok": False, "error": "outage"}, request.path))
            return web.Response(text="<html>503 Service Unavailable</html>", status=503, content_type="text/html")
        answer = self._answer(method, args, token)
        self._record(RecordedCall(method, args, headers, token, 200, answer, request.path))
        return web.json_response(answer)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method == "api.test":
            return {"ok": True, "args": args}
        if method == "apps.connections.open":
            if not token:
                return {"ok": False, "error": "not_authed"}
            if token not in self.app_tokens:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4().hex}"}
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token not in self.bot_tokens:
            return {"ok": False, "error": "invalid_auth"}
        needed = self.missing_scopes.get(method)
        if needed:
            return {"ok": False, "error": "missing_scope", "needed": needed, "provided": "chat:write,commands"}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(args)

    def _channel_error(self, channel: str | None) -> dict[str, Any] | None:
        if not channel or channel in self.unknown_channels:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.not_in_channels:
            return {"ok": False, "error": "not_in_channel"}
        if channel in self.archived_channels:
            return {"ok": False, "error": "is_archived"}
        return None

    @staticmethod
    def _has_content(args: dict[str, Any]) -> bool:
        return bool(args.get("text") or args.get("blocks") or args.get("attachments"))

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake", "user": "crisisbot",
                "team_id": "T000FAKE", "user_id": "UBOT", "bot_id": "BBOT"}

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._channel_error(args.get("channel"))
        if error:
            return error
        if not self._has_content(args):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        with self._lock:
            self.messages[(args["channel"], ts)] = args
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": {"text": args.get("text", ""), "ts": ts}}

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1700000000 + n}.000100" if self.now is None else f"{int(self.now())}.{n:06d}"

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """What people would see in the channel (and its threads), oldest first, as Slack returns messages."""
        with self._lock:
            stored = [(ts, args) for (ch, ts), args in self.messages.items() if ch == channel]
        stored.sort(key=lambda item: float(item[0]))
        return [self._message_object(ts, args, with_metadata=True) for ts, args in stored]

    def say(self, channel: str, text: str, *, user: str = "U1", thread_ts: str | None = None) -> str:
        """A person writes in the channel (or thread): stored like Slack stores it, no event is sent; returns
        its ts. For busy-channel tests (people's messages between the bot's)."""
        ts = self._next_ts()
        message: dict[str, Any] = {"channel": channel, "text": text, "_user": user}
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._lock:
            self.messages[(channel, ts)] = message
        return ts

    def add_user(self, user_id: str, *, display_name: str = "", real_name: str = "", name: str = "") -> None:
        """A member of the workspace, as users.info returns them (an empty display name is Slack's "not set")."""
        user = {"id": user_id, "team_id": "T000FAKE", "name": name or user_id.lower(), "deleted": False,
                "real_name": real_name, "is_bot": False,
                "profile": {"display_name": display_name, "display_name_normalized": display_name,
                            "real_name": real_name, "real_name_normalized": real_name}}
        with self._lock:
            self.users[user_id] = user

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self.users.get(str(args.get("user") or ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def delete_message(self, channel: str, ts: str) -> bool:
        """Someone (an admin, the bot's owner) deleted the message in Slack: later chat.update of it answers
        `message_not_found`, as Slack does. True if there was such a message."""
        with self._lock:
            return self.messages.pop((channel, ts), None) is not None

    @staticmethod
    def _message_object(ts: str, args: dict[str, Any], *, with_metadata: bool) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "ts": ts, "text": args.get("text", "")}
        if args.get("_user"):  # a person's message (`say`)
            message["user"] = args["_user"]
        else:
            message.update({"bot_id": "BBOT", "app_id": "AFAKE", "user": "UBOT"})
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("files"):  # a file share: Slack lists the shared files on the message
            message["files"] = args["files"]
        metadata = args.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls send it as a JSON string
            metadata = json.loads(metadata)
        if metadata and with_metadata:
            message["metadata"] = metadata
        return message

    def _read_window(self, args: dict[str, Any]) -> tuple[float, float, int, bool] | dict[str, Any]:
        """(oldest, latest, limit, with_metadata) of a history read, or Slack's error answer.

        `limit` as Slack: 100 when not given, at most 999 (Slack recommends no more than 200)."""
        error = self._channel_error(args.get("channel"))
        if error:
            return error
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or 1e12)
            limit = int(args.get("limit") or 100)
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        limit = min(max(limit, 1), 999)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        return oldest, latest, limit, with_metadata

    @staticmethod
    def _cursor_ts(args: dict[str, Any]) -> str | None | dict[str, Any]:
        """The ts a `cursor` points at (None: first page), or Slack's `invalid_cursor` answer."""
        cursor = args.get("cursor")
        if not cursor:
            return None
        try:
            kind, _, ts = base64.b64decode(str(cursor), validate=True).decode().partition(":")
            float(ts)
        except (ValueError, UnicodeDecodeError):
            return {"ok": False, "error": "invalid_cursor"}
        return ts if kind == "next_ts" else {"ok": False, "error": "invalid_cursor"}

    def _paged(self, stored: list[tuple[str, dict[str, Any]]], limit: int, *,
               with_metadata: bool) -> dict[str, Any]:
        """One page of `stored` (already in Slack's order, starting at the cursor) with Slack's paging fields:
        `has_more` and `response_metadata.next_cursor` (opaque: base64 of "next_ts:<ts of the next message>",
        as Slack's look; "" on the last page)."""
        page = [self._message_object(ts, a, with_metadata=with_metadata) for ts, a in stored[:limit]]
        has_more = len(stored) > limit
        next_cursor = base64.b64encode(f"next_ts:{stored[limit][0]}".encode()).decode() if has_more else ""
        return {"ok": True, "messages": page, "has_more": has_more,
                "response_metadata": {"next_cursor": next_cursor}}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages between oldest and latest (exclusive), newest first, a page of `limit` at a
        time (`cursor` / `response_metadata.next_cursor`), like Slack."""
        window = self._read_window(args)
        if isinstance(window, dict):
            return window
        oldest, latest, limit, with_metadata = window
        start = self._cursor_ts(args)
        if isinstance(start, dict):
            return start
        with self._lock:
            stored = [(ts, a) for (ch, ts), a in self.messages.items() if ch == args["channel"]
                      and (not a.get("thread_ts") or a.get("thread_ts") == ts) and oldest < float(ts) < latest
                      and (start is None or float(ts) <= float(start))]
        stored.sort(key=lambda item: float(item[0]), reverse=True)
        return self._paged(stored, limit, with_metadata=with_metadata)

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread's parent and replies, oldest first, a page of `limit` at a time (`cursor`), like Slack."""
        parent = args.get("ts")
        window = self._read_window(args)
        if isinstance(window, dict):
            return window
        oldest, latest, limit, with_metadata = window
        start = self._cursor_ts(args)
        if isinstance(start, dict):
            return start
        with self._lock:
            stored = [(ts, a) for (ch, ts), a in self.messages.items() if ch == args["channel"]
                      and (ts == parent or a.get("thread_ts") == parent)]
        if not stored and parent:
            # Threads in tests often hang off messages the bot never posted: an empty thread is fine.
            return {"ok": True, "messages": [], "has_more": False, "response_metadata": {"next_cursor": ""}}
        stored = sorted(((ts, a) for ts, a in stored if (ts == parent or oldest < float(ts) < latest)
                         and (start is None or float(ts) >= float(start))),
                        key=lambda item: float(item[0]))
        return self._paged(stored, limit, with_metadata=with_metadata)

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._channel_error(args.get("channel"))
        if error:
            return error
        if not args.get("user"):
            return {"ok": False, "error": "user_not_found"}
        if not self._has_content(args):
            return {"ok": False, "error": "no_text"}
        return {"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        error = self._channel_error(args.get("channel"))
        if error:
            return error
        key = (args.get("channel"), args.get("ts"))
        with self._lock:
            if not args.get("ts") or key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            if not self._has_content(args):
                return {"ok": False, "error": "no_text"}
            self.messages[key] = args  # type: ignore[index]
        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        """Deletes one of the bot's own messages, as Slack does for a bot token (a person's: cant_delete_message)."""
        error = self._channel_error(args.get("channel"))
        if error:
            return error
        key = (args.get("channel"), args.get("ts"))
        with self._lock:
            stored = self.messages.get(key)  # type: ignore[arg-type]
            if stored is None:
                return {"ok": False, "error": "message_not_found"}
            if stored.get("_user"):
                return {"ok": False, "error": "cant_delete_message"}
            del self.messages[key]  # type: ignore[arg-type]
        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        if not args.get("view"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {"id": "V" + uuid.uuid4().hex[:10].upper()}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        with self._lock:
            self._file_names[file_id] = str(args["filename"])
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.root_url}/upload/{file_id}"}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            files = json.loads(args.get("files") or "[]")
        except json.JSONDecodeError:
            return {"ok": False, "error": "invalid_arguments"}
        if not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = args.get("channel_id")
        with self._lock:
            shared = [{"id": f["id"], "name": self._file_names.get(f["id"], ""), "title": f.get("title")}
                      for f in files]
        if channel:
            error = self._channel_error(channel)
            if error:
                return error
            # Shared into the channel: a message (by the bot) listing the files, as conversations.history shows
            message = {"channel": channel, "text": "", "files": shared}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            with self._lock:
                self.messages[(channel, self._next_ts())] = message
        return {"ok": True, "files": shared}

    async def _count(self, request: web.Request) -> web.Response:
        """How many successful calls of a method were recorded (for benchmarks in another process)."""
        return web.json_response({"count": len(self.successful(request.match_info["method"]))})

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        self._record(RecordedCall("upload", {"file_id": request.match_info["file_id"], "bytes": data},
                                  dict(request.headers), None, 200, {"ok": True}, request.path))
        return web.Response(text="OK - " + str(len(data)))

    async def _response_url(self, request: web.Request) -> web.Response:
        args = await self._read_args(request)
        hold = self._holds.get("response_url")
        if hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, hold.wait)
        with self._lock:
            queue = self._scripts.get("response_url")
            scripted = queue.pop(0) if queue else None
        if scripted is not None:
            body = scripted.body if isinstance(scripted.body, str) else json.dumps(scripted.body or {})
            self._record(RecordedCall("response_url", args, dict(request.headers), None, scripted.status,
                                      {"ok": scripted.status == 200}, request.path))
            return web.Response(text=body, status=scripted.status, headers=scripted.headers)
        if self.down:
            self._record(RecordedCall("response_url", args, dict(request.headers), None, 503, {"ok": False},
                                      request.path))
            return web.Response(text="unavailable", status=503)
        self._record(RecordedCall("response_url", args, dict(request.headers), None, 200, {"ok": True}, request.path))
        return web.Response(text="ok")

    # ------------------------------------------------------------------ Socket Mode gateway

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections += 1
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"},
                            "connection_info": {"app_id": "AFAKE"}})
        self._socket_connected.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        data = json.loads(msg.data)
                    except json.JSONDecodeError:
                        continue
                    if "envelope_id" in data:
                        self._record(RecordedCall("socket_ack", data, {}, None, 200, {"ok": True}, "/link/"))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    def wait_socket_connected(self, timeout: float = 10.0) -> None:
        if not self._socket_connected.wait(timeout):
            raise AssertionError("no Socket Mode client connected to the fake gateway")

    def send_envelope(self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Push a Socket Mode envelope (slash_commands, interactive, events_api) to connected clients."""
        envelope_id = uuid.uuid4().hex
        message = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "",
        }
        assert self._loop is not None

        async def push() -> None:
            if not self._sockets:
                raise AssertionError("no Socket Mode client connected")
            for ws in list(self._sockets):
                await ws.send_json(message)

        asyncio.run_coroutine_threadsafe(push(), self._loop).result(5)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> RecordedCall:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for call in self._calls:
                    if call.method == "socket_ack" and call.args.get("envelope_id") == envelope_id:
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no Socket Mode ack for envelope {envelope_id}")
                self._changed.wait(remaining)


# ---------------------------------------------------------------------------------------------------
# The other direction: requests as Slack sends them to the bot (signed like Slack signs them).


def slack_signature(secret: str, timestamp: str, body: str | bytes) -> str:
    """`v0=` + HMAC-SHA256(secret, "v0:{timestamp}:{body}"), as Slack computes it."""
    import hashlib
    import hmac

    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return "v0=" + digest


class SlackSender:
    """Sends signed slash commands, button presses, modal submissions and events to the bot's URL."""

    def __init__(self, events_url: str, secret: str, fake: FakeSlack | None = None) -> None:
        import httpx

        self.events_url = events_url
        self.secret = secret
        self.fake = fake
        self.http = httpx.Client(timeout=10)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.http.close()

    def post(self, body: str, content_type: str, *, timestamp: int | None = None, signature: str | None = None,
             signed: bool = True, headers: dict[str, str] | None = None):
        ts = str(int(time.time()) if timestamp is None else timestamp)
        all_headers = {"Content-Type": content_type, **(headers or {})}
        if signed:
            all_headers["X-Slack-Request-Timestamp"] = ts
            all_headers["X-Slack-Signature"] = signature or slack_signature(self.secret, ts, body)
        return self.http.post(self.events_url, content=body.encode(), headers=all_headers)

    def command_body(self, command: str, text: str = "", *, channel: str = "C1", user: str = "U1",
                     trigger_id: str | None = None) -> str:
        from urllib.parse import urlencode

        n = next(self._ids)
        return urlencode({
            "token": "legacy-verification-token", "team_id": "T1", "team_domain": "ops",
            "channel_id": channel, "channel_name": "crisis", "user_id": user, "user_name": f"user{user}",
            "command": command, "text": text, "api_app_id": "A1",
            "response_url": self.fake.response_url(f"cmd{n}") if self.fake else f"http://127.0.0.1:9/r/{n}",
            "trigger_id": trigger_id or f"{n}.{time.time_ns()}.{uuid.uuid4().hex}",
        })

    def command(self, command: str, text: str = "", **kwargs: Any):
        return self.post(self.command_body(command, text, **kwargs), "application/x-www-form-urlencoded")

    def interaction_body(self, payload: dict[str, Any]) -> str:
        from urllib.parse import urlencode

        return urlencode({"payload": json.dumps(payload, ensure_ascii=False)})

    def button(self, action_id: str, value: str = "", *, channel: str = "C1", user: str = "U1",
               message_ts: str = "1700000001.000100", trigger_id: str | None = None):
        n = next(self._ids)
        payload = {
            "type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
            "user": {"id": user, "username": f"user{user}", "team_id": "T1"},
            "trigger_id": trigger_id or f"{n}.{time.time_ns()}.{uuid.uuid4().hex}",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
            "channel": {"id": channel, "name": "crisis"},
            "message": {"ts": message_ts, "text": "card"},
            "response_url": self.fake.response_url(f"act{n}") if self.fake else f"http://127.0.0.1:9/a/{n}",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "crisisbot.actions",
                         "value": value, "action_ts": f"{time.time():.6f}"}],
        }
        return self.post(self.interaction_body(payload), "application/x-www-form-urlencoded")

    def view_submission(self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str = "U1"):
        n = next(self._ids)
        payload = {
            "type": "view_submission", "team": {"id": "T1"}, "api_app_id": "A1",
            "user": {"id": user, "username": f"user{user}", "team_id": "T1"},
            "trigger_id": f"{n}.{time.time_ns()}.{uuid.uuid4().hex}",
            "view": {**view, "id": f"V{n}", "hash": uuid.uuid4().hex, "state": {"values": values}},
        }
        return self.post(self.interaction_body(payload), "application/x-www-form-urlencoded")

    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> str:
        return json.dumps({
            "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(time.time()),
            "event": event,
        })

    def mention(self, text: str, *, channel: str = "C1", user: str = "U1", event_id: str | None = None,
                ts: str | None = None, retry_num: int | None = None):
        ts = ts or f"{time.time():.6f}"
        event = {"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts}
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return self.post(self.event_body(event, event_id=event_id), "application/json", headers=headers)


def main() -> None:
    """`python -m tests.fakes.slack_api`: serve the fake on an ephemeral port until SIGTERM; prints its
    base URL on the first line (benchmarks run it in its own process so it does not share their CPU)."""
    import signal

    fake = FakeSlack().start()
    print(fake.base_url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()


if __name__ == "__main__":
    main()
