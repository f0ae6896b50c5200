"""Neutral `Message` -> Feishu card (JSON 2.0). Pure: no SDK, no I/O.

Every message becomes an interactive card (even plain text) so that it can later be updated in place
with `im.v1.message.patch`; cards carry `config.update_multi: true` because patch requires it.
Buttons call back with the value {"action_id": ..., "value": ...}; the inbound side turns that into a
neutral `Action`. A button that needs input first (bot/adapters/forms.py: the form Slack opens as a modal, such
as the reason for 跳过 or the person for 指派) becomes the submit button of a small form on the card, the field
beside it; its callback carries the input in `form_value`, which the inbound side hands over as the Action's
`form` under the same keys as Slack's modal (events.form_of).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bot.adapters.forms import FormSpec, form_spec_for, label_options
from bot.messages import Button, Field, Image, Message

# Header colour per severity (1 = most severe). Feishu header templates: red, orange, yellow, blue, ...
SEVERITY_TEMPLATES = {1: "red", 2: "orange", 3: "yellow"}
DEFAULT_TEMPLATE = "blue"
BUTTON_TYPES = {"default": "default", "primary": "primary_filled", "danger": "danger_filled"}
PLATFORM = "feishu"
MAX_MARKDOWN_CHARS = 6000  # one markdown element at most; a longer text goes into several, split at line ends
# Feishu refuses a card request body over 30 KB (the card JSON, escaped again as the `content` string): the
# texts are cut to keep the whole card under this, leaving room for the request's other fields.
CARD_BYTE_BUDGET = 28 * 1024
LOUD_MENTIONS = {"all", "here", "channel", "everyone"}
# A neutral user address in a handler's text ("👤 verify → feishu:ou_x"): shown by name where known.
QUOTE_LINE = re.compile(r"^&#62; ", re.MULTILINE)
USER_ADDRESS = re.compile(r"(?<![\w/:.])feishu:(ou_[A-Za-z0-9_-]+)")
MARKDOWN_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\s]*)\)")


def escape_markdown(text: str, name_of: Callable[[str], str | None] | None = None) -> str:
    """Escape the characters a JSON 2.0 markdown element would read as HTML-like tags (<at>, <font>).

    With `name_of` (open_id -> name or None), the neutral addresses of Feishu users ('feishu:ou_x') show
    as the people's names. Not as <at> mentions: those would notify everyone a text merely names (the
    role members listed in a "not allowed" answer, for one). "&" is left alone: escaping it would break
    query strings in [links](https://...?a=1&b=2).
    """
    text = MARKDOWN_IMAGE.sub(_image_as_text, text)
    escaped = text.replace("<", "&#60;").replace(">", "&#62;")
    # "> " opening a line is a quote (handlers quote comments that way), no tag: keep it a quote.
    escaped = QUOTE_LINE.sub("> ", escaped)
    if name_of is None:
        return escaped
    return USER_ADDRESS.sub(lambda m: escape_markdown(name_of(m.group(1)) or m.group(0)), escaped)


def _image_as_text(match: re.Match[str]) -> str:
    """A Markdown image in a text ('![负面占比](crisis-1-negative-share.png)'): a card's markdown would take
    its target for an uploaded image key, which a text never holds. A web address becomes a link, anything
    else (a file name of a chart sent beside the text) its alt text."""
    alt, target = match.group(1).strip(), match.group(2)
    if target.startswith(("https://", "http://")):
        return f"[{alt or target}]({target})"
    return alt


def left_out_note(lines: int, lang: str = "zh") -> str:
    """The line that ends a text cut to fit the card: how much is not shown (English alone in a chat set to
    English, Chinese first with English otherwise)."""
    if lang == "en":
        return f"…({lines} more lines not shown)"
    return f"…（还有 {lines} 行未显示 / {lines} more lines not shown）"


def _sent_bytes(text: str) -> int:
    """Bytes of `text` in the request that sends the card: JSON-escaped in the card, and the card JSON-escaped
    again as the request's `content` string (a quote costs 4 bytes, a line end 3)."""
    return len(json.dumps(json.dumps(text, ensure_ascii=False)[1:-1], ensure_ascii=False).encode()) - 2


def _line_bytes(line: str) -> int:
    """What one line of a markdown element adds to the request: its text and the line end after it."""
    return _sent_bytes(line) + 3


def _lines_within(lines: Sequence[str], budget: int) -> int:
    """How many of the leading `lines` fit in `budget` bytes of card JSON."""
    used = 0
    for count, line in enumerate(lines):
        used += _line_bytes(line)
        if used > budget:
            return count
    return len(lines)


def _cut_line(line: str, limit: int) -> str:
    """A single line longer than a markdown element may be: cut, not inside an escape ("&#60;")."""
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _markdown_chunks(lines: Sequence[str], limit: int = MAX_MARKDOWN_CHARS) -> list[str]:
    """The (escaped) lines as markdown element texts of at most `limit` characters each, split at line ends,
    so that no element ends inside a **bold** or a [link](...) that a line holds."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = _cut_line(line, limit)  # already cut by render_card; kept for other callers' lines
        if current and size + 1 + len(line) > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
        size += len(line) + (1 if current else 0)
        current.append(line)
    if current:
        chunks.append("\n".join(current))
    return chunks


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


# Names of form elements must be unique within a card (Feishu refuses the submission otherwise): each form
# gets a number, and the submit button's callback value maps the field's name back to the neutral key.
FORM_FIELDS_KEY = "form"
# Feishu's input takes at most 1000 characters (max_length 1..1000).
INPUT_MAX_CHARS = 1000


def bilingual(text: str) -> tuple[str, str]:
    """'跳过原因 / Reason' -> ('跳过原因', 'Reason'): the specs' texts are 'zh / en' (one part: both)."""
    zh, sep, en = text.partition("/")
    return (zh.strip(), en.strip()) if sep else (text.strip(), text.strip())


def needs_form(button: Button, lang: str = "zh") -> FormSpec | None:
    """The form a button stands in on the card (the one Slack shows as a modal), None for a plain button;
    worded for a chat of language `lang`."""
    return None if button.url else form_spec_for(button.action_id, lang)


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


def form_field(spec: FormSpec, name: str) -> dict[str, Any]:
    """The card element that asks for what `spec` asks (Slack's modal input, on the card): a text input, a
    single-choice select of the labels, or a person picker over the chat's members (select_person without
    options offers everyone in the chat). `required` makes Feishu itself refuse an empty submission."""
    zh, en = bilingual(spec.label)
    field: dict[str, Any] = {"name": name, "required": not spec.optional, "width": "fill"}
    if spec.kind == "label":
        field.update(tag="select_static",
                     options=[{"text": _plain(text), "value": value} for value, text in label_options(spec.lang)])
    elif spec.kind == "user":
        field.update(tag="select_person")
    else:
        field.update(tag="input", max_length=INPUT_MAX_CHARS)
        if not spec.optional:  # optional labels already say so ("（可选）/ (optional)")
            zh, en = f"{zh}（必填）", f"{en} (required)"
    # a chat set to English reads its English alone
    field["placeholder"] = _plain(en if spec.lang == "en" else f"{zh} / {en}" if zh != en else zh)
    return field


def inline_form_element(button: Button, spec: FormSpec, number: int) -> dict[str, Any]:
    """A form (only allowed at the card's root) holding the spec's field and `button` as its submit button.

    The submit button keeps the usual callback value (action_id, value) plus {field name: neutral key}, so
    the callback says which typed or chosen value is which (events.form_of)."""
    name = f"{spec.key}_{number}"
    submit = button_element(button)
    submit["name"] = f"submit_{number}"
    submit["form_action_type"] = "submit"
    submit["behaviors"][0]["value"][FORM_FIELDS_KEY] = {name: spec.key}
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
                     "elements": [form_field(spec, name)]},
                    {"tag": "column", "width": "auto", "vertical_align": "center", "elements": [submit]},
                ],
            }
        ],
    }


