"""Neutral `Message` -> Slack Block Kit payloads, and the modals used where a form is kinder.

Pure functions only: no network, no clock. The port (`port.py`) sends what these build.
Block Kit limits respected here (https://docs.slack.dev/reference/block-kit/blocks): header text
150 chars, section text 3000, 10 fields per section, 25 elements per actions block, 50 blocks per
message, button text 75, button value 2000, action_id 255.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from bot.adapters.forms import (  # noqa: F401 - re-exported: the Slack side has always offered these here
    FORM_SPECS,
    FORM_SPECS_BY_PREFIX,
    LABEL_OPTIONS,
    FormSpec,
    action_verb,
    form_spec_for,
    form_word,
    label_options,
)
from bot.messages import Button, Field, Image, Message, Section

HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_PER_SECTION = 10
ELEMENTS_PER_ACTIONS = 25
BLOCKS_MAX = 50
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
FALLBACK_TEXT_MAX = 3000

# Appended to an action_id that repeats inside one actions block (Slack rejects duplicates there);
# `inbound.neutral_action_id` strips it again.
DUPLICATE_SUFFIX = "~~"
# Link buttons still need an action_id; clicks on them are acknowledged and ignored.
LINK_ACTION_PREFIX = "crisisbot.link."
FORM_CALLBACK_ID = "crisisbot.form"

# A severity is a colour (the header's dot and the bar beside the message), as on the console and Feishu:
# words such as "二级 / SEV2" are the message's own to say. An alert's title says its level already (a
# "Severity" line repeated it), and a reply queue or precheck that needs attention is not "level 2".
SEVERITY_STYLE: dict[int, tuple[str, str]] = {
    # severity -> (emoji, colour)
    1: (":red_circle:", "#D93025"),
    2: (":large_orange_circle:", "#F29900"),
    3: (":large_yellow_circle:", "#F9CB28"),
}
DEFAULT_SEVERITY_STYLE = (":white_circle:", "#9AA0A6")

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_STRIKE = re.compile(r"~~(.+?)~~", re.S)
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\s]*)\)")
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_USER_ADDRESS = re.compile(r"(?<![\w/:.])slack:([UW][A-Z0-9]+)\b")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _image_as_text(match: re.Match[str]) -> str:
    """A Markdown image ('![负面占比](crisis-1-negative-share.png)'): mrkdwn has no inline images, and a
    file name is no address Slack can open (it became the broken link '!<crisis-1-…png|…>'). A web address
    stays a link (labelled with the alt text), anything else shows as its alt text."""
    alt, target = match.group(1).strip(), match.group(2)
    if target.startswith(("https://", "http://")):
        return f"[{alt or target}]({target})"
    return alt


def without_images(text: str) -> str:
    """Markdown images in a text as links or alt text (see `_image_as_text`); a line left empty goes."""
    if "![" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        replaced = _IMAGE.sub(_image_as_text, line)
        if replaced.strip() or not line.strip():
            lines.append(replaced)
    return "\n".join(lines)


# Slack user id -> the person's name, or None where unknown (the port looks the names up before rendering).
NameOf = Callable[[str], str | None]


def person(user_id: str, name_of: NameOf | None = None) -> str:
    """How a text naming a Slack user by address ('slack:U123') shows them: their name, escaped so a
    display name stays text ("<!channel>" cannot ping, "<http://a|b>" cannot link), where `name_of` knows
    it; else the mention <@U123>. A mention in a new message notifies the person: in a status card or a
    timeline that named every assignee, every post pinged them all again. Intentional pings are
    `Message.mentions` (`mention_line`)."""
    name = name_of(user_id) if name_of is not None else None
    return escape(name) if name else f"<@{user_id}>"


def to_mrkdwn(text: str, name_of: NameOf | None = None) -> str:
    """Light Markdown (**bold**, ~~strike~~, [text](url)) -> Slack mrkdwn, escaping everything else;
    neutral Slack user addresses ('slack:U123') show as the person (`person`: their name where `name_of`
    knows it, else <@U123>). Markdown images become links or their alt text (`without_images`)."""
    kept: list[str] = []  # finished mrkdwn (links, people), put back after the rest is escaped and converted
    text = text.replace("\x00", "")  # NUL marks the kept pieces below (and means nothing in a Slack message)
    text = without_images(text)

    def keep(rendered: str) -> str:
        kept.append(rendered)
        return f"\x00{len(kept) - 1}\x00"

    def keep_link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        # '|' and '>' would end the link early; Slack documents no escape for them inside <url|text>.
        safe_label = escape(label).replace("|", "¦")
        return keep(f"<{url.replace('>', '%3E').replace('|', '%7C')}|{safe_label}>")

    out = _LINK.sub(keep_link, text)
    # kept, not converted: a name's own "**" or "~~" is no formatting of ours
    out = _USER_ADDRESS.sub(lambda m: keep(person(m.group(1), name_of)), out)
    out = escape(out)
    out = _BOLD.sub(r"*\1*", out)
    out = _STRIKE.sub(r"~\1~", out)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], out)


def to_plain(text: str) -> str:
    """Light Markdown -> plain text (for headers, fallback text and button labels)."""
    out = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", without_images(text))
    out = _BOLD.sub(r"\1", out)
    return _STRIKE.sub(r"\1", out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mention_token(mention: str) -> str | None:
    """'here' -> <!here>, 'all'/'channel' -> <!channel>, 'slack:U1'/'U1' -> <@U1>; other platforms' ids -> None."""
    lowered = mention.strip().lower()
    if lowered in {"here", "@here"}:
        return "<!here>"
    if lowered in {"all", "channel", "@channel", "everyone"}:
        return "<!channel>"
    platform, sep, user_id = mention.partition(":")
    if sep:
        if platform != "slack":
            return None
        mention = user_id
    mention = mention.lstrip("@")
    return f"<@{mention}>" if _SLACK_USER_ID.match(mention) else None


