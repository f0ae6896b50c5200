"""Replay a count series through the production detector (pure: rows in, rows out).

One output row per input row, in input order; gaps, repeated timestamps and out-of-order rows are kept.
Rows are fed one at a time to the same :class:`SpikeDetector` with the same default settings the
service uses, so an output row never depends on a later input row.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from bot.alerts.detector import DetectorSettings, SpikeDetector

#: rows used to infer the bucket size (a prefix, so cutting the input short later changes nothing); a
#: week of 5-minute buckets, enough for the commonest step to win over a sparse or dense start
BUCKET_INFERENCE_ROWS = 2016

#: timestamps outside these are typos or placeholders; they would also overflow datetime arithmetic
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


class BacktestInputError(ValueError):
    """The series file cannot be read (with the line number and the reason)."""


@dataclass(frozen=True)
class SeriesRow:
    line: int
    raw_timestamp: str
    raw_value: str
    timestamp: datetime
    #: None for an empty or NaN cell: the row is kept in the output but not judged (a gap)
    value: float | None


@dataclass(frozen=True)
class BacktestRow:
    raw_timestamp: str
    raw_value: str
    score: float
    alert: int
    severity: str | None = None


#: an epoch number at or past this is read as milliseconds: as seconds it would be the year 3000 or later
#: (outside the range above), while every 13-digit millisecond value (2001-2286) is well past it
EPOCH_MILLIS_FROM = EARLIEST.timestamp() + (LATEST - EARLIEST).total_seconds()

#: `2026/01/01 00:00[:00]` (spreadsheet and Chinese-platform exports): year first, month and day (and the
#: hour) with or without a leading zero; the rest is read as in ISO 8601 (seconds, fraction, offset)
_SLASH_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:([ T])(\d{1,2})(:\d{2}.*))?")


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 or `YYYY/MM/DD HH:MM[:SS]` (naive = UTC), epoch seconds, or epoch milliseconds (a number
    too large to be seconds before the year 3000, e.g. 13 digits), from 1970 to 2999. Raises ValueError
    and nothing else."""
    text = text.strip()
    if not text:
        raise ValueError("为空 / empty")
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number):
        if number >= EPOCH_MILLIS_FROM:  # milliseconds (Douyin/Kuaishou, JavaScript exports)
            number /= 1000
        if not EARLIEST.timestamp() <= number < LATEST.timestamp():
            raise ValueError(f"纪元秒（或毫秒）超出范围（{EARLIEST:%Y}–{LATEST.year - 1}）/ epoch seconds (or "
                             f"milliseconds) out of range ({EARLIEST:%Y}–{LATEST.year - 1})")
        return datetime.fromtimestamp(number, UTC)
    slash = _SLASH_DATE.fullmatch(text)
    if slash:
        year, month, day, sep, hour, rest = slash.groups()
        text = f"{year}-{int(month):02d}-{int(day):02d}" + (f"T{int(hour):02d}{rest}" if sep else "")
    try:
        value = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:  # Python's own "Invalid isoformat string: ..." is English only
        raise ValueError("应为 ISO 8601 时间（如 2026-11-22T20:15:00+08:00）、2026/11/22 20:15 或纪元秒/毫秒 / "
                         "expected ISO 8601 (e.g. 2026-11-22T20:15:00+08:00), 2026/11/22 20:15, or epoch seconds "
                         "or milliseconds") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        in_range = EARLIEST <= value < LATEST
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        in_range = False
    if not in_range:
        raise ValueError(f"超出范围（{EARLIEST:%Y}–{LATEST.year - 1}）/ out of range ({EARLIEST:%Y}–{LATEST.year - 1})")
    return value


MIN_BUCKET_SECONDS = 1.0
MAX_BUCKET_SECONDS = 86400.0


def parse_bucket(text: str) -> float:
    """'5m', '30s', '1h', '300' -> seconds. Raises ValueError (Chinese first, with English) for anything else."""
    given = text
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
    try:
        for suffix in sorted(units, key=len, reverse=True):
            if text.endswith(suffix) and text[: -len(suffix)].strip():
                seconds = float(text[: -len(suffix)]) * units[suffix]
                break
        else:
            seconds = float(text)
    except ValueError:  # float()'s "could not convert string to float" says nothing of what a bucket is
        raise ValueError(f"桶大小应写成 5m、300s 或 1h 这样的形式 / a bucket looks like 5m, 300s or 1h "
                         f"(got {given!r})") from None
    # a bucket is a whole number of seconds from 1 second to 1 day: "inf", "1e308h" or "1e-9s" would give
    # a silent empty backtest
    if not (MIN_BUCKET_SECONDS <= seconds <= MAX_BUCKET_SECONDS):
        raise ValueError(f"桶大小应在 1s 到 1d 之间 / bucket must be between 1s and 1d (got {given!r})")
    return seconds


