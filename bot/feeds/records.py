"""The neutral comment record every feed produces (webhook, JSONL/CSV files, pollers), and its checks.

Pure: no I/O. `validate_record` returns either a clean `CommentRecord` or the reasons it was refused.
It is total: whatever a field holds, the answer is a record that can be stored on SQLite and PostgreSQL
or a list of reasons, never an exception (one bad field must not cost the rest of its batch). Counts are
read as Chinese exports write them ("1.2万", "3w", "1,234", full-width digits); an optional count that
is no number at all is left out with a note (`CommentRecord.notes`) instead of costing the comment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

PLATFORMS = ("douyin", "kuaishou", "bilibili", "weibo", "xiaohongshu")
REQUIRED = ("platform", "account_id", "content_id", "comment_id", "text", "created_at")
OPTIONAL_STR = ("parent_id", "author_id", "author_name", "content_title", "content_url")
OPTIONAL_INT = ("author_followers", "like_count", "reply_count")
KNOWN_FIELDS = frozenset(REQUIRED + OPTIONAL_STR + OPTIONAL_INT + ("is_from_account",))
MAX_TEXT_CHARS = 50_000
MAX_ID_CHARS = 128
#: the count columns are BIGINT on both engines (bot/storage/models.py, migration 0001)
MAX_COUNT = 2**63 - 1
#: no supported platform existed before this; an earlier time is a placeholder (epoch 0) or a typo
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: the hard upper bound of epoch seconds (year 3000); `validate_record(now=...)` applies a tighter one
LATEST_EPOCH = 32503680000
#: a comment from later than this after the ingest clock is a bad clock or a bad field, not news. Not a
#: day: an export replayed against a clock set to its first day (a backfill, a test) runs ahead of it.
FUTURE_TOLERANCE = timedelta(days=7)
#: characters no database column can hold: lone UTF-16 surrogates (UTF-8 cannot encode them) and NUL
#: (PostgreSQL text refuses it). They come from broken upstream encoders, never from a person.
UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
REPLACEMENT = "\ufffd"
#: an id as a spreadsheet displays a long number: 7.40100137614299E+18
SPREADSHEET_NUMBER = re.compile(r"\d(\.\d+)?[eE]\+\d+")
#: a count as Chinese exports and apps write it (after NFKC, which turns full-width digits, commas, "＋"
#: and "Ｗ" into ASCII): "1234", "1,234", "3.0", "1.2万", "3w", "1.5k", "2亿", "1.2万+", "-1"
COUNT_TEXT = re.compile(r"(?P<sign>-)?(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
                        r"\s*(?P<unit>万|亿|千|[wWkK])?\s*\+?")
COUNT_UNITS = {"万": 10**4, "w": 10**4, "亿": 10**8, "千": 10**3, "k": 10**3}
#: the optional fields a re-delivery refreshes; absent ones leave the stored value alone
REFRESHED_FIELDS = ("author_followers", "like_count", "reply_count", "content_title", "content_url")
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
    #: which of REFRESHED_FIELDS the record actually carried: only these overwrite a stored comment
    sent: frozenset[str] = field(default_factory=frozenset)
    #: what was left out of the record without refusing it (an unreadable optional count), each as
    #: `problem` words it: ingestion reports them beside the accepted record
    notes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.comment_id)


class RecordError(ValueError):
    """A created_at that cannot be read. `reason` is what ingestion reports (Chinese first with English);
    str() is the English part alone, as `crisisbot backtest --comments` (bot/alerts/replay.py) prints it."""

    def __init__(self, zh: str, en: str, value: str | None = None) -> None:
        self.reason = problem("created_at", zh, en, value)
        super().__init__(f"created_at: {en}" if value is None else f"created_at: {en}: {value}")


def problem(name: str, zh: str, en: str, value: str | None = None) -> str:
    """One reason a record was refused, as every feed reports it (ingest output, dead letters, the
    webhook's `reason`): the field first, then Chinese / English, then the offending value if any, e.g.
    `created_at: 缺少时区偏移 / needs a UTC offset (e.g. ...): '2026-11-22 20:15'`."""
    # a closing full-width bracket already sets the Chinese off: "（例如 …）/ needs", as elsewhere in the bot
    text = f"{name}: {zh}{'/ ' if zh.endswith('）') else ' / '}{en}"
    return text if value is None else f"{text}: {value}"


def parse_time(value: Any) -> datetime:
    """ISO 8601 with a UTC offset, or epoch seconds (number or numeric string), from 2000 to 2999.

    Raises RecordError (a ValueError) and nothing else, whatever `value` is."""
    if isinstance(value, bool):
        raise RecordError("应为带时区偏移的 ISO 8601 时间或纪元秒，不能是布尔值",
                          "expected ISO 8601 with offset or epoch seconds, got a boolean")
    if isinstance(value, int | float):
        # a plain comparison: NaN and infinity fail it, and an int of any size compares (float() would overflow)
        if not (0 <= value < LATEST_EPOCH):
            # Douyin and Kuaishou exports count milliseconds: say so rather than only "out of range"
            millis = LATEST_EPOCH * 1000 > value >= EARLIEST.timestamp() * 1000
            raise RecordError("纪元秒超出范围" + ("（像是毫秒，请发送秒）" if millis else ""),
                              "epoch seconds out of range" + (" (looks like milliseconds: send seconds)" if millis else ""),
                              _short(value))
        return _plausible(datetime.fromtimestamp(value, UTC), value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise RecordError("为空", "empty")
        # ASCII digits only: "²" and "①" pass str.isdigit() but are no number float() can read
        if text.isascii() and text.replace(".", "", 1).isdigit():
            return parse_time(float(text))
        return _parse_iso(text)
    raise RecordError(f"应为带时区偏移的 ISO 8601 时间或纪元秒，不能是 {type(value).__name__}",
                      f"expected ISO 8601 with offset or epoch seconds, got {type(value).__name__}")


def _plausible(moment: datetime, original: Any) -> datetime:
    if moment < EARLIEST:
        raise RecordError(f"早于 {EARLIEST:%Y-%m-%d}，不是真实的评论时间",
                          f"before {EARLIEST:%Y-%m-%d}, not a real comment time", _short(original))
    return moment


def _parse_iso(text: str) -> datetime:
    candidate = text.replace(" ", "T", 1) if "T" not in text and " " in text else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise RecordError("不是 ISO 8601 时间", "not ISO 8601", _short(text)) from None
    if parsed.tzinfo is None:
        raise RecordError("缺少时区偏移（例如 2026-11-22T20:15:00+08:00）",
                          "needs a UTC offset (e.g. 2026-11-22T20:15:00+08:00)", _short(text))
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        raise RecordError("超出范围", "out of range", _short(text)) from None
    if moment.timestamp() >= LATEST_EPOCH:
        raise RecordError("超出范围", "out of range", _short(text))
    return _plausible(moment, text)


def storable_text(value: str) -> str:
    """`value` with the characters no database can hold (lone surrogates, NUL) replaced by U+FFFD."""
    return UNSTORABLE.sub(REPLACEMENT, value)


def storable(value: Any) -> Any:
    """A JSON-like value (a raw record) with every string, keys included, made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def _as_id(name: str, value: Any, problems: list[str], *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(problem(name, "缺少必填字段", "missing required field"))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.append(problem(name, f"应为字符串或整数 id，不能是 {type(value).__name__}",
                                f"expected a string or integer id, got {type(value).__name__}"))
        return None
    text = str(value).strip()
    if len(text) > MAX_ID_CHARS:
        problems.append(problem(name, f"超过 {MAX_ID_CHARS} 个字符", f"longer than {MAX_ID_CHARS} characters"))
        return None
    if UNSTORABLE.search(text):
        # an id is matched exactly on re-delivery: a replaced character could merge two comments
        problems.append(problem(name, "含有 NUL 或孤立代理字符", "contains a NUL or lone surrogate character", _short(text)))
        return None
    if SPREADSHEET_NUMBER.fullmatch(text):
        # Excel shows a 19-digit id as 7.40100137614299E+18 and saves it so: the last digits are gone, and
        # different comments would collapse into one on re-delivery matching
        problems.append(problem(name, "是电子表格改写成科学计数法的数字（末几位已丢失），请把 id 列导出为文本",
                                "a number a spreadsheet rewrote in scientific notation (digits lost); export ids as text",
                                repr(text)))
        return None
    return text


class UnreadableCount(ValueError):
    """Text in a count field that is no number in any format `parse_count` knows ("很多", "--", "1.2.3")."""


def parse_count(value: str) -> Decimal | None:
    """The number a count string says, or None for an empty one; raises UnreadableCount when it is none.

    Reads what Chinese exports write: thousands separators ("1,234"), full-width digits ("１２"), 万/w
    (10^4), 亿 (10^8), 千/k (10^3) in either case ("1.2万", "3W", "1.5k"), a trailing "+" ("1.2万+", 10万+
    shows "at least": the number shown is stored), surrounding spaces. The result may be negative or
    have a fraction ("-1", "3.5"): whether that is a count is the caller's call."""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    match = COUNT_TEXT.fullmatch(text)
    if match is None:
        raise UnreadableCount(value)
    number = Decimal(match["whole"].replace(",", "") + "." + (match["frac"] or "0"))
    unit = match["unit"]
    if unit:
        # "1.23456万" is 12345.6: a display rounded to a unit is read down to a whole count, never up
        number = Decimal(int(number * COUNT_UNITS[unit.lower()]))
    return -number if match["sign"] else number


def _as_count(name: str, value: Any, problems: list[str], notes: list[str]) -> int | None:
    """A count, or None when absent. A count is optional: text that is no number at all ("很多", "--")
    is left out with a note (`notes`) and the comment kept; a number that is no count (negative, a
    fraction, larger than a BIGINT, a boolean, a list) is a problem that refuses the record, as before."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        problems.append(problem(name, "应为非负整数，不能是布尔值", "expected a non-negative integer, got a boolean"))
        return None
    number: int | None
    if isinstance(value, str):
        try:
            read = parse_count(value)
        except UnreadableCount:
            notes.append(problem(name, "无法识别的计数，未保存该计数（按未知处理），评论照常保存",
                                 "unreadable count, not stored (treated as unknown); the comment is stored",
                                 _short(value)))
            return None
        if read is None:  # spaces only: an empty cell
            return None
        number = int(read) if read == read.to_integral_value() else None
    elif isinstance(value, float):
        number = int(value) if value.is_integer() else None  # NaN and infinity are not integers either
    elif isinstance(value, int):
        number = value
    else:  # a list, an object
        number = None
    if number is None or number < 0:
        problems.append(problem(name, "应为非负整数", "expected a non-negative integer", _short(value)))
        return None
    if number > MAX_COUNT:
        problems.append(problem(name, f"超过可保存的最大计数 {MAX_COUNT}", f"larger than the largest storable count {MAX_COUNT}",
                                _short(value)))
        return None
    return number


def _short(value: Any) -> str:
    """The value for a reason: short, and safe for a number with more digits than Python will print."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= 60 else text[:57] + "..."


def _as_bool(value: Any, problems: list[str]) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    problems.append(problem("is_from_account", "应为 true/false（是/否）", "expected true/false", _short(value)))
    return False


def _as_text(name: str, value: Any, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(problem(name, f"应为字符串，不能是 {type(value).__name__}", f"expected a string, got {type(value).__name__}"))
        return None
    return storable_text(value)


def refreshed(earlier: CommentRecord, later: CommentRecord) -> CommentRecord:
    """The same comment delivered twice in one batch, stored as if the two had arrived one after the
    other: the earlier copy, with the refreshed fields the later one carries taken from it. Text, author
    and the rest stay the first copy's, as a re-delivery in a later batch leaves them (a later copy
    without an author name must not erase it)."""
    carried = {name: getattr(later, name) for name in later.sent}
    return replace(earlier, **carried, sent=earlier.sent | later.sent)


def validate_record(raw: Any, *, now: datetime | None = None) -> CommentRecord | list[str]:
    """A clean record, or every reason the raw record was refused (field: reason).

    With `now` (the ingest clock), a created_at more than FUTURE_TOLERANCE after it is refused too."""
    if not isinstance(raw, dict):
        return [problem("record", f"应为 JSON 对象，不能是 {type(raw).__name__}", f"expected a JSON object, got {type(raw).__name__}")]
    problems: list[str] = []
    platform = raw.get("platform")
    if not isinstance(platform, str) or platform.strip().lower() not in PLATFORMS:
        choices = ", ".join(PLATFORMS)
        if platform is None or (isinstance(platform, str) and not platform.strip()):
            problems.append(problem("platform", "缺少必填字段", f"missing required field (one of {choices})"))
        else:
            problems.append(problem("platform", "不是支持的平台", f"not one of {choices}", _short(platform)))
        platform_value = ""
    else:
        platform_value = platform.strip().lower()
    account_id = _as_id("account_id", raw.get("account_id"), problems, required=True)
    content_id = _as_id("content_id", raw.get("content_id"), problems, required=True)
    comment_id = _as_id("comment_id", raw.get("comment_id"), problems, required=True)
    if "text" not in raw:
        problems.append(problem("text", "缺少必填字段（纯表情评论可为空字符串）",
                                "missing required field (may be empty for sticker-only comments)"))
        text = ""
    else:
        text = _as_text("text", raw.get("text"), problems) or ""
        if len(text) > MAX_TEXT_CHARS:
            problems.append(problem("text", f"超过 {MAX_TEXT_CHARS} 个字符", f"longer than {MAX_TEXT_CHARS} characters"))
    created_at = None
    if raw.get("created_at") in (None, ""):
        problems.append(problem("created_at", "缺少必填字段", "missing required field"))
    else:
        try:
            created_at = parse_time(raw["created_at"])
        except RecordError as exc:
            problems.append(exc.reason)
        if created_at is not None and now is not None and created_at > now + FUTURE_TOLERANCE:
            problems.append(problem("created_at", f"比现在晚 {FUTURE_TOLERANCE.days} 天以上（时钟或字段有误）",
                                    f"more than {FUTURE_TOLERANCE.days} days in the future",
                                    f"{created_at:%Y-%m-%d %H:%M} UTC"))
            created_at = None
    parent_id = _as_id("parent_id", raw.get("parent_id"), problems, required=False)
    author_id = _as_id("author_id", raw.get("author_id"), problems, required=False)
    author_name = _as_text("author_name", raw.get("author_name"), problems)
    content_title = _as_text("content_title", raw.get("content_title"), problems)
    content_url = _as_text("content_url", raw.get("content_url"), problems)
    notes: list[str] = []
    followers = _as_count("author_followers", raw.get("author_followers"), problems, notes)
    likes = _as_count("like_count", raw.get("like_count"), problems, notes)
    replies = _as_count("reply_count", raw.get("reply_count"), problems, notes)
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
        # null and "" count as not sent: a feed that lacks a field sends it empty as often as it omits it
        sent=frozenset(name for name, value in (
            ("author_followers", followers), ("like_count", likes), ("reply_count", replies),
            ("content_title", content_title or None), ("content_url", content_url or None)) if value is not None),
        notes=tuple(notes),
    )


def list_wrapper(raw: dict, *, now: datetime | None = None) -> tuple[str, list[str]] | None:
    """(the field holding a list, why the object is no comment) for a JSON object that wraps a list of
    comments (`{"comments": [...]}`, an API response kept as it came) instead of being one; None for any
    other object, a whole comment that also carries a list of its own included. Each feed words its own
    hint from it (the webhook: send an array or NDJSON; a file: one comment a line, or one array)."""
    key = next((k for k, v in raw.items() if isinstance(v, list)), None)
    if key is None:
        return None
    checked = validate_record(raw, now=now)
    return (key, checked) if isinstance(checked, list) else None
