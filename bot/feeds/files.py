"""File import: JSONL and CSV in UTF-8, UTF-8 with BOM or GB18030 (common in Chinese exports).

A damaged line (bytes that are not text, a row the CSV parser refuses, a line that is not JSON) becomes a
rejected item with its line number; the rest of the file is still read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.feeds.records import REQUIRED

ENCODINGS = ("utf-8-sig", "gb18030")
#: what json.loads raises for input it refuses: JSONDecodeError is a ValueError, like "integer with more
#: than 4300 digits"; nesting deeper than the interpreter's stack is a RecursionError
JSON_ERRORS = (ValueError, RecursionError)


class FileFormatError(ValueError):
    pass


@dataclass(slots=True)
class FileItem:
    """One line of a file: a parsed record, or the raw text and why it could not be parsed."""

    position: str  # "path:line"
    record: dict[str, Any] | None
    raw: str = ""
    error: str | None = None


@dataclass(slots=True)
class Decoded:
    text: str
    encoding: str
    #: 1-based numbers of the lines (split on "\n") whose bytes were not text; their text is unreliable
    damaged_lines: frozenset[int] = frozenset()


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding that read it: UTF-8 (with or without BOM) first, then GB18030."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FileFormatError("not UTF-8 or GB18030 text")


def decode_lines(data: bytes) -> Decoded:
    """Like `decode`, but a file that is neither (typically a UTF-8 export cut off mid-character, or one
    with a few corrupted bytes) is read as UTF-8 line by line, and the lines that are not text are marked
    damaged instead of costing the whole file."""
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8-sig")
    except UnicodeDecodeError as exc:
        # an incomplete character at the very end: a UTF-8 file cut off mid-write, which GB18030 would
        # misread as a few wrong characters instead of refusing
        cut_short = exc.reason == "unexpected end of data"
    if not cut_short:
        try:
            # GB18030 has its own byte-order mark (84 31 95 33); it decodes to U+FEFF, which would else
            # glue itself to the first column name and make every row lack "platform"
            return Decoded(data.decode("gb18030").removeprefix("\ufeff"), "gb18030")
        except UnicodeDecodeError:
            pass
    texts, damaged = [], set()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        encoding = "utf-8-sig" if number == 1 else "utf-8"
        try:
            texts.append(raw.decode(encoding))
        except UnicodeDecodeError:
            texts.append(raw.decode(encoding, errors="replace"))
            damaged.add(number)
    return Decoded("\n".join(texts), "utf-8, damaged lines rejected", frozenset(damaged))


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    first = text.lstrip()[:1]
    return "jsonl" if first in ("{", "[") else "csv"


def read_items(path: Path) -> tuple[list[FileItem], str]:
    """All lines of a file as items, with the encoding used. Raises FileFormatError for unreadable files."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(exc.strerror or str(exc)) from None
    decoded = decode_lines(data)
    kind = detect_format(path, decoded.text)
    if kind == "jsonl":
        items = list(_jsonl_items(path, decoded.text, decoded.damaged_lines))
    else:
        items = _csv_items(path, decoded.text, decoded.damaged_lines)
    return items, decoded.encoding


def split_lines(text: str) -> Iterator[tuple[int, str]]:
    """(number, line) split on "\n" only (a trailing "\r" dropped): U+2028, U+2029 and U+0085, which
    str.splitlines() also splits on, are allowed raw inside JSON strings."""
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line[:-1] if line.endswith("\r") else line


