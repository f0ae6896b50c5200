"""The neutral comment record every feed produces (webhook, JSONL/CSV files, pollers), and its checks.

Pure: no I/O. `validate_record` returns either a clean `CommentRecord` or the reasons it was refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PLATFORMS = ("douyin", "kuaishou", "bilibili", "weibo", "xiaohongshu")
REQUIRED = ("platform", "account_id", "content_id", "comment_id", "text", "created_at")
OPTIONAL_STR = ("parent_id", "author_id", "author_name", "content_title", "content_url")
OPTIONAL_INT = ("author_followers", "like_count", "reply_count")
KNOWN_FIELDS = frozenset(REQUIRED + OPTIONAL_STR + OPTIONAL_INT + ("is_from_account",))
MAX_TEXT_CHARS = 50_000
MAX_ID_CHARS = 128
TRUE_WORDS = {"true", "1", "yes", "y", "t", "是"}
FALSE_WORDS = {"false", "0", "no", "n", "f", "否", ""}


@dataclass(slots=True)
class CommentRecord:
    platform: str
    account_id: str
    content_id: str
    comment_id: str
    text: str
    created_at: datetime
    parent_id: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    like_count: int = 0
    reply_count: int = 0
    content_title: str | None = None
    content_url: str | None = None
    is_from_account: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.comment_id)


class RecordError(ValueError):
    pass


def parse_time(value: Any) -> datetime:
    """ISO 8601 with a UTC offset, or epoch seconds (number or numeric string)."""
    if isinstance(value, bool):
        raise RecordError("created_at: expected ISO 8601 with offset or epoch seconds, got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not (0 <= value < 32503680000):
            raise RecordError(f"created_at: epoch seconds out of range: {value!r}")
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise RecordError("created_at: empty")
        try:
            return parse_time(float(text)) if text.replace(".", "", 1).isdigit() else _parse_iso(text)
        except RecordError:
            raise
    raise RecordError(f"created_at: expected ISO 8601 with offset or epoch seconds, got {type(value).__name__}")


def _parse_iso(text: str) -> datetime:
    candidate = text.replace(" ", "T", 1) if "T" not in text and " " in text else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise RecordError(f"created_at: not ISO 8601: {text!r}") from None
    if parsed.tzinfo is None:
        raise RecordError(f"created_at: needs a UTC offset (e.g. 2026-11-22T20:15:00+08:00): {text!r}")
    return parsed.astimezone(UTC)


def _as_id(name: str, value: Any, problems: list[str], *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{name}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.append(f"{name}: expected a string or integer id, got {type(value).__name__}")
        return None
    text = str(value).strip()
    if len(text) > MAX_ID_CHARS:
        problems.append(f"{name}: longer than {MAX_ID_CHARS} characters")
        return None
    return text


def _as_count(name: str, value: Any, problems: list[str]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        problems.append(f"{name}: expected a non-negative integer, got a boolean")
        return None
    try:
        number = int(value) if not isinstance(value, float) else (int(value) if value.is_integer() else None)
    except (TypeError, ValueError):
        number = None
    if number is None or number < 0:
        problems.append(f"{name}: expected a non-negative integer, got {value!r}")
        return None
    return number


def _as_bool(value: Any, problems: list[str]) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    problems.append(f"is_from_account: expected true/false, got {value!r}")
    return False


def _as_text(name: str, value: Any, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name}: expected a string, got {type(value).__name__}")
        return None
    return value


def validate_record(raw: Any) -> CommentRecord | list[str]:
    """A clean record, or every reason the raw record was refused (field: reason)."""
    if not isinstance(raw, dict):
        return [f"record: expected a JSON object, got {type(raw).__name__}"]
    problems: list[str] = []
    platform = raw.get("platform")
    if not isinstance(platform, str) or platform.strip().lower() not in PLATFORMS:
        problems.append(f"platform: {platform!r} is not one of {', '.join(PLATFORMS)}")
        platform_value = ""
    else:
        platform_value = platform.strip().lower()
    account_id = _as_id("account_id", raw.get("account_id"), problems, required=True)
    content_id = _as_id("content_id", raw.get("content_id"), problems, required=True)
    comment_id = _as_id("comment_id", raw.get("comment_id"), problems, required=True)
    if "text" not in raw:
        problems.append("text: required (may be empty for sticker-only comments)")
        text = ""
    else:
        text = _as_text("text", raw.get("text"), problems) or ""
        if len(text) > MAX_TEXT_CHARS:
            problems.append(f"text: longer than {MAX_TEXT_CHARS} characters")
    created_at = None
    if raw.get("created_at") in (None, ""):
        problems.append("created_at: required")
    else:
        try:
            created_at = parse_time(raw["created_at"])
        except RecordError as exc:
            problems.append(str(exc))
    parent_id = _as_id("parent_id", raw.get("parent_id"), problems, required=False)
    author_id = _as_id("author_id", raw.get("author_id"), problems, required=False)
    author_name = _as_text("author_name", raw.get("author_name"), problems)
    content_title = _as_text("content_title", raw.get("content_title"), problems)
    content_url = _as_text("content_url", raw.get("content_url"), problems)
    followers = _as_count("author_followers", raw.get("author_followers"), problems)
    likes = _as_count("like_count", raw.get("like_count"), problems)
    replies = _as_count("reply_count", raw.get("reply_count"), problems)
    from_account = _as_bool(raw.get("is_from_account"), problems)
    if problems:
        return problems
    assert account_id and content_id and comment_id and created_at
    return CommentRecord(
        platform=platform_value,
        account_id=account_id,
        content_id=content_id,
        comment_id=comment_id,
        text=text,
        created_at=created_at,
        parent_id=parent_id,
        author_id=author_id,
        author_name=author_name or None,
        author_followers=followers,
        like_count=likes or 0,
        reply_count=replies or 0,
        content_title=content_title or None,
        content_url=content_url or None,
        is_from_account=from_account,
    )
