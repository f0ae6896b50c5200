"""A local fake of the Feishu Open API (and of its long-connection gateway) for tests and the bench.

Answers like Feishu does, on 127.0.0.1 with an ephemeral port:
- POST /open-apis/auth/v3/tenant_access_token/internal -> {"code":0,"tenant_access_token":...,"expire":7200};
  10003 for a missing app_id/app_secret, 10014 for a wrong secret.
- every im.v1 call needs "Authorization: Bearer <tenant token>": 99991661 without it, 99991663 with an
  unknown/revoked one (HTTP 400, as Feishu).
- im.v1.message.create / reply / patch, im.v1.image.create and im.v1.file.create (`fake.files`), with 99992402 ("field validation
  failed") for missing fields, 230001 for invalid content, 230002 when the bot is not in the chat,
  230011 when replying to or patching a withdrawn (recalled) message (`fake.withdrawn.add(message_id)`),
  and `uuid` deduplication as documented (same uuid -> the same message, no second post).
- interactive cards are checked against Feishu's documented JSON 2.0 rules for forms and their fields
  (input, select_static, select_person): 230099 "Failed to create card content" when one is broken.
- a scope the app lacks (`fake.missing_scopes[op] = "im:resource"`): that operation answers 99991672 with
  error.permission_violations, as Feishu, until the entry is removed (the scope granted).
- bot.v3.info (GET /open-apis/bot/v3/info): {"code": 0, "bot": {"open_id": fake.bot_open_id, ...}}, as documented
  (the bot's data at the top, not under "data").
- ephemeral.v1.send (POST /open-apis/ephemeral/v1/send, {chat_id, open_id, msg_type "interactive", card
  (an object)}): a card only that person sees, kept in `fake.ephemerals`, not in `fake.messages`; 230002
  when the bot is not in the chat.
- patch of a message sent more than 14 days ago (`fake.expired.add(message_id)`): 230031 "Message has expired
  when updating message", as Feishu answers it.
- contact.v3.user.get (GET /open-apis/contact/v3/users/{open_id}?user_id_type=open_id): the person in
  `fake.users` (open_id -> name), else 41050 "no user authority error" (outside the app's contact range).
- scriptable failures per operation: 99991400 frequency limit (with x-ogw-ratelimit-reset), 5xx with a
  JSON or an HTML body, slow answers, and a whole outage (every call 503) until cleared.
Every request is recorded (`fake.requests`, `fake.calls(op)`); `GET /_fake/stats` and `GET /_fake/messages`
show them to a probe driving a separately started bot.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackHttpServer

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
APP_TOKEN_PATH = "/open-apis/auth/v3/app_access_token/internal"
WS_ENDPOINT_PATH = "/callback/ws/endpoint"


@dataclass
class RecordedRequest:
    op: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON, multipart fields (dict) or raw bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class SentMessage:
    message_id: str
    chat_id: str
    msg_type: str
    content: str
    uuid: str | None
    parent_id: str | None = None
    updates: list[str] = field(default_factory=list)

    @property
    def card(self) -> dict[str, Any]:
        return json.loads(self.updates[-1] if self.updates else self.content)


@dataclass
class UploadedFile:
    name: str
    file_type: str
    content: bytes


@dataclass
class Failure:
    kind: str  # rate_limit | server_error | bad_gateway | slow | token_revoked | code
    seconds: float = 0.0
    code: int = 0


class FakeFeishuApi(LoopbackHttpServer):
    """Start with `with FakeFeishuApi() as fake:`; `fake.url` is the domain to give the lark Client."""

    def __init__(self, *, apps: dict[str, str] | None = None, token_ttl_s: int = 7200) -> None:
        self.apps = apps  # app_id -> app_secret; None accepts any non-empty pair
        self.token_ttl_s = token_ttl_s
        self.requests: list[RecordedRequest] = []
        self.messages: dict[str, SentMessage] = {}
        self.images: dict[str, bytes] = {}
        self.files: dict[str, UploadedFile] = {}  # file_key -> what im.v1.file.create received
        self.tokens: set[str] = set()
        self.member_chats: set[str] | None = None  # None: the bot is in every chat
        self.users: dict[str, str] = {}  # open_id -> name, for contact.v3.user.get
        self.withdrawn: set[str] = set()
        self.expired: set[str] = set()  # messages older than 14 days: patch answers 230031
        self.bot_open_id = "ou_crisisbot"  # what bot.v3.info answers
        self.ephemerals: list[dict[str, Any]] = []  # ephemeral.v1.send bodies accepted (chat_id, open_id, card)
        self.missing_scopes: dict[str, str] = {}  # op -> scope not granted to the app (99991672)
        self.outage = False
        self.ws_endpoint_url: str | None = None  # set by FakeFeishuGateway
        self._failures: dict[str, list[Failure]] = {}
        self._by_uuid: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeFeishuApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

        self._serve(Handler, port=getattr(self, "_fixed_port", 0), name="fake-feishu")
        return self

    # ---- scripting and inspection --------------------------------------------------------------
    def fail_next(self, op: str, kind: str, *, times: int = 1, seconds: float = 0.0, code: int = 0) -> None:
        """Make the next `times` calls of `op` ("message.create", "message.reply", "message.patch",
        "image.create", "file.create", "token") fail: rate_limit, server_error, bad_gateway, slow (then answer),
        token_revoked (99991663 and forget every token), code (answer HTTP 400 with `code`), not_found
        (a plain-text 404, as for an unknown path)."""
        with self._lock:
            self._failures.setdefault(op, []).extend(Failure(kind, seconds, code) for _ in range(times))

    def calls(self, op: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.op == op]

    def sent(self, chat_id: str | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.messages.values() if chat_id is None or m.chat_id == chat_id]

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    # ---- the HTTP side -------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        headers = {k: v for k, v in h.headers.items()}
        body = self._parse_body(headers.get("Content-Type", ""), raw)
        op, params = _route(method, parts.path)
        with self._lock:
            self.requests.append(RecordedRequest(op, method, parts.path, query, headers, body))
            failure = None
            queue = self._failures.get(op)
            if queue:
                failure = queue.pop(0)
            outage = self.outage
        if outage:
            return _send(h, 503, b"<html><body>503 Service Unavailable</body></html>", "text/html")
        if failure is not None:
            if failure.kind == "slow":
                time.sleep(failure.seconds)
            elif failure.kind == "rate_limit":
                return _send_json(
                    h, 400, {"code": 99991400, "msg": "request trigger frequency limit"},
                    {"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": str(int(failure.seconds or 1))},
                )
            elif failure.kind == "server_error":
                return _send_json(h, 500, {"code": 2200, "msg": "Internal Error"})
            elif failure.kind == "bad_gateway":
                return _send(h, 502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            elif failure.kind == "not_found":
                return _send(h, 404, b"404 page not found", "text/plain")
            elif failure.kind == "token_revoked":
                self.revoke_tokens()
            elif failure.kind == "code":
                return _send_json(h, 400, {"code": failure.code, "msg": "scripted error"})
        if op == "token":
            return self._token(h, body)
        if op == "ws.endpoint":
            return self._ws_endpoint(h, body)
        if op == "stats":
            return self._stats(h)
        if op == "sent":
            return self._sent(h)
        if op == "unknown":
            return _send_json(h, 404, {"code": 404, "msg": "404 page not found"})
        token = (headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not token:
            return _send_json(h, 400, {"code": 99991661, "msg": "Missing access token for authorization."})
        with self._lock:
            known = token in self.tokens
        if not known:
            return _send_json(h, 400, {"code": 99991663, "msg": "Invalid access token for authorization."})
        with self._lock:
            scope = self.missing_scopes.get(op)
        if scope:
            return _send_json(h, 400, {
                "code": 99991672, "msg": f"Access denied. One of the following scopes is required: [{scope}].",
                "error": {"permission_violations": [{"type": "action_scope_required", "subject": scope}]}})
        handler = {
            "message.create": self._create,
            "message.reply": self._reply,
            "message.patch": self._patch,
            "message.update": self._update,
            "image.create": self._image,
            "file.create": self._file,
            "contact.user.get": self._user,
            "bot.info": self._bot_info,
            "ephemeral.send": self._ephemeral,
        }[op]
        status, payload = handler(query, body, params)
        _send_json(h, status, payload)

    @staticmethod
    def _parse_body(content_type: str, raw: bytes) -> Any:
        if not raw:
            return None
        if content_type.startswith("application/json") or not content_type:  # the SDK sends the token
            # request without a Content-Type, and Feishu takes it
            try:
                return json.loads(raw)
            except ValueError:
                return raw
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
            )
            fields: dict[str, Any] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                is_file = part.get_filename() or name in ("image", "file")
                fields[name] = payload if is_file else payload.decode(errors="replace")
            return fields
        return raw

    # ---- endpoints -----------------------------------------------------------------------------
    def _token(self, h: BaseHTTPRequestHandler, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        app_id, secret = body.get("app_id"), body.get("app_secret")
        if not app_id or not secret:
            return _send_json(h, 400, {"code": 10003, "msg": "invalid param"})
        if self.apps is not None and self.apps.get(app_id) != secret:
            return _send_json(h, 400, {"code": 10014, "msg": "app secret invalid"})
        token = f"t-{uuidlib.uuid4().hex}"
        with self._lock:
            self.tokens.add(token)
        _send_json(h, 200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": self.token_ttl_s})

    def _stats(self, h: BaseHTTPRequestHandler) -> None:
        """GET /_fake/stats: counts per operation and of messages stored (for the bench)."""
        with self._lock:
            ops: dict[str, int] = {}
            for r in self.requests:
                ops[r.op] = ops.get(r.op, 0) + 1
            payload = {"requests": ops, "messages": len(self.messages)}
        _send_json(h, 200, payload)

    def _sent(self, h: BaseHTTPRequestHandler) -> None:
        """GET /_fake/messages: every message stored, in order, with its updates (probing a running bot)."""
        with self._lock:
            payload = [{"message_id": m.message_id, "chat_id": m.chat_id, "msg_type": m.msg_type, "uuid": m.uuid,
                        "parent_id": m.parent_id, "content": m.content, "updates": list(m.updates)}
                       for m in self.messages.values()]
        _send_json(h, 200, {"messages": payload})

    def _ws_endpoint(self, h: BaseHTTPRequestHandler, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        if not body.get("AppID") or not body.get("AppSecret"):
            return _send_json(h, 200, {"code": 1000040344, "msg": "app_id or app_secret missing"})
        if self.apps is not None and self.apps.get(body["AppID"]) != body["AppSecret"]:
            return _send_json(h, 200, {"code": 403, "msg": "forbidden: wrong app secret"})
        if not self.ws_endpoint_url:
            return _send_json(h, 200, {"code": 1, "msg": "system busy"})
        config = {"ReconnectCount": 3, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 120}
        _send_json(h, 200, {"code": 0, "msg": "ok", "data": {"URL": self.ws_endpoint_url, "ClientConfig": config}})

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{uuidlib.uuid4().hex[:10]}"

    def _check_content(self, msg_type: Any, content: Any) -> tuple[int, dict[str, Any]] | None:
        if not msg_type or content in (None, ""):
            missing = "msg_type" if not msg_type else "content"
            return 400, _validation_failed(missing)
        if msg_type not in ("text", "post", "image", "interactive", "file", "share_chat"):
            return 400, {"code": 230001, "msg": f"invalid msg_type {msg_type}"}
        try:
            parsed = json.loads(content)
        except (TypeError, ValueError):
            return 400, {"code": 230001, "msg": "invalid message content: content is not a JSON string"}
        if msg_type == "interactive":
            body = parsed.get("body") if isinstance(parsed, dict) else None
            if parsed.get("schema") != "2.0" or not isinstance(body, dict) or not body.get("elements"):
                return 400, {"code": 230099, "msg": "Failed to create card content: invalid card JSON 2.0"}
            problem = _form_problem(body["elements"])
            components = sum(1 for n in card_nodes(body["elements"]) if n.get("tag") not in (None, "plain_text", "lark_md"))
            if components > 200:  # Feishu's limit for one JSON 2.0 card
                problem = f"the card has {components} components, over the limit of 200"
            if problem:
                return 400, {"code": 230099, "msg": f"Failed to create card content: {problem}"}
        if msg_type == "image" and (not isinstance(parsed, dict) or parsed.get("image_key") not in self.images):
            return 400, {"code": 230001, "msg": "invalid image_key"}
        if msg_type == "file" and (not isinstance(parsed, dict) or parsed.get("file_key") not in self.files):
            return 400, {"code": 230001, "msg": "invalid file_key"}
        return None

    def _store(self, chat_id: str, msg_type: str, content: str, uuid: str | None, parent: str | None) -> dict:
        with self._lock:
            if uuid and uuid in self._by_uuid:
                existing = self.messages[self._by_uuid[uuid]]
                return _message_payload(existing)
            message = SentMessage(self._new_id("om"), chat_id, msg_type, content, uuid, parent)
            self.messages[message.message_id] = message
            if uuid:
                self._by_uuid[uuid] = message.message_id
            return _message_payload(message)

    def _create(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        id_type = query.get("receive_id_type")
        if not id_type:
            return 400, _validation_failed("receive_id_type")
        if id_type not in ("open_id", "user_id", "union_id", "email", "chat_id"):
            return 400, {"code": 99992402, "msg": "field validation failed", "error": {"field_violations": [
                {"field": "receive_id_type", "description": "receive_id_type is invalid"}]}}
        body = body if isinstance(body, dict) else {}
        if not body.get("receive_id"):
            return 400, _validation_failed("receive_id")
        problem = self._check_content(body.get("msg_type"), body.get("content"))
        if problem:
            return problem
        chat_id = body["receive_id"]
        if self.member_chats is not None and chat_id not in self.member_chats:
            return 400, {"code": 230002, "msg": "Bot/User can NOT be out of the chat."}
        return 200, self._store(chat_id, body["msg_type"], body["content"], body.get("uuid"), None)

    def _reply(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        parent = params["message_id"]
        body = body if isinstance(body, dict) else {}
        problem = self._check_content(body.get("msg_type"), body.get("content"))
        if problem:
            return problem
        if parent in self.withdrawn:
            return 400, {"code": 230011, "msg": "The message was withdrawn."}
        with self._lock:
            original = self.messages.get(parent)
        chat_id = original.chat_id if original else f"chat-of-{parent}"
        return 200, self._store(chat_id, body["msg_type"], body["content"], body.get("uuid"), parent)

    def _patch(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        body = body if isinstance(body, dict) else {}
        if not body.get("content"):
            return 400, _validation_failed("content")
        with self._lock:
            message = self.messages.get(params["message_id"])
        if message is None:
            return 400, {"code": 230001, "msg": "invalid message_id"}
        if params["message_id"] in self.withdrawn:
            return 400, {"code": 230011, "msg": "The message is recalled."}
        if params["message_id"] in self.expired:
            return 400, {"code": 230031, "msg": "Message has expired when updating message, "
                                                "ext=Message can only be updated within fourteen days."}
        if message.msg_type != "interactive":
            return 400, {"code": 230001, "msg": "only interactive cards can be patched"}
        if not json.loads(message.content).get("config", {}).get("update_multi"):
            return 400, {"code": 230099, "msg": "card was not sent with config.update_multi"}
        problem = self._check_content("interactive", body["content"])
        if problem:
            return problem
        with self._lock:
            message.updates.append(body["content"])
        return 200, {"code": 0, "msg": "success", "data": {}}

    def _update(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        # PUT strips interactive cards: Feishu refuses it for them (the trap the notes warn about)
        return 400, {"code": 230001, "msg": "message.update does not support interactive; use patch"}

    def _image(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        body = body if isinstance(body, dict) else {}
        if not body.get("image_type"):
            return 400, _validation_failed("image_type")
        image = body.get("image")
        if not isinstance(image, bytes | bytearray) or not image:
            return 400, _validation_failed("image")
        key = self._new_id("img_v3")
        with self._lock:
            self.images[key] = bytes(image)
        return 200, {"code": 0, "msg": "success", "data": {"image_key": key}}

    def _file(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        """im.v1.file.create: multipart file_type, file_name and file (empty files refused, as Feishu)."""
        body = body if isinstance(body, dict) else {}
        for name in ("file_type", "file_name"):
            if not body.get(name):
                return 400, _validation_failed(name)
        if body["file_type"] not in ("opus", "mp4", "pdf", "doc", "xls", "ppt", "stream"):
            return 400, {"code": 234001, "msg": "Invalid request param: file_type"}
        content = body.get("file")
        if not isinstance(content, bytes | bytearray) or not content:
            return 400, _validation_failed("file")
        key = self._new_id("file_v3")
        with self._lock:
            self.files[key] = UploadedFile(body["file_name"], body["file_type"], bytes(content))
        return 200, {"code": 0, "msg": "success", "data": {"file_key": key}}

    def _bot_info(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        return 200, {"code": 0, "msg": "ok", "bot": {"activate_status": 2, "app_name": "crisisbot",
                                                      "avatar_url": "", "ip_white_list": [],
                                                      "open_id": self.bot_open_id}}

    def _ephemeral(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        body = body if isinstance(body, dict) else {}
        for name in ("chat_id", "msg_type", "card"):
            if not body.get(name):
                return 400, _validation_failed(name)
        if not any(body.get(key) for key in ("open_id", "user_id", "email")):
            return 400, _validation_failed("open_id")
        if body["msg_type"] != "interactive" or not isinstance(body["card"], dict):
            return 400, {"code": 230001, "msg": "invalid message content: card must be an object"}
        problem = self._check_content("interactive", json.dumps(body["card"], ensure_ascii=False))
        if problem:
            return problem
        if self.member_chats is not None and body["chat_id"] not in self.member_chats:
            return 400, {"code": 230002, "msg": "Bot/User can NOT be out of the chat."}
        message_id = self._new_id("om_eph")
        with self._lock:
            self.ephemerals.append({**body, "message_id": message_id})
        return 200, {"code": 0, "msg": "ok", "data": {"message_id": message_id}}

    def _user(self, query: dict, body: Any, params: dict) -> tuple[int, dict[str, Any]]:
        open_id = params["user_id"]
        if query.get("user_id_type", "open_id") != "open_id":
            return 400, {"code": 99992402, "msg": "field validation failed"}
        with self._lock:
            name = self.users.get(open_id)
        if name is None:
            return 400, {"code": 41050, "msg": "no user authority error"}
        return 200, {"code": 0, "msg": "success", "data": {"user": {"open_id": open_id, "name": name}}}


def card_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a card's JSON, depth first (the fake's checks and the tests look through cards)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from card_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from card_nodes(value)


FORM_FIELD_TAGS = {"input", "select_static", "multi_select_static", "select_person", "multi_select_person",
                   "date_picker", "picker_time", "picker_datetime", "checker", "button"}


def _form_problem(elements: list[Any]) -> str:
    """What Feishu's documented rules of the JSON 2.0 form container say is wrong, or "": a form only at the
    card's root and not nested; every interactive element in a form named, names unique within the card;
    each form with a submit button (form_action_type "submit"); `required` only inside a form; and the
    fields' own rules (_field_problem)."""
    root_forms = [e for e in elements if isinstance(e, dict) and e.get("tag") == "form"]
    all_forms = [n for n in card_nodes(elements) if n.get("tag") == "form"]
    if len(all_forms) != len(root_forms):
        return "a form container may only sit at the card's root"
    names: list[str] = []
    in_forms: set[int] = set()
    for form in root_forms:
        if not form.get("name"):
            return "a form container needs a name"
        names.append(form["name"])
        inner = [n for n in card_nodes(form.get("elements", [])) if n.get("tag") in FORM_FIELD_TAGS]
        if any(n.get("tag") == "form" for n in card_nodes(form.get("elements", []))):
            return "forms cannot be nested"
        if not any(n.get("tag") == "button" and n.get("form_action_type") == "submit" for n in inner):
            return f"form {form['name']} has no submit button"
        for n in inner:
            if not n.get("name"):
                return f"an interactive element in form {form['name']} has no name"
            names.append(n["name"])
            in_forms.add(id(n))
    if len(names) != len(set(names)):
        return "names of form elements must be unique within the card"
    for node in card_nodes(elements):
        if node.get("tag") not in FORM_FIELD_TAGS:
            continue
        if "required" in node and id(node) not in in_forms:
            return f"{node['tag']}: required is only allowed inside a form container"
        problem = _field_problem(node)
        if problem:
            return problem
    return ""


