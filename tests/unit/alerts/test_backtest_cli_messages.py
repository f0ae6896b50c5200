"""`crisisbot backtest SERIES.csv --out OUT.csv`: the output never replaces the input, and what the command
says (help, errors, summary) reads Chinese first with the English kept."""

from __future__ import annotations

import os
import re

import pytest
from typer.testing import CliRunner

from bot.alerts.backtest import parse_bucket, parse_timestamp
from bot.alerts.cli import app

SERIES = "timestamp,value\n2026-11-22T10:00:00,1\n2026-11-22T10:05:00,2\n2026-11-22T10:10:00,3\n"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _series(tmp_path):
    src = tmp_path / "s.csv"
    src.write_text(SERIES, encoding="utf-8")
    return src


def _chinese_first(text: str, english: str) -> None:
    assert english in text, text
    head = text[: text.index(english)]
    assert CJK.search(head), f"no Chinese before {english!r}: {text!r}"


@pytest.mark.parametrize("how", ["same", "spelled_differently", "hard_link", "symlink"])
def test_out_that_is_the_input_file_is_refused_and_the_input_kept(tmp_path, monkeypatch, how):
    src = _series(tmp_path)
    monkeypatch.chdir(tmp_path)
    if how == "same":
        out = str(src)
    elif how == "spelled_differently":
        (tmp_path / "sub").mkdir()
        out = "sub/../s.csv"
    elif how == "hard_link":
        os.link(src, tmp_path / "alias.csv")
        out = str(tmp_path / "alias.csv")
    else:
        (tmp_path / "link.csv").symlink_to(src)
        out = str(tmp_path / "link.csv")
    result = CliRunner().invoke(app, ["backtest", "s.csv", "--out", out])
    assert result.exit_code == 2, result.output
    assert src.read_text(encoding="utf-8") == SERIES  # the series is still there, untouched
    _chinese_first(result.output, "--out must not be the input file")
    assert result.output.startswith("错误 / error: --out 不能是输入文件本身")


def test_a_different_out_file_still_works(tmp_path):
    src = _series(tmp_path)
    out = tmp_path / "o.csv"
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == "timestamp,value,score,alert"
    # the Chinese part of the summary uses full-width brackets; the English part keeps ASCII ones
    assert "（桶 5m，由时间戳推断）/ 3 rows, 0 alerts" in result.output, result.output
    assert "(bucket 5m, inferred from the timestamps)" in result.output


def test_help_describes_every_argument_and_option_chinese_first():
    result = CliRunner().invoke(app, ["backtest", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    for english in ("count series CSV", "output CSV: timestamp,value,score,alert", "bucket size, e.g. 5m",
                    "replay a comment feed instead", "Backtest: replay a count series"):
        line = next(line for line in result.output.splitlines() if english in line)
        _chinese_first(line, english)


def test_a_bucket_that_is_no_size_says_what_a_bucket_looks_like(tmp_path):
    src = _series(tmp_path)
    result = CliRunner().invoke(app, ["backtest", str(src), "--out", str(tmp_path / "o.csv"), "--bucket", "7x"])
    assert result.exit_code == 2, result.output
    assert "could not convert" not in result.output
    _chinese_first(result.output, "a bucket looks like 5m, 300s or 1h (got '7x')")
    with pytest.raises(ValueError, match="桶大小应在 1s 到 1d 之间 / bucket must be between 1s and 1d"):
        parse_bucket("2d")


def test_series_and_comments_together_are_refused_chinese_first(tmp_path):
    src = _series(tmp_path)
    result = CliRunner().invoke(app, ["backtest", str(src), "--comments", str(tmp_path / "feed.jsonl")])
    assert result.exit_code == 2, result.output
    _chinese_first(result.output, "give either SERIES.csv or --comments FEED.jsonl, not both")
    assert "值无效" not in result.output


def test_a_missing_out_shows_the_usage_chinese_first(tmp_path):
    src = _series(tmp_path)
    result = CliRunner().invoke(app, ["backtest", str(src)])
    assert result.exit_code == 2, result.output
    _chinese_first(result.output, "--out is missing")
    assert "crisisbot backtest SERIES.csv --out OUT.csv [--bucket 5m]" in result.output


def test_an_empty_file_and_a_bad_timestamp_are_explained_chinese_first(tmp_path):
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2, result.output
    assert "None" not in result.output
    _chinese_first(result.output, "the file is empty")
    (tmp_path / "bad.csv").write_text("timestamp,value\nyesterday,1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2, result.output
    assert "Invalid isoformat" not in result.output
    _chinese_first(result.output, "expected ISO 8601")
    with pytest.raises(ValueError, match="^为空 / empty$"):
        parse_timestamp(" ")


def test_a_missing_series_file_is_named_chinese_first(tmp_path):
    result = CliRunner().invoke(app, ["backtest", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2, result.output
    assert "Errno" not in result.output
    _chinese_first(result.output, "file not found")


def test_out_with_comments_is_refused_instead_of_ignored(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text("", encoding="utf-8")
    out = tmp_path / "alerts.csv"
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed), "--out", str(out)])
    assert result.exit_code == 2
    assert "--out 只用于 SERIES.csv" in result.output and not out.exists()
