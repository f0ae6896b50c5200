"""Chat actions that teach the model: the "纠正情感 / Fix sentiment" button on alert and queue items.

Pure (no I/O): alert and reply-queue messages put `review_button(...)` next to the comments they quote;
pressing it answers, only to the person who pressed, with each comment and one `sentiment.fix` button per
other label. The handlers live in bot/handlers/sentiment.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.messages import Button

FIX_ACTION = "sentiment.fix"  # value "platform:COMMENT_ID label"
REVIEW_ACTION = "sentiment.review"  # value "platform:COMMENT_ID[,platform:COMMENT_ID ...]"
# Slack caps a button value at 2,000 characters; a handful of comment references is all a message shows.
MAX_REFS = 10


def comment_ref(platform: str, comment_id: str) -> str:
    return f"{platform}:{comment_id}"


def review_button(refs: Iterable[str], *, lang: str = "zh") -> Button | None:
    """The button that opens the relabelling choices for these comments (None when there are none): named in
    both languages, or in English alone for a channel set to English (`lang="en"`)."""
    unique = list(dict.fromkeys(r for r in refs if r and ":" in r))[:MAX_REFS]
    if not unique:
        return None
    label = "Fix sentiment" if lang == "en" else "纠正情感 Fix sentiment"
    return Button(label, REVIEW_ACTION, ",".join(unique))


def parse_refs(value: str | None) -> list[str]:
    """Comment references of a review button's value, in order, without duplicates or blanks."""
    parts = (p.strip() for p in (value or "").split(","))
    return list(dict.fromkeys(p for p in parts if p))[:MAX_REFS]