def _plain_text_problem(tag: str, what: str, value: Any) -> str:
    if not (isinstance(value, dict) and value.get("tag") in ("plain_text", "lark_md")
            and isinstance(value.get("content"), str)):
        return f"{tag}: {what} must be a text object"
    return ""


def _field_problem(node: dict[str, Any]) -> str:
    """The documented rules of the form fields the bot sends (JSON 2.0 input, select_static, select_person)."""
    tag = node["tag"]
    if "required" in node and not isinstance(node["required"], bool):
        return f"{tag}: required must be a boolean"
    if "placeholder" in node:
        problem = _plain_text_problem(tag, "placeholder", node["placeholder"])
        if problem:
            return problem
    if tag == "input":
        max_length = node.get("max_length", 1000)
        if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 1000:
            return "input: max_length must be an integer from 1 to 1000"
    elif tag == "select_static":
        options = node.get("options")
        if not isinstance(options, list) or not options:
            return "select_static: options must be a non-empty list"
        values = []
        for option in options:
            if not isinstance(option, dict) or not isinstance(option.get("value"), str) or not option["value"]:
                return "select_static: every option needs a string value"
            problem = _plain_text_problem(tag, "option text", option.get("text"))
            if problem:
                return problem
            values.append(option["value"])
        if len(values) != len(set(values)):
            return "select_static: option values must be unique"
        if "initial_option" in node and node["initial_option"] not in values:
            return "select_static: initial_option must be one of the options"
    elif tag == "select_person":
        # options may be left out (then every member of the chat is offered); given, each names an open_id
        options = node.get("options", [])
        if not isinstance(options, list):
            return "select_person: options must be a list"
        for option in options:
            if not isinstance(option, dict) or not str(option.get("value", "")).startswith("ou_"):
                return "select_person: options take {value: open_id}"
    return ""