def _button_elements(buttons: Sequence[Button], form_numbers: Iterator[int], *, forms: bool = True,
                     lang: str = "zh") -> list[dict[str, Any]]:
    """The row of plain buttons, then one form per button that needs input first (needs_form), in order;
    without `forms`, every button plain (its handler then answers with the command to type)."""
    if not forms:
        return [_buttons_row(buttons)]
    plain = [b for b in buttons if needs_form(b) is None]
    elements = [_buttons_row(plain)] if plain else []
    for button in buttons:
        spec = needs_form(button, lang)
        if spec is not None:
            elements.append(inline_form_element(button, spec, next(form_numbers)))
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
    forms: bool = True,
    lang: str = "zh",
) -> dict[str, Any]:
    """The card JSON (2.0) for a message. `image_keys[i]` is the uploaded key of `message.images[i]`;
    `name_of` names the Feishu users the texts mention by address (see escape_markdown). A card whose
    forms would take it past Feishu's component limit is drawn with plain buttons instead (`forms`).

    A long text becomes several markdown elements, split at line ends. The whole card stays within
    CARD_BYTE_BUDGET (its JSON as sent, escaping included): the longest text loses lines from its end,
    which a last line counts (left_out_note), until the card fits. `lang`: the chat's language, which its
    forms and that note speak."""
    texts = [message.text, *(section.text for section in message.sections)]
    # a single line longer than a markdown element may hold is cut first (split() never breaks a line)
    escaped = [[_cut_line(line, MAX_MARKDOWN_CHARS) for line in escape_markdown(text, name_of).split("\n")]
               if text else [] for text in texts]
    kept = [len(lines) for lines in escaped]
    card = _card(message, escaped, kept, image_keys=image_keys, allow_at_all=allow_at_all, name_of=name_of,
                 forms=forms, lang=lang)
    for _ in range(2 * len(texts) + 2):
        over = card_bytes(card) - CARD_BYTE_BUDGET
        if over <= 0:
            break
        # the text taking the most room gives up its last lines, with room for the note saying so
        longest = max(range(len(texts)), key=lambda i: sum(map(_line_bytes, escaped[i][: kept[i]])))
        shown = escaped[longest][: kept[longest]]
        if not shown:
            break  # no text left to cut: the card is as small as its texts can make it
        note = left_out_note(len(escaped[longest]), lang)
        allowed = sum(map(_line_bytes, shown)) - over - _line_bytes(note)
        kept[longest] = min(_lines_within(shown, allowed), len(shown) - 1)
        card = _card(message, escaped, kept, image_keys=image_keys, allow_at_all=allow_at_all, name_of=name_of,
                     forms=forms, lang=lang)
    if forms and component_count(card["body"]) > MAX_COMPONENTS:
        # a reply-queue card of 10 items with a form per 跳过/已回复/驳回 is ~210 components: Feishu refuses
        # the whole card, so its buttons go plain (the command to type) rather than the card going missing
        return render_card(message, image_keys=image_keys, allow_at_all=allow_at_all, name_of=name_of, forms=False,
                           lang=lang)
    return card


