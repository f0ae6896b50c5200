"""Slack payloads -> neutral `Command` / `Action`. Pure: no network, no database, no Bolt objects.

Every translated item carries a stable `event_id` so the dispatcher processes a delivery once even
when Slack retries it (`X-Slack-Retry-Num`) or sends the same event again: the Events API `event_id`
for events, and a digest of the `trigger_id` (unique per invocation) for commands and interactions.
The dispatcher stores them as "slack:<event_id>".
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from bot.messages import Action, Command

from .render import DUPLICATE_SUFFIX, FORM_CALLBACK_ID, LINK_ACTION_PREFIX

PLATFORM = "slack"
_LEADING_MENTIONS = re.compile(r"^(?:\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:：，]*)+")


def slack_user(user_id: str) -> str:
    """Slack user id -> neutral user address used by roles and permission checks ('U123' -> 'slack:U123')."""
    return f"{PLATFORM}:{user_id}"


def slack_channel(channel_id: str) -> str:
    return f"{PLATFORM}:{channel_id}"


def _digest(*parts: Any) -> str:
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def unescape(text: str) -> str:
    """Undo Slack's escaping of &, < and > in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def neutral_text(text: str) -> str:
    """Slack's escaped references -> neutral words: <@U1|ann> -> slack:U1 (the user's address, as roles
    and assignments use it), <#C1|ops> -> #C1, <url|label> -> url."""
    text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", r"slack:\1", text)
    text = re.sub(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>", r"#\1", text)
    text = re.sub(r"<!(here|channel|everyone)(?:\|[^>]*)?>", r"@\1", text)
    text = re.sub(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>", r"\1", text)
    text = re.sub(r"<((?:https?|mailto):[^>]+)>", r"\1", text)
    return unescape(text)


def command_from_slash(body: dict[str, Any], *, request_timestamp: str | None = None) -> Command:
    """A slash command payload (`/crisis status`) -> Command with text '/crisis status'."""
    name = (body.get("command") or "").strip()
    if not name.startswith("/"):
        name = "/" + name
    text = neutral_text((body.get("text") or "").strip())
    line = f"{name} {text}".strip()
    trigger_id = body.get("trigger_id")
    # trigger_id is unique per invocation; without one (hand-made requests), the response_url and the
    # signed timestamp still tell two invocations apart while a re-sent identical request stays equal.
    key = trigger_id or _digest(body.get("response_url"), request_timestamp, body.get("user_id"), line)
    reply = _reply_fields(
        response_url=body.get("response_url"),
        trigger_id=trigger_id,
        user_id=body.get("user_id"),
        channel_id=body.get("channel_id"),
    )
    return Command(
        platform=PLATFORM,
        channel=slack_channel(body.get("channel_id") or ""),
        user=slack_user(body.get("user_id") or ""),
        text=line,
        user_name=body.get("user_name"),
        reply=reply,
        event_id=f"cmd:{_digest(key)}",
    )


def command_text_from_mention(text: str) -> str:
    """'<@UBOT> /crisis status' -> '/crisis status'; '<@UBOT> help' -> '/help'; just a mention -> '/help'."""
    stripped = neutral_text(_LEADING_MENTIONS.sub("", text or "")).strip()
    if not stripped:
        return "/help"
    if stripped[0] not in "/／":
        stripped = "/" + stripped
    return stripped


def command_from_mention(envelope: dict[str, Any]) -> Command:
    """An `app_mention` event envelope -> the Command its text contains."""
    event = envelope.get("event") or {}
    channel_id = event.get("channel") or ""
    event_id = envelope.get("event_id") or _digest(channel_id, event.get("ts"), event.get("event_ts"))
    return Command(
        platform=PLATFORM,
        channel=slack_channel(channel_id),
        user=slack_user(event.get("user") or ""),
        text=command_text_from_mention(event.get("text") or ""),
        # Asked inside a thread: answer in that thread (thread_ts), else in the channel.
        reply=_reply_fields(user_id=event.get("user"), channel_id=channel_id, message_ts=event.get("ts"),
                            thread_ts=event.get("thread_ts")),
        event_id=str(event_id),
    )


def mention_duplicate_key(envelope: dict[str, Any]) -> str:
    """Same message = same key, even when Slack re-sends it under a different event id."""
    event = envelope.get("event") or {}
    return f"slack:msg:{event.get('channel')}:{event.get('ts') or event.get('event_ts')}"


def neutral_action_id(action_id: str) -> str:
    """Strip the suffix `render.actions_block` added to repeated action ids."""
    base, sep, count = action_id.rpartition(DUPLICATE_SUFFIX)
    return base if sep and count.isdigit() else action_id


def is_link_click(action_id: str) -> bool:
    return action_id.startswith(LINK_ACTION_PREFIX)


def _action_value(element: dict[str, Any]) -> str:
    if "value" in element and element["value"] is not None:
        return str(element["value"])
    selected = element.get("selected_option")
    if selected:
        return str(selected.get("value", ""))
    for key in ("selected_user", "selected_channel", "selected_conversation", "selected_date"):
        if element.get(key):
            return str(element[key])
    return ""


def actions_from_block_actions(body: dict[str, Any]) -> list[Action]:
    """A `block_actions` interaction -> one Action per pressed element (link buttons are skipped)."""
    user = body.get("user") or {}
    container = body.get("container") or {}
    channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    actions = []
    for element in body.get("actions") or []:
        raw_id = element.get("action_id") or ""
        if not raw_id or is_link_click(raw_id):
            continue
        action_id = neutral_action_id(raw_id)
        actions.append(
            Action(
                platform=PLATFORM,
                channel=slack_channel(channel_id),
                user=slack_user(user.get("id") or ""),
                action_id=action_id,
                value=_action_value(element),
                message_ref=message_ts,
                user_name=user.get("username") or user.get("name"),
                reply=_reply_fields(
                    response_url=body.get("response_url"),
                    trigger_id=body.get("trigger_id"),
                    user_id=user.get("id"),
                    channel_id=channel_id,
                    message_ts=message_ts,
                ),
                event_id=(
                    "act:"
                    + _digest(body.get("trigger_id"), element.get("action_ts"), raw_id, element.get("block_id"),
                              user.get("id"), message_ts, element.get("value"))
                ),
            )
        )
    return actions


def form_metadata(action: Action) -> dict[str, Any]:
    """What a modal must carry (in private_metadata) to rebuild the Action on submission."""
    return {
        "action_id": action.action_id,
        "value": action.value,
        "channel": action.channel,
        "message_ref": action.message_ref,
        "response_url": action.reply.get("response_url"),
    }


def action_from_view_submission(body: dict[str, Any]) -> Action | None:
    """A submitted crisisbot modal -> the Action of the button that opened it, with `form` filled in."""
    view = body.get("view") or {}
    if view.get("callback_id") != FORM_CALLBACK_ID:
        return None
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return None
    form: dict[str, str] = {}
    for block_values in ((view.get("state") or {}).get("values") or {}).values():
        for key, element in block_values.items():
            value = element.get("value")
            if value is None and element.get("selected_option"):
                value = element["selected_option"].get("value")
            if value is None and element.get("selected_user"):
                value = slack_user(element["selected_user"])
            form[key] = "" if value is None else str(value)
    user = body.get("user") or {}
    channel = meta.get("channel") or ""
    return Action(
        platform=PLATFORM,
        channel=channel,
        user=slack_user(user.get("id") or ""),
        action_id=meta.get("action_id") or "",
        value=meta.get("value") or "",
        message_ref=meta.get("message_ref"),
        user_name=user.get("username") or user.get("name"),
        form=form,
        reply=_reply_fields(
            response_url=meta.get("response_url"),
            user_id=user.get("id"),
            channel_id=channel.partition(":")[2] or None,
            message_ts=meta.get("message_ref"),
        ),
        event_id="view:" + _digest(view.get("id"), view.get("hash"), body.get("trigger_id")),
    )


def _reply_fields(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}