def describe_bucket(seconds: float) -> str:
    """300 -> '5m', 3600 -> '1h', 90 -> '90s' (the form --bucket takes)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _column(names: list[str] | None, wanted: str) -> str | None:
    """The header cell naming column `wanted`: exactly, else in any case and with spaces around it
    (`Timestamp`, ` value `, as spreadsheets export); the first one if several do."""
    if not names:
        return None
    if wanted in names:
        return wanted
    return next((name for name in names if name is not None and name.strip().lower() == wanted), None)


def read_series(path: Path) -> list[SeriesRow]:
    """Read a `timestamp,value` CSV (UTF-8, UTF-8 BOM or GB18030, as `crisisbot ingest` reads; the column
    names in any case, with spaces around them); a bad row stops with its line number and reason."""
    from bot.feeds.files import FileFormatError, decode

    try:
        text, _encoding = decode(path.read_bytes())
    except FileFormatError as exc:
        raise BacktestInputError(f"{path}: {exc}") from None
    rows: list[SeriesRow] = []
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            names = reader.fieldnames
        except csv.Error as exc:
            raise BacktestInputError(f"{path}:{reader.line_num}: 无法读取 CSV 表头 / unreadable CSV header: {exc}") from None
        ts_name, value_name = _column(names, "timestamp"), _column(names, "value")
        if ts_name is None or value_name is None:
            # an empty file has no header at all: "(got None)" said nothing a user could act on
            zh, en = ("文件为空", "the file is empty") if names is None else (f"表头为 {','.join(names)}", f"got {','.join(names)}")
            raise BacktestInputError(f"{path}: 需要含 timestamp,value 两列的表头（{zh}）/ needs a header with "
                                     f"columns timestamp,value ({en})")
        while True:
            first_line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # an over-long cell (e.g. a quote never closed swallows the file)
                raise BacktestInputError(f"{path}:{first_line}: 无法读取的 CSV 行 / unreadable CSV row: {exc}") from None
            line = reader.line_num
            raw_ts, raw_value = record[ts_name] or "", record[value_name] or ""
            try:
                ts = parse_timestamp(raw_ts)
            except ValueError as exc:
                raise BacktestInputError(f"{path}:{line}: 时间戳有误 / bad timestamp {raw_ts!r}: {exc}") from None
            if raw_value.strip().lower() in ("", "nan", "null", "none", "na"):
                rows.append(SeriesRow(line, raw_ts, raw_value, ts, None))
                continue
            try:
                value = float(raw_value)
            except ValueError:
                raise BacktestInputError(f"{path}:{line}: 数值有误，应为计数 / bad value {raw_value!r} (a count is expected)") from None
            if not math.isfinite(value) or value < 0:
                raise BacktestInputError(f"{path}:{line}: 数值应为不小于 0 的有限数 / value must be a finite number >= 0, got {raw_value!r}")
            rows.append(SeriesRow(line, raw_ts, raw_value, ts, value))
    return rows


def _steps(timestamps: Iterable[datetime]) -> Counter[float]:
    """How often each positive step (whole seconds) between consecutive rows occurs."""
    steps: Counter[float] = Counter()
    previous = None
    for ts in timestamps:
        if previous is not None:
            seconds = (ts - previous).total_seconds()
            if seconds > 0:
                steps[float(max(round(seconds), 1))] += 1
        previous = ts
    return steps


def infer_bucket_seconds(timestamps: Iterable[datetime], default: float = 300.0) -> float:
    """The bucket of a series: the most common positive step between consecutive rows of its first
    BUCKET_INFERENCE_ROWS rows (ties: the smaller; at least 1 s); `default` when there is no step at all.

    Not the median of the first 200 rows: an export listing only the buckets with comments starts sparse
    on a quiet night or a new account (steps of 15-60 min), one glued from a finer slice starts dense, and
    that median then set the time scale of every row after (a 1-minute "bucket" made each 5-minute step a
    gap that emptied the window sums: no alert at all). In a sparse export the gaps are multiples of the
    bucket and the single bucket is still the commonest. A prefix, not the whole file: cutting the input
    short after it can never change the rows before the cut (no look-ahead). Timestamps only, never values.
    """
    step = commonest_step(timestamps)
    return default if step is None else step


def commonest_step(timestamps: Iterable[datetime]) -> float | None:
    """The most common positive step (whole seconds, ties: the smaller) between consecutive rows of the
    first BUCKET_INFERENCE_ROWS rows; None when there is none (one row, or one timestamp throughout)."""
    steps = _steps(itertools.islice(timestamps, BUCKET_INFERENCE_ROWS))
    if not steps:
        return None
    return min(steps, key=lambda s: (-steps[s], s))


#: a --bucket below this share of the series' commonest step is almost surely a unit slip ("5" for 5m)
BUCKET_SLIP_RATIO = 0.1


def _duration(seconds: float) -> tuple[str, str]:
    """300 -> ('5 分钟', '5 minutes'), 1 -> ('1 秒', '1 second')."""
    for zh, en, size in (("天", "day", 86400), ("小时", "hour", 3600), ("分钟", "minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {zh}", f"{n} {en}{'s' if n != 1 else ''}"
    return f"{seconds:g} 秒", f"{seconds:g} second{'s' if seconds != 1 else ''}"


def bucket_slip_warning(given: str, bucket_seconds: float, timestamps: Iterable[datetime]) -> str | None:
    """A warning (Chinese first) when `--bucket given` is far smaller than the series' commonest step:
    `--bucket 5` is 5 seconds, and on a 5-minute series every row is then a gap (no window sums, no
    alert). Bare numbers stay seconds ("300" works); this only says so and suggests the likely value:
    the same number in minutes or hours when that is the step, else the step itself."""
    step = commonest_step(timestamps)
    if step is None or bucket_seconds >= BUCKET_SLIP_RATIO * step:
        return None
    suggestion = describe_bucket(step)
    bare = given.strip()
    try:
        number = float(bare)
    except ValueError:
        number = None
    if number is not None:
        for unit, size in (("m", 60), ("h", 3600)):
            if number * size == step:
                suggestion = f"{bare}{unit}"
                break
    size_zh, size_en = _duration(bucket_seconds)
    step_zh, step_en = _duration(step)
    return (f"--bucket {bare} 是 {size_zh}，而时间戳间隔是 {step_zh}：是否想写 --bucket {suggestion}？ / "
            f"--bucket {bare} is {size_en} but the timestamps are {step_en} apart: did you mean "
            f"--bucket {suggestion}?")


def off_grid_share(timestamps: Iterable[datetime], bucket_seconds: float) -> float:
    """The share of positive steps that are not a whole number of buckets (a file mixing time scales,
    or a --bucket that does not fit it): 0.0 for a clean series."""
    steps = _steps(timestamps)
    total = sum(steps.values())
    if not total:
        return 0.0
    off = sum(n for step, n in steps.items()
              if abs(step / bucket_seconds - round(step / bucket_seconds)) > 0.02 or step < bucket_seconds * 0.98)
    return off / total


def run_backtest(rows: list[SeriesRow], *, bucket_seconds: float | None = None,
                 settings: DetectorSettings | None = None, zone: tzinfo | None = None) -> Iterator[BacktestRow]:
    """Feed rows one at a time to the production detector and yield one output row per input row.

    ``zone``: the time zone whose daily rhythm the series follows (the CLI passes the configured one, as
    the service does); its daylight-saving changes do not move the "same time of day" profile."""
    settings = settings or DetectorSettings()
    if bucket_seconds is None:
        bucket_seconds = infer_bucket_seconds(r.timestamp for r in rows)
    detector = SpikeDetector(settings=replace(settings, bucket_seconds=bucket_seconds), zone=zone)
    for row in rows:
        if row.value is None:  # a missing count: kept, not judged
            yield BacktestRow(row.raw_timestamp, row.raw_value, 0.0, 0)
            continue
        decision = detector.observe(row.timestamp, row.value)
        yield BacktestRow(row.raw_timestamp, row.raw_value, round(decision.score, 4),
                          1 if decision.new_alert else 0, decision.severity if decision.new_alert else None)


def write_backtest(rows: Iterable[BacktestRow], out: Path) -> int:
    """Write `timestamp,value,score,alert` (creating the missing folders); returns the number of alerts."""
    if out.is_dir():
        raise IsADirectoryError(f"{out}: 是目录，请给出文件名（例如 {out / 'backtest.csv'}）/ is a directory, give a "
                                f"file name (e.g. {out / 'backtest.csv'})")
    out.parent.mkdir(parents=True, exist_ok=True)
    alerts = 0
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value", "score", "alert"])
        for row in rows:
            writer.writerow([row.raw_timestamp, row.raw_value, f"{row.score:.4f}", row.alert])
            alerts += row.alert
    return alerts