def mention_line(mentions: tuple[str, ...]) -> str:
    tokens = [t for t in (mention_token(m) for m in mentions) if t]
    return " ".join(dict.fromkeys(tokens))


def severity_style(severity: int | None) -> tuple[str, str] | None:
    if severity is None:
        return None
    return SEVERITY_STYLE.get(severity, DEFAULT_SEVERITY_STYLE)


def _button(button: Button, action_id: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(to_plain(button.label), BUTTON_TEXT_MAX) or "…", "emoji": True},
        "action_id": action_id[:ACTION_ID_MAX],
    }
    if button.url:
        element["url"] = button.url
    if button.value:
        element["value"] = button.value[:BUTTON_VALUE_MAX]
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def actions_block(buttons: tuple[Button, ...] | list[Button], block_id: str) -> dict[str, Any]:
    """One actions block; repeated action_ids get a suffix so Slack accepts the block."""
    seen: dict[str, int] = {}
    elements = []
    for index, button in enumerate(buttons[:ELEMENTS_PER_ACTIONS]):
        action_id = button.action_id or f"{LINK_ACTION_PREFIX}{index}"
        if button.url and not action_id.startswith(LINK_ACTION_PREFIX):
            # Slack sends block_actions for link buttons too: the prefix marks the click as nothing to run
            # (an action id such as "feeds:open" was answered "this button is no longer active").
            action_id = LINK_ACTION_PREFIX + action_id
        count = seen.get(action_id, 0)
        seen[action_id] = count + 1
        if count:
            action_id = f"{action_id}{DUPLICATE_SUFFIX}{count}"
        elements.append(_button(button, action_id))
    return {"type": "actions", "block_id": block_id, "elements": elements}


def _field_blocks(fields: tuple[Field, ...], name_of: NameOf | None = None) -> list[dict[str, Any]]:
    blocks = []
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        chunk = fields[start : start + FIELDS_PER_SECTION]
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {
                        "type": "mrkdwn",
                        "text": _clip(f"*{escape(f.label)}*\n{to_mrkdwn(f.value, name_of)}", FIELD_TEXT_MAX),
                    }
                    for f in chunk
                ],
            }
        )
    return blocks


