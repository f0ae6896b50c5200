"""Neutral Message -> terminal text. Buttons show the command that presses them.

A message's light Markdown (bot/messages.py `Message`) is shown as a terminal user reads it, not as typed:
on a terminal **bold** in bold; in a pipe or a file (tests, logs, `serve --console < file`) as plain text
with no escape codes at all. A link reads "text (url)" (the address alone when it is its own text) and
inline code keeps its backticks (a command to copy stays marked, and a backtick of a comment shows as
written), in colour on a terminal.

The dialect is the one the Slack adapter converts (bold, links, images; `code`), read by a small scanner of
its own rather than a CommonMark parser (markdown-it-py, which rich brings): CommonMark reads far more than
our messages mean (a comment's "5*3*2" or "__init__" as emphasis, a backslash as an escape) and, by its
flanking rules, no bold in "**“面霜过敏”**事件", so Chinese texts showed their asterisks. Text from outside
(comments, names) is made inert where it enters a message (`messages.inert`: full-width brackets and
asterisks); the console shows it as written again, after reading the markup, so it never becomes any."""

from __future__ import annotations

import io
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from bot.adapters.console.terminal import shown
from bot.messages import Button, Message

# A severity is a colour, as on Slack (the header's dot, the bar) and Feishu (the header's colour): words
# such as "二级" are the message's own to say. An alert's title says its level already ("🚨 … · 二级·严重",
# shown twice with them), and a reply queue or precheck that needs attention is coloured, not "level 2".
SEVERITY_MARK = {1: "🔴", 2: "🟠", 3: "🟡"}


# Buttons whose action reads a typed reason (Action.form["reason"]; a modal on Slack, a form on the Feishu
# card): on the console the reason follows the value on the /press line. By the verb ("crisis.skip",
# "reply.skip:42", "reply.reject:7"), as the Slack adapter picks its forms.
REASON_VERBS = frozenset({"skip", "reject"})


# How the light Markdown looks on a terminal (rich style names). "~~strike~~" is not read: no message of the
# bot's uses it and `inert` leaves a comment's "~~" as typed, which must show so.
BOLD = "bold"
CODE = "cyan"
LINK = "underline"

# Leftmost first: inline code (whose inside is not read further), an image, a link, bold. The link and
# image forms are the Slack adapter's (label without "]" or a line break, address without ")" or a space).
_MARKUP = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|!\[(?P<alt>[^\]\n]*)\]\((?P<target>[^)\s]*)\)"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)"
    r"|\*\*(?P<bold>.+?)\*\*",
    re.S,
)
# What `messages.inert` made of outside text's markup ("［官方客服］(", "＊＊", "＿＿"), as it was typed.
_INERT_LINK = re.compile(r"［([^］\n]*)］\(")

#: a run of text and its rich style ("" for none)
Span = tuple[str, str]


def as_written(text: str) -> str:
    """Outside text as its writer typed it again: `messages.inert` turned its link openings and "**"/"__"
    into full-width look-alikes so that no chat renders them. Only ever applied to text already read as
    plain (never before the markup is read): what it gives back is shown, not interpreted."""
    if "［" in text:
        text = _INERT_LINK.sub(r"[\1](", text)
    return text.replace("＊＊", "**").replace("＿＿", "__")


def _styled(style: str, more: str) -> str:
    """`style` and `more` (bold inside a bold title stays "bold", so its neighbours are one run)."""
    return style if more in style.split() else f"{style} {more}".strip()


def markdown_spans(text: str, style: str = "") -> list[Span]:
    """Light Markdown -> runs of text with their styles: **bold** styled `BOLD` (its markers gone), a link
    "text (url)" or the address alone when it is its own text, an image its alt text (a web address as a
    link: a file name is nothing a terminal can open), `code` with its backticks."""
    spans: list[Span] = []
    at = 0
    for match in _MARKUP.finditer(text):
        if match.start() > at:
            spans.append((as_written(text[at:match.start()]), style))
        at = match.end()
        if match["code"] is not None:
            spans.append((as_written(match["code"]), _styled(style, CODE)))
        elif match["bold"] is not None:
            spans.extend(markdown_spans(match["bold"], _styled(style, BOLD)))
        elif match["url"] is not None:
            spans.extend(_link(markdown_spans(match["label"], style), match["url"], style))
        else:
            alt, target = match["alt"].strip(), match["target"]
            if target.startswith(("https://", "http://")):
                spans.extend(_link(markdown_spans(alt, style), target, style))
            elif alt:
                spans.extend(markdown_spans(alt, style))
    if at < len(text):
        spans.append((as_written(text[at:]), style))
    return spans


def _link(label: list[Span], url: str, style: str) -> list[Span]:
    """'text (url)'; the address alone where it is its own text (or there is none)."""
    address = (url, _styled(style, LINK))
    if plain(label).strip() in ("", url):
        return [address]
    return [*label, (" (", style), address, (")", style)]


def plain(spans: Sequence[Span]) -> str:
    return "".join(text for text, _style in spans)


def plain_markdown(text: str) -> str:
    """Light Markdown as plain text (no markers, links as 'text (url)'): what a pipe shows."""
    return plain(markdown_spans(text))


def _merged(spans: Sequence[Span]) -> list[Span]:
    """Neighbouring runs of one style as one (rich writes a style's codes around each run)."""
    merged: list[Span] = []
    for text, style in spans:
        if merged and merged[-1][1] == style:
            merged[-1] = (merged[-1][0] + text, style)
        elif text:
            merged.append((text, style))
    return merged