def _jsonl_items(path: Path, text: str, damaged: Collection[int] = ()) -> Iterator[FileItem]:
    stripped = text.lstrip()
    if stripped.startswith("[") and not damaged:
        # a whole JSON array (a .json file, possibly pretty-printed over many lines)
        try:
            document = json.loads(stripped)
        except JSON_ERRORS as exc:
            document = None
            if not _first_line_is_json(stripped):  # not line-oriented either: one broken document
                where = f"line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "its start"
                message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or type(exc).__name__
                line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
                yield FileItem(f"{path}:{line}", None, stripped[:2000], f"invalid JSON at {where}: {message}")
                return
        if isinstance(document, list):
            yield from _array_items(f"{path}:", document)
            return
    if stripped.startswith("{") and "\n" in stripped.strip() and not damaged and not _first_line_is_json(stripped):
        # one pretty-printed object (an API response saved to a file): one record, not a rejection per line
        try:
            document = json.loads(stripped)
        except JSON_ERRORS:
            document = None
        if isinstance(document, dict):
            yield FileItem(f"{path}:1", document, stripped[:2000])
            return
    # one JSON value per line; a line holding an array contributes its objects
    for number, line in split_lines(text):
        if not line.strip():
            continue
        position = f"{path}:{number}"
        if number in damaged:
            yield FileItem(position, None, line, f"line {number}: not UTF-8 or GB18030 text (damaged bytes)")
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield FileItem(position, None, line, f"invalid JSON at column {exc.colno}: {exc.msg}")
            continue
        except JSON_ERRORS as exc:
            yield FileItem(position, None, line[:2000], f"invalid JSON: {str(exc) or type(exc).__name__}")
            continue
        if isinstance(record, list):
            yield from _array_items(position, record)
            continue
        if not isinstance(record, dict):
            yield FileItem(position, None, line, "record: expected a JSON object")
            continue
        yield FileItem(position, record, line)


def _first_line_is_json(text: str) -> bool:
    try:
        json.loads(text.split("\n", 1)[0])
    except JSON_ERRORS:
        return False
    return True


def _array_items(prefix: str, records: list[Any]) -> Iterator[FileItem]:
    for i, record in enumerate(records, start=1):
        try:
            raw = json.dumps(record, ensure_ascii=False)[:2000]
        except JSON_ERRORS:
            raw = ""
        if isinstance(record, dict):
            yield FileItem(f"{prefix}[{i}]", record, raw)
        else:
            yield FileItem(f"{prefix}[{i}]", None, raw, "record: expected a JSON object")


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """csv's field size limit is process-wide: raise it for one reader and put it back afterwards."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, limit))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_items(path: Path, text: str, damaged: Collection[int] = ()) -> list[FileItem]:
    """Every row as an item. The field limit is lifted to the file's size for this reader, so an
    over-long cell reaches validation and is rejected there with its reason (like an over-long JSONL
    text) instead of stopping the reader."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    items: list[FileItem] = []
    with _csv_field_limit(len(text) + 1):
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            if reader.fieldnames is None:
                return items
        except csv.Error as exc:
            return [FileItem(f"{path}:1", None, text[:2000], f"unreadable CSV header: {exc}")]
        names = [name.strip() for name in reader.fieldnames if name]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:  # DictReader keeps the last of two same-named columns: an empty one would win silently
            return [FileItem(f"{path}:1", None, ",".join(reader.fieldnames)[:2000],
                             f"CSV header names a column twice: {', '.join(twice)}")]
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            # One clear reason for the file (a header in another language or case, a wrong delimiter)
            # instead of every row rejected as "platform: None is not one of ..."
            return [FileItem(f"{path}:1", None, ",".join(reader.fieldnames)[:2000],
                             f"CSV 表头缺少必需列 / CSV header lacks required column(s): {', '.join(missing)} "
                             f"(表头 header: {', '.join(names)[:300]})")]
        previous_line = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # the reader starts afresh on the next line
                items.append(FileItem(f"{path}:{reader.line_num}", None, "", f"unreadable CSV row: {exc}"))
                previous_line = reader.line_num
                continue
            first_line, line = previous_line + 1, reader.line_num
            previous_line = line
            bad = sorted(n for n in damaged if first_line <= n <= line)
            if bad:
                items.append(FileItem(f"{path}:{line}", None, json.dumps(row, ensure_ascii=False, default=str)[:2000],
                                      f"line {bad[0]}: not UTF-8 or GB18030 text (damaged bytes)"))
                continue
            if None in row:  # more cells than headers
                items.append(FileItem(f"{path}:{line}", None, json.dumps(row, ensure_ascii=False, default=str),
                                      "row has more cells than the header"))
                continue
            record = {k.strip(): (v if v != "" else None) for k, v in row.items() if k}
            if "text" in record and record["text"] is None:
                record["text"] = ""  # an empty cell is an empty (sticker-only) comment, not a missing one
            items.append(FileItem(f"{path}:{line}", record, json.dumps(row, ensure_ascii=False)))
    return items
