"""Neutral Message -> terminal text. Buttons show the command that presses them."""

from __future__ import annotations

import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from rich.cells import cell_len

from bot.messages import Button, Message

# A severity is a colour, as on Slack (the header's dot, the bar) and Feishu (the header's colour): words
# such as "二级" are the message's own to say. An alert's title says its level already ("🚨 … · 二级·严重",
# shown twice with them), and a reply queue or precheck that needs attention is coloured, not "level 2".
SEVERITY_MARK = {1: "🔴", 2: "🟠", 3: "🟡"}


# Buttons whose action reads a typed reason (Action.form["reason"]; a modal on Slack, a form on the Feishu
# card): on the console the reason follows the value on the /press line. By the verb ("crisis.skip",
# "reply.skip:42", "reply.reject:7"), as the Slack adapter picks its forms.
REASON_VERBS = frozenset({"skip", "reject"})


def takes_reason(action_id: str) -> bool:
    return action_id.rsplit(".", 1)[-1].split(":", 1)[0].lower() in REASON_VERBS


def button_hint(button: Button, lang: str = "zh") -> str:
    """'[label: /press action value]', the command that presses the button; `lang`: the channel's language,
    which the placeholder of a reason speaks."""
    if button.url:
        return f"[{button.label}]({button.url})"
    value = f" {button.value}" if button.value else ""
    reason = (" reason…" if lang == "en" else " 原因…") if takes_reason(button.action_id) else ""
    return f"[{button.label}: /press {button.action_id}{value}{reason}]"


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


def default_files_dir() -> Path:
    """Where the console writes a message's files (a review's Markdown) unless told otherwise: under the
    system's temp folder, so that neither a demo nor a test writes into the folder it was started from."""
    return Path(tempfile.gettempdir()) / "crisisbot-console-files"


def file_path(folder: Path, name: str) -> Path:
    """Where a file named `name` goes in `folder` (its base name only: never a path out of the folder)."""
    return folder / (Path(name or "file").name or "file")


def render_text(message: Message, *, updated: bool = False, saved_files: Sequence[str] | None = None,
                width: int | None = None, lang: str = "zh") -> str:
    """The message as terminal text. `saved_files[i]` is where the port wrote `message.files[i]`; without
    it (a console showing what is queued) the place the console port writes it to. `width`: the terminal's
    columns, to fit the button hints in (`button_lines`); None (a pipe, a file) keeps each row on one line.
    `lang`: the channel's language ('zh' or 'en'), which the console's own notes (updated, image, file)
    speak: English alone in a channel set to English, Chinese first with English otherwise."""
    english = lang == "en"
    lines: list[str] = []
    if updated:
        lines.append("(updated)" if english else "（已更新 / updated）")
    if message.mentions:
        lines.append(" ".join(f"@{m}" for m in message.mentions))
    if message.title:
        mark = SEVERITY_MARK.get(message.severity or 0, "")
        lines.append(f"== {mark + ' ' if mark else ''}{message.title} ==")
    if message.text:
        lines.append(message.text)
    for field in message.fields:
        lines.append(f"  {field_line(field.label, field.value)}")
    for section in message.sections:
        lines.append("  ─ " + section.text.replace("\n", "\n    "))
        for field in section.fields:
            lines.append(f"    {field_line(field.label, field.value)}")
        if section.buttons:
            lines.extend(button_lines(section.buttons, "    ", width, lang))
    for image in message.images:
        size = f"{len(image.png)} bytes" if image.png else image.url or ""
        lines.append(f"  [{'image' if english else '图片 / image'}: {image.title} ({size})]")
    for index, file in enumerate(message.files):
        if saved_files is None:
            where = f" → {file_path(default_files_dir(), file.name)}"
        else:
            where = f" → {saved_files[index]}" if index < len(saved_files) else ""
        word = "file" if english else "文件 / file"
        lines.append(f"  [{word}: {file.name} ({len(file.content)} bytes){where}]")
    if message.buttons:
        lines.extend(button_lines(message.buttons, "  ", width, lang))
    return "\n".join(lines)
