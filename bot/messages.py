"""Neutral message and command types shared by every feature and every chat platform.

Handlers and services speak only these types; adapters (console, Slack, Feishu) translate them to and
from platform payloads (Block Kit, Feishu cards, terminal text).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

ButtonStyle = Literal["default", "primary", "danger"]


@dataclass(frozen=True, slots=True)
class Button:
    """A button; pressing it produces an `Action` with the same action_id and value."""

    label: str
    action_id: str
    value: str = ""
    style: ButtonStyle = "default"
    url: str | None = None  # a link button opens a URL instead of calling back


@dataclass(frozen=True, slots=True)
class Field:
    """A short labelled value shown side by side with others (e.g. 严重程度: 二级)."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Image:
    """An image to upload (PNG bytes) or to link to."""

    title: str
    png: bytes | None = None
    url: str | None = None
    filename: str = "image.png"
    alt: str = ""


@dataclass(frozen=True, slots=True)
class File:
    """A document posted into the channel as a file (a review's Markdown), beside the message's text.

    `name` is the file name people download ("crisis-3-review.md"); `title` what the platform shows, where
    it shows one (defaults to the name)."""

    name: str
    content: bytes
    mime: str = "application/octet-stream"
    title: str = ""


@dataclass(frozen=True, slots=True)
class Section:
    """A block of text within a message, optionally with its own buttons (one queue item, one step)."""

    text: str
    buttons: tuple[Button, ...] = ()
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    """What a handler or service wants shown in a channel.

    `title` renders as a header, `text` as the body (light Markdown: **bold**, links as [text](url)),
    `sections` as separated blocks, `fields` as a label/value grid, `buttons` as the action row.
    `images` are shown as pictures (PNG bytes uploaded, or a URL); `files` are posted as downloadable files
    after the message (each platform's file upload), never inlined into its text.
    `severity` lets adapters colour alerts (1 = most severe). `mention` asks the adapter to use the
    platform's loudest means (e.g. "@here" on Slack, "all" on Feishu) or specific user ids.
    """

    text: str = ""
    title: str | None = None
    fields: tuple[Field, ...] = ()
    sections: tuple[Section, ...] = ()
    buttons: tuple[Button, ...] = ()
    images: tuple[Image, ...] = ()
    files: tuple[File, ...] = ()
    severity: int | None = None
    mentions: tuple[str, ...] = ()  # platform user ids, or "here"/"all"
    ephemeral: bool = False  # visible only to the person who asked, where the platform allows
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for the outbox; the bytes of images and files are base64-encoded."""
        import base64

        def image(i: Image) -> dict[str, Any]:
            return {
                "title": i.title,
                "png": base64.b64encode(i.png).decode() if i.png else None,
                "url": i.url,
                "filename": i.filename,
                "alt": i.alt,
            }

        def file(f: File) -> dict[str, Any]:
            return {"name": f.name, "content": base64.b64encode(f.content).decode(), "mime": f.mime,
                    "title": f.title}

        def button(b: Button) -> dict[str, Any]:
            return {"label": b.label, "action_id": b.action_id, "value": b.value, "style": b.style, "url": b.url}

        def fld(f: Field) -> dict[str, str]:
            return {"label": f.label, "value": f.value}

        return {
            "text": self.text,
            "title": self.title,
            "fields": [fld(f) for f in self.fields],
            "sections": [
                {"text": s.text, "buttons": [button(b) for b in s.buttons], "fields": [fld(f) for f in s.fields]}
                for s in self.sections
            ],
            "buttons": [button(b) for b in self.buttons],
            "images": [image(i) for i in self.images],
            **({"files": [file(f) for f in self.files]} if self.files else {}),
            "severity": self.severity,
            "mentions": list(self.mentions),
            "ephemeral": self.ephemeral,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        import base64

        def button(d: dict[str, Any]) -> Button:
            return Button(d["label"], d["action_id"], d.get("value", ""), d.get("style", "default"), d.get("url"))

        def fld(d: dict[str, str]) -> Field:
            return Field(d["label"], d["value"])

        def image(d: dict[str, Any]) -> Image:
            return Image(
                title=d.get("title", ""),
                png=base64.b64decode(d["png"]) if d.get("png") else None,
                url=d.get("url"),
                filename=d.get("filename", "image.png"),
                alt=d.get("alt", ""),
            )

        def file(d: dict[str, Any]) -> File:
            return File(
                name=d.get("name") or "file",
                content=base64.b64decode(d.get("content") or ""),
                mime=d.get("mime") or "application/octet-stream",
                title=d.get("title", ""),
            )

        return cls(
            text=data.get("text", ""),
            title=data.get("title"),
            fields=tuple(fld(f) for f in data.get("fields", [])),
            sections=tuple(
                Section(
                    s.get("text", ""),
                    tuple(button(b) for b in s.get("buttons", [])),
                    tuple(fld(f) for f in s.get("fields", [])),
                )
                for s in data.get("sections", [])
            ),
            buttons=tuple(button(b) for b in data.get("buttons", [])),
            images=tuple(image(i) for i in data.get("images", [])),
            files=tuple(file(f) for f in data.get("files") or []),
            severity=data.get("severity"),
            mentions=tuple(data.get("mentions", [])),
            ephemeral=bool(data.get("ephemeral", False)),
            meta=dict(data.get("meta", {})),
        )

    def all_buttons(self) -> list[Button]:
        return [*self.buttons, *(b for s in self.sections for b in s.buttons)]


@dataclass(frozen=True, slots=True)
class Command:
    """A command as typed by a person, already stripped of platform syntax (mentions, slash routing).

    `text` is the full command line, e.g. '/crisis start 负面舆情爆发 "面霜过敏" --severity 1'.
    `channel` is the neutral channel address "platform:channel_id" (e.g. "slack:C0123", "feishu:oc_x",
    "console:general"); `user` is "platform:user_id".
    `reply` carries whatever the adapter needs to answer in place (Slack response_url, Feishu message id).
    """

    platform: str
    channel: str
    user: str
    text: str
    user_name: str | None = None
    reply: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    #: other ids the platform may deliver the same command under (a Slack mention is keyed by its message;
    #: its envelope's event_id is one of these): a delivery under any of them is a duplicate
    also_event_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    """A button press: the button's action_id and value, who pressed it, in which channel and message."""

    platform: str
    channel: str
    user: str
    action_id: str
    value: str
    message_ref: str | None = None  # platform message id of the message that carried the button
    user_name: str | None = None
    form: dict[str, str] = field(default_factory=dict)  # values typed into a modal/form, if any
    reply: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None


