"""File import: JSONL and CSV in UTF-8, UTF-8 with BOM or GB18030 (common in Chinese exports).

A damaged line (bytes that are not text, a row the CSV parser refuses, a CSV line whose quote is never
closed, a line that is not JSON) becomes a rejected item with its line number (a record's first line);
the rest of the file is still read. A file none of whose rows can be read (missing, a folder, a CSV
header without the required columns) raises FileFormatError instead: the user gave the wrong file, and
nothing of it is stored. Reasons are Chinese first with English.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.feeds.records import PLATFORMS, REQUIRED, problem

ENCODINGS = ("utf-8-sig", "gb18030")
#: what json.loads raises for input it refuses: JSONDecodeError is a ValueError, like "integer with more
#: than 4300 digits"; nesting deeper than the interpreter's stack is a RecursionError
JSON_ERRORS = (ValueError, RecursionError)


def json_error_text(exc: BaseException) -> str:
    """Why json.loads refused a text, for a person (Chinese first): Python's own words for the two that are
    not JSONDecodeError point at interpreter internals ("use sys.set_int_max_str_digits()")."""
    if isinstance(exc, RecursionError):
        return "嵌套层数过多 / nested too deeply"
    text = str(exc)
    if "integer string conversion" in text:
        return "数字位数过多（超过 4300 位）/ a number with too many digits (over 4,300)"
    return text or type(exc).__name__


class FileFormatError(ValueError):
    """The file as a whole cannot be imported; the message says why, Chinese first with English."""


NOT_TEXT = "不是 UTF-8 或 GB18030 文本 / not UTF-8 or GB18030 text"
NOT_AN_OBJECT = problem("record", "应为 JSON 对象", "expected a JSON object")


def _cannot_open(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "文件不存在 / no such file"
    if isinstance(exc, IsADirectoryError):
        return "这是目录，请给出其中的文件 / this is a folder: give the files in it"
    if isinstance(exc, PermissionError):
        return "没有读取权限 / permission denied"
    return f"无法打开 / cannot open: {exc.strerror or exc}"


def why_not_text(data: bytes) -> str | None:
    """Why these bytes are not a file the importer reads, for the files people pick by mistake (a
    spreadsheet itself instead of its CSV export, Excel's "Unicode text", a binary), or None. Without this
    they were read as text and refused for a header of garbage and NUL characters."""
    zh_save = "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”"
    en_save = 'save it from Excel as "CSV UTF-8 (comma delimited)"'
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # .xlsx (a zip), .xls (OLE)
        return f"这是 Excel 工作簿或压缩包，不是 CSV：{zh_save} / this is an Excel workbook or a zip file, not a CSV: {en_save}"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-32's marks start the same way
        return (f"这是 UTF-16 或 UTF-32 文本（如 Excel 的“Unicode 文本”）：{zh_save} / "
                f"this is UTF-16 or UTF-32 text (such as Excel's \"Unicode text\"): {en_save}")
    head = data[:65536]
    if head and head.count(0) * 10 > len(head):  # text has no NUL bytes; binaries and UTF-16 are full of them
        return "不是文本文件（含有大量 NUL 字节）/ not a text file (it is full of NUL bytes)"
    return None


def _damaged(number: int) -> str:
    return f"第 {number} 行不是 UTF-8 或 GB18030 文本（字节损坏）/ line {number}: not UTF-8 or GB18030 text (damaged bytes)"


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
    raise FileFormatError(NOT_TEXT)


def decode_lines(data: bytes) -> Decoded:
    """Like `decode`, but a file that is neither (typically a UTF-8 export cut off mid-character, or one
    with a few corrupted bytes) is read as UTF-8 line by line, and the lines that are not text are marked
    damaged instead of costing the whole file."""
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8 BOM" if data.startswith(codecs.BOM_UTF8) else "utf-8")
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
    return Decoded("\n".join(texts), "utf-8，损坏的行已拒收 / utf-8, damaged lines rejected", frozenset(damaged))


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
        raise FileFormatError(_cannot_open(exc)) from None
    if (why := why_not_text(data)) is not None:
        raise FileFormatError(why)
    decoded = decode_lines(data)
    if not decoded.text.strip():  # empty, or blank lines only: no records, and no header to complain about
        return [], decoded.encoding
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
                message = exc.msg if isinstance(exc, json.JSONDecodeError) else json_error_text(exc)
                line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
                zh_where = f"第 {exc.lineno} 行第 {exc.colno} 列" if isinstance(exc, json.JSONDecodeError) else "开头"
                yield FileItem(f"{path}:{line}", None, stripped[:2000],
                               f"JSON 格式错误（{zh_where}）/ invalid JSON at {where}: {message}")
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
            yield FileItem(position, None, line, _damaged(number))
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield FileItem(position, None, line, f"JSON 格式错误（第 {exc.colno} 列）/ invalid JSON at column {exc.colno}: {exc.msg}")
            continue
        except JSON_ERRORS as exc:
            yield FileItem(position, None, line[:2000], f"JSON 格式错误 / invalid JSON: {json_error_text(exc)}")
            continue
        if isinstance(record, list):
            yield from _array_items(position, record)
            continue
        if not isinstance(record, dict):
            yield FileItem(position, None, line, NOT_AN_OBJECT)
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
            yield FileItem(f"{prefix}[{i}]", None, raw, NOT_AN_OBJECT)


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """csv's field size limit is process-wide: raise it for one reader and put it back afterwards."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, limit))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


#: separators a spreadsheet may have used instead of the comma (or of the tab, for .tsv)
SEPARATORS = {",": ("逗号", "commas"), "\t": ("制表符", "tabs"), ";": ("分号", "semicolons"),
              "|": ("竖线", "bars"), "，": ("全角逗号", "full-width commas")}


def _missing_columns(names: list[str], missing: list[str], delimiter: str) -> str:
    """Why a CSV header cannot be read: the missing columns, the columns found, and the likely cause."""
    found = ", ".join("".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name) for name in names)
    message = (f"CSV 表头缺少必需列 / CSV header lacks required column(s): {', '.join(missing)}; "
               f"找到的列 / columns found: {found[:300] or '-'}")
    if len(names) == 1:
        other = next((sep for sep in SEPARATORS if sep != delimiter and sep in names[0]), None)
        if other is not None:
            (want_zh, want_en), (got_zh, got_en) = SEPARATORS[delimiter], SEPARATORS[other]
            message += f"（列之间应以{want_zh}分隔，这个文件用的是{got_zh} / columns must be separated by {want_en}, " \
                       f"this file uses {got_en}）"
    cased = [name for name in names if name.lower() in missing]
    if cased:
        message += f"（列名须为小写 / column names are lower case: {', '.join(f'{n} → {n.lower()}' for n in cased)}）"
    return message