def ansi(lines: Sequence[Sequence[Span]]) -> str:
    """The lines with their styles as ANSI codes, written by rich as for a terminal: it leaves out what the
    terminal cannot show (TERM=dumb: no codes; NO_COLOR: no colours) and closes each style at a line's end."""
    text = Text("\n").join(Text.assemble(*_merged(line)) for line in lines)
    console = Console(file=io.StringIO(), force_terminal=True, soft_wrap=True, highlight=False, markup=False,
                      emoji=False, legacy_windows=False)
    console.print(text, end="")
    return console.file.getvalue()


def takes_reason(action_id: str) -> bool:
    return action_id.rsplit(".", 1)[-1].split(":", 1)[0].lower() in REASON_VERBS


def button_hint(button: Button, lang: str = "zh") -> str:
    """'[label: /press action value]', the command that presses the button; `lang`: the channel's language,
    which the placeholder of a reason speaks. A link button: '[label: url]', the address to open."""
    label = plain_markdown(button.label)
    if button.url:
        return f"[{label}: {button.url}]" if label.strip() and label != button.url else f"[{button.url}]"
    value = f" {button.value}" if button.value else ""
    reason = (" reason…" if lang == "en" else " 原因…") if takes_reason(button.action_id) else ""
    return f"[{label}: /press {button.action_id}{value}{reason}]"


def button_lines(buttons: Sequence[Button], indent: str, width: int | None = None,
                 lang: str = "zh") -> list[str]:
    """The buttons' hints after `indent`: on one line, or with a terminal `width`, as many as fit on each
    line, never one cut in two. A reply-queue item's six buttons made a ~330-column line; the terminal
    wrapped it anywhere ("/press reply.sk" | "ip:2 2"), and the command to type was hard to read."""
    hints = [button_hint(b, lang) for b in buttons]
    if width is None:
        return [indent + " ".join(hints)]
    lines: list[str] = []
    current = ""
    for hint in hints:
        joined = f"{current} {hint}" if current else hint
        if current and cell_len(indent + joined) > width:  # display columns: a Chinese character takes two
            lines.append(indent + current)
            current = hint
        else:
            current = joined
    lines.append(indent + current)
    return lines


def field_line(label: str, value: str) -> str:
    """'状态：已确认' after a Chinese label (a half-width colon inside Chinese reads as a typo), 'Status: open'
    after an English one."""
    wide = bool(label) and unicodedata.east_asian_width(label[-1]) in ("W", "F")
    return f"{label}：{value}" if wide else f"{label}: {value}"


def field_spans(indent: str, label: str, value: str) -> list[Span]:
    """A field's line (`field_line`), its label and value read as light Markdown."""
    label_spans = markdown_spans(label)
    head = field_line(plain(label_spans), "")
    return [(indent, ""), *label_spans, (head[len(plain(label_spans)):], ""), *markdown_spans(value)]


def default_files_dir() -> Path:
    """Where the console writes a message's files (a review's Markdown) unless told otherwise: under the
    system's temp folder, so that neither a demo nor a test writes into the folder it was started from."""
    return Path(tempfile.gettempdir()) / "crisisbot-console-files"


def file_path(folder: Path, name: str) -> Path:
    """Where a file named `name` goes in `folder` (its base name only: never a path out of the folder)."""
    return folder / (Path(name or "file").name or "file")


def render_text(message: Message, *, updated: bool = False, saved_files: Sequence[str] | None = None,
                width: int | None = None, lang: str = "zh", styled: bool = False) -> str:
    """The message as terminal text. `saved_files[i]` is where the port wrote `message.files[i]`; without
    it (a console showing what is queued) the place the console port writes it to. `width`: the terminal's
    columns, to fit the button hints in (`button_lines`); None (a pipe, a file) keeps each row on one line.
    `lang`: the channel's language ('zh' or 'en'), which the console's own notes (updated, image, file)
    speak: English alone in a channel set to English, Chinese first with English otherwise.
    `styled`: for a terminal that shows ANSI styles (bold, the title in bold); otherwise plain text (the
    Markdown read all the same: `markdown_spans`)."""
    english = lang == "en"
    lines: list[list[Span]] = []

    def add(text: str) -> None:
        lines.append([(text, "")])

    if updated:
        add("(updated)" if english else "（已更新 / updated）")
    if message.mentions:
        add(" ".join(f"@{m}" for m in message.mentions))
    if message.title:
        mark = SEVERITY_MARK.get(message.severity or 0, "")
        lines.append([(f"== {mark + ' ' if mark else ''}", BOLD), *markdown_spans(message.title, BOLD),
                      (" ==", BOLD)])
    if message.text:
        lines.append(markdown_spans(message.text))
    for field in message.fields:
        lines.append(field_spans("  ", field.label, field.value))
    for section in message.sections:
        lines.append([("  ─ ", ""), *markdown_spans(section.text.replace("\n", "\n    "))])
        for field in section.fields:
            lines.append(field_spans("    ", field.label, field.value))
        if section.buttons:
            for line in button_lines(section.buttons, "    ", width, lang):
                add(line)
    for image in message.images:
        size = f"{len(image.png)} bytes" if image.png else image.url or ""
        add(f"  [{'image' if english else '图片 / image'}: {plain_markdown(image.title)} ({size})]")
    for index, file in enumerate(message.files):
        if saved_files is None:
            where = f" → {file_path(default_files_dir(), file.name)}"
        else:
            where = f" → {saved_files[index]}" if index < len(saved_files) else ""
        word = "file" if english else "文件 / file"
        add(f"  [{word}: {file.name} ({len(file.content)} bytes){where}]")
    if message.buttons:
        for line in button_lines(message.buttons, "  ", width, lang):
            add(line)
    # a comment's ESC sequences, CRs or bidi controls would drive the reader's terminal: shown as escapes
    lines = [[(shown(text, keep_lines=True), style) for text, style in line] for line in lines]
    if styled:
        return ansi(lines)
    return "\n".join(plain(line) for line in lines)