class ChatError(Exception):
    """A chat platform refused or failed a call."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after
        # True when the request may have reached the platform and taken effect although no answer said
        # so (timeout, connection lost mid-request, 5xx): blindly sending again could show it twice.
        self.maybe_delivered = maybe_delivered


class TransientChatError(ChatError):
    """Worth retrying later: outage, 5xx, rate limit (retry_after seconds when the platform says)."""


class CredentialChatError(TransientChatError):
    """The platform refused the bot's own credentials (revoked or wrong token, wrong app secret). Nothing
    was sent; every message of that platform waits in the outbox until a person fixes the credential."""


class PermissionChatError(TransientChatError):
    """The app lacks a permission for this kind of call (Slack `missing_scope`, Feishu 99991672 "scope not
    granted", the Feishu bot ability off): every message needing it would be refused the same way, whatever
    its channel, and none is at fault. Such messages wait in the outbox until a person grants the permission
    (no restart needed: the platform applies it to the running app), then go out in order. `maybe_delivered`
    is True when part of the message (its text) got out before the refusal (of its image)."""


class PermanentChatError(ChatError):
    """Retrying will not help until a person fixes something (channel_not_found, not_in_channel, ...)."""


class ChatPort(Protocol):
    """The one way features talk to a chat platform. Called only by the outbox worker."""

    platform: str

    def post(
        self, channel_id: str, message: Message, *, idempotency_key: str, maybe_sent_since: datetime | None = None
    ) -> str:
        """Send a new message; return the platform's message id (used later to update it).

        `maybe_sent_since` is set when an earlier attempt with this key, started at that time, may have
        reached the platform without us learning the result (it is None on a first attempt and after clean
        refusals). A platform that does not deduplicate by key itself should then look for the message it
        may already have and return that one's id instead of sending it again.
        """

    def update(self, channel_id: str, message_id: str, message: Message) -> None:
        """Replace a message sent earlier, in place."""

    def upload(
        self, channel_id: str, image: Image, *, idempotency_key: str, maybe_sent_since: datetime | None = None
    ) -> str:
        """Upload an image/file into the channel; return its platform id (`maybe_sent_since` as in `post`)."""

    def upload_file(
        self, channel_id: str, file: File, *, idempotency_key: str, maybe_sent_since: datetime | None = None
    ) -> str:
        """Post a document into the channel as a file (Slack files_upload_v2, a Feishu file message, a file
        in the console's folder); return its platform id. Like `upload`, one call per key: a retry with
        `maybe_sent_since` must not show the file twice."""


# a Markdown link or image opening: "[label](" / "![alt]("
# Characters that show nothing: format characters (zero-width space U+200B, joiners, BOM), spaces of any
# width (the ideographic space U+3000), controls, line and paragraph separators; and quote marks alone
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Cc", "Zl", "Zp"})
_QUOTE_MARKS = frozenset("\"'“”‘’「」『』")


def is_blank(text: str | None) -> bool:
    """Whether a typed text says nothing: no visible character at all, or only quote marks (a reason of
    U+200B, of ideographic spaces or of empty quotes is as blank as an empty one)."""
    return not any(
        unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _QUOTE_MARKS for ch in text or ""
    )


_MARKUP_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(")
# Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): one in a comment showed the rest of
# its line (the closing quote, the account, the link) reversed, in chat and in report files alike.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# A chat user's address as handlers write it ('slack:U0123ABCD', 'feishu:ou_x'): the Slack port shows it as a
# mention, which notifies that person, the Feishu port as the person's name.
_CHAT_ADDRESS = re.compile(r"\b(slack|feishu):(?=[UW][A-Z0-9]|ou_)", re.IGNORECASE)


def inert(text: str) -> str:
    """Text whose markup is not ours (a comment, an author's name, a title or reason the team typed) made inert
    in a Message's light Markdown.

    A commenter who writes "[官方客服](http://骗子网址)" must not get a link labelled 官方客服 into the
    team's alert, queue card or client report (Slack and Feishu render it as one): the brackets of a link
    or image become full-width, so it shows as typed and any address in it stays visible. "**" and "__"
    (bold) show as typed too; bidi controls are dropped. Everything else is left as it is: "[微笑]" codes,
    quotes, emoji, and people's addresses (the timeline's 'slack:U1' shows as the person): text written
    outside the team goes through `outsider_text`.
    """
    if not text:
        return text
    text = _MARKUP_LINK.sub(lambda m: f"{m.group(1)}［{m.group(2)}］(", _BIDI_CONTROLS.sub("", text))
    return text.replace("**", "＊＊").replace("__", "＿＿")


def outsider_text(text: str) -> str:
    """Text written outside the team (a comment, its author's name, a video title), inert (`inert`) and with
    any chat address it types made plain text: a commenter who writes "slack:U0123ABCD" must not ping that
    person from the team's alert, queue card or report (nor show a Feishu colleague's name). The
    full-width colon keeps it readable."""
    if not text:
        return text
    return inert(_CHAT_ADDRESS.sub(r"\1：", text))


def split_channel(address: str) -> tuple[str, str]:
    """'slack:C0123' -> ('slack', 'C0123')."""
    platform, sep, channel_id = address.partition(":")
    if not sep or not platform or not channel_id:
        raise ValueError(f"channel address must look like 'platform:id', got {address!r}")
    return platform, channel_id
