"""Feishu events -> neutral `Command` / `Action`. Pure: reads the SDK's event objects by attribute only.

Feishu has no slash commands: "/crisis start ..." arrives as the text of an `im.message.receive_v1`
event, with the bot's mention as a key such as "@_user_1" in front of it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.adapters.feishu.cards import FORM_FIELDS_KEY
from bot.adapters.forms import form_spec_for
from bot.messages import Action, Command

PLATFORM = "feishu"
# "@_user_1", "@_user_2" ... for the people and bots mentioned; "@_all" for @所有人
MENTION_KEY = re.compile(r"@_user_\d+|@_all\b")
ALL_KEY = "@_all"
ALL_TEXT = "@所有人"
COMMAND_PREFIXES = ("/", "／")
HELP_WORDS = {"help", "帮助", "?", "？"}


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mentions(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _event_id(data: Any) -> str | None:
    event_id = _get(data, "header", "event_id")
    return None if event_id is None else str(event_id)


def message_text(message_type: str | None, content: str | None) -> str | None:
    """The typed text of a text or rich-text (post) message; None for images, files, stickers ..."""
    if not content or not isinstance(content, str):
        return None
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):
        return None
    if message_type == "text":
        text = data.get("text") if isinstance(data, dict) else None
        return text if isinstance(text, str) else None
    if message_type == "post" and isinstance(data, dict):
        # Received rich text: {"title": ..., "content": [[{"tag": "text", "text": ...}, {"tag": "at", ...}]]}
        body = data.get("content")
        if body is None:  # some clients nest it under a locale key
            body = next((v.get("content") for v in data.values() if isinstance(v, dict)), None)
        if not isinstance(body, list):
            return None
        lines = []
        read = False  # whether any node gave text: a post of nothing readable is no text (ignored like an image)
        for line in body:
            words = []
            # A line is a list of nodes (objects); other shapes are not text we can read: skipped.
            for node in line if isinstance(line, list) else []:
                if not isinstance(node, dict):
                    continue
                if node.get("tag") == "text":
                    words.append(_str(node.get("text")))
                elif node.get("tag") == "at":
                    words.append(_str(node.get("user_id")))
                elif node.get("tag") == "a":
                    words.append(_str(node.get("text")) or _str(node.get("href")))
                else:
                    continue
                read = read or bool(words[-1])
            lines.append("".join(words))
        return "\n".join(lines) if read else None
    return None


def is_our_bot(mention: Any, bot_open_id: str | None) -> bool:
    """Whether a mention is of this bot: its open_id when known (learned from Feishu, FeishuChatPort.bot_open_id),
    else any bot's mention (Feishu marks those with mentioned_type "bot"), as before the open_id was known."""
    if bot_open_id:
        return _str(_get(mention, "id", "open_id")) == bot_open_id
    return _get(mention, "mentioned_type") == "bot"


def strip_mentions(text: str, mentions: list[Any] | None, bot_open_id: str | None = None) -> str:
    """Drop the mention keys in front of the command (the bot's @) and this bot's @ anywhere (is_our_bot);
    name the people (and other bots) mentioned after the command.

    "@_user_1 /crisis assign verify @_user_2" -> "/crisis assign verify feishu:ou_zhang": a mentioned
    person becomes the neutral user address (handlers accept "platform:id"), so assignments and roles
    use the open_id; a mention without an open_id becomes "@name", @所有人 ("@_all") "@所有人".
    """
    people = {ALL_KEY: ALL_TEXT}
    for mention in _mentions(mentions):
        # text only: an object or list in these fields is no key, id or name (the HTTP route refuses such
        # an event with 400; the long connection's events reach here unchecked)
        key = _str(_get(mention, "key"))
        if key:
            open_id = _str(_get(mention, "id", "open_id"))
            if is_our_bot(mention, bot_open_id):
                # The bot's @ typed after the command ("/crisis status @crisisbot") addresses it; it is
                # no argument (an argument would have read as a run or a person).
                people[key] = ""
                continue
            if key == ALL_KEY:
                continue
            people[key] = f"{PLATFORM}:{open_id}" if open_id else f"@{_str(_get(mention, 'name'))}".rstrip("@")
    rest = text.strip()
    while True:
        match = MENTION_KEY.match(rest)
        if not match:
            break
        rest = rest[match.end() :].lstrip()
    return re.sub(r"[ \t]{2,}", " ", MENTION_KEY.sub(lambda m: people.get(m.group(0), ""), rest)).strip()


def mentioned_users(mentions: list[Any] | None) -> dict[str, str]:
    """{display name: "feishu:<open_id>"} for the people mentioned (handlers may resolve names)."""
    result = {}
    for mention in _mentions(mentions):
        open_id = _str(_get(mention, "id", "open_id"))
        name = _str(_get(mention, "name"))  # a name that is not text (an object) would not do as a key
        if open_id and name:
            result[name] = f"{PLATFORM}:{open_id}"
    return result


