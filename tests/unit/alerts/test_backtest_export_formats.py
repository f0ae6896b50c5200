"""`crisisbot backtest SERIES.csv`: formats real exports use are read (a header in another case or with
spaces, `2026/01/01 00:00` dates, epoch milliseconds) and judged exactly as the canonical file is; a
truly bad value still stops with exit 2 and its line number. And `--bucket 5` (5 seconds) on a 5-minute
series warns that it probably meant `--bucket 5m`."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.alerts.backtest import parse_timestamp, read_series
from bot.alerts.cli import app

from .streams import PER_DAY, START, burst, daily_shape, negbin


def _values(days: int = 4, seed: int = 12) -> list[int]:
    n = days * PER_DAY
    return [int(v) for v in negbin(20 * daily_shape(n) * burst(n, 3 * PER_DAY, 10.0, 60), 0.05, seed=seed)]


def _write(path, header: str, stamps: list[str], values: list[int]):
    path.write_text(header + "\n" + "".join(f"{t},{v}\n" for t, v in zip(stamps, values, strict=True)),
                    encoding="utf-8")
    return path


def _run(tmp_path, src, *extra: str):
    out = tmp_path / f"{src.stem}.out.csv"
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(out), *extra])
    rows = None
    if result.exit_code == 0:
        with open(out, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    return result, rows


def _iso_stamps(n: int) -> list[str]:
    return [(START + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)]


def _judged(rows):
    return [(r["score"], r["alert"]) for r in rows]


@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("canonical")
    values = _values()
    result, rows = _run(tmp, _write(tmp / "canon.csv", "timestamp,value", _iso_stamps(len(values)), values))
    assert result.exit_code == 0, result.output
    assert sum(r["alert"] == "1" for r in rows) == 1  # the series alerts: a format change that loses it shows
    return values, rows


@pytest.mark.parametrize("header", ["Timestamp,Value", " timestamp , value ", "TIMESTAMP,VALUE",
                                    "Value,Timestamp"])
def test_a_header_in_another_case_or_with_spaces_is_read(tmp_path, canonical, header):
    values, expected = canonical
    stamps = _iso_stamps(len(values))
    if header.startswith("Value"):  # columns in the other order: named, not positional
        path = tmp_path / "swapped.csv"
        path.write_text(header + "\n" + "".join(f"{v},{t}\n" for t, v in zip(stamps, values, strict=True)),
                        encoding="utf-8")
    else:
        path = _write(tmp_path / "h.csv", header, stamps, values)
    result, rows = _run(tmp_path, path)
    assert result.exit_code == 0, result.output
    assert list(rows[0]) == ["timestamp", "value", "score", "alert"]
    assert [(r["timestamp"], r["value"]) for r in rows] == [(r["timestamp"], r["value"]) for r in expected]
    assert _judged(rows) == _judged(expected)


def test_a_header_without_the_columns_is_still_refused(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("time stamp,val\n2026-01-01 00:00,1\n", encoding="utf-8")
    result, _rows = _run(tmp_path, path)
    assert result.exit_code == 2
    assert "needs a header with columns timestamp,value" in result.output


@pytest.mark.parametrize("fmt", ["%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%dT%H:%M:%S"])
def test_slash_dates_are_read_as_naive_iso_times_are(tmp_path, canonical, fmt):
    """Naive times are UTC in this reader (as `2026-01-01 00:00` is): a slash date is the same instant."""
    values, expected = canonical
    stamps = [(START + timedelta(minutes=5 * i)).strftime(fmt) for i in range(len(values))]
    result, rows = _run(tmp_path, _write(tmp_path / "slash.csv", "timestamp,value", stamps, values))
    assert result.exit_code == 0, result.output
    assert [r["timestamp"] for r in rows] == stamps  # kept as written
    assert _judged(rows) == _judged(expected)


def test_slash_dates_parse_to_the_same_instant_as_iso():
    assert parse_timestamp("2026/01/01 00:00") == datetime(2026, 1, 1, tzinfo=UTC) == parse_timestamp("2026-01-01 00:00")
    assert parse_timestamp("2026/1/2 3:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_timestamp("2026/01/01 08:00+08:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2026/01/01") == parse_timestamp("2026-01-01")


def test_epoch_milliseconds_are_read(tmp_path, canonical):
    values, expected = canonical
    stamps = [str(int((START + timedelta(minutes=5 * i)).timestamp() * 1000)) for i in range(len(values))]
    assert len(stamps[0]) == 13
    result, rows = _run(tmp_path, _write(tmp_path / "ms.csv", "timestamp,value", stamps, values))
    assert result.exit_code == 0, result.output
    assert "bucket 5m, inferred" in result.output  # not 300,000 "seconds"
    assert [r["timestamp"] for r in rows] == stamps
    assert _judged(rows) == _judged(expected)


def test_the_milliseconds_rule():
    """A number too large to be seconds before the year 3000 is milliseconds; below that it is seconds."""
    assert parse_timestamp("1767225600000") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("1767225600000.0") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("1767225600") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("32503679999").year == 2999  # the last second before 3000 is still seconds
    assert parse_timestamp("32503680000") == datetime(1971, 1, 12, 4, 48, tzinfo=UTC)  # milliseconds
    for too_far in ("32503680000000", "1767225600000000", "1e20", "-1"):  # microseconds, nonsense, negative
        with pytest.raises(ValueError, match="out of range"):
            parse_timestamp(too_far)


@pytest.mark.parametrize("stamp", ["2026/13/01 00:00", "2026/01/01 25:00", "2026/01/01 00:00 junk",
                                   "2026/01/01 0:7", "01/02/2026 00:00", "17672256000000000"])
def test_a_truly_bad_timestamp_still_stops_with_its_line(tmp_path, stamp):
    path = tmp_path / "bad.csv"
    path.write_text(f"Timestamp,Value\n2026/01/01 00:00,1\n{stamp},2\n", encoding="utf-8")
    result, _rows = _run(tmp_path, path)
    assert result.exit_code == 2, result.output
    assert "bad.csv:3: 时间戳有误 / bad timestamp" in result.output
    with pytest.raises(Exception, match=r"bad\.csv:3"):
        read_series(path)


# --- --bucket 5 (seconds) on a 5-minute series -------------------------------------------------------


def test_a_bare_bucket_far_below_the_step_warns_and_suggests_minutes(tmp_path, canonical):
    values, expected = canonical
    src = _write(tmp_path / "s.csv", "timestamp,value", _iso_stamps(len(values)), values)
    result, rows = _run(tmp_path, src, "--bucket", "5")
    assert result.exit_code == 0, result.output
    assert len(rows) == len(values)  # still written as asked, on 5-second buckets
    warning = ("--bucket 5 是 5 秒，而时间戳间隔是 5 分钟：是否想写 --bucket 5m？ / --bucket 5 is 5 seconds but the "
               "timestamps are 5 minutes apart: did you mean --bucket 5m?")
    assert warning in result.stderr, result.stderr
    assert "桶 5s" in result.stdout


@pytest.mark.parametrize(("bucket", "suggested", "step_minutes"), [
    ("1", "1h", 60), ("20s", "5m", 5), ("10", "10m", 10), ("2", "1h", 60),
])
def test_the_suggestion_follows_the_step(tmp_path, bucket, suggested, step_minutes):
    stamps = [(START + timedelta(minutes=step_minutes * i)).isoformat() for i in range(50)]
    src = _write(tmp_path / "s.csv", "timestamp,value", stamps, [3] * 50)
    result, _rows = _run(tmp_path, src, "--bucket", bucket)
    assert result.exit_code == 0, result.output
    assert f"did you mean --bucket {suggested}?" in result.stderr, result.stderr
    assert f"是否想写 --bucket {suggested}？" in result.stderr


@pytest.mark.parametrize("bucket", [None, "5m", "300", "300s", "1m"])
def test_a_bucket_that_fits_the_step_does_not_warn(tmp_path, canonical, bucket):
    values, expected = canonical
    src = _write(tmp_path / "s.csv", "timestamp,value", _iso_stamps(len(values)), values)
    result, rows = _run(tmp_path, src, *(["--bucket", bucket] if bucket else []))
    assert result.exit_code == 0, result.output
    assert "did you mean" not in result.output
    if bucket != "1m":
        assert _judged(rows) == _judged(expected)
