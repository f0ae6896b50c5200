"""Outside-in audit 13, `sentiment eval`/`train` messages: an unclosed quote is named with its line (it was
"no row has a usable label (line 4: label '')"); a row of empty cells (",") is a blank line, not a rejected
row; `--backend` is matched in any case."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.sentiment.cli import app

runner = CliRunner()


def test_an_unclosed_quote_is_named_with_the_line_it_opens_on(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text('text,label\n"太差了,neg\n很好,pos\n不错,pos\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", str(data)])
    assert result.exit_code == 2
    assert f"{data}:2：第 2 行的引号没有闭合，其后第 3–4 行都被读进了同一个字段 / the quote opened on line 2 is never " \
           "closed: lines 3-4 were read into the same field" in result.stderr
    last = tmp_path / "last.csv"
    last.write_text('text,label\n很好,pos\n"太差了,neg\n', encoding="utf-8")
    assert "第 3 行的引号没有闭合" in runner.invoke(app, ["eval", str(last)]).stderr


def test_a_multi_line_text_that_is_quoted_properly_is_still_read(tmp_path):
    from bot.sentiment.train import read_labeled_csv

    data = tmp_path / "d.csv"
    data.write_text('text,label\n"第一行\n第二行",neg\n很好,pos\n', encoding="utf-8")
    assert read_labeled_csv(data).texts == ["第一行\n第二行", "很好"]


def test_a_row_of_empty_cells_is_skipped_as_blank(tmp_path):
    from bot.sentiment.train import read_labeled_csv

    data = tmp_path / "d.csv"
    data.write_text("text,label\n太差了,neg\n,\n , \n很好,pos\n", encoding="utf-8")
    labeled = read_labeled_csv(data)
    assert labeled.texts == ["太差了", "很好"] and labeled.rejected == []
    result = runner.invoke(app, ["eval", str(data)])
    assert result.exit_code == 0 and "跳过" not in result.stderr, result.output


def test_the_backend_is_matched_in_any_case():
    result = runner.invoke(app, ["score", "--backend", "Default", "太差了", "--json"])
    assert result.exit_code == 0, result.output


def test_training_on_very_few_rows_warns_before_training(tmp_path, monkeypatch):
    from bot.sentiment.reproducible import PINNED_MARK

    monkeypatch.setenv(PINNED_MARK, "1")  # train in this process, as the pinned child does
    data = tmp_path / "few.csv"
    data.write_text("text,label\n太差了,neg\n垃圾,neg\n很好,pos\n喜欢,pos\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "few.npz")])
    assert result.exit_code == 0, result.output
    assert "警告：训练数据很少（neg 2, pos 2 行" in result.stderr and "at least 50 per class" in result.stderr
