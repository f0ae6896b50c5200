"""Record numbers as people type them in chat (#12, ＃１２, 12): pure, shared by handlers and services."""

from __future__ import annotations

import unicodedata

MAX_RECORD_ID = 2**63 - 1  # the largest id a database row can have (64-bit signed integer columns)


def parse_record_number(text: str | None) -> int | None:
    """A record number as people type it ("12", "#12", "＃１２"), or None when it is not one (also when it
    is beyond any stored id: such a number names nothing and must not reach the database)."""
    if text is None:
        return None
    cleaned = unicodedata.normalize("NFKC", str(text)).strip().lstrip("#")
    if not cleaned or not cleaned.isascii() or not cleaned.isdigit():
        return None
    number = int(cleaned)
    return number if number <= MAX_RECORD_ID else None
