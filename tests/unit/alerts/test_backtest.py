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
    with pytest.raises(BacktestInputError, match=r"bad\.csv:3: bad timestamp"):
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
    assert "错误 / error" in result.output and ":3: bad timestamp" in result.output and "out of range" in result.output


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