#: why a line whose quoted cell never closes is rejected on its own (the lines after it are read as rows)
UNCLOSED_QUOTE = ('引号未闭合（以 " 开头的单元格没有结尾的 "）', 'unclosed quote (a cell that starts with " has no closing ")')
#: appended after a record's text to see whether its last quoted cell is still open at the end of the file
_SENTINEL = "\uffff"


def _line_alone(line: str, delimiter: str) -> tuple[list[str], bool]:
    """The cells of one physical line read on its own, and whether they are complete: False when a quoted
    cell (then the last one) is still open at the line's end, its line break taken into the cell."""
    try:
        cells = next(csv.reader((line if line.endswith(("\n", "\r")) else line + "\n",), delimiter=delimiter), [])
    except csv.Error:
        return [], False
    return cells, not (cells and cells[-1].endswith(("\n", "\r")))


def _open_at_end(lines: list[str], start: int, delimiter: str) -> bool:
    """Whether the record from lines[start] to the end of the file ends inside a quoted cell (the
    non-strict reader hands such a record over at the end of the file as if it were complete)."""
    body = "".join(lines[start:])
    if not body.endswith(("\n", "\r")):
        body += "\n"
    try:
        first = next(csv.reader(io.StringIO(body + _SENTINEL, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return False
    # closed: the sentinel is a record of its own after the line break; open: it is part of the last cell
    return bool(first) and first[-1].endswith(_SENTINEL)


def _unclosed_quote(lines: list[str], start: int, end: int, cells: list[str], width: int, platform_at: int,
                    delimiter: str) -> bool:
    """Whether the record read from lines[start:end] is an unclosed quote on its first line rather than a
    cell that legitimately holds line breaks: a line it swallowed reads on its own as the start of a row of
    this file (a supported platform in the platform column, and the header's number of cells, or fewer when
    its last cell opens a quote; any complete line of that width when the record itself came out with the
    wrong number of cells), or the quote is still open at the end of the file. Only called for records that
    span lines or end the file: the rows of a clean file cost nothing here."""
    wrong_width = len(cells) != width
    for index in range(start + 1, end):
        row, complete = _line_alone(lines[index], delimiter)
        if complete and len(row) == width and wrong_width:
            return True
        # a row of its own, complete, or one whose last cell opens a quote (a multi-line cell, or another
        # unclosed quote, which would otherwise close this one and hide both)
        if (len(row) == width if complete else platform_at < len(row) - 1 and len(row) <= width) \
                and row[platform_at].strip().lower() in PLATFORMS:
            return True
    return end == len(lines) and _open_at_end(lines, start, delimiter)


def _unclosed_row(line: str, fieldnames: list[str], delimiter: str) -> tuple[str, str]:
    """The column of a line's unclosed quote, and the line as the raw text of its rejection: its cells by
    column, like every other rejected CSV row (JSON), the stray quote kept as a character of its cell and
    the cells after it split at the delimiters, so that the row's own author_id is in its own field (what
    `crisisbot purge --author` looks for in dead letters)."""
    line = line.rstrip("\r\n")
    try:
        cells = next(csv.reader((line,), delimiter=delimiter), [""])
        column = fieldnames[len(cells) - 1].strip() if len(cells) <= len(fieldnames) else ""
        # the open cell held the rest of the line after its quote: read that rest as cells of their own
        rest = next(csv.reader((cells[-1],), delimiter=delimiter), [""])
    except csv.Error:
        return "", line[:2000]
    cells[-1:] = ['"' + rest[0], *rest[1:]]
    row: dict[str | None, Any] = dict(zip(fieldnames, cells, strict=False))
    if len(cells) > len(fieldnames):
        row[None] = cells[len(fieldnames):]
    return column, json.dumps(row, ensure_ascii=False)[:2000]


def _csv_items(path: Path, text: str, damaged: Collection[int] = ()) -> list[FileItem]:
    """Every row as an item, at the number of its FIRST line. The field limit is lifted to the file's size
    for this reader, so an over-long cell reaches validation and is rejected there with its reason (like
    an over-long JSONL text) instead of stopping the reader. A header none of whose rows could be read (a
    required column missing or named twice) raises FileFormatError: the whole file is refused, not each row.

    A quoted cell may hold line breaks (a multi-line comment). A quote that is never closed would make the
    reader swallow every row after it into one cell, up to the next quote or the end of the file: such a
    line is rejected alone ("unclosed quote") and reading goes on at the next line (`_unclosed_quote`)."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    items: list[FileItem] = []
    # the lines as the reader splits them (newline="": "\n", "\r\n" or "\r"), to restart after a bad quote
    lines = io.StringIO(text, newline="").readlines()
    with _csv_field_limit(len(text) + 1):
        reader = csv.reader(iter(lines), delimiter=delimiter)
        try:
            fieldnames = next(reader)
        except StopIteration:
            return items
        except csv.Error as exc:
            raise FileFormatError(f"无法读取 CSV 表头 / unreadable CSV header: {exc}") from None
        names = [name.strip() for name in fieldnames if name]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:  # a dict keeps the last of two same-named columns: an empty one would win silently
            raise FileFormatError(f"CSV 表头中有重复的列 / CSV header names a column twice: {', '.join(twice)}")
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            # One clear reason for the file (a header in another language or case, a wrong delimiter)
            # instead of every row rejected as "platform: missing required field"
            raise FileFormatError(_missing_columns(names, missing, delimiter))
        width = len(fieldnames)
        platform_at = next(i for i, name in enumerate(fieldnames) if name and name.strip() == "platform")
        offset = 0  # lines[offset] is the first line `reader` read
        start = reader.line_num  # lines[start] is the first line of the next record
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # the reader starts afresh on the next line
                items.append(FileItem(f"{path}:{start + 1}", None, "", f"无法解析的 CSV 行 / unreadable CSV row: {exc}"))
                start = offset + reader.line_num
                continue
            end = offset + reader.line_num  # the record is lines[start:end]
            first = start + 1  # line numbers count from 1
            if not cells:  # a blank line
                start = end
                continue
            if (end - start > 1 or end == len(lines)) and _unclosed_quote(lines, start, end, cells, width,
                                                                         platform_at, delimiter):
                column, raw = _unclosed_row(lines[start], fieldnames, delimiter)
                reason = _damaged(first) if first in damaged else \
                    (problem(column, *UNCLOSED_QUOTE) if column else " / ".join(UNCLOSED_QUOTE))
                items.append(FileItem(f"{path}:{first}", None, raw, reason))
                # read on from the next line, as if the bad line had ended its record
                start = offset = first
                feed = iter(lines)
                feed.__setstate__(start)
                reader = csv.reader(feed, delimiter=delimiter)
                continue
            start = end
            row: dict[str | None, Any] = dict(zip(fieldnames, cells, strict=False))  # as csv.DictReader builds it
            if len(cells) > width:
                row[None] = cells[width:]
            else:
                for name in fieldnames[len(cells):]:
                    row[name] = None
            bad = sorted(n for n in damaged if first <= n <= end)
            if bad:
                items.append(FileItem(f"{path}:{first}", None, json.dumps(row, ensure_ascii=False, default=str)[:2000],
                                      _damaged(bad[0])))
                continue
            if None in row:  # more cells than headers
                items.append(FileItem(f"{path}:{first}", None, json.dumps(row, ensure_ascii=False, default=str),
                                      "该行的单元格比表头多 / row has more cells than the header"))
                continue
            record = {k.strip(): (v if v != "" else None) for k, v in row.items() if k}
            if "text" in record and record["text"] is None:
                record["text"] = ""  # an empty cell is an empty (sticker-only) comment, not a missing one
            items.append(FileItem(f"{path}:{first}", record, json.dumps(row, ensure_ascii=False)))
    return items
