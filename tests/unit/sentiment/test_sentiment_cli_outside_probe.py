"""`crisisbot sentiment eval|train` input as an outside tester writes it: label spellings (+1, full-width
digits, Chinese words), tab-separated files, and `--predictions -` (real scorer, small files)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.sentiment.cli import app
from bot.sentiment.train import read_labeled_csv

runner = CliRunner()

POS = ["太好看了，爱了", "支持，做得真棒", "服务很好，下次还来"]
NEG = ["垃圾，退款！", "太差了，再也不买", "骗子公司，投诉"]
NEU = ["请问多少钱", "明天几点发布"]


def _file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("neg", "pos"),
    [("-1", "+1"), ("-1", "+1.0"), ("-1.00", "1.00"), ("０", "１"), ("负面", "正面"), ("消极", "积极"), ("ＮＥＧ", "ＰＯＳ")],
)
def test_binary_label_spellings_are_read_and_no_row_is_left_out(tmp_path, neg, pos):
    """"+1" (the -1/+1 scheme), full-width digits and Chinese words were rejected row by row: a -1/+1 file's
    positives all went missing from the evaluation; a file labelled 负面/正面 could not be used at all."""
    rows = [(t, pos) for t in POS] + [(t, neg) for t in NEG]
    path = _file(tmp_path / "labels.csv", "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    data = read_labeled_csv(path)
    assert data.rejected == []
    assert data.labels == ["pos"] * len(POS) + ["neg"] * len(NEG)
    assert data.raw_labels == [lab for _, lab in rows]  # written back as they were
    assert not data.three_class


def test_chinese_three_class_labels_are_a_three_class_file(tmp_path):
    """负面/中性/正面, the words `/sentiment fix` takes, in a CSV: read as neg/neu/pos."""
    rows = [(t, "正面") for t in POS] + [(t, "负面") for t in NEG] + [(t, "中性") for t in NEU]
    path = _file(tmp_path / "zh.csv", "文本,标签\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    result = runner.invoke(app, ["eval", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["n"] == len(rows) and payload["rejected"] == 0
    assert "neutral_as_negative" in payload


def test_a_tab_separated_file_is_read(tmp_path):
    """A .tsv (ChnSentiCorp's `label<TAB>text_a`, a spreadsheet's text export) was refused with "expected a
    header with columns text,label (got ['label\\ttext_a'])"; a comma inside a text stays in the text."""
    path = _file(tmp_path / "data.tsv", "label\ttext_a\n0\t太差了，再也不买\n1\t很好, 推荐\n")
    data = read_labeled_csv(path)
    assert data.texts == ["太差了，再也不买", "很好, 推荐"]
    assert data.labels == ["neg", "pos"]


def test_a_comma_file_with_tabs_in_its_texts_stays_comma_separated(tmp_path):
    """Only a first line with tabs and no comma makes a tab-separated file (here the first line is a row)."""
    path = _file(tmp_path / "data.csv", "太差\t了,0\n很好,1\n")
    assert read_labeled_csv(path).texts == ["太差\t了", "很好"]


def test_predictions_dash_goes_to_stdout_and_json_stays_last(tmp_path, monkeypatch):
    """`--predictions -` wrote a file literally named "-" in the working folder. Now the CSV is standard
    output (the table goes to standard error), and with --json the JSON is still the last line."""
    monkeypatch.chdir(tmp_path)
    rows = [(t, "1") for t in POS] + [(t, "0") for t in NEG]
    path = _file(tmp_path / "b.csv", "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    result = runner.invoke(app, ["eval", str(path), "--predictions", "-", "--json"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "-").exists()
    lines = result.stdout.splitlines()
    payload = json.loads(lines[-1])
    written = list(csv.DictReader(io.StringIO("\n".join(lines[:-1]) + "\n")))
    assert [r["text"] for r in written] == [t for t, _ in rows]
    assert [r["label"] for r in written] == [lab for _, lab in rows]
    assert payload["n"] == len(written)
    assert "accuracy" in result.stderr and "accuracy" not in "\n".join(lines[:-1])  # the table: on stderr


def test_score_table_shows_bracket_codes_as_written(monkeypatch):
    """In a wide terminal `score` prints a rich table, which read comments' "[doge]" and "[b]" as its own
    style tags: "笑死[doge]了" showed as "笑死了", and "[/doge]" ended in a MarkupError traceback."""
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["score", "笑死[doge]了", "[/doge]", "[b]粗体[/b]"])
    assert result.exit_code == 0, result.output
    assert "笑死[doge]了" in result.stdout
    assert "[/doge]" in result.stdout
    assert "[b]粗体[/b]" in result.stdout