def _validation_failed(field_name: str) -> dict[str, Any]:
    return {
        "code": 99992402,
        "msg": "field validation failed",
        "error": {"field_violations": [{"field": field_name, "description": f"{field_name} is required"}]},
    }


def _message_payload(message: SentMessage) -> dict[str, Any]:
    return {
        "code": 0,
        "msg": "success",
        "data": {
            "message_id": message.message_id,
            "chat_id": message.chat_id,
            "msg_type": message.msg_type,
            "parent_id": message.parent_id,
            "body": {"content": message.content},
            "create_time": str(int(time.time() * 1000)),
        },
    }


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    if path in (TOKEN_PATH, APP_TOKEN_PATH) and method == "POST":
        return "token", {}
    if path == "/_fake/stats" and method == "GET":
        return "stats", {}
    if path == "/_fake/messages" and method == "GET":
        return "sent", {}
    if path == WS_ENDPOINT_PATH and method == "POST":
        return "ws.endpoint", {}
    if path == "/open-apis/im/v1/messages" and method == "POST":
        return "message.create", {}
    if path == "/open-apis/im/v1/images" and method == "POST":
        return "image.create", {}
    if path == "/open-apis/im/v1/files" and method == "POST":
        return "file.create", {}
    if path == "/open-apis/bot/v3/info" and method == "GET":
        return "bot.info", {}
    if path == "/open-apis/ephemeral/v1/send" and method == "POST":
        return "ephemeral.send", {}
    users = "/open-apis/contact/v3/users/"
    if path.startswith(users) and method == "GET" and "/" not in path[len(users):]:
        return "contact.user.get", {"user_id": path[len(users):]}
    prefix = "/open-apis/im/v1/messages/"
    if path.startswith(prefix):
        rest = path[len(prefix) :]
        if rest.endswith("/reply") and method == "POST":
            return "message.reply", {"message_id": rest[: -len("/reply")]}
        if "/" not in rest and method == "PATCH":
            return "message.patch", {"message_id": rest}
        if "/" not in rest and method == "PUT":
            return "message.update", {"message_id": rest}
    return "unknown", {}


