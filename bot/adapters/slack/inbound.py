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
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class InstallPins:
    """SLACK_TEAM_ID and SLACK_APP_ID: the workspaces (T…) or Enterprise Grid orgs (E…), and the apps (A…),
    whose requests are taken. Empty: any (the signing secret alone decides, as before).

    The signing secret is the app's: a distributed or org-wide app signs every installation's requests with
    it, so without a pin a workspace that installed the app could run commands here. The ids are Slack's,
    read from the signed payload (the team as Bolt reads it: the installation's team in a Slack Connect
    channel). A payload naming no team and no org (none that Slack sends for a workspace) passes, as one
    naming no app does: the pin refuses what names another installation."""

    team_ids: frozenset[str] = frozenset()
    app_ids: frozenset[str] = frozenset()

    def refusal(self, *, team_id: Any, enterprise_id: Any, api_app_id: Any) -> tuple[str, str] | None:
        """(reason, the offending id as it may be logged) when the payload is another installation's or app's,
        else None."""
        if self.app_ids and api_app_id is not None and not _listed(api_app_id, self.app_ids):
            return "other_app", _shown_id(api_app_id)
        if self.team_ids and (team_id or enterprise_id):
            if _listed(team_id, self.team_ids) or _listed(enterprise_id, self.team_ids):
                return None
            return "other_workspace", _shown_id(team_id or enterprise_id)
        return None


def _listed(value: Any, ids: frozenset[str]) -> bool:
    return isinstance(value, str) and value in ids  # an object where an id belongs is no id of ours


def _shown_id(value: Any) -> str:
    # Slack's ids are no secret; cut short so a strange value cannot make a long log line
    return value[:40] if isinstance(value, str) else type(value).__name__


def _digest(*parts: Any) -> str:
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    # surrogatepass: a button value may hold a lone surrogate ("\ud800" in the payload's JSON), which strict
    # UTF-8 cannot encode; the press was dropped with a traceback before the dispatcher could clean its text
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: a field of the wrong shape reads as absent."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    """A string field as a string; numbers tolerated (str()), anything else (lists, objects) as absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _id_of(value: Any) -> str:
    """An id Slack sends either as {"id": ...} or as the bare string (Bolt accepts both)."""
    if isinstance(value, str):
        return value
    return _text(_obj(value).get("id")) or ""


# Fields Bolt and these translators index into, with the JSON types Slack sends them as. A signed
# payload that breaks these is refused with 400 by the HTTP route before Bolt sees it.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "user": (dict, str), "channel": (dict, str), "team": (dict, str), "enterprise": (dict, str),
    "container": (dict,), "message": (dict,), "view": (dict,), "event": (dict,), "state": (dict,),
    "actions": (list,), "authorizations": (list,), "response_urls": (list,),
}


# Interaction kinds Bolt routes by a top-level callback_id / action_id (a regex search, which raises on
# anything but a string; a missing one raises KeyError).
_CALLBACK_ID_KINDS = frozenset({
    "shortcut", "message_action", "interactive_message", "dialog_submission", "dialog_cancellation",
    "dialog_suggestion", "workflow_step_edit",
})
_ACTION_ID_KINDS = frozenset({"block_suggestion"})


