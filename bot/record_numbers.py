"""Record numbers as people type them in chat (#12, ＃１２, 12): pure, shared by handlers and services."""

from __future__ import annotations

import unicodedata

MAX_RECORD_ID = 2**63 - 1  # the largest id a database row can have (64-bit signed integer columns)


def record_digits(text: str | None) -> str | None:
    """The digits of a record number as people type it ("12", "#12", "＃１２"), or None when it is none."""
    if text is None:
        return None
    cleaned = unicodedata.normalize("NFKC", str(text)).strip().lstrip("#")
    return cleaned if cleaned and cleaned.isascii() and cleaned.isdigit() else None


def parse_record_number(text: str | None) -> int | None:
    """The record number `text` names, or None when it is not one (also when it is beyond any stored id:
    such a number names nothing and must not reach the database). `record_digits` tells the two apart."""
    digits = record_digits(text)
    if digits is None:
        return None
    number = int(digits)
    return number if number <= MAX_RECORD_ID else None