def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    h.send_header("X-Tt-Logid", uuidlib.uuid4().hex[:20])
    for key, value in (extra or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(body)


def _send_json(h: BaseHTTPRequestHandler, status: int, payload: dict[str, Any], extra: dict | None = None) -> None:
    _send(h, status, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8", extra)


class FakeFeishuGateway:
    """A fake long-connection gateway: the websocket the SDK's lark.ws.Client connects to.

    The fake Open API's /callback/ws/endpoint hands out this gateway's URL. `push_event(payload)` sends
    an event frame (protobuf pbbp2.Frame, as Feishu) and returns the client's answer frame payload.
    """

    def __init__(self, api: FakeFeishuApi) -> None:
        self.api = api
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-feishu-ws", daemon=True)
        self._server: Any = None
        self._connections: list[Any] = []
        self._connected = threading.Event()
        self._answers: dict[str, asyncio.Future] = {}
        self.port = 0
        self.close_on_open = False  # True: close every new connection at once (a gateway turning clients away)
        self.opened = 0  # connections accepted so far

    def start(self) -> FakeFeishuGateway:
        import websockets

        self._thread.start()

        async def serve() -> Any:
            # close_timeout: a client that no longer answers (stopped, or between its retries) must not hold
            # stop() past its wait for the closing handshake (10 s by default; stop() waits 5)
            return await websockets.serve(self._on_connection, "127.0.0.1", 0, close_timeout=1)

        self._server = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(5)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self.api.ws_endpoint_url = f"ws://127.0.0.1:{self.port}/ws?device_id=dev-1&service_id=42"
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await asyncio.gather(*(conn.close() for conn in list(self._connections)), return_exceptions=True)

        if self._server is not None:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FakeFeishuGateway:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    @property
    def connections(self) -> int:
        return len(self._connections)

    def drop_connections(self) -> None:
        """Close every client connection from the gateway's side (as when Feishu restarts a gateway)."""

        async def close() -> None:
            for conn in list(self._connections):
                await conn.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)

    async def _on_connection(self, conn: Any) -> None:
        from lark_oapi.ws.pb.pbbp2_pb2 import Frame

        self.opened += 1
        if self.close_on_open:
            await conn.close()
            return
        self._connections.append(conn)
        self._connected.set()
        try:
            async for data in conn:
                frame = Frame()
                frame.ParseFromString(data)
                headers = {h.key: h.value for h in frame.headers}
                if headers.get("type") == "ping":
                    continue
                future = self._answers.pop(headers.get("message_id", ""), None)
                if future is not None and not future.done():
                    future.set_result(json.loads(frame.payload))
        finally:
            self._connections.remove(conn)
            if not self._connections:
                self._connected.clear()

    def push_event(self, payload: dict[str, Any], *, frame_type: str = "event", timeout: float = 10.0) -> dict[str, Any]:
        """Send one event over the long connection; the client's answer ({"code": 200, ...}).

        `frame_type="card"` sends a card callback the way some gateways do (a "card" frame)."""

        async def push() -> dict[str, Any]:
            from lark_oapi.ws.pb.pbbp2_pb2 import Frame

            message_id = uuidlib.uuid4().hex
            frame = Frame()
            frame.SeqID = 1
            frame.LogID = 1
            frame.service = 42
            frame.method = 1  # DATA
            for key, value in (("type", frame_type), ("message_id", message_id), ("sum", "1"), ("seq", "0"),
                               ("trace_id", uuidlib.uuid4().hex)):
                header = frame.headers.add()
                header.key, header.value = key, value
            frame.payload = json.dumps(payload, ensure_ascii=False).encode()
            future = self.loop.create_future()
            self._answers[message_id] = future
            await self._connections[-1].send(frame.SerializeToString())
            return await asyncio.wait_for(future, timeout)

        return asyncio.run_coroutine_threadsafe(push(), self.loop).result(timeout + 1)


def main() -> None:
    """`python -m tests.fakes.feishu_api [--port N]`: serve the fake until killed (prints its URL)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--app", action="append", default=[], metavar="APP_ID=SECRET",
                        help="accept only these app credentials (repeatable; default: any non-empty pair)")
    args = parser.parse_args()
    apps = dict(pair.split("=", 1) for pair in args.app) if args.app else None
    fake = FakeFeishuApi(apps=apps)
    if args.port:
        fake._fixed_port = args.port
    fake.start()
    print(fake.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()


if __name__ == "__main__":
    main()