def payload_problem(body: Any) -> str | None:
    """Why a (signed) payload cannot be one Slack sends, or None when its shape is readable.

    Checks only shapes, never meaning: unknown types and missing optional fields pass (they are
    acknowledged and ignored downstream)."""
    if not isinstance(body, dict) or not body:
        return "payload is not a non-empty JSON object"
    for name, types in _FIELD_TYPES.items():
        value = body.get(name)
        if value is not None and not isinstance(value, types):
            return f"{name} is a {type(value).__name__}"
    for name in ("actions", "authorizations", "response_urls"):
        if any(not isinstance(item, dict) for item in body.get(name) or []):
            return f"{name} holds something other than objects"
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return f"type is a {type(kind).__name__}"
    if "command" in body:
        if not isinstance(body.get("command"), str) or not body["command"].strip():
            return "slash command without a command name"
        if not isinstance(body.get("channel_id"), str) or not body["channel_id"].strip():
            return "slash command without channel_id"
        if not isinstance(body.get("user_id"), str) or not body["user_id"].strip():
            return "slash command without user_id"
    elif kind is None and "ssl_check" not in body:
        return "neither a slash command nor a payload with a type"
    if kind == "block_actions":
        # Bolt routes a press by actions[0]["action_id"] (a regex search): Slack always sends at least
        # one pressed element, each with a string action_id
        if not isinstance(body.get("actions"), list) or not body["actions"]:
            return "block_actions without a non-empty list of actions"
        if any(not isinstance(item.get("action_id"), str) for item in body["actions"]):
            return "block_actions with an action whose action_id is not a string"
    if kind in _CALLBACK_ID_KINDS and not isinstance(body.get("callback_id"), str):
        return f"{kind} without a string callback_id"
    if kind == "workflow_step_edit" and not isinstance(body.get("workflow_step"), dict):
        # Bolt reads body["workflow_step"] for every middleware of such a payload (its `step` argument): a
        # KeyError there escaped its error handler too, a logged traceback for a bad request
        return "workflow_step_edit without a workflow_step object"
    if kind in _ACTION_ID_KINDS and not isinstance(body.get("action_id"), str):
        return f"{kind} without a string action_id"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if (not isinstance(view, dict) or not isinstance(view.get("type"), str)
                or not isinstance(view.get("callback_id"), str)):
            return f"{kind} without a view with a type and a string callback_id"
        if kind == "view_submission" and view["type"] == "workflow_step" and not isinstance(
                body.get("workflow_step"), dict):
            return "workflow_step view_submission without a workflow_step object"
        if not isinstance(view.get("private_metadata") or "", str):
            return "view.private_metadata is not a string"
        values = _obj(view.get("state")).get("values") or {}
        if not isinstance(values, dict) or any(
            not isinstance(block, dict) or any(not isinstance(el, dict) for el in block.values())
            for block in values.values()
        ):
            return "view.state.values is not an object of objects"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event_callback without an event object and type"
        if event["type"] == "app_mention" and not _id_of(event.get("channel")):
            # Slack always says where it was mentioned; without it there is no channel to answer in
            return "app_mention without a channel"
    return None


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
    name = (_text(body.get("command")) or "").strip()
    if not name.startswith("/"):
        name = "/" + name
    text = neutral_text((_text(body.get("text")) or "").strip())
    line = f"{name} {text}".strip()
    trigger_id = _text(body.get("trigger_id"))
    # trigger_id is unique per invocation; without one (hand-made requests), the response_url and the
    # signed timestamp still tell two invocations apart while a re-sent identical request stays equal.
    key = trigger_id or _digest(body.get("response_url"), request_timestamp, body.get("user_id"), line)
    reply = _reply_fields(
        response_url=_text(body.get("response_url")),
        trigger_id=trigger_id,
        user_id=_text(body.get("user_id")),
        channel_id=_text(body.get("channel_id")),
    )
    return Command(
        platform=PLATFORM,
        channel=slack_channel(_text(body.get("channel_id")) or ""),
        user=slack_user(_text(body.get("user_id")) or ""),
        text=line,
        user_name=_text(body.get("user_name")),
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
    event = _obj(envelope.get("event"))
    channel_id = _id_of(event.get("channel"))
    user_id = _id_of(event.get("user"))
    ts = _text(event.get("ts")) or _text(event.get("event_ts"))
    # Keyed by the message, not the delivery: Slack re-sends a message under a new event id at times, and
    # only the dispatcher's stored key outlives a restart (the bridge's in-memory one does not). A
    # retry carries the same message, so it is caught by the same key.
    delivery_id = _text(envelope.get("event_id"))
    event_id = (f"msg:{channel_id}:{ts}" if channel_id and ts
                else delivery_id or _digest(channel_id, event.get("ts"), event.get("event_ts")))
    # the delivery's own id too: an event id delivered again is a duplicate whatever its message says
    also = (f"ev:{delivery_id}",) if delivery_id and event_id != delivery_id else ()
    return Command(
        platform=PLATFORM,
        channel=slack_channel(channel_id),
        user=slack_user(user_id),
        text=command_text_from_mention(_text(event.get("text")) or ""),
        # Asked inside a thread: answer in that thread (thread_ts), else in the channel.
        reply=_reply_fields(user_id=user_id, channel_id=channel_id, message_ts=_text(event.get("ts")),
                            thread_ts=_text(event.get("thread_ts"))),
        event_id=str(event_id),
        also_event_ids=also,
    )


def written_by_a_bot(envelope: dict[str, Any]) -> bool:
    """True for an event whose message another bot, an integration or this bot itself wrote (`bot_id`,
    `bot_profile` or subtype `bot_message`): never answered, or two bots answering each other loop for
    ever (the Feishu adapter ignores non-user senders for the same reason)."""
    event = _obj(envelope.get("event"))
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message")


def mention_duplicate_key(envelope: dict[str, Any]) -> str:
    """Same message = same key, even when Slack re-sends it under a different event id."""
    event = _obj(envelope.get("event"))
    return f"slack:msg:{event.get('channel')}:{event.get('ts') or event.get('event_ts')}"


def neutral_action_id(action_id: str) -> str:
    """Strip the suffix `render.actions_block` added to repeated action ids."""
    base, sep, count = action_id.rpartition(DUPLICATE_SUFFIX)
    return base if sep and count.isdigit() else action_id


def is_link_click(action_id: str) -> bool:
    return action_id.startswith(LINK_ACTION_PREFIX)


def _action_value(element: dict[str, Any]) -> str:
    if element.get("value") is not None:
        return _text(element["value"]) or ""
    selected = _obj(element.get("selected_option"))
    if selected:
        return _text(selected.get("value")) or ""
    for key in ("selected_user", "selected_channel", "selected_conversation", "selected_date"):
        if element.get(key):
            return _text(element[key]) or ""
    return ""


def actions_from_block_actions(body: dict[str, Any]) -> list[Action]:
    """A `block_actions` interaction -> one Action per pressed element (link buttons are skipped)."""
    user = _obj(body.get("user"))
    user_id = _id_of(body.get("user"))
    container = _obj(body.get("container"))
    channel_id = _id_of(body.get("channel")) or _text(container.get("channel_id")) or ""
    message_ts = _text(container.get("message_ts")) or _text(_obj(body.get("message")).get("ts"))
    trigger_id = _text(body.get("trigger_id"))
    elements = body.get("actions")
    actions = []
    for element in elements if isinstance(elements, list) else []:
        if not isinstance(element, dict):
            continue  # not a pressed element: the well-formed ones beside it still count
        raw_id = _text(element.get("action_id")) or ""
        # A link button's click only opens its URL. Cards sent before render marked link buttons by their
        # action id still carry the plain one ("feeds:open"), so a pressed element with a url counts too.
        if not raw_id or is_link_click(raw_id) or element.get("url"):
            continue
        action_id = neutral_action_id(raw_id)
        actions.append(
            Action(
                platform=PLATFORM,
                channel=slack_channel(channel_id),
                user=slack_user(user_id),
                action_id=action_id,
                value=_action_value(element),
                message_ref=message_ts,
                user_name=_text(user.get("username")) or _text(user.get("name")),
                reply=_reply_fields(
                    response_url=_text(body.get("response_url")),
                    trigger_id=trigger_id,
                    user_id=user_id,
                    channel_id=channel_id,
                    message_ts=message_ts,
                ),
                event_id=(
                    "act:"
                    + _digest(trigger_id, element.get("action_ts"), raw_id, element.get("block_id"),
                              user_id, message_ts, element.get("value"))
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
    view = _obj(body.get("view"))
    if view.get("callback_id") != FORM_CALLBACK_ID:
        return None
    raw_meta = view.get("private_metadata") or "{}"
    try:
        meta = json.loads(raw_meta) if isinstance(raw_meta, str) else None
    except json.JSONDecodeError:
        return None
    if not isinstance(meta, dict):
        return None  # we always write an object (form_metadata); anything else is not our modal
    form: dict[str, str] = {}
    values = _obj(_obj(view.get("state")).get("values"))
    for block_values in values.values():
        for key, element in _obj(block_values).items():
            element = _obj(element)
            value = _text(element.get("value"))
            if value is None and element.get("selected_option"):
                value = _text(_obj(element["selected_option"]).get("value"))
            if value is None and _text(element.get("selected_user")):
                value = slack_user(_text(element["selected_user"]) or "")
            form[str(key)] = "" if value is None else value
    user = _obj(body.get("user"))
    user_id = _id_of(body.get("user"))
    channel = _text(meta.get("channel")) or ""
    message_ref = _text(meta.get("message_ref"))
    return Action(
        platform=PLATFORM,
        channel=channel,
        user=slack_user(user_id),
        action_id=_text(meta.get("action_id")) or "",
        value=_text(meta.get("value")) or "",
        message_ref=message_ref,
        user_name=_text(user.get("username")) or _text(user.get("name")),
        form=form,
        reply=_reply_fields(
            response_url=_text(meta.get("response_url")),
            user_id=user_id,
            channel_id=channel.partition(":")[2] or None,
            message_ts=message_ref,
        ),
        event_id="view:" + _digest(view.get("id"), view.get("hash"), body.get("trigger_id")),
    )


def _reply_fields(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}
