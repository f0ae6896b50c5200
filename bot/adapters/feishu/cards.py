"""Neutral `Message` -> Feishu card (JSON 2.0). Pure: no SDK, no I/O.

Every message becomes an interactive card (even plain text) so that it can later be updated in place
with `im.v1.message.patch`; cards carry `config.update_multi: true` because patch requires it.
Buttons call back with the value {"action_id": ..., "value": ...}; the inbound side turns that into a
neutral `Action`. A button that needs typed text first (INLINE_FORMS: the playbook's 跳过 needs a reason)
becomes the submit button of a small form on the card, an input beside it; its callback carries the typed
text in `form_value`, which the inbound side hands over as the Action's `form` (as Slack's modal does).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.messages import Button, Field, Image, Message

# Header colour per severity (1 = most severe). Feishu header templates: red, orange, yellow, blue, ...
SEVERITY_TEMPLATES = {1: "red", 2: "orange", 3: "yellow"}
DEFAULT_TEMPLATE = "blue"
BUTTON_TYPES = {"default": "default", "primary": "primary_filled", "danger": "danger_filled"}
PLATFORM = "feishu"
MAX_MARKDOWN_CHARS = 6000  # keeps a card well under Feishu's 30 KB content limit
LOUD_MENTIONS = {"all", "here", "channel", "everyone"}
# A neutral user address in a handler's text ("👤 verify → feishu:ou_x"): shown by name where known.
QUOTE_LINE = re.compile(r"^&#62; ", re.MULTILINE)
USER_ADDRESS = re.compile(r"(?<![\w/:.])feishu:(ou_[A-Za-z0-9_-]+)")


def escape_markdown(text: str, name_of: Callable[[str], str | None] | None = None) -> str:
    """Escape the characters a JSON 2.0 markdown element would read as HTML-like tags (<at>, <font>).

    With `name_of` (open_id -> name or None), the neutral addresses of Feishu users ('feishu:ou_x') show
    as the people's names. Not as <at> mentions: those would notify everyone a text merely names (the
    role members listed in a "not allowed" answer, for one). "&" is left alone: escaping it would break
    query strings in [links](https://...?a=1&b=2).
    """
    escaped = text.replace("<", "&#60;").replace(">", "&#62;")
    # "> " opening a line is a quote (handlers quote comments that way), no tag: keep it a quote.
    escaped = QUOTE_LINE.sub("> ", escaped)
    if name_of is None:
        return escaped
    return USER_ADDRESS.sub(lambda m: escape_markdown(name_of(m.group(1)) or m.group(0)), escaped)


def _truncate(text: str, limit: int = MAX_MARKDOWN_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header_template(severity: int | None) -> str:
    """The header colour for a severity: 1 red, 2 orange, 3 yellow, otherwise blue."""
    if severity is None:
        return DEFAULT_TEMPLATE
    return SEVERITY_TEMPLATES.get(severity, DEFAULT_TEMPLATE)


def feishu_user_id(mention: str) -> str | None:
    """'feishu:ou_x' or 'ou_x' -> 'ou_x'; ids of other platforms ('slack:U1') -> None."""
    platform, sep, user_id = mention.partition(":")
    if not sep:
        return mention or None
    return user_id if platform == PLATFORM and user_id else None


def mention_markup(mentions: Sequence[str], *, severity: int | None, allow_at_all: bool = True) -> str:
    """Card markdown for the mentions: <at id=all></at> and <at id=ou_...></at>.

    "all" is loud on purpose; "here" (Slack's softer @here) has no Feishu twin, so it becomes @所有人
    only for severity-1 alerts. Groups may restrict @所有人 to owners/admins: `allow_at_all=False` drops it.
    """
    parts: list[str] = []
    seen: set[str] = set()
    for mention in mentions:
        key = mention.strip()
        if key.lower() in LOUD_MENTIONS:
            wants_all = key.lower() == "all" or key.lower() == "everyone" or severity == 1
            if wants_all and allow_at_all and "all" not in seen:
                parts.append("<at id=all></at>")
                seen.add("all")
            continue
        user_id = feishu_user_id(key)
        if user_id and user_id not in seen and _safe_id(user_id):
            parts.append(f"<at id={user_id}></at>")
            seen.add(user_id)
    return " ".join(parts)


def _safe_id(user_id: str) -> bool:
    return all(ch.isalnum() or ch in "_-" for ch in user_id)


@dataclass(frozen=True, slots=True)
class InlineForm:
    """Text a button's action needs, typed on the card itself: Feishu has no modal to open from a button, but
    a JSON 2.0 card can hold a `form` with an `input` and a submit button."""

    key: str  # the key in Action.form (what the handler reads)
    placeholder: str
    empty_toast: dict[str, str]  # answered (and nothing done) when the text is blank
    max_length: int = 500


# By exact action id: "skip" alone is not enough (a reply-queue skip takes an optional reason, and is kept a
# plain button). Keys match what the handlers read (bot/handlers/crisis.py handle_action: form["reason"]).
INLINE_FORMS: dict[str, InlineForm] = {
    "crisis.skip": InlineForm(
        "reason",
        "跳过原因（必填）/ Reason for skipping (required)",
        {"zh_cn": "请先填写跳过原因，步骤未跳过", "en_us": "Type a reason first: the step was not skipped"},
    ),
}
# Names of form elements must be unique within a card (Feishu refuses the submission otherwise): each form
# gets a number, and the submit button's callback value maps the input's name back to the neutral key.
FORM_FIELDS_KEY = "form"


def _plain(text: str) -> dict[str, str]:
    return {"tag": "plain_text", "content": text}


def _markdown(text: str) -> dict[str, Any]:
    return {"tag": "markdown", "content": text}


def button_element(button: Button) -> dict[str, Any]:
    """A JSON 2.0 button: a link button opens its URL, any other calls back with action_id and value."""
    element: dict[str, Any] = {
        "tag": "button",
        "text": _plain(button.label),
        "type": BUTTON_TYPES.get(button.style, "default"),
    }
    if button.url:
        element["behaviors"] = [{"type": "open_url", "default_url": button.url}]
    else:
        element["behaviors"] = [{"type": "callback", "value": {"action_id": button.action_id, "value": button.value}}]
    return element


def _buttons_row(buttons: Sequence[Button]) -> dict[str, Any]:
    return {
        "tag": "column_set",
        "flex_mode": "flow",  # wrap onto the next line on narrow (mobile) screens
        "horizontal_spacing": "small",
        "columns": [
            {"tag": "column", "width": "auto", "elements": [button_element(b)]} for b in buttons
        ],
    }


def inline_form_element(button: Button, spec: InlineForm, number: int) -> dict[str, Any]:
    """A form (only allowed at the card's root) holding an input and `button` as its submit button.

    The input is `required`, so Feishu itself stops an empty submission; text of blanks still arrives and
    is answered by the inbound side. The submit button keeps the usual callback value (action_id, value)
    plus {input name: neutral key}, so the callback says which typed text is which."""
    input_name = f"{spec.key}_{number}"
    submit = button_element(button)
    submit["name"] = f"submit_{number}"
    submit["form_action_type"] = "submit"
    submit["behaviors"][0]["value"][FORM_FIELDS_KEY] = {input_name: spec.key}
    text_input = {
        "tag": "input",
        "name": input_name,
        "required": True,
        "max_length": spec.max_length,
        "width": "fill",
        "placeholder": _plain(spec.placeholder),
    }
    return {
        "tag": "form",
        "name": f"form_{number}",
        "elements": [
            {
                "tag": "column_set",
                "flex_mode": "none",
                "horizontal_spacing": "small",
                "columns": [
                    {"tag": "column", "width": "weighted", "weight": 1, "vertical_align": "center",
                     "elements": [text_input]},
                    {"tag": "column", "width": "auto", "vertical_align": "center", "elements": [submit]},
                ],
            }
        ],
    }


def _button_elements(buttons: Sequence[Button], form_numbers: Iterator[int]) -> list[dict[str, Any]]:
    """The row of plain buttons, then one inline form per button that needs typed text (INLINE_FORMS)."""
    plain = [b for b in buttons if b.url or b.action_id not in INLINE_FORMS]
    elements = [_buttons_row(plain)] if plain else []
    for button in buttons:
        if not button.url and button.action_id in INLINE_FORMS:
            elements.append(inline_form_element(button, INLINE_FORMS[button.action_id], next(form_numbers)))
    return elements


def _fields_grid(fields: Sequence[Field], name_of: Callable[[str], str | None] | None = None) -> list[dict[str, Any]]:
    """Two label/value pairs per row, as Feishu shows them side by side."""
    rows = []
    for i in range(0, len(fields), 2):
        pair = fields[i : i + 2]
        rows.append(
            {
                "tag": "column_set",
                "flex_mode": "bisect",
                "columns": [
                    {
                        "tag": "column",
                        "width": "weighted",
                        "weight": 1,
                        "elements": [_markdown(f"**{escape_markdown(f.label)}**\n{escape_markdown(f.value, name_of)}")],
                    }
                    for f in pair
                ],
            }
        )
    return rows


def _image_element(image: Image, image_key: str | None) -> dict[str, Any] | None:
    if image_key:
        element: dict[str, Any] = {"tag": "img", "img_key": image_key, "alt": _plain(image.alt or image.title)}
        if image.title:
            element["title"] = _plain(image.title)
        return element
    if image.url:
        return _markdown(f"[{escape_markdown(image.title or image.url)}]({image.url})")
    return None


def render_card(
    message: Message,
    *,
    image_keys: Sequence[str | None] = (),
    allow_at_all: bool = True,
    name_of: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """The card JSON (2.0) for a message. `image_keys[i]` is the uploaded key of `message.images[i]`;
    `name_of` names the Feishu users the texts mention by address (see escape_markdown)."""
    elements: list[dict[str, Any]] = []
    form_numbers = itertools.count(1)
    mentions = mention_markup(message.mentions, severity=message.severity, allow_at_all=allow_at_all)
    body_text = escape_markdown(_truncate(message.text), name_of) if message.text else ""
    if mentions:
        body_text = f"{mentions} {body_text}".strip()
    if body_text:
        elements.append(_markdown(body_text))
    elements.extend(_fields_grid(message.fields, name_of))
    for section in message.sections:
        if elements:
            elements.append({"tag": "hr"})
        if section.text:
            elements.append(_markdown(escape_markdown(_truncate(section.text), name_of)))
        elements.extend(_fields_grid(section.fields, name_of))
        if section.buttons:
            elements.extend(_button_elements(section.buttons, form_numbers))
    for i, image in enumerate(message.images):
        element = _image_element(image, image_keys[i] if i < len(image_keys) else None)
        if element is not None:
            elements.append(element)
    if message.buttons:
        elements.extend(_button_elements(message.buttons, form_numbers))
    if not elements:
        elements.append(_markdown(" "))  # Feishu refuses a card with an empty body

    card: dict[str, Any] = {
        "schema": "2.0",
        "config": {"update_multi": True, "width_mode": "fill"},
        "body": {"elements": elements},
    }
    if message.title:
        card["header"] = {"title": _plain(message.title), "template": header_template(message.severity)}
    return card


def card_content(message: Message, **kwargs: Any) -> str:
    """The card as the JSON string that im.v1.message.create/reply/patch take as `content`."""
    return json.dumps(render_card(message, **kwargs), ensure_ascii=False, separators=(",", ":"))


def text_content(text: str) -> str:
    """A plain text message's content (used for nothing but diagnostics; replies are cards)."""
    return json.dumps({"text": text}, ensure_ascii=False)


def image_message_content(image_key: str) -> str:
    return json.dumps({"image_key": image_key})