def test_eval_table_shows_a_model_path_with_brackets_as_written(tmp_path, monkeypatch):
    """A model file named "[red]m.npz" headed the table (and the confusion matrix) as "m.npz"."""
    import shutil

    from bot.sentiment.model import default_model_path

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # a short relative path: nothing in the table wraps
    model = Path("[red]m.npz")
    shutil.copyfile(default_model_path(), model)
    _file(tmp_path / "b.csv", "text,label\n" + "".join(f"{t},1\n" for t in POS) + "".join(f"{t},0\n" for t in NEG))
    result = runner.invoke(app, ["eval", "b.csv", "--model", str(model)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("[red]m.npz") >= 2  # the column and the confusion matrix's title


def test_few_rows_warning_counts_the_rows_training_uses(tmp_path, monkeypatch):
    """Two rows of the same text (or of empty texts) were announced as "neg 1, pos 1" rows, then refused for
    having fewer than two labels: training keeps a text's first row and no empty text."""
    from bot.sentiment.reproducible import PINNED_MARK

    monkeypatch.setenv(PINNED_MARK, "1")  # train in this process, as the pinned child does
    data = _file(tmp_path / "dup.csv", "text,label\n太差了,0\n太差了,1\n,1\n")
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "dup.npz")])
    assert result.exit_code == 2, result.output
    assert "训练数据很少（neg 1, pos 0 行，空文本和重复文本不计" in result.stderr
    assert "neg 1, pos 0 rows, empty and repeated texts not counted" in result.stderr
    assert not (tmp_path / "dup.npz").exists()


def test_predictions_may_not_overwrite_the_model_being_evaluated(tmp_path):
    """`eval data.csv --model m.npz --predictions m.npz` replaced the model file with the predictions CSV
    (only the data file was checked): refused before any work, the model left as it was."""
    import shutil

    from bot.sentiment.model import default_model_path

    model = tmp_path / "m.npz"
    shutil.copyfile(default_model_path(), model)
    before = model.read_bytes()
    path = _file(tmp_path / "b.csv", "text,label\n" + "".join(f"{t},1\n" for t in POS) + "".join(f"{t},0\n" for t in NEG))
    result = runner.invoke(app, ["eval", str(path), "--model", str(model), "--predictions", str(model)])
    assert result.exit_code == 2, result.output
    assert "--predictions" in result.stderr and "m.npz" in result.stderr
    assert model.read_bytes() == before


def test_a_headerless_label_text_file_whose_first_text_is_a_label_word_keeps_its_order(tmp_path):
    """Chinese label words are short texts too: "1,积极" without a header is a label and a text."""
    data = read_labeled_csv(_file(tmp_path / "nohdr.csv", "1,积极\n0,太差了\n"))
    assert data.texts == ["积极", "太差了"] and data.labels == ["pos", "neg"]


@pytest.mark.parametrize("two", ["2", "2.0", "２"])
def test_a_zero_one_two_file_is_refused_as_ambiguous(tmp_path, two):
    """Labels 0/1/2 (neg/neu/pos in some corpora, other orders in others) were read as 0/1: every "2" row was
    left out with a warning each and the neutral "1" rows were scored as positives. Refused with what to write."""
    rows = [(t, "0") for t in NEG] + [(t, "1") for t in NEU] + [(t, two) for t in POS]
    path = _file(tmp_path / "three.csv", "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    result = runner.invoke(app, ["eval", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert "labels 0/1/2 are ambiguous" in result.output and "neg/neu/pos" in result.output
    assert "标签为 0/1/2" in result.output


def test_a_binary_file_with_one_stray_two_still_reads_its_rows(tmp_path):
    """Only a file whose labels are all 0/1/2 is refused; a stray label beside words is a rejected row."""
    rows = [(t, "pos") for t in POS] + [(t, "neg") for t in NEG] + [("奇怪的一行", "2")]
    data = read_labeled_csv(_file(tmp_path / "stray.csv", "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows)))
    assert len(data.texts) == len(POS) + len(NEG) and len(data.rejected) == 1
