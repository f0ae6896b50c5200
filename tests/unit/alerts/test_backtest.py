"""`crisisbot backtest`: one output row per input row, no look-ahead, messy exports kept as they are."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.alerts.backtest import (
    BacktestInputError,
    SeriesRow,
    infer_bucket_seconds,
    parse_bucket,
    read_series,
    run_backtest,
)
from bot.alerts.cli import app

from .streams import PER_DAY, START, burst, daily_shape, negbin


def write_series(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["timestamp", "value"])
        w.writerows(rows)
    return path


def series_rows(values, step_minutes=5):
    return [SeriesRow(i + 2, (START + timedelta(minutes=step_minutes * i)).isoformat(), str(int(v)),
                      START + timedelta(minutes=step_minutes * i), float(v)) for i, v in enumerate(values)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=400), min_size=50, max_size=400),
       st.data())
def test_cutting_the_input_short_never_changes_earlier_rows(values, data):
    rows = series_rows(values)
    full = list(run_backtest(rows))
    cut = data.draw(st.integers(min_value=1, max_value=len(rows)))
    assert list(run_backtest(rows[:cut])) == full[:cut]


def test_no_look_ahead_on_a_long_stream_with_an_incident():
    n = 4 * PER_DAY
    values = negbin(30 * daily_shape(n) * burst(n, 3 * PER_DAY, 8.0, 48), 0.1, seed=11)
    rows = series_rows(values)
    full = list(run_backtest(rows))
    assert sum(r.alert for r in full) >= 1
    for cut in (300, 3 * PER_DAY + 1, 3 * PER_DAY + 5, n - 1):
        assert list(run_backtest(rows[:cut])) == full[:cut]


def test_messy_export_keeps_every_row_in_order(tmp_path):
    rows = [(f"2026-03-02 00:{m:02d}:00", "3") for m in range(0, 60, 5)]
    rows.insert(5, rows[4])  # a repeated timestamp
    rows.insert(9, ("2026-03-02 00:01:00", "2"))  # out of order
    del rows[11]  # a gap
    rows.insert(3, ("2026-03-02 00:12:00", ""))  # a missing count: kept, not judged
    src = write_series(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as handle:
        got = list(csv.DictReader(handle))
    assert [(r["timestamp"], r["value"]) for r in got] == rows
    assert set(got[0]) == {"timestamp", "value", "score", "alert"}
    assert all(r["alert"] in ("0", "1") for r in got)


def test_cli_alerts_once_per_episode(tmp_path):
    n = 4 * PER_DAY
    values = negbin(20 * daily_shape(n) * burst(n, 3 * PER_DAY, 10.0, 60), 0.05, seed=12)
    rows = [((START + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S"), str(int(v)))
            for i, v in enumerate(values)]
    src = write_series(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(out), "--bucket", "5m"])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as handle:
        alerts = [i for i, r in enumerate(csv.DictReader(handle)) if r["alert"] == "1"]
    assert len(alerts) == 1 and 3 * PER_DAY <= alerts[0] <= 3 * PER_DAY + 2


def test_bad_input_is_a_clear_error(tmp_path):
    src = write_series(tmp_path / "bad.csv", [("2026-03-02 00:00:00", "3"), ("yesterday", "4")])
    with pytest.raises(BacktestInputError, match=r"bad\.csv:3: 时间戳有误 / bad timestamp"):
        read_series(src)
    src = write_series(tmp_path / "neg.csv", [("2026-03-02 00:00:00", "-3")])
    with pytest.raises(BacktestInputError, match="value must be"):
        read_series(src)
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    (tmp_path / "nohdr.csv").write_text("a,b\n1,2\n")
    with pytest.raises(BacktestInputError, match="timestamp,value"):
        read_series(tmp_path / "nohdr.csv")


def test_bucket_inference_and_parsing():
    ts = [START + timedelta(minutes=30 * i) for i in range(10)]
    assert infer_bucket_seconds(ts) == 1800
    assert infer_bucket_seconds(ts[:1]) == 300  # nothing to infer from: the default
    assert parse_bucket("5m") == 300 and parse_bucket("1h") == 3600 and parse_bucket("90") == 90
    with pytest.raises(ValueError):
        parse_bucket("0m")
    assert np.isclose(infer_bucket_seconds([START, START, START + timedelta(minutes=5)]), 300)
    for silent_nonsense in ("inf", "1e308h", "1e-9s", "nan", "2d"):
        with pytest.raises(ValueError, match="between 1s and 1d"):
            parse_bucket(silent_nonsense)


def test_a_gbk_series_is_read_like_the_importer_reads_it(tmp_path):
    src = tmp_path / "gbk.csv"
    src.write_bytes("timestamp,value,备注\n2026-11-22 10:00,1,平时\n2026-11-22 10:05,2,高峰\n".encode("gb18030"))
    out = tmp_path / "o.csv"
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3


@pytest.mark.parametrize("stamp", ["1e20", "-1e15", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"])
def test_an_impossible_timestamp_is_a_clear_error(tmp_path, stamp):
    src = write_series(tmp_path / "s.csv", [("2026-11-22T10:00:00", "1"), (stamp, "2")])
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2, result.output
    assert "错误 / error" in result.output and ":3: 时间戳有误 / bad timestamp" in result.output and "out of range" in result.output


def test_out_in_a_missing_folder_is_created(tmp_path):
    src = write_series(tmp_path / "s.csv", [("2026-11-22T10:00:00", "1"), ("2026-11-22T10:05:00", "2")])
    out = tmp_path / "reports" / "2026" / "o.csv"
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("timestamp,value,score,alert")


def test_out_pointing_at_a_folder_is_a_clear_error(tmp_path):
    src = write_series(tmp_path / "s.csv", [("2026-11-22T10:00:00", "1")])
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "错误 / error" in result.output and "is a directory" in result.output


def _misleading_start(first_step_minutes: list[int], first_rows: int, seed: int) -> list[tuple[str, str]]:
    """`first_rows` rows whose steps cycle through `first_step_minutes`, then three days of 5-minute rows
    (with a pile-on on the last day): a file whose first 200 rows mislead about its bucket."""
    rng = np.random.default_rng(seed)
    rows, at = [], START
    for i in range(first_rows):
        rows.append((at.isoformat(), str(int(rng.integers(0, 3)))))
        at += timedelta(minutes=first_step_minutes[i % len(first_step_minutes)])
    n = 3 * PER_DAY
    values = negbin(12 * daily_shape(n) * burst(n, 2 * PER_DAY + 100, 8.0, 48), 0.05, seed=seed)
    at = START + timedelta(minutes=5) * (int((at - START).total_seconds() // 300) + 1)
    for i, v in enumerate(values):
        rows.append(((at + timedelta(minutes=5 * i)).isoformat(), str(int(v))))
    return rows


@pytest.mark.parametrize("steps", [[15, 20, 30, 60], [1]], ids=["sparse-start", "dense-start"])
def test_the_bucket_is_the_commonest_step_not_the_median_of_the_first_rows(tmp_path, steps):
    """An export that lists only the buckets with comments starts sparse (a quiet night, a new account:
    steps of 15-60 minutes); one glued from a fine-grained slice starts dense. Inferring the bucket from
    the median of the first 200 rows gave 20 minutes (or 1 minute) for a file of 5-minute buckets: every row
    after was judged on the wrong time scale (with 1 minute each 5-minute step was a 'gap' that emptied the
    window sums: three days with a x8 pile-on and not one alert). The commonest step of the first week of
    rows says 5 minutes: the output is the one `--bucket 5m` gives."""
    rows = _misleading_start(steps, 260, seed=5)
    parsed = read_series(write_series(tmp_path / "in.csv", rows))
    assert infer_bucket_seconds(r.timestamp for r in parsed) == 300
    outputs = {}
    for label, extra in (("inferred", []), ("explicit", ["--bucket", "5m"])):
        out = tmp_path / f"{label}.csv"
        result = CliRunner().invoke(app, ["backtest", str(tmp_path / "in.csv"), "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert "bucket 5m" in result.output
        # the 1-minute slice is judged as 5-minute buckets: the user is told the file mixes time scales
        assert ("note" in result.output) == (steps == [1]), result.output
        with open(out, newline="") as handle:
            outputs[label] = [(r["score"], r["alert"]) for r in csv.DictReader(handle)]
    assert outputs["inferred"] == outputs["explicit"]
    assert any(alert == "1" for _score, alert in outputs["inferred"][260:])


def test_an_unreadable_csv_row_is_a_clear_error_not_a_traceback(tmp_path):
    """A cell over the csv module's field limit (a runaway quote, a pasted blob) raised csv.Error out of
    the command as a traceback."""
    src = tmp_path / "s.csv"
    src.write_text("timestamp,value\n2026-11-22T10:00:00,1\n2026-11-22T10:05:00," + "1" * 200_000 + "\n")
    with pytest.raises(BacktestInputError, match=r"s\.csv:3: 无法读取的 CSV 行 / unreadable CSV row"):
        read_series(src)
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "错误 / error" in result.output and ":3: 无法读取的 CSV 行 / unreadable CSV row" in result.output
