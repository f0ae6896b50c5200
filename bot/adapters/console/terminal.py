"""Writing messages into a terminal where a console prompt may be waiting for a line.

Both console forms need it: `serve --console`, whose console port prints what its outbox worker delivers
(alerts, reminders) from another thread, and `crisisbot console`, whose feed thread prints what it reads.
Printed after the prompt without this, a message pushed the prompt off the screen: the person saw the
alert and no prompt under it, and on a terminal, what they had typed so far was lost from view."""

from __future__ import annotations

import re
import shutil
from typing import TextIO

from rich.console import detect_legacy_windows

#: on a terminal: back to the start of the line and clear it (the prompt is written again below the messages)
CLEAR_LINE = "\r\x1b[K"


#: what a terminal would act on instead of showing: C0/C1 controls (ESC starts a sequence that recolours,
#: retitles or clears the screen, or writes the clipboard; CR and backspace overwrite what was printed) and
#: the bidi controls that reverse the rest of a line
_NOT_SHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NOT_SHOWN_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str, *, keep_lines: bool = False) -> str:
    """`text` from outside (a comment, a rejected record) with every control character written as its escape
    (\\x1b, \\n, \\u202e), as repr() writes it: printed raw, a comment or record holding ESC sequences drove
    the terminal of whoever read it. `keep_lines`: line breaks and tabs stay (a message's own lines)."""
    pattern = _NOT_SHOWN_BUT_LINES if keep_lines else _NOT_SHOWN
    return pattern.sub(lambda m: repr(m.group())[1:-1], text)


def typed_so_far() -> str:
    """What the person typed at the prompt so far (readline's buffer), to write again after the prompt."""
    try:
        import readline
    except ImportError:  # pragma: no cover - no readline on this Python
        return ""
    return readline.get_line_buffer()


def above_prompt(body: str, prompt: str | None, *, interactive: bool, typed: str = "") -> str:
    """The text to write so that `body` (messages, each starting with a line break) ends up above a prompt
    still waiting for input, with the prompt written again under it.

    No prompt waiting: `body` as it is. On a terminal (`interactive`: input() with readline) the prompt line
    is cleared first and written again with what was typed so far, which readline keeps editing. Otherwise
    (piped or redirected input) the body follows the prompt and the prompt is written again: no escape codes
    in a file or a pipe."""
    if prompt is None:
        return body
    if interactive:
        return CLEAR_LINE + body.removeprefix("\n") + prompt + typed
    return body + prompt


def terminal_width(stream: TextIO) -> int | None:
    """The columns of the terminal `stream` writes to (COLUMNS when set), or None when it is no terminal (a
    pipe, a file: lines stay whole there, for grep and for tests)."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):  # no isatty, or closed
        return None
    return shutil.get_terminal_size().columns


def shows_styles(stream: TextIO) -> bool:
    """Whether the messages written to `stream` get ANSI styles (bold): on a terminal only (a pipe or a file
    holds the text alone, for grep, tests and logs), and not on a legacy Windows console, which would print
    the codes as they are. The codes themselves are rich's (render.ansi), which also knows TERM=dumb."""
    return terminal_width(stream) is not None and not detect_legacy_windows()