def _text_elements(lines: Sequence[str], kept: int, prefix: str = "",
                   lang: str = "zh") -> list[dict[str, Any]]:
    """The markdown elements of one (escaped) text showing its first `kept` lines, the note when cut."""
    shown = list(lines[:kept])
    if kept < len(lines):
        shown.append(left_out_note(len(lines) - kept, lang))
    if prefix:
        shown = [f"{prefix} {shown[0]}".strip(), *shown[1:]] if shown else [prefix]
    return [_markdown(chunk) for chunk in _markdown_chunks(shown) if chunk.strip()]


def _card(
    message: Message,
    escaped: Sequence[Sequence[str]],
    kept: Sequence[int],
    *,
    image_keys: Sequence[str | None],
    allow_at_all: bool,
    name_of: Callable[[str], str | None] | None,
    forms: bool,
    lang: str = "zh",
) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    form_numbers = itertools.count(1)
    mentions = mention_markup(message.mentions, severity=message.severity, allow_at_all=allow_at_all)
    elements.extend(_text_elements(escaped[0], kept[0], mentions, lang))
    elements.extend(_fields_grid(message.fields, name_of))
    for number, section in enumerate(message.sections, start=1):
        if elements:
            elements.append({"tag": "hr"})
        elements.extend(_text_elements(escaped[number], kept[number], lang=lang))
        elements.extend(_fields_grid(section.fields, name_of))
        if section.buttons:
            elements.extend(_button_elements(section.buttons, form_numbers, forms=forms, lang=lang))
    for i, image in enumerate(message.images):
        element = _image_element(image, image_keys[i] if i < len(image_keys) else None)
        if element is not None:
            elements.append(element)
    if message.buttons:
        elements.extend(_button_elements(message.buttons, form_numbers, forms=forms, lang=lang))
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


def card_bytes(card: dict[str, Any]) -> int:
    """The card's size in the request that sends it: its compact JSON (card_content), as a JSON string, in
    UTF-8 (Feishu's 30 KB limit is on the request body)."""
    return len(json.dumps(json.dumps(card, ensure_ascii=False, separators=(",", ":")), ensure_ascii=False).encode())


#: Feishu's cap on the components of one JSON 2.0 card (containers and their children all count)
MAX_COMPONENTS = 200


def component_count(node: Any) -> int:
    """The components (objects with a `tag`, text objects excluded) under `node`, itself included."""
    if isinstance(node, list):
        return sum(component_count(item) for item in node)
    if not isinstance(node, dict):
        return 0
    own = 1 if "tag" in node and node["tag"] not in ("plain_text", "lark_md") else 0
    return own + sum(component_count(value) for value in node.values() if isinstance(value, list | dict))


def card_content(message: Message, **kwargs: Any) -> str:
    """The card as the JSON string that im.v1.message.create/reply/patch take as `content`."""
    return json.dumps(render_card(message, **kwargs), ensure_ascii=False, separators=(",", ":"))


def text_content(text: str) -> str:
    """A plain text message's content (used for nothing but diagnostics; replies are cards)."""
    return json.dumps({"text": text}, ensure_ascii=False)


def image_message_content(image_key: str) -> str:
    return json.dumps({"image_key": image_key})


def file_message_content(file_key: str) -> str:
    """A `file` message's content: the key im.v1.file.create returned."""
    return json.dumps({"file_key": file_key})