def _text_blocks(text: str, name_of: NameOf | None = None) -> list[dict[str, Any]]:
    """A long text becomes several sections (3000 chars each), split at line ends where possible."""
    rendered = to_mrkdwn(text, name_of)
    blocks = []
    while rendered:
        if len(rendered) <= SECTION_TEXT_MAX:
            chunk, rendered = rendered, ""
        else:
            cut = rendered.rfind("\n", 0, SECTION_TEXT_MAX)
            cut = cut if cut > 0 else SECTION_TEXT_MAX
            chunk, rendered = rendered[:cut], rendered[cut:].lstrip("\n")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    return blocks


def _image_block(image: Image) -> dict[str, Any] | None:
    if not image.url:
        return None  # PNG bytes are uploaded with files_upload_v2 by the port
    block: dict[str, Any] = {"type": "image", "image_url": image.url, "alt_text": image.alt or image.title or "image"}
    if image.title:
        block["title"] = {"type": "plain_text", "text": _clip(image.title, 2000)}
    return block


def _section_blocks(section: Section, index: int, name_of: NameOf | None = None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if section.text:
        blocks.extend(_text_blocks(section.text, name_of))
    blocks.extend(_field_blocks(section.fields, name_of))
    if section.buttons:
        blocks.append(actions_block(section.buttons, f"crisisbot.section.{index}"))
    return blocks


def fallback_text(message: Message, name_of: NameOf | None = None) -> str:
    """The notification / accessibility text Slack shows where blocks cannot be shown; people named by
    address show as in the blocks (`person`)."""
    style = severity_style(message.severity)
    head = to_plain(message.title or "")
    if style and head:
        head = f"{style[0]} {head}"
    content = [head] if head else []
    if message.text:
        content.append(to_plain(message.text))
    # the sections too (a queue's items, a precheck's findings): where blocks are not shown (notifications,
    # screen readers, search, older clients) a heading alone said nothing of what the message holds
    content.extend(to_plain(s.text) for s in message.sections if s.text)
    # Slack parses this text too: a quoted comment's "<!channel>" or "<https://x|官方通知>" must stay text
    # (escaped, as in the blocks); then 'slack:U123' (how handlers name people) shows as the person
    body = _USER_ADDRESS.sub(lambda m: person(m.group(1), name_of), escape("\n".join(content)))
    text = "\n".join(p for p in (mention_line(message.mentions), body) if p).strip() or "crisisbot"
    return _clip(text, FALLBACK_TEXT_MAX)


def render_blocks(message: Message, name_of: NameOf | None = None, lang: str = "zh") -> list[dict[str, Any]]:
    """The Block Kit blocks for a message (header, mentions, body, fields, sections, images, actions);
    `name_of` names the people the texts name by address (`person`), never those in `message.mentions`."""
    blocks: list[dict[str, Any]] = []
    style = severity_style(message.severity)
    if message.title:
        title = to_plain(message.title)
        if style:
            title = f"{style[0]} {title}"
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": _clip(title, HEADER_MAX), "emoji": True}})
    mentions = mention_line(message.mentions)
    if mentions:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mentions}})
    if message.text:
        blocks.extend(_text_blocks(message.text, name_of))
    blocks.extend(_field_blocks(message.fields, name_of))
    for index, section in enumerate(message.sections):
        if blocks and blocks[-1]["type"] != "header":
            blocks.append({"type": "divider"})
        blocks.extend(_section_blocks(section, index, name_of))
    for image in message.images:
        block = _image_block(image)
        if block:
            blocks.append(block)
    if message.buttons:
        blocks.append(actions_block(message.buttons, "crisisbot.actions"))
    if len(blocks) > BLOCKS_MAX:
        # Keep the final actions row (the message's own buttons) and say what was cut.
        tail = [blocks[-1]] if message.buttons else []
        keep = BLOCKS_MAX - 1 - len(tail)
        omitted = len(blocks) - len(tail) - keep
        # the note speaks the channel's language: English alone in a channel set to English
        cut = (f"…{omitted} more blocks not shown" if lang == "en"
               else f"…另有 {omitted} 块内容未显示 / {omitted} more blocks not shown")
        note = {"type": "context", "elements": [{"type": "mrkdwn", "text": cut}]}
        blocks = [*blocks[:keep], note, *tail]
    return blocks


