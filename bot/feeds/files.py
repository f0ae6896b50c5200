"""File import: JSONL and CSV in UTF-8, UTF-8 with BOM or GB18030 (common in Chinese exports).

A damaged line (bytes that are not text, a row the CSV parser refuses, a CSV line whose quote is never
closed, a line that is not JSON) becomes a rejected item with its line number (a record's first line);
the rest of the file is still read. A file none of whose rows can be read (missing, a folder, a CSV
header without the required columns) raises FileFormatError instead: the user gave the wrong file, and
nothing of it is stored. Reasons are Chinese first with English.

`open_items` reads a file a record at a time (the import stores it in batches, whatever its size), a JSON
array file (`[ {...}, {...} ]`, one line or pretty-printed over many) a value at a time too, a broken one
(truncated, a missing comma) up to the damage, which is one rejected item with its line and column;
`read_items` lists all of its items.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import shutil
import tempfile
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bot.feeds.records import PLATFORMS, REQUIRED, problem

ENCODINGS = ("utf-8-sig", "gb18030")
#: what json.loads raises for input it refuses: JSONDecodeError is a ValueError, like "integer with more
#: than 4300 digits"; nesting deeper than the interpreter's stack is a RecursionError
JSON_ERRORS = (ValueError, RecursionError)
#: the compressed formats an export comes in, by the bytes they start with (zip is Excel's: see why_not_text)
COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
              (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "rar"))
UNPACK = {"gzip": "gunzip FILE.gz", "bzip2": "bunzip2 FILE.bz2", "xz": "unxz FILE.xz", "zstd": "unzstd FILE.zst",
          "7z": "7z x FILE.7z", "rar": "unrar x FILE.rar"}


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


#: Chinese, English: what `wide_unicode` text is called in the messages of every file the bot reads
WIDE_UNICODE = ("UTF-16 或 UTF-32 文本", "UTF-16 or UTF-32 text")


def wide_unicode(data: bytes) -> bool:
    """Whether the bytes are UTF-16 or UTF-32 text, by its byte-order mark (UTF-32's start as UTF-16's do):
    what Windows saves as "Unicode" (Excel's "Unicode text", Notepad's "Unicode", PowerShell's `>`). Neither
    UTF-8 nor GB18030 reads it, and "not UTF-8 or GB18030" alone does not say what it is."""
    return data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def why_not_text(data: bytes) -> str | None:
    """Why these bytes are not a file the importer reads, for the files people pick by mistake (a
    spreadsheet itself instead of its CSV export, Excel's "Unicode text", a binary), or None. Without this
    they were read as text and refused for a header of garbage and NUL characters."""
    zh_save = "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”"
    en_save = 'save it from Excel as "CSV UTF-8 (comma delimited)"'
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # .xlsx (a zip), .xls (OLE)
        return f"这是 Excel 工作簿或压缩包，不是 CSV：{zh_save} / this is an Excel workbook or a zip file, not a CSV: {en_save}"
    # an export compressed for download (feed.jsonl.gz): read as text, it was refused as a CSV whose header
    # was binary garbage ("columns found: \x1f\x8b…"), which says nothing of the fix
    packed = next((name for magic, name in COMPRESSED if data.startswith(magic)), None)
    if packed is not None:
        return (f"这是 {packed} 压缩文件，请先解压（例如 {UNPACK[packed]}）再导入解压出的文件 / this file is compressed "
                f"({packed}): decompress it first (e.g. {UNPACK[packed]}) and import the file it gives")
    if wide_unicode(data):
        return (f"这是 {WIDE_UNICODE[0]}（如 Excel 的“Unicode 文本”）：{zh_save} / "
                f"this is {WIDE_UNICODE[1]} (such as Excel's \"Unicode text\"): {en_save}")
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


#: bytes read at a time: a line longer than this is read in pieces of it
READ_BYTES = 1 << 20
#: how the file's bytes are read as text (`_probe_encoding`): the whole file is UTF-8 (a BOM or not), the
#: whole file is GB18030, or neither (UTF-8 line by line, the lines that are not text marked damaged)
UTF8, GB18030, DAMAGED = "utf-8", "gb18030", "damaged"
DAMAGED_LABEL = "utf-8，损坏的行已拒收 / utf-8, damaged lines rejected"
#: characters of a JSON document spanning lines parsed first (`_whole_document`), doubled until it is decided
DOCUMENT_PREFIX = 65536
#: what JSON itself counts as whitespace (json.loads allows it around a document)
JSON_SPACE = " \t\n\r"
_JSON_SPACE_RUN = re.compile(r"[ \t\n\r]*")
#: characters a JSON number may go on with ("1" of "1.5e-3", cut off after it, is a number too)
_NUMBER_RUN = re.compile(r"[0-9.eE+\-]*")
#: containers nested deeper than this in one value of a JSON array file leave the file to json.loads of the
#: whole document (`_array_values`): whether that refuses it (RecursionError) depends on the interpreter's
#: stack, which a value read on its own, one level less deep and from elsewhere, would not reproduce
STREAMED_DEPTH = 100


def read_items(path: Path) -> tuple[list[FileItem], str]:
    """All lines of a file as items, with the encoding used. Raises FileFormatError for unreadable files.
    The whole file's items in memory: `open_items` reads them one at a time."""
    with open_items(path) as items:
        return list(items), items.encoding


def open_items(path: Path) -> FileItems:
    """The file's items, read lazily from the file (see `FileItems`). Raises FileFormatError for a file
    that cannot be imported at all (missing, a folder, not text, a CSV header without the required
    columns): nothing of it has been handed out then."""
    items = FileItems(path)
    try:
        items.check()
    except BaseException:
        items.close()
        raise
    return items


class FileItems:
    """A file's items (what `read_items` lists), read from the file as they are asked for: each iteration
    reads the file again from its start, holding one record's lines at a time (a record is a JSONL line, a
    CSV row with its multi-line cells), so a file of any size takes about the same memory. The encoding is
    decided on the whole file first (one pass over its bytes, as decoding it whole would decide: UTF-8 or
    GB18030 when every byte is, else UTF-8 line by line).

    A JSON array file (its text one array, on one line or pretty-printed over many) is read a value at a
    time as well (`_array_values`), after a pass of its own that finds whether the whole text is one
    well-formed array, or where it stops being one (made once, and counting the values: `count` is that
    pass). A broken array (a truncated export, a missing comma, a stray character) gives its values before
    the damage, each stored or rejected as any record, then the damage as one rejection saying where it is
    and that what follows was not read (json.loads of the whole text refused it whole: nothing stored).
    Any other JSON document spanning lines (a pretty-printed object) is still read whole, as before: it is
    one value, or one error for the whole file.

    Use as a context manager (or `close()`): it keeps the file open between iterations."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._handle: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
            if not self._handle.seekable():
                # a pipe (`crisisbot ingest <(zcat feed.jsonl.gz)`) is read once: kept in a temporary file
                # (on disk, not in memory) to be read again
                spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                with self._handle:
                    shutil.copyfileobj(self._handle, spool)
                self._handle = spool
        except OSError as exc:
            raise FileFormatError(_cannot_open(exc)) from None
        self.encoding = UTF8
        self.kind: str | None = None  # "jsonl", "csv", or None for a file with no text but whitespace
        self._mode = UTF8
        self.size = 0
        self._damaged_lines: Sequence[int] = ()
        self._first = ""  # the text's first character that is not whitespace ("" for none)
        #: items of the file's JSON array when it is read a value at a time (`_one_array`), else None
        self._array_size: int | None = None
        self._array_decided = False
        #: the line breaks and the characters of its line before the text's first character that is not
        #: whitespace (`_text` leaves them out): added to the positions of a broken array's damage
        self._leading_lines = 0
        self._leading_column = 0
        #: a broken JSON array's damage, its last item, once iteration has reached it
        self.damage: FileItem | None = None

    def __enter__(self) -> FileItems:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()

    def check(self) -> None:
        """Decide the encoding and the format; raise FileFormatError if the file cannot be read at all."""
        try:
            self.size = os.fstat(self._handle.fileno()).st_size
            head = self._handle.read(65536)
            if (why := why_not_text(head)) is not None:
                raise FileFormatError(why)
            self._mode, self.encoding = _probe_encoding(self._handle)
            first = next((piece.lstrip()[:1] for _n, piece, _ends in self._pieces() if piece.strip()), "")
        except OSError as exc:
            raise FileFormatError(_cannot_open(exc)) from None
        self._first = first
        if first:  # empty, or blank lines only: no records, and no header to complain about
            self.kind = detect_format(self.path, first)
        if self.kind == "csv" and self._mode == DAMAGED:
            # a CSV row is rejected for a damaged line among its line numbers (counted apart from the rows':
            # "\r" alone ends a CSV line too), which may be read after the row: all of them first, in order
            self._damaged_lines = array("q")
            for _piece in self._pieces(self._damaged_lines):
                pass
        if self.kind == "csv":
            next(iter(self), None)  # the header, checked before anything of the file is handed out

    def __iter__(self) -> Iterator[FileItem]:
        if self.kind == "jsonl":
            if self._one_array() is not None:
                return self._array_file_items()
            return _jsonl_items(self.path, self._lines, damaged_mode=self._mode == DAMAGED)
        if self.kind == "csv":
            return _csv_items(self.path, _universal_lines(self._pieces()), self._damaged_lines, size=self.size)
        return iter(())

    def count(self) -> int:
        """How many items the file holds (one pass, nothing kept)."""
        size = self._one_array() if self.kind == "jsonl" else None
        return size if size is not None else sum(1 for _ in self)

    def _one_array(self) -> int | None:
        """How many items the file's JSON array gives when it is read a value at a time (`_array_file_items`):
        its values when its whole text is one well-formed array, as json.loads of the text would read it; when
        the text is a broken array (`_BrokenArray`: truncated, a missing comma, a stray character, extra data
        after it), the values before the damage and one for the damage. None for any other text (read by
        `_jsonl_items`, as before). Decided by one pass over the file, the first time it is asked."""
        if not self._array_decided:
            self._array_decided = True
            # the text as `_jsonl_items` tells an array apart: its first character that is not whitespace.
            # Damaged bytes inside the values' strings keep it an array (the records holding them are
            # rejected, `_array_items`): read line by line, one bad byte made every line of a pretty-printed
            # array a rejection and stored nothing. Damaged bytes elsewhere are a broken array's damage.
            if self._first == "[":
                read = 0
                try:
                    for _value in _array_values(self._text()):
                        read += 1
                    self._array_size = read
                except _BrokenArray as exc:
                    # an array that is the whole first line, more values on the lines after it: one JSON value
                    # a line (JSONL whose lines hold arrays), for the line reader as before
                    if not (exc.closed == 1 and exc.line > 1):
                        self._array_size = exc.values + 1
                except _NotOneArray:
                    pass
        return self._array_size

    def _array_file_items(self) -> Iterator[FileItem]:
        """The items of the file's JSON array, a value at a time; a broken array's values before its damage,
        then the damage as one rejection (json.loads of the whole text refused it: nothing of it was stored,
        and it was read whole, twice). What follows the damage is not read: JSON says nothing of the text
        after an error, and a record guessed from it (where the next one starts, whether a missing comma
        was the only damage) could be a piece of another one."""
        damage: list[_BrokenArray] = []
        yield from _array_items(f"{self.path}:", _until_broken(_array_values(self._text()), damage),
                                damaged=self._mode == DAMAGED)
        if damage:
            self.damage = self._damage_item(damage[0])
            yield self.damage

    def _damage_item(self, exc: _BrokenArray) -> FileItem:
        """The rejection of a broken array's damage, at its line and column in the file."""
        line = exc.line + self._leading_lines
        column = exc.column + (self._leading_column if exc.line == 1 else 0)
        raw = exc.raw
        hurt = self._mode == DAMAGED and _ESCAPED_BYTE.search(raw) is not None
        if hurt:  # shown as U+FFFD (storable), as `_array_items` shows a damaged record
            raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        ends_open = not exc.closed and self._last_character() not in ("", "]")
        return FileItem(f"{self.path}:{line}", None, raw,
                        broken_array_reason(exc.message, line, column, values=exc.values, inside=exc.inside,
                                            after_array=bool(exc.closed), damaged_bytes=hurt,
                                            ends_open=ends_open))

    def _last_character(self) -> str:
        """The file's last character that is not whitespace, if it is ASCII, as far as its last 4 KiB
        tell ("" for none; "?" for any other)."""
        self._handle.seek(max(0, self.size - 4096))
        tail = self._handle.read(4096).rstrip(JSON_SPACE.encode())
        if not tail:
            return ""
        return chr(tail[-1]) if tail[-1] < 0x80 else "?"

    def _text(self) -> Iterator[str]:
        """The file's text (read as `_pieces` reads it when no line is damaged) from its first character
        that is not whitespace (str.lstrip's), in pieces of READ_BYTES bytes: not split into lines, which a
        pretty-printed array has millions of, only for a JSON reader that does not need them."""
        mode = self._mode
        # damaged bytes kept as lone surrogates (U+DC80-U+DCFF), so the records holding them can be told
        codec = "utf-8-sig" if mode in (UTF8, DAMAGED) else mode
        decoder = codecs.getincrementaldecoder(codec)("surrogateescape" if mode == DAMAGED else "strict")
        handle, at, first, leading = self._handle, 0, True, True
        self._leading_lines = self._leading_column = 0
        while True:
            handle.seek(at)  # each reader keeps its own place, as in `_read_lines`
            data = handle.read(READ_BYTES)
            at += len(data)
            text = decoder.decode(data, final=not data)
            if first and mode == GB18030 and text:  # its byte-order mark, as `_pieces` leaves it out
                text, first = text.removeprefix("\ufeff"), False
            if leading and text:
                # the whitespace before the text (`_jsonl_items` reads it from its first line holding more)
                stripped = text.lstrip()
                gone = text[:len(text) - len(stripped)]
                if "\n" in gone:
                    self._leading_lines += gone.count("\n")
                    self._leading_column = len(gone) - gone.rindex("\n") - 1
                else:
                    self._leading_column += len(gone)
                text = stripped
                leading = not text
            if text and not leading:
                yield text
            if not data:
                return

    # ---- reading the text ---------------------------------------------------------------------------
    def _pieces(self, damaged: MutableSequence[int] | None = None) -> Iterator[tuple[int, str, bool]]:
        """The file's text from its start as (line number, piece, ends the line): a line split on "\n" only
        (kept at its end) in pieces of at most READ_BYTES bytes. In the damaged mode the number of each
        line that is not text is appended to `damaged` once its bytes are read (its text then has U+FFFD
        where the bytes were)."""
        mode = self._mode
        decoder = None if mode == DAMAGED else codecs.getincrementaldecoder("utf-8-sig" if mode == UTF8 else mode)()
        number, fresh, first = 1, True, True
        for piece in self._read_lines():
            ends = piece.endswith(b"\n")
            if decoder is None:  # each line decoded on its own: its damage is its own
                if fresh:
                    line_decoder = codecs.getincrementaldecoder("utf-8-sig" if number == 1 else "utf-8")()
                    hurt = False
                state = line_decoder.getstate()
                try:
                    text = line_decoder.decode(piece, final=ends)
                except UnicodeDecodeError:
                    line_decoder.setstate(state)
                    line_decoder.errors = "replace"
                    text = line_decoder.decode(piece, final=ends)
                    if not hurt and damaged is not None:
                        damaged.append(number)
                    hurt = True
            else:
                text = decoder.decode(piece)
                if first and mode == GB18030 and text:
                    # GB18030 has its own byte-order mark (84 31 95 33); it decodes to U+FEFF, which would
                    # else glue itself to the first column name and make every row lack "platform"
                    text, first = text.removeprefix("\ufeff"), False
            yield number, text, ends
            fresh = ends
            if ends:
                number += 1
        if decoder is None:
            if not fresh:  # the last line, cut mid-character
                state = line_decoder.getstate()
                try:
                    text = line_decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    line_decoder.setstate(state)
                    line_decoder.errors = "replace"
                    text = line_decoder.decode(b"", final=True)
                    if not hurt and damaged is not None:
                        damaged.append(number)
                yield number, text, True
        else:
            yield number, decoder.decode(b"", final=True), True

    def _read_lines(self) -> Iterator[bytes]:
        """The file's bytes from its start, split after each b"\n" and every READ_BYTES bytes. Each reader
        keeps its own place: two of them may be read in turns."""
        handle, at = self._handle, 0
        while True:
            handle.seek(at)
            piece = handle.readline(READ_BYTES)
            if not piece:
                return
            at += len(piece)
            yield piece

    def _lines(self) -> Iterator[tuple[int, str, bool]]:
        """(number, line, damaged) from the file's start: lines split on "\n" only, each with its "\n"."""
        damaged: deque[int] = deque()
        parts: list[str] = []
        for number, text, ends in self._pieces(damaged):
            parts.append(text)
            if ends:
                line = "".join(parts)
                parts.clear()
                hurt = bool(damaged) and damaged[-1] == number
                if line or hurt:
                    yield number, line, hurt
                damaged.clear()


def _probe_encoding(handle: Any) -> tuple[str, str]:
    """How to read the file (UTF8, GB18030 or DAMAGED) and the encoding to show, decided on all its bytes
    as `decode_lines` decides on them (read a chunk at a time: only the answer is kept)."""
    handle.seek(0)
    bom = handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    for mode in (UTF8, GB18030):
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8-sig" if mode == UTF8 else mode)()
        try:
            for chunk in iter(lambda: handle.read(READ_BYTES), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            # an incomplete character at the very end: a UTF-8 file cut off mid-write, which GB18030 would
            # misread as a few wrong characters instead of refusing
            if mode == UTF8 and exc.reason == "unexpected end of data":
                break
            continue
        return mode, ("utf-8 BOM" if bom else "utf-8") if mode == UTF8 else mode
    return DAMAGED, DAMAGED_LABEL


def _universal_lines(pieces: Iterable[tuple[int, str, bool]]) -> Iterator[str]:
    """The text's lines as io.StringIO(text, newline="") splits them ("\n", "\r\n" or "\r", kept)."""
    carry = ""
    for _number, piece, _ends in pieces:
        if not piece:
            continue
        lines = io.StringIO(carry + piece, newline="").readlines()
        carry = lines.pop()
        if carry.endswith("\n"):  # complete ("\r" alone may still be followed by "\n")
            lines.append(carry)
            carry = ""
        yield from lines
    if carry:
        yield carry


#: the byte-order mark as text (what "\xef\xbb\xbf" decodes to)
BOM = "\ufeff"


def without_bom(line: str) -> str:
    """One JSONL/NDJSON line without a byte-order mark at its start, ignored there as at the start of the
    text: lines joined from Windows exports (`type a.jsonl b.jsonl > all.jsonl`, `cat`) carry one at the
    start of each part, and the decoder takes off only the text's first (json.loads refused the others:
    "Unexpected UTF-8 BOM"). A line of a mark alone is then blank, as the empty export it came from."""
    return line[len(BOM):] if line.startswith(BOM) else line


def split_lines(text: str) -> Iterator[tuple[int, str]]:
    """(number, line) split on "\n" only (a trailing "\r" dropped): U+2028, U+2029 and U+0085, which
    str.splitlines() also splits on, are allowed raw inside JSON strings."""
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line[:-1] if line.endswith("\r") else line


#: reads a text from its start each time it is called: (number, line with its "\n", whether it is damaged)
Lines = Callable[[], Iterator[tuple[int, str, bool]]]


def _jsonl_items(path: Path, lines: Lines, *, damaged_mode: bool = False) -> Iterator[FileItem]:
    """The items of a JSONL (or .json) text, read a line at a time. A whole document (a .json array, a
    pretty-printed object) is told apart from one value per line as json.loads of the whole text would
    tell it; only such a document is read whole."""
    head = next(((number, line) for number, line, _hurt in lines() if line.strip()), None)
    if head is None:
        return
    first_number, first_line = head
    stripped_head = first_line.lstrip()  # the first line of the text without its leading whitespace
    first_is_json = _first_line_is_json(stripped_head)
    if stripped_head.startswith("[") and not damaged_mode:
        # a whole JSON array (a .json file, possibly pretty-printed over many lines)
        if first_is_json:
            # the whole text is that array if nothing but (JSON) whitespace follows its first line
            document = json.loads(stripped_head) if _only_space_after(lines(), first_number, JSON_SPACE) else None
        else:  # not line-oriented either: the whole text is one document, or one broken document
            document, exc, raw = _whole_document(_stripped(lines(), first_number))
            if exc is not None:
                where = f"line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "its start"
                message = exc.msg if isinstance(exc, json.JSONDecodeError) else json_error_text(exc)
                line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
                zh_where = f"第 {exc.lineno} 行第 {exc.colno} 列" if isinstance(exc, json.JSONDecodeError) else "开头"
                yield FileItem(f"{path}:{line}", None, raw,
                               f"JSON 格式错误（{zh_where}）/ invalid JSON at {where}: {message}")
                return
        if isinstance(document, list):
            yield from _array_items(f"{path}:", document)
            return
    if stripped_head.startswith("{") and not damaged_mode and not first_is_json \
            and not _only_space_after(lines(), first_number, None):
        # one pretty-printed object (an API response saved to a file): one record, not a rejection per line
        document, _exc, raw = _whole_document(_stripped(lines(), first_number))
        if isinstance(document, dict):
            yield FileItem(f"{path}:1", document, raw)
            return
    # one JSON value per line; a line holding an array contributes its objects
    for number, text, hurt in lines():
        line = text[:-1] if text.endswith("\n") else text
        line = without_bom(line[:-1] if line.endswith("\r") else line)
        if not line.strip():
            continue
        position = f"{path}:{number}"
        if hurt:
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


def _only_space_after(lines: Iterator[tuple[int, str, bool]], number: int, space: str | None) -> bool:
    """Whether the lines after line `number` hold only whitespace: JSON's (`space`) or str.strip's (None)."""
    return all(not line.strip(space) for n, line, _hurt in lines if n > number)


def _stripped(lines: Iterator[tuple[int, str, bool]], number: int) -> Iterator[str]:
    """The text from line `number` (its first line holding more than whitespace), that line's leading
    whitespace left out: the whole text's .lstrip(), a line at a time."""
    for n, line, _hurt in lines:
        if n == number:
            yield line.lstrip()
        elif n > number:
            yield line


class _Head:
    """A text's lines one at a time (`next_line`), its first `size` characters kept as they are read."""

    def __init__(self, lines: Iterator[str], size: int = 2000) -> None:
        self._lines = lines
        self._parts: list[str] = []
        self._room = size

    def next_line(self) -> str | None:
        line = next(self._lines, None)
        if line is not None and self._room > 0:
            self._parts.append(line[: self._room])
            self._room -= len(self._parts[-1])
        return line

    def text(self) -> str:
        """The text's first `size` characters (read on as far as needed)."""
        while self._room > 0 and self.next_line() is not None:
            pass
        return "".join(self._parts)


def _whole_document(lines: Iterator[str]) -> tuple[Any, BaseException | None, str]:
    """(value, None, raw) when the text is one JSON value as json.loads(text) reads it, else (None, the
    exception json.loads raises, raw); raw is the text's first 2,000 characters.

    Parsed on a growing prefix, so that a text whose first lines already fail (a JSONL file with a damaged
    first line) is not read whole: an error at position p of a prefix is the whole text's once a line
    break follows p in the prefix (no JSON token spans a raw line break: nothing after it can change what
    was read up to p); a value complete in the prefix is the whole text's if only whitespace follows."""
    text = _Head(lines)
    decoder = json.JSONDecoder()
    prefix, want, ended = "", DOCUMENT_PREFIX, False
    while True:
        parts = [prefix]
        size = len(prefix)
        while size < want and not ended:
            line = text.next_line()
            if line is None:
                ended = True
            else:
                parts.append(line)
                size += len(line)
        prefix = "".join(parts)
        try:
            value, end = decoder.raw_decode(prefix)
        except json.JSONDecodeError as exc:
            if ended or "\n" in prefix[exc.pos:]:
                return None, exc, text.text()
            want *= 2
            continue
        except JSON_ERRORS as exc:  # too many digits, nested too deeply: whatever follows
            return None, exc, text.text()
        break
    # json.loads: "Extra data" at the first character after the value that is not JSON whitespace
    rest = prefix[end:]
    while True:
        tail = rest.lstrip(JSON_SPACE)
        if tail:
            return None, json.JSONDecodeError("Extra data", prefix, len(prefix) - len(tail)), text.text()
        line = text.next_line()
        if line is None:
            return value, None, text.text()
        # whitespace only so far: its line breaks are kept (the error's line number), not its spaces
        prefix += "\n" * line.count("\n") if not line.strip(JSON_SPACE) else line
        rest = line


def _first_line_is_json(text: str) -> bool:
    try:
        json.loads(text.split("\n", 1)[0])
    except JSON_ERRORS:
        return False
    return True


class _NotOneArray(Exception):
    """The text is not one well-formed JSON array, or one `_array_values` leaves to json.loads."""


class _BrokenArray(_NotOneArray):
    """Where the text of a JSON array stops being one, as json.loads of the text would say it: its message
    and position (line and column counted from the text's "["), the values read before it, and whether it
    is inside a value (the value then is the damage) or between values (a separator, or extra data after
    the array: `closed` is then the line of its "]", else 0). `raw` is the text held from the damaged value
    (or the damage), at most 2,000 characters."""

    def __init__(self, message: str, line: int, column: int, *, values: int, inside: bool, closed: int,
                 raw: str) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column
        self.values, self.inside, self.closed, self.raw = values, inside, closed, raw


#: characters of text past a JSON error's position that settle it, for any error but an unterminated string:
#: a token cut by the end of the text held ("tru", "-Infinit", "\\u12") fails within this of that end
_ERROR_SETTLED = 16


def _array_values(texts: Iterable[str]) -> Iterator[Any]:
    """The values of the JSON array that is the whole text (given in pieces, starting with its "["), one at a
    time, each as json.loads of the whole text holds it: each value is read by the same decoder (json's own
    raw_decode), and the text around them must be what JSON allows around the values of an array, nothing
    but JSON whitespace after it. At the first thing json.loads would refuse (a broken or truncated array,
    extra data) raises _BrokenArray, saying where, once the values before it have been handed out; a value
    nested deeper than STREAMED_DEPTH, or one json refuses for a reason of its own (too many digits, the
    stack) raises _NotOneArray: the caller then reads the text as before. Holds the value being read and at
    most a piece or two of text, however long the array, broken or not."""
    decoder = json.JSONDecoder()  # json.loads's own (default) decoder
    source = iter(texts)
    text, at, ended = "", 0, False
    # where the text held starts in the whole text: lines before it, characters of its line before it
    lines_gone, column_gone = 0, 0
    values = 0
    closed = 0  # the line of the array's "]", once read

    def more(want: int = 1) -> None:
        """Read on until `want` characters from `at` are held (or the text ends)."""
        nonlocal text, at, ended, lines_gone, column_gone
        newlines = text.count("\n", 0, at)
        if newlines:
            lines_gone += newlines
            column_gone = at - text.rindex("\n", 0, at) - 1
        else:
            column_gone += at
        parts, held = [text[at:]], len(text) - at
        while held < want:
            piece = next(source, None)
            if piece is None:
                ended = True
                break
            parts.append(piece)
            held += len(piece)
        text, at = "".join(parts), 0

    def next_char() -> str:
        """The next character after JSON whitespace ("" at the end of the text), at `at`."""
        nonlocal at
        while True:
            at = _JSON_SPACE_RUN.match(text, at).end()
            if at < len(text) or ended:
                return text[at:at + 1]
            more()

    def broken(message: str, position: int, *, inside: bool, closed: int = 0) -> _BrokenArray:
        """The damage at `position` of the text held (json.JSONDecodeError's lineno and colno)."""
        newlines = text.count("\n", 0, position)
        column = position - text.rindex("\n", 0, position) if newlines else column_gone + position + 1
        return _BrokenArray(message, lines_gone + newlines + 1, column, values=values, inside=inside,
                            closed=closed, raw=text[at if inside else position:][:2000])

    more()
    if text[:1] != "[":
        raise _NotOneArray
    at = 1
    if next_char() == "]":
        closed = lines_gone + text.count("\n", 0, at) + 1
        at += 1
    else:
        while True:
            next_char()
            while True:
                try:
                    value, end = decoder.raw_decode(text, at)
                except json.JSONDecodeError as exc:
                    # the value may go on past the text held: an error is the text's own once a line break
                    # follows it (no JSON token spans one), at the end of the text, or (but an unterminated
                    # string, which may close further on) once enough text follows it
                    if ended or "\n" in text[exc.pos:] or (
                            len(text) - exc.pos > _ERROR_SETTLED and not exc.msg.startswith("Unterminated string")):
                        # a value expected where the text ends or the array closes ("[1,]"): no value
                        # there, the damage is after the one before it
                        raise broken(exc.msg, exc.pos, inside=text[at:at + 1] not in ("", "]")) from None
                    more(2 * (len(text) - at))
                    continue
                except JSON_ERRORS:  # a number of too many digits, nesting beyond the stack
                    raise _NotOneArray from None
                if not ended and _NUMBER_RUN.match(text, end).end() == len(text):
                    # a number may go on in the text not read yet ("1" of "1.5" cut after the "1")
                    more(2 * (len(text) - at))
                    continue
                break
            if _deeper_than(value, STREAMED_DEPTH):
                raise _NotOneArray
            at = end
            values += 1
            yield value
            separator = next_char()
            if separator == "]":
                closed = lines_gone + text.count("\n", 0, at) + 1
                at += 1
                break
            if separator != ",":  # json.loads's words for it
                raise broken("Expecting ',' delimiter", at, inside=False)
            at += 1
    if next_char():
        raise broken("Extra data", at, inside=False, closed=closed)


def _until_broken(values: Iterator[Any], damage: list[_BrokenArray]) -> Iterator[Any]:
    """The values up to a broken array's damage, which is appended to `damage` (instead of raised)."""
    try:
        yield from values
    except _BrokenArray as exc:
        damage.append(exc)


def broken_array_reason(message: str, line: int, column: int, *, values: int, inside: bool, after_array: bool,
                        damaged_bytes: bool = False, ends_open: bool = False) -> str:
    """Why a JSON array file's text stops being an array at `line`, `column` (json's `message`), having
    given `values` values before it: the damage is inside the next value, between two values, or after the
    array's "]" (`after_array`); `ends_open`: the file does not end with "]" (a truncated file)."""
    if after_array:
        zh_where, en_where = "数组结束之后", "after the end of the array"
        zh_rest = f"数组之后的内容未能读取（数组的 {values} 条照常导入）"
        en_rest = f"what follows the array could not be read (its {values} records are imported)"
    elif inside:
        zh_where, en_where = f"第 {values + 1} 条记录", f"record {values + 1}"
        zh_rest = f"这条及之后的记录未能读取（之前的 {values} 条照常导入）"
        en_rest = f"this record and the ones after it could not be read (the {values} before it are imported)"
    elif values:
        zh_where, en_where = f"第 {values} 条记录之后", f"after record {values}"
        zh_rest = f"之后的记录未能读取（之前的 {values} 条照常导入）"
        en_rest = f"the records after it could not be read (the {values} before it are imported)"
    else:  # "[" and nothing more
        zh_where, en_where = "数组开头", "at the start of the array"
        zh_rest, en_rest = "没有能读取的记录", "no record could be read"
    if damaged_bytes:
        zh_rest = f"含有损坏的字节（不是 UTF-8 或 GB18030 文本），{zh_rest}"
        message += "; damaged bytes (not UTF-8 or GB18030 text)"
    if ends_open:
        zh_rest += "；文件不以 ] 结尾，可能不完整（下载或导出中断）"
        en_rest += "; the file does not end with ]: it may be incomplete (an interrupted download or export)"
    return (f"JSON 格式错误（第 {line} 行第 {column} 列，{zh_where}）：{zh_rest} / "
            f"invalid JSON at line {line} column {column} ({en_where}): {message}; {en_rest}")


def _deeper_than(value: Any, depth: int) -> bool:
    """Whether containers nest more than `depth` levels in the value (itself counted as one)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(depth):
        if not level:
            return False
        level = [inner for outer in level for inner in (outer.values() if isinstance(outer, dict) else outer)
                 if isinstance(inner, dict | list)]
    return bool(level)


def _damaged_record(number: int) -> str:
    return (f"第 {number} 条记录含有损坏的字节（不是 UTF-8 或 GB18030 文本）/ record {number}: damaged bytes "
            "(not UTF-8 or GB18030 text)")


#: a byte that was not text, as the surrogateescape error handler keeps it
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _array_items(prefix: str, records: Iterable[Any], *, damaged: bool = False) -> Iterator[FileItem]:
    for i, record in enumerate(records, start=1):
        try:
            raw = json.dumps(record, ensure_ascii=False)
        except JSON_ERRORS:
            raw = ""
        if damaged and _ESCAPED_BYTE.search(raw):
            # the rejection keeps the record's text, its damaged bytes shown as U+FFFD (storable)
            shown = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")[:2000]
            yield FileItem(f"{prefix}[{i}]", None, shown, _damaged_record(i))
            continue
        raw = raw[:2000]
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


def _open_at_end(record: list[str], delimiter: str) -> bool:
    """Whether the record (its lines, the last ones of the file) ends inside a quoted cell (the
    non-strict reader hands such a record over at the end of the file as if it were complete)."""
    body = "".join(record)
    if not body.endswith(("\n", "\r")):
        body += "\n"
    try:
        first = next(csv.reader(io.StringIO(body + _SENTINEL, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return False
    # closed: the sentinel is a record of its own after the line break; open: it is part of the last cell
    return bool(first) and first[-1].endswith(_SENTINEL)


def _starts_a_row(line: str, width: int, platform_at: int, delimiter: str) -> bool:
    """Whether a line read on its own is the start of a row of this file: a supported platform in the
    platform column, and the header's number of cells, or fewer when its last cell opens a quote (a
    multi-line cell, or another unclosed quote, which would otherwise close this one and hide both)."""
    row, complete = _line_alone(line, delimiter)
    return (len(row) == width if complete else platform_at < len(row) - 1 and len(row) <= width) \
        and row[platform_at].strip().lower() in PLATFORMS


def _unclosed_quote(record: list[str], cells: list[str], width: int, platform_at: int, delimiter: str,
                    at_end: bool) -> bool:
    """Whether the record read from these lines is an unclosed quote on its first line rather than a cell
    that legitimately holds line breaks: a line it swallowed reads on its own as the start of a row of this
    file (`_starts_a_row`; any complete line of the header's width when the record itself came out with the
    wrong number of cells), or the quote is still open at the end of the file (`at_end`: no line follows
    the record). Only called for records that span lines or end the file: the rows of a clean file cost
    nothing here."""
    wrong_width = len(cells) != width
    for line in record[1:]:
        if wrong_width:
            row, complete = _line_alone(line, delimiter)
            if complete and len(row) == width:
                return True
        if _starts_a_row(line, width, platform_at, delimiter):
            return True
    return at_end and _open_at_end(record, delimiter)


class _Swallowing(Exception):
    """The record being read has taken in a line that starts a row of its own: an unclosed quote."""


class _Feed:
    """The lines the CSV reader reads, counted, with the lines of the record being read kept: to check it
    for an unclosed quote, and to read them again after one. Once `watch` is set, a line the record takes in
    after its first that `watch` says starts a row of its own stops the reader (`_Swallowing`) at once: the
    record is an unclosed quote, and reading on to its end (the next quote, or the end of the file) would
    hold every line in between."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._source = lines
        self._again: deque[str] = deque()
        self.index = 0  # lines handed out: the 0-based index of the next one
        self.record: list[str] = []
        self.watch: Callable[[str], bool] | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = self._again.popleft() if self._again else next(self._source)
        if self.record and self.watch is not None and self.watch(line):
            self._again.appendleft(line)
            raise _Swallowing
        self.index += 1
        self.record.append(line)
        return line

    def at_end(self) -> bool:
        """Whether no line follows those handed out."""
        if self._again:
            return False
        line = next(self._source, None)
        if line is None:
            return True
        self._again.append(line)
        return False

    def read_again(self, lines: list[str]) -> None:
        self._again.extendleft(reversed(lines))
        self.index -= len(lines)


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


def _first_damaged(damaged: Sequence[int], first: int, last: int) -> int | None:
    """The first of the (sorted) damaged line numbers from `first` to `last`, or None."""
    at = bisect_left(damaged, first)
    return damaged[at] if at < len(damaged) and damaged[at] <= last else None


def _csv_items(path: Path, lines: Iterator[str], damaged: Sequence[int], *, size: int) -> Iterator[FileItem]:
    """Every row as an item, at the number of its FIRST line, read from the text's `lines` (as
    io.StringIO(text, newline="") splits them) one record at a time. `damaged` holds the numbers of the
    lines whose bytes were not text (split on "\n" only, as `decode_lines` numbers them), in order. The
    field limit is lifted to the file's size (`size` bytes) for this reader, so an over-long cell reaches
    validation and is rejected there with its reason (like an over-long JSONL text) instead of stopping
    the reader. A header none of whose rows could be read (a required column missing or named twice)
    raises FileFormatError before any item: the whole file is refused, not each row.

    A quoted cell may hold line breaks (a multi-line comment). A quote that is never closed would make the
    reader swallow every row after it into one cell, up to the next quote or the end of the file: such a
    line is rejected alone ("unclosed quote") and reading goes on at the next line (`_unclosed_quote`)."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    feed = _Feed(lines)
    with _csv_field_limit(size + 1):
        reader = csv.reader(feed, delimiter=delimiter)
        try:
            fieldnames = next(reader)
        except StopIteration:
            return
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
        feed.watch = lambda line: _starts_a_row(line, width, platform_at, delimiter)
        while True:
            start = feed.index  # the 0-based index of the next record's first line
            feed.record = []
            swallowing = False
            try:
                cells = next(reader)
            except StopIteration:
                break
            except _Swallowing:
                swallowing, cells = True, []
            except csv.Error as exc:  # the reader starts afresh on the next line
                yield FileItem(f"{path}:{start + 1}", None, "", f"无法解析的 CSV 行 / unreadable CSV row: {exc}")
                continue
            end = feed.index  # the record is lines start to end (0-based, end excluded)
            first = start + 1  # line numbers count from 1
            if not cells and not swallowing:  # a blank line
                continue
            record = feed.record
            if swallowing or ((end - start > 1 or feed.at_end())
                              and _unclosed_quote(record, cells, width, platform_at, delimiter, feed.at_end())):
                column, raw = _unclosed_row(record[0], fieldnames, delimiter)
                reason = _damaged(first) if _first_damaged(damaged, first, first) else \
                    (problem(column, *UNCLOSED_QUOTE) if column else " / ".join(UNCLOSED_QUOTE))
                yield FileItem(f"{path}:{first}", None, raw, reason)
                # read on from the next line, as if the bad line had ended its record
                feed.read_again(record[1:])
                reader = csv.reader(feed, delimiter=delimiter)
                continue
            row: dict[str | None, Any] = dict(zip(fieldnames, cells, strict=False))  # as csv.DictReader builds it
            if len(cells) > width:
                row[None] = cells[width:]
            else:
                for name in fieldnames[len(cells):]:
                    row[name] = None
            bad = _first_damaged(damaged, first, end)
            if bad:
                yield FileItem(f"{path}:{first}", None, json.dumps(row, ensure_ascii=False, default=str)[:2000],
                               _damaged(bad))
                continue
            if None in row:  # more cells than headers
                yield FileItem(f"{path}:{first}", None, json.dumps(row, ensure_ascii=False, default=str),
                               "该行的单元格比表头多 / row has more cells than the header")
                continue
            record_ = {k.strip(): (v if v != "" else None) for k, v in row.items() if k}
            if "text" in record_ and record_["text"] is None:
                record_["text"] = ""  # an empty cell is an empty (sticker-only) comment, not a missing one
            yield FileItem(f"{path}:{first}", record_, json.dumps(row, ensure_ascii=False))