def command_from_message_event(data: Any, bot_open_id: str | None = None) -> Command | None:
    """A neutral Command from an im.message.receive_v1 event, or None when it is not a command for us.

    A message is for the bot in a direct chat, in a group when it @mentions this bot (`bot_open_id`; while
    that is unknown, any bot: is_our_bot), or when its text starts with "/". A group message to another bot
    ("@天气机器人 明天北京天气", read where the app may read every group message) is not ours. Ordinary group talk stays
    ignored even where the bot reads every message. A message for the bot is always answered, as a Slack
    mention is: just the mention or "help" is /help, other text without "/" is read as a command
    ("@crisisbot crisis status" -> "/crisis status"; unknown words get the unknown-command hint), so
    nobody is met with silence.
    """
    event = _get(data, "event")
    message = _get(event, "message")
    if message is None:
        return None
    if (_get(event, "sender", "sender_type") or "user") != "user":
        return None  # another bot or the app itself: never answer, or two bots loop forever
    text = message_text(_get(message, "message_type"), _get(message, "content"))
    if text is None:
        return None
    mentions = _get(message, "mentions")
    line = strip_mentions(text, mentions, bot_open_id)
    chat_type = _get(message, "chat_type") or "group"
    addressed = chat_type == "p2p" or any(is_our_bot(m, bot_open_id) for m in _mentions(mentions))
    if not line.startswith(COMMAND_PREFIXES):
        if not addressed:
            return None
        line = "/help" if line.lower() in HELP_WORDS or not line else "/" + line
    chat_id = _str(_get(message, "chat_id"))
    open_id = _str(_get(event, "sender", "sender_id", "open_id"))
    if not chat_id or not open_id:
        return None
    reply: dict[str, Any] = {"message_id": _get(message, "message_id"), "chat_type": chat_type}
    people = mentioned_users(mentions)
    if people:
        reply["mentions"] = people
    return Command(
        platform=PLATFORM,
        channel=f"{PLATFORM}:{chat_id}",
        user=f"{PLATFORM}:{open_id}",
        text=line,
        reply=reply,
        event_id=_event_id(data),
    )


def callback_value(data: Any) -> Any:
    """The value a card callback carries (our buttons: {"action_id", "value"[, "form"]}), as sent."""
    return _get(data, "event", "action", "value")


def form_of(value: dict[str, Any], form_value: Any) -> dict[str, str]:
    """What was typed or chosen in a card form, under the neutral keys the handlers read (as from Slack's modal).

    Field names are unique per card ("reason_2"); the submit button's value maps them back ({"reason_2":
    "reason"}, cards.inline_form_element). Names it does not map are kept as they are. A value that is not
    text (a multi-select's list) is skipped: no form of ours has one. A mapped field left empty (an optional
    one) is "", as Slack's modal sends it. A person picker sends an open_id, which becomes the neutral address
    "feishu:ou_x" (Slack's gives "slack:U1"), as a person mentioned in a command does."""
    if not isinstance(form_value, dict):
        return {}
    names = value.get(FORM_FIELDS_KEY)
    names = names if isinstance(names, dict) else {}
    spec = form_spec_for(_str(value.get("action_id")))
    person_key = spec.key if spec is not None and spec.kind == "user" else None
    form: dict[str, str] = {str(key): "" for key in names.values() if isinstance(key, str)}
    for name, typed in form_value.items():
        if isinstance(typed, str | int | float) and not isinstance(typed, bool):
            key = str(names.get(name, name))
            text = str(typed)
            if key == person_key and text and ":" not in text:
                text = f"{PLATFORM}:{text}"
            form[key] = text
    return form


def action_from_card_event(data: Any) -> Action | None:
    """A neutral Action from a card.action.trigger callback of a card we rendered, else None."""
    event = _get(data, "event")
    value = callback_value(data)
    if not isinstance(value, dict) or not value.get("action_id"):
        return None
    chat_id = _str(_get(event, "context", "open_chat_id"))
    open_id = _str(_get(event, "operator", "open_id"))
    if not chat_id or not open_id:
        return None
    message_id = _get(event, "context", "open_message_id")
    return Action(
        platform=PLATFORM,
        channel=f"{PLATFORM}:{chat_id}",
        user=f"{PLATFORM}:{open_id}",
        action_id=str(value["action_id"]),
        value=str(value.get("value", "")),
        message_ref=message_id,
        form=form_of(value, _get(event, "action", "form_value")),
        reply={"message_id": message_id} if message_id else {},
        event_id=_event_id(data),
    )