def render_message(message: Message, name_of: NameOf | None = None, lang: str = "zh") -> dict[str, Any]:
    """Arguments for chat.postMessage / chat.update / response_url: text, blocks and severity colour.

    `name_of` (Slack user id -> name or None) shows the people the texts name by address by name instead
    of as mentions (`person`); pure as long as it is (the port passes the names it looked up already).
    `lang`: the channel's language ('zh' or 'en'), which the adapter's own note on a cut message speaks."""
    payload: dict[str, Any] = {"text": fallback_text(message, name_of),
                               "blocks": render_blocks(message, name_of, lang)}
    style = severity_style(message.severity)
    if style:
        # Block Kit has no colour; a thin legacy attachment gives the message its coloured bar (it needs some
        # content to show: the dot, not a level's words)
        payload["attachments"] = [
            {"color": style[1], "fallback": style[0], "blocks": [
                {"type": "context", "elements": [{"type": "mrkdwn", "text": style[0]}]}
            ]}
        ]
    if message.mentions:
        payload["link_names"] = True
    return payload


def block_kit_problems(payload: dict[str, Any]) -> list[str]:
    """What slack_sdk's Block Kit models reject in a rendered payload (empty when valid); for tests/debugging."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    problems = []
    blocks = list(payload.get("blocks") or [])
    for attachment in payload.get("attachments") or []:
        blocks.extend(attachment.get("blocks") or [])
    if len(payload.get("blocks") or []) > BLOCKS_MAX:
        problems.append(f"{len(payload['blocks'])} blocks > {BLOCKS_MAX}")
    block_ids = [b["block_id"] for b in blocks if b.get("block_id")]
    if len(block_ids) != len(set(block_ids)):
        problems.append("block_id repeated")
    for index, block in enumerate(blocks):
        elements = (block.get("elements") or []) if block.get("type") == "actions" else []
        action_ids = [e.get("action_id") for e in elements]
        if len(action_ids) != len(set(action_ids)):
            problems.append(f"block {index}: action_id repeated")
        if any(len(e.get("value", "")) > BUTTON_VALUE_MAX for e in elements):
            problems.append(f"block {index}: button value over {BUTTON_VALUE_MAX} characters")
        try:
            parsed = Block.parse(block)
            if parsed is None:
                problems.append(f"block {index}: unknown type {block.get('type')!r}")
                continue
            parsed.validate_json()
        except (SlackObjectFormationError, KeyError, TypeError, ValueError) as error:
            problems.append(f"block {index} ({block.get('type')}): {error}")
    return problems


# ---------------------------------------------------------------------------------------------
# Modals ("forms"): a button that needs input (bot/adapters/forms.py form_spec_for) opens a modal first;
# the neutral Action then carries the typed values in `form` under the spec's key.


def build_modal(spec: FormSpec, private_metadata: dict[str, Any]) -> dict[str, Any]:
    """A modal view with one input; `private_metadata` carries the button's context to the submission."""
    if spec.kind == "label":
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": spec.key,
            "options": [
                {"text": {"type": "plain_text", "text": text}, "value": value}
                for value, text in label_options(spec.lang)
            ],
        }
    elif spec.kind == "user":
        element = {"type": "users_select", "action_id": spec.key}
    else:
        element = {"type": "plain_text_input", "action_id": spec.key, "multiline": True}
        if spec.placeholder:
            element["placeholder"] = {"type": "plain_text", "text": spec.placeholder}
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "title": {"type": "plain_text", "text": _clip(spec.title, 24)},
        "submit": {"type": "plain_text", "text": form_word("submit", spec.lang)},
        "close": {"type": "plain_text", "text": form_word("close", spec.lang)},
        "private_metadata": json.dumps(private_metadata, ensure_ascii=False)[:3000],
        "blocks": [
            {
                "type": "input",
                "block_id": spec.key,
                "optional": spec.optional,
                "label": {"type": "plain_text", "text": spec.label},
                "element": element,
            }
        ],
    }
