"""FeishuChatPort: the outbox's way to post, update and upload on Feishu / Lark (im.v1 via lark-oapi).

- post: im.v1.message.create (receive_id_type=chat_id) or im.v1.message.reply when the message answers
  a command (meta["reply"]["message_id"]); `uuid` = the outbox idempotency key, so a retry after a
  lost answer never posts twice (Feishu dedups a uuid for one hour).
- update: im.v1.message.patch (cards are sent with config.update_multi: true, which patch requires). A
  recalled card (230011) or one sent more than 14 days ago (230031) cannot be patched: the outbox then posts
  the update as a new card.
- post of an answer meant for one person (Message.ephemeral) in a group: a card only they see
  (ephemeral.v1.send), else a reply as usual. In a direct (p2p) chat it is a reply straight away: the
  command's event says the chat is p2p, and the port remembers it for the button presses there (their
  card.action.trigger events name the chat but not its type), so no press costs a refused ephemeral call.
- upload: im.v1.image.create, then an image message into the chat.
- upload_file (a message's `files`, after its card): im.v1.file.create (file_type "stream"), then a `file`
  message into the chat, its `uuid` derived from the outbox key like every message.
- bot_open_id: the bot's own open_id (GET /open-apis/bot/v3/info, cached), so that in a group only a mention
  of this bot addresses it, not a mention of any other bot.
- display_name: contact.v3.user.get, so texts say "王芳" instead of an open_id (Feishu events carry only
  the open_id). Needs the scope contact:user.base:readonly and the person inside the app's contact range;
  without them the open_id stays. Names are cached for 12 h; a failed lookup is not repeated for 10 min.
The tenant access token is fetched and cached by the SDK; when Feishu says it is invalid we drop the
cached one and try once more. Frequency limits (99991400, 230020) and 5xx/connection failures become
TransientChatError (the outbox retries with backoff). App credentials Feishu refuses (no tenant token for
this app id and secret, or a fresh token refused again) become CredentialChatError: the outbox holds
Feishu's messages until the secret is fixed. A permission the app lacks (99991672: a scope not granted, e.g.
im:resource for images; 230006: the bot ability is off) becomes PermissionChatError: the outbox holds the
messages that need it, and only those, until an admin grants it and releases a new app version. Except the
chart or file of a card: without im:resource the card goes out without them and says so (a /report answered
at once, not held until the scope is granted), the missing scope logged once; a message that is nothing but
an image or a file is held as before. Everything else is PermanentChatError (230002 the bot is not in that
chat, ...: about one chat or one message).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.adapters.feishu.cards import (
    card_content,
    feishu_user_id,
    file_message_content,
    image_message_content,
)
from bot.adapters.feishu.settings import FeishuSettings
from bot.adapters.name_cache import NAME_RETRY_S, NameCache
from bot.messages import (
    CredentialChatError,
    File,
    Image,
    Message,
    PermanentChatError,
    PermissionChatError,
    Section,
    TransientChatError,
)

log = logging.getLogger(__name__)

RATE_LIMIT_CODES = {99991400, 230020, 11232, 11233}  # app frequency limit; per-chat send limits
TOKEN_INVALID_CODES = {99991661, 99991663, 99991664, 99991665, 99991671}
# The app itself is disabled or not installed in the tenant: no call can succeed until an admin acts.
APP_UNAVAILABLE_CODES = {99991662, 99991673}
# The app lacks a permission, whatever the chat: 99991672 a scope not granted to the app (tenant token);
# 230006 the bot ability is not enabled. (99991679 is the user-token variant: the bot uses none.)
SCOPE_NOT_GRANTED = 99991672
PERMISSION_CODES = {SCOPE_NOT_GRANTED, 230006}
# What a card says when its chart or file could not be uploaded for lack of im:resource (获取与上传图片或文件资源).
RESOURCE_WORDS = {"image": ("图表", "chart"), "file": ("文件", "file")}
RESOURCE_SCOPE_HINT = (
    "feishu: 应用缺少 im:resource 权限（获取与上传图片或文件资源），消息照常发出，但不附图表和文件。请在开放平台「权限管理」"
    "开通 im:resource，然后创建并发布新版本，无需重启 crisisbot / the app lacks the im:resource scope: messages go "
    "out without their charts and files; grant im:resource under Permissions & Scopes, then create and release a "
    "new app version (no restart needed)"
)
PERMISSION_HINT = (
    "请在开放平台「权限管理」开通报错中列出的权限（如 im:message:send_as_bot、im:resource），或在「应用能力」启用机器人，"
    "然后创建并发布新版本，无需重启 crisisbot / grant the scopes the error names (e.g. im:message:send_as_bot, "
    "im:resource) under Permissions & Scopes, or enable the bot under Features, then create and release a new "
    "app version; no restart of crisisbot is needed"
)
CREDENTIAL_HINT = (
    "请在开放平台「凭证与基础信息」核对 App ID 与 App Secret，设置 FEISHU_APP_ID / FEISHU_APP_SECRET 后重启 crisisbot，"
    "并确认应用已发布、已启用 / check the App ID and App Secret under Credentials & Basic Info, set "
    "FEISHU_APP_ID / FEISHU_APP_SECRET and restart crisisbot; make sure the app is released and enabled"
)
# im.v1.message.patch of a message that is recalled (withdrawn by a person or deleted): it will never be
# patched again, so the outbox posts the update as a new card instead (FeishuChatPort.update_target_gone).
# 230031 "Message has expired when updating message" (patch works only on messages sent within 14 days): an old
# run or queue card stays as it is and the update is posted as a new card, as for a recalled one.
MESSAGE_GONE_CODES = frozenset({"230011", "230031"})
SERVER_BUSY_CODES = {2200}  # "Internal Error" answered with HTTP 200/400 by some Open API gateways
MAX_UUID = 50  # Feishu refuses a longer uuid
FILE_KEY_CACHE_MAX = 1000
DIRECT_CHATS_MAX = 10_000  # direct chats remembered (one per person who wrote to the bot); the oldest go first
BOT_INFO_PATH = "/open-apis/bot/v3/info"
EPHEMERAL_PATH = "/open-apis/ephemeral/v1/send"
EPHEMERAL_PREFIX = "ephemeral:"  # the id of a card only one person sees: never patched
BOT_INFO_RETRY_S = 600  # the bot's open_id unknown (outage, credentials): ask again this much later
RATELIMIT_RESET_HEADERS = ("x-ogw-ratelimit-reset", "X-Ogw-Ratelimit-Reset", "Retry-After", "retry-after")


def feishu_uuid(idempotency_key: str, salt: str = "") -> str:
    """The outbox key as a Feishu `uuid` (<= 50 chars, stable across retries).

    With `salt` (the database's install id) the key is hashed with it: Feishu keeps one message per uuid
    for an hour per app, and the keys ("crisis:1:card") repeat in every new database, so a second install
    of the same app had its cards swallowed, or patched another chat's card. Without a salt, short keys
    are sent as they are and long ones hashed."""
    if salt:
        return "h-" + hashlib.sha256(f"{salt}\0{idempotency_key}".encode()).hexdigest()[: MAX_UUID - 2]
    if len(idempotency_key) <= MAX_UUID:
        return idempotency_key
    return "h-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[: MAX_UUID - 2]


def _retry_after(raw: Any) -> float | None:
    headers = getattr(raw, "headers", None) or {}
    for name in RATELIMIT_RESET_HEADERS:
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


class FeishuChatPort:
    """ChatPort for Feishu / Lark. Thread-safe enough for the outbox worker (one call at a time)."""

    platform = "feishu"

    def __init__(self, settings: FeishuSettings, *, timeout_s: float = 10.0, uuid_salt: str = "",
                 language: Callable[[str], str] | None = None) -> None:
        import lark_oapi as lark

        self._lark = lark
        self.settings = settings
        # the language of a channel ('zh' or 'en', config `language`), which the forms on its cards speak
        self.language: Callable[[str], str] = language or (lambda _channel: "zh")
        #: the database's install id (`feishu_uuid`); "" sends the outbox keys as they are
        self.uuid_salt = uuid_salt
        self.client = (
            lark.Client.builder()
            .app_id(settings.app_id)
            .app_secret(settings.app_secret)
            .domain(settings.domain)
            .timeout(timeout_s)
            .log_level(lark.LogLevel.WARNING)
            .build()
        )
        # open_id -> name, or None after a failed lookup (no scope, out of contact range, outage): NAME_RETRY_S
        self._names = NameCache()
        self._names_warned = False
        self._resources_warned = False  # im:resource missing: logged once, the cards say it each time
        self._file_keys: dict[str, str] = {}  # outbox key -> uploaded file_key (upload_file)
        self._file_keys_lock = threading.Lock()
        # chat_ids of direct (p2p) chats, learnt from the answers to commands typed there (see _note_chat_type)
        self._direct_chats: OrderedDict[str, None] = OrderedDict()
        self._direct_chats_lock = threading.Lock()
        self._bot_open_id: str | None = None
        self._bot_info_lock = threading.Lock()
        self._bot_info_next = 0.0  # monotonic time of the next lookup while the open_id is unknown
        self._bot_info_warned = False

    # ---- ChatPort ------------------------------------------------------------------------------
    def post(
        self, channel_id: str, message: Message, *, idempotency_key: str, maybe_sent_since: datetime | None = None
    ) -> str:
        """Send a card into the chat (or as a reply to the command's message); returns the message id.

        maybe_sent_since needs no lookup here: Feishu itself deduplicates the `uuid` (the outbox key)."""
        chat_id = _chat_id(channel_id)
        left_out: set[str] = set()
        files = self._upload_file_resources(message, idempotency_key, left_out)  # before the card that says so
        content = self._card(message, left_out, channel_id=channel_id)
        reply = (message.meta.get("reply") or {}) if isinstance(message.meta, dict) else {}
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        self._note_chat_type(chat_id, reply.get("chat_type") if isinstance(reply, dict) else None)
        ephemeral_id = self._post_ephemeral(chat_id, message, content)
        if ephemeral_id is not None:
            return ephemeral_id
        message_id = None
        if reply_to:
            try:
                message_id = _message_id(self._call("reply", lambda: self._reply(reply_to, content, idempotency_key)))
            except PermanentChatError as exc:
                # withdrawn/unknown command message, replies not allowed there ...: answer in the chat
                log.warning("feishu: cannot reply to %s (%s); posting in %s instead", reply_to, exc.code, chat_id)
        if message_id is None:
            message_id = _message_id(
                self._call("create", lambda: self._create(chat_id, "interactive", content, idempotency_key))
            )
        self._post_files(channel_id, files)
        return message_id

    def _post_ephemeral(self, chat_id: str, message: Message, content: str) -> str | None:
        """An answer meant for one person (Message.ephemeral: "step already done", "button no longer
        valid", ...) as a card only they see in the group (POST /open-apis/ephemeral/v1/send, group chats
        only, by the person's open_id); None when it is not one, or when Feishu refuses it (a direct chat,
        a topic group, a scope): the caller then replies as usual rather than lose the answer. No uuid there:
        a retry after a lost answer may show it twice, to that one person."""
        user = message.meta.get("in_reply_to_user") if isinstance(message.meta, dict) else None
        open_id = feishu_user_id(user) if isinstance(user, str) else None
        if not message.ephemeral or not open_id or message.files or self._is_direct_chat(chat_id):
            return None  # a direct chat's answer reaches that one person anyway
        from lark_oapi.core.enum import AccessTokenType, HttpMethod
        from lark_oapi.core.model import BaseRequest

        body = {"chat_id": chat_id, "open_id": open_id, "msg_type": "interactive", "card": json.loads(content)}
        request = (BaseRequest.builder().http_method(HttpMethod.POST).uri(EPHEMERAL_PATH)
                   .token_types({AccessTokenType.TENANT}).body(body).build())
        try:
            response = self._call("ephemeral.send", lambda: self._json(request), quiet=True)
            return EPHEMERAL_PREFIX + _message_id(response)
        except (PermanentChatError, PermissionChatError) as exc:
            log.info("feishu: cannot answer %s in %s privately (%s); replying in the chat", open_id, chat_id, exc.code)
            return None

    def _note_chat_type(self, chat_id: str, chat_type: Any) -> None:
        """Remember whether `chat_id` is a direct chat, as the command being answered said (its event's
        chat_type: "p2p", "group", ...). A button press's event does not say it, and without this every
        press in a direct chat answered for one person tried ephemeral.v1.send first, to be refused."""
        if not isinstance(chat_type, str) or not chat_type:
            return
        with self._direct_chats_lock:
            if chat_type != "p2p":
                self._direct_chats.pop(chat_id, None)
                return
            self._direct_chats[chat_id] = None
            self._direct_chats.move_to_end(chat_id)
            while len(self._direct_chats) > DIRECT_CHATS_MAX:
                self._direct_chats.popitem(last=False)

    def _is_direct_chat(self, chat_id: str) -> bool:
        with self._direct_chats_lock:
            return chat_id in self._direct_chats

    def _upload_file_resources(self, message: Message, idempotency_key: str,
                               left_out: set[str]) -> list[tuple[str, File]]:
        """(outbox key, file) of the message's files to send after its card, their resources uploaded now (the
        keys remembered for upload_file): a file refused for lack of im:resource is left out (`left_out`), and
        the card says so. An empty file is left for upload_file to refuse, after the card, as before."""
        files = []
        for index, file in enumerate(message.files):
            key = f"{idempotency_key}:file:{index}"
            if not file.content or self._uploaded_unless_no_scope(
                    "file", lambda key=key, file=file: self._file_key(key, file), left_out) is not None:
                files.append((key, file))
        return files

    def _post_files(self, channel_id: str, files: list[tuple[str, File]]) -> None:
        """The message's files, each as a file message after its card. A retry sends them all again: their
        uuids (like the card's) make Feishu return the messages it already has instead of showing them twice."""
        for key, file in files:
            self.upload_file(channel_id, file, idempotency_key=key)

    def update(self, channel_id: str, message_id: str, message: Message) -> None:
        """Replace a card sent earlier (im.v1.message.patch); a card only one person sees cannot be."""
        if message_id.startswith(EPHEMERAL_PREFIX):
            log.warning("feishu: %s was shown to one person only and cannot be updated; skipped", message_id)
            return
        content = self._card(message, channel_id=channel_id)
        im = self._lark.api.im.v1

        def patch() -> Any:
            body = im.PatchMessageRequestBody.builder().content(content).build()
            return self._json(im.PatchMessageRequest.builder().message_id(message_id).request_body(body).build())

        self._call("patch", patch)

    @staticmethod
    def update_target_gone(error: PermanentChatError, message_id: str) -> bool:
        """Whether a refused `update` means the card is gone for good: patch answers 230011 "The message is
        recalled" (消息已被撤回) for a recalled or deleted message. The outbox then posts the update as a new
        card, and later updates patch that one."""
        return error.code in MESSAGE_GONE_CODES and not message_id.startswith(EPHEMERAL_PREFIX)

    def upload(self, channel_id: str, image: Image, *, idempotency_key: str,
               maybe_sent_since: datetime | None = None) -> str:
        """Upload the image (im.v1.image.create) and post it into the chat; returns the message id.

        The message is created with the outbox key as Feishu's `uuid`, which deduplicates by itself.
        """
        chat_id = _chat_id(channel_id)
        image_key = self.upload_image(image)
        content = image_message_content(image_key)
        return _message_id(self._call("create", lambda: self._create(chat_id, "image", content, idempotency_key)))

    def upload_file(self, channel_id: str, file: File, *, idempotency_key: str,
                    maybe_sent_since: datetime | None = None) -> str:
        """Upload a document (im.v1.file.create, file_type "stream") and post it into the chat as a `file`
        message; returns the message id. The message's `uuid` (the outbox key) deduplicates by itself; the
        uploaded file's key is remembered per outbox key, so a retry after a failed send uploads it once."""
        chat_id = _chat_id(channel_id)
        content = file_message_content(self._file_key(idempotency_key, file))
        return _message_id(self._call("create", lambda: self._create(chat_id, "file", content, idempotency_key)))

    def _file_key(self, idempotency_key: str, file: File) -> str:
        """The file_key of this outbox key's document, uploaded (upload_file_resource) unless it already was."""
        with self._file_keys_lock:
            file_key = self._file_keys.get(idempotency_key)
        if file_key is None:
            file_key = self.upload_file_resource(file)
            with self._file_keys_lock:
                if len(self._file_keys) >= FILE_KEY_CACHE_MAX:
                    self._file_keys.clear()
                self._file_keys[idempotency_key] = file_key
        return file_key

    def upload_file_resource(self, file: File) -> str:
        """im.v1.file.create for a document; returns the file_key a `file` message refers to."""
        if not file.content:
            raise PermanentChatError(f"file {file.name!r} is empty: Feishu refuses empty files", code="empty_file")
        im = self._lark.api.im.v1
        content, name = file.content, file.name or "file"

        def create() -> Any:
            part = (name, io.BytesIO(content), file.mime or "application/octet-stream")
            body = im.CreateFileRequestBody.builder().file_type("stream").file_name(name).file(part).build()
            return self.client.im.v1.file.create(im.CreateFileRequest.builder().request_body(body).build())

        return self._call("file.create", create).data.file_key

    # ---- people --------------------------------------------------------------------------------
    def display_name(self, user_id: str) -> str | None:
        """The person's name (contact.v3.user.get by open_id), or None when Feishu does not tell us.

        Called by the dispatcher's worker before a command runs, never in the event's HTTP answer.
        Failures are cached too (NAME_RETRY_S), so an app without the contact scope asks once per person
        per 10 minutes and logs the missing scope once."""
        if not user_id:
            return None
        hit, name = self._names.cached(user_id)
        if hit:
            return name
        try:
            name = self._lookup_name(user_id)
        except CredentialChatError:
            pass  # not a missing scope: the outbox says what to fix about the app's credentials
        except (TransientChatError, PermanentChatError) as exc:
            if not self._names_warned:
                self._names_warned = True
                log.warning("feishu: cannot read user names (%s); texts show open_ids. Grant the app the scope "
                            "contact:user.base:readonly and put its users in its contact range", exc)
        self._names.remember(user_id, name, NAME_RETRY_S)
        return name

    def _lookup_name(self, user_id: str) -> str | None:
        contact = self._lark.api.contact.v3
        request = contact.GetUserRequest.builder().user_id(user_id).user_id_type("open_id").build()
        response = self._call("contact.user.get", lambda: self._json(request), quiet=True)
        try:
            user = json.loads(response.raw.content)["data"]["user"]
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        name = user.get("name") if isinstance(user, dict) else None
        return name.strip() if isinstance(name, str) and name.strip() else None

    # ---- the bot itself ------------------------------------------------------------------------
    def bot_open_id(self) -> str | None:
        """This bot's open_id (bot.v3.info), None while unknown. Never waits: an unknown open_id is looked up
        in the background, again at most every BOT_INFO_RETRY_S, so an event's 3 s answer never waits on it."""
        with self._bot_info_lock:
            if self._bot_open_id is not None:
                return self._bot_open_id
            now = time.monotonic()
            if now < self._bot_info_next:
                return None
            self._bot_info_next = now + BOT_INFO_RETRY_S
        threading.Thread(target=self.learn_bot_open_id, name="feishu-bot-info", daemon=True).start()
        return None

    def learn_bot_open_id(self) -> str | None:
        """GET /open-apis/bot/v3/info: the bot's open_id ({"code": 0, "bot": {"open_id": ...}}), remembered.
        A failure is logged once: until it is known, any bot's @ counts as this bot's (events.is_our_bot)."""
        from lark_oapi.core.enum import AccessTokenType, HttpMethod
        from lark_oapi.core.model import BaseRequest

        request = (BaseRequest.builder().http_method(HttpMethod.GET).uri(BOT_INFO_PATH)
                   .token_types({AccessTokenType.TENANT}).build())
        open_id = None
        problem = ""
        try:
            response = self._call("bot.info", lambda: self._json(request), quiet=True)
            bot = json.loads(response.raw.content).get("bot")
            open_id = bot.get("open_id") if isinstance(bot, dict) else None
            problem = "" if isinstance(open_id, str) and open_id else "the answer has no bot.open_id"
        except (TransientChatError, PermanentChatError) as exc:  # CredentialChatError included
            problem = str(exc)
        except (ValueError, AttributeError) as exc:
            problem = f"unreadable answer ({exc})"
        if problem:
            if not self._bot_info_warned:
                self._bot_info_warned = True
                log.warning("feishu: cannot learn the bot's own open_id (%s): in groups, a mention of any bot is "
                            "taken for a mention of crisisbot until it is known (asked again every %d min)",
                            problem, BOT_INFO_RETRY_S // 60)
            return None
        with self._bot_info_lock:
            self._bot_open_id = open_id
        log.info("feishu: the bot's open_id is %s", open_id)
        return open_id

    # ---- helpers -------------------------------------------------------------------------------
    def upload_image(self, image: Image) -> str:
        """im.v1.image.create for a PNG; returns the image_key cards and image messages refer to."""
        if not image.png:
            raise PermanentChatError(f"image {image.title!r} has no PNG bytes to upload", code="no_image")
        im = self._lark.api.im.v1
        png = image.png

        def create() -> Any:
            # a (filename, file, type) tuple gives the multipart part a name and a type, like a real file
            part = (image.filename or "image.png", io.BytesIO(png), "image/png")
            body = im.CreateImageRequestBody.builder().image_type("message").image(part).build()
            return self.client.im.v1.image.create(im.CreateImageRequest.builder().request_body(body).build())

        return self._call("image.create", create).data.image_key

    def _card(self, message: Message, left_out: set[str] | None = None, *, channel_id: str = "") -> str:
        """The card's content, its images uploaded. An image refused for lack of im:resource is left out, and
        so are the files in `left_out` (post uploads them first): the card then ends with a note saying so."""
        left_out = set() if left_out is None else left_out
        image_keys = [self._uploaded_unless_no_scope("image", lambda i=i: self.upload_image(i), left_out)
                      if i.png else None for i in message.images]
        lang = self.language(f"feishu:{_chat_id(channel_id)}")
        if left_out:
            note = Section(resources_left_out_note(left_out, lang))
            message = replace(message, sections=(*message.sections, note))
        # 'feishu:ou_x' in a handler's text shows the person's name (cached contact lookup), else stays as is
        return card_content(message, image_keys=image_keys, allow_at_all=self.settings.allow_at_all,
                            name_of=self.display_name, lang=lang)

    def _uploaded_unless_no_scope(self, kind: str, upload: Callable[[], str], left_out: set[str]) -> str | None:
        """upload()'s key, or None when Feishu refuses it for a scope the app lacks (99991672: im:resource):
        the card goes out without it rather than wait, maybe for days, for an admin (`kind` joins `left_out`).
        Any other failure raises as before: an outage or a rate limit is retried by the outbox, nothing left out."""
        try:
            return upload()
        except PermissionChatError as exc:
            if exc.code != str(SCOPE_NOT_GRANTED):
                raise
            if not self._resources_warned:
                self._resources_warned = True
                log.warning("%s (%s)", RESOURCE_SCOPE_HINT, str(exc).removesuffix(f". {PERMISSION_HINT}"))
            left_out.add(kind)
            return None

    def _json(self, request: Any) -> Any:
        """Send a JSON Open API request through the SDK (token, domain) keeping the raw HTTP answer, so a
        non-JSON error page (gateway 5xx, 404) is told apart by its status instead of failing to parse."""
        from lark_oapi.core.model import RequestOption

        option = RequestOption()
        option.headers["Content-Type"] = "application/json; charset=utf-8"
        return self.client.request(request, option)

    def _create(self, chat_id: str, msg_type: str, content: str, key: str) -> Any:
        im = self._lark.api.im.v1
        body = (
            im.CreateMessageRequestBody.builder()
            .receive_id(chat_id)
            .msg_type(msg_type)
            .content(content)
            .uuid(feishu_uuid(key, self.uuid_salt))
            .build()
        )
        return self._json(im.CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build())

    def _reply(self, message_id: str, content: str, key: str) -> Any:
        im = self._lark.api.im.v1
        body = im.ReplyMessageRequestBody.builder().msg_type("interactive").content(content).uuid(feishu_uuid(key, self.uuid_salt))
        request = im.ReplyMessageRequest.builder().message_id(message_id).request_body(body.build()).build()
        return self._json(request)

    def _drop_cached_token(self) -> None:
        """Forget the SDK's cached tenant token so the next call fetches a fresh one."""
        from lark_oapi.core.token.manager import TokenManager

        TokenManager.cache.set(f"self_tenant_token:{self.settings.app_id}", "", 0)

    def _call(self, what: str, fn: Any, *, quiet: bool = False) -> Any:
        """Run one Open API call, refreshing the token once; map failures to the chat error types."""
        for attempt in (1, 2):
            response = self._invoke(what, fn)
            code = response.code
            status = getattr(getattr(response, "raw", None), "status_code", None) or 0
            if code == 0 and status < 300:
                return response
            if code in TOKEN_INVALID_CODES and attempt == 1:
                log.info("feishu %s: tenant token refused (code %s); fetching a new one", what, code)
                self._drop_cached_token()
                continue
            raise self._error(what, response, quiet=quiet)
        raise AssertionError("unreachable")

    def _invoke(self, what: str, fn: Any) -> Any:
        import requests
        from lark_oapi.core.exception import ObtainAccessTokenException

        try:
            return fn()
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientChatError(f"feishu {what}: cannot reach the Open API ({exc})", code="connection_error") from exc
        except json.JSONDecodeError as exc:
            # a proxy/gateway page instead of Feishu's JSON (token or image call): an outage, try later
            raise TransientChatError(f"feishu {what}: answer is not JSON (outage?)", code="bad_gateway") from exc
        except ObtainAccessTokenException as exc:
            code = getattr(exc, "code", None)
            if code is None or code in RATE_LIMIT_CODES or code in SERVER_BUSY_CODES:
                raise TransientChatError(f"feishu token: {exc}", code=str(code)) from exc
            # 10014 wrong secret, 10003 missing/malformed id or secret, 99991543 no such app ...: whatever
            # the code, without a tenant token no message can go out, and none is at fault (the outbox
            # holds them all and logs this once per period).
            raise CredentialChatError(f"feishu token refused: {exc}. {CREDENTIAL_HINT}", code=str(code)) from exc

    def _error(self, what: str, response: Any, *, quiet: bool = False) -> Exception:
        code = response.code
        raw = getattr(response, "raw", None)
        status = getattr(raw, "status_code", None) or 0
        log_id = response.get_log_id() if hasattr(response, "get_log_id") else None
        text = f"feishu {what} failed: code {code} {response.msg or ''} (http {status}, log_id {log_id})"
        label = str(code if code is not None else f"http_{status}")
        if code in RATE_LIMIT_CODES:
            return TransientChatError(text, code=label, retry_after=_retry_after(raw))
        if code in TOKEN_INVALID_CODES or code in APP_UNAVAILABLE_CODES:  # a fresh token refused as well
            return CredentialChatError(f"{text}. {CREDENTIAL_HINT}", code=label)
        if code in PERMISSION_CODES:  # the outbox logs it with the hint, once per period
            return PermissionChatError(f"{text}{_needed_scopes(raw)}. {PERMISSION_HINT}", code=label)
        if status >= 500 or status == 429 or code in SERVER_BUSY_CODES:
            return TransientChatError(text, code=label, retry_after=_retry_after(raw) if status == 429 else None)
        if code is None and 200 <= status < 300:
            return TransientChatError(text + ": answer without a result", code="no_result")
        if what == "patch" and label in MESSAGE_GONE_CODES:
            log.warning("%s - the card was recalled or is older than 14 days: the update is posted as a new card",
                        text)
        elif not quiet:  # a name lookup's refusal is no delivery problem: display_name explains it, once
            log.error("%s - not retried: fix the chat id, the app's scopes or the bot's membership", text)
        return PermanentChatError(text, code=label)


def resources_left_out_note(left_out: set[str], lang: str = "zh") -> str:
    """The line a card ends with when its chart or file could not be uploaded for lack of im:resource (English
    alone in a chat set to English, Chinese first with English otherwise)."""
    kinds = [kind for kind in RESOURCE_WORDS if kind in left_out]
    zh = "和".join(RESOURCE_WORDS[kind][0] for kind in kinds)
    en = " and ".join(RESOURCE_WORDS[kind][1] for kind in kinds)
    if lang == "en":
        return (f"({en.capitalize()} not attached: the Feishu app lacks the im:resource scope; grant it on the "
                "Feishu Open Platform, then retry)")
    return f"（{zh}未附上：飞书应用缺少 im:resource 权限，请在开放平台开通后重试 / {en} not attached: the app lacks the im:resource scope）"


def _needed_scopes(raw: Any) -> str:
    """' (needed: a, b)' from the answer's error.permission_violations, or '' (the msg usually names them too)."""
    try:
        violations = json.loads(raw.content)["error"]["permission_violations"]
        subjects = [str(v["subject"]) for v in violations if isinstance(v, dict) and v.get("subject")]
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""
    return f" (needed: {', '.join(subjects)})" if subjects else ""


def _message_id(response: Any) -> str:
    """data.message_id from the raw JSON answer of create/reply."""
    try:
        data = json.loads(response.raw.content)["data"]
        return str(data["message_id"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TransientChatError("feishu answered without a message_id", code="no_message_id") from exc


def _chat_id(channel_id: str) -> str:
    return channel_id.partition(":")[2] if channel_id.startswith("feishu:") else channel_id
