"""File import: JSONL and CSV in UTF-8, UTF-8 with BOM or GB18030 (common in Chinese exports)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENCODINGS = ("utf-8-sig", "gb18030")


class FileFormatError(ValueError):
    pass


@dataclass(slots=True)
class FileItem:
    """One line of a file: a parsed record, or the raw text and why it could not be parsed."""

    position: str  # "path:line"
    record: dict[str, Any] | None
    raw: str = ""
    error: str | None = None


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding that read it: UTF-8 (with or without BOM) first, then GB18030."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FileFormatError("not UTF-8 or GB18030 text")


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
        raise FileFormatError(f"cannot read: {exc.strerror or exc}") from None
    text, encoding = decode(data)
    kind = detect_format(path, text)
    items = list(_jsonl_items(path, text) if kind == "jsonl" else _csv_items(path, text))
    return items, encoding


def _jsonl_items(path: Path, text: str) -> Iterator[FileItem]:
    stripped = text.lstrip()
    if stripped.startswith("["):  # a whole JSON array in a .json file
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield FileItem(f"{path}:{exc.lineno}", None, stripped[:2000], f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
            return
        for i, record in enumerate(records, start=1):
            yield FileItem(f"{path}:[{i}]", record if isinstance(record, dict) else None, json.dumps(record, ensure_ascii=False)[:2000],
                           None if isinstance(record, dict) else "record: expected a JSON object")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield FileItem(f"{path}:{number}", None, line, f"invalid JSON at column {exc.colno}: {exc.msg}")
            continue
        if not isinstance(record, dict):
            yield FileItem(f"{path}:{number}", None, line, "record: expected a JSON object")
            continue
        yield FileItem(f"{path}:{number}", record, line)


def _csv_items(path: Path, text: str) -> Iterator[FileItem]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader.fieldnames is None:
        return
    for row in reader:
        line = reader.line_num
        if None in row:  # more cells than headers
            yield FileItem(f"{path}:{line}", None, json.dumps(row, ensure_ascii=False, default=str), "row has more cells than the header")
            continue
        record = {k.strip(): (v if v != "" else None) for k, v in row.items() if k}
        if "text" in record and record["text"] is None:
            record["text"] = ""  # an empty cell is an empty (sticker-only) comment, not a missing one
        yield FileItem(f"{path}:{line}", record, json.dumps(row, ensure_ascii=False))
