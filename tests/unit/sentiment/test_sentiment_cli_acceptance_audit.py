"""`crisisbot sentiment score|eval` as the held-out acceptance drives it (issue 4's CLI), found by an audit:

- `eval --json` rounded its metrics to 4 decimals, so they differed from the metrics of its own
  `--predictions` file ("the metrics are computed from exactly those predictions");
- a CSV with one invalid byte sequence (a lone surrogate, a stray 0x80) was refused whole, and a UTF-8 file
  with a stray byte that GB18030 happens to decode was read as GB18030 gibberish;
- `score --json` echoed argv bytes that are not UTF-8 raw, making its JSON line invalid UTF-8;
- a CSV without a header row was refused;
- `score "-_-"` (an emoticon) was taken for an unknown option.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.sentiment.cli import app
from bot.sentiment.train import DataError, read_labeled_csv

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()
METRICS = ("accuracy", "macro_f1", "neg_precision", "neg_recall")
LABEL_WORDS = {"0": "neg", "1": "pos", "neg": "neg", "neu": "neu", "pos": "pos"}


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def _predictions(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _metrics_by_hand(gold: list[str], pred: list[str], three_class: bool) -> dict[str, float]:
    """The issue's definitions, written out independently of bot/sentiment/metrics.py."""
    if not three_class:
        pred = ["neg" if p == "neg" else "pos" for p in pred]
    classes = [c for c in ("neg", "neu", "pos") if c in gold or c in pred]
    f1s = []
    for cls in classes:
        tp = sum(g == cls and p == cls for g, p in zip(gold, pred, strict=True))
        fp = sum(g != cls and p == cls for g, p in zip(gold, pred, strict=True))
        fn = sum(g == cls and p != cls for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    tp_neg = sum(g == "neg" and p == "neg" for g, p in zip(gold, pred, strict=True))
    out = {
        "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold),
        "macro_f1": sum(f1s) / len(f1s),
        "neg_precision": tp_neg / pred.count("neg") if "neg" in pred else 0.0,
        "neg_recall": tp_neg / gold.count("neg") if "neg" in gold else 0.0,
    }
    if three_class:
        neutral = [p for g, p in zip(gold, pred, strict=True) if g == "neu"]
        out["neutral_as_negative"] = neutral.count("neg") / len(neutral) if neutral else 0.0
    return out


def _write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


# ---- 1. the JSON metrics are those of the predictions file, to the last bit --------------------------
# The same text with two labels: the model gets one of each pair wrong and the other right, so the accuracy
# is k/7 with 2 <= k <= 5, a number 4 decimals cannot hold.
BINARY_ROWS = [("很好用，推荐", "1"), ("太差了，退款！", "0"), ("太差了，退款！", "1"), ("支持，做得真棒", "1"),
               ("骗子公司，投诉", "0"), ("骗子公司，投诉", "1"), ("服务很好，下次还来", "1")]
THREE_ROWS = [("很好用，推荐", "pos"), ("太差了，退款！", "neg"), ("太差了，退款！", "neu"), ("请问多少钱", "neu"),
              ("明天几点发布", "neu"), ("骗子公司，投诉", "neg"), ("骗子公司，投诉", "pos")]


@pytest.mark.parametrize(("rows", "three_class"), [(BINARY_ROWS, False), (THREE_ROWS, True)])
def test_eval_json_metrics_equal_the_metrics_of_its_predictions_file(tmp_path, rows, three_class):
    data = _write_rows(tmp_path / "seven.csv", rows)
    preds_path = tmp_path / "preds.csv"
    result = runner.invoke(app, ["eval", str(data), "--json", "--predictions", str(preds_path)])
    assert result.exit_code == 0, result.output
    payload = _last_json(result.stdout)
    written = _predictions(preds_path)
    assert [(r["text"], r["label"]) for r in written] == rows  # one row per input row, in input order
    expected = _metrics_by_hand([LABEL_WORDS[r["label"]] for r in written], [r["pred"] for r in written],
                                three_class)
    assert round(expected["accuracy"], 4) != expected["accuracy"]  # the file is one rounding would change
    assert payload["n"] == len(rows)
    for key, value in expected.items():
        assert payload[key] == pytest.approx(value, rel=0, abs=1e-12), key
    # the human table above the JSON line stays short to read
    table = "\n".join(result.stdout.strip().splitlines()[:-1])
    assert f"{round(expected['accuracy'], 4)}" in table and f"{expected['accuracy']!r}" not in table


# ---- 2. a CSV with a few invalid bytes is read, the bytes replaced, and said so -----------------------
def test_eval_reads_a_file_with_a_lone_surrogate_and_scores_every_row(tmp_path):
    path = tmp_path / "surrogate.csv"
    path.write_bytes("text,label\n很好用，推荐,1\n太差了\ud800退款,0\n支持，做得真棒,1\n".encode("utf-8", "surrogatepass"))
    preds_path = tmp_path / "preds.csv"
    result = runner.invoke(app, ["eval", str(path), "--json", "--predictions", str(preds_path)])
    assert result.exit_code == 0, result.output
    assert _last_json(result.stdout)["n"] == 3
    assert [r["text"] for r in _predictions(preds_path)] == ["很好用，推荐", "太差了\ufffd\ufffd\ufffd退款", "支持，做得真棒"]
    warning = [line for line in result.stderr.splitlines() if "U+FFFD" in line]
    assert len(warning) == 1, result.stderr
    # Chinese first, naming the bytes replaced and where the first one is
    assert warning[0].startswith("警告") and "3 个字节" in warning[0] and "第 3 行" in warning[0]
    assert warning[0].index("3 个字节") < warning[0].index("3 bytes")


def test_eval_reads_a_utf8_file_with_a_stray_byte(tmp_path):
    path = tmp_path / "stray.csv"
    path.write_bytes(b"text,label\n" + "很好用，推荐,1\n".encode() + b"ab\x80cd," + b"0\n" + "太差了,0\n".encode())
    preds_path = tmp_path / "preds.csv"
    result = runner.invoke(app, ["eval", str(path), "--predictions", str(preds_path)])
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in _predictions(preds_path)] == ["很好用，推荐", "ab\ufffdcd", "太差了"]
    assert "1 个字节" in result.stderr and "第 3 行" in result.stderr


def test_a_utf8_file_with_a_stray_byte_is_not_read_as_gb18030_gibberish(tmp_path):
    # these bytes happen to be valid GB18030 ("澶樊浜唨"): UTF-8 with one bad byte fits far better
    path = tmp_path / "f.csv"
    path.write_bytes(b"text,label\n" + "太差了".encode() + b"\x80,0\n")
    labeled = read_labeled_csv(path)
    assert labeled.texts == ["太差了\ufffd"] and labeled.labels == ["neg"]
    assert len(labeled.notes) == 1 and "UTF-8" in labeled.notes[0]


def test_a_gbk_file_with_a_stray_byte_is_read_as_gbk(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("text,label\n很好用，推荐,1\n".encode("gbk") + "太差了，退款".encode("gbk") + b"\x80,0\n")
    labeled = read_labeled_csv(path)
    assert labeled.texts == ["很好用，推荐", "太差了，退款\ufffd"] and labeled.labels == ["pos", "neg"]
    assert "GB18030" in labeled.notes[0] and "第 3 行" in labeled.notes[0]


def test_clean_files_carry_no_note(tmp_path):
    utf8, gbk = tmp_path / "u.csv", tmp_path / "g.csv"
    utf8.write_text("text,label\n很好,1\n差,0\n", encoding="utf-8")
    gbk.write_bytes("text,label\n很好,1\n太差了，退款,0\n".encode("gbk"))
    assert read_labeled_csv(utf8).notes == [] and read_labeled_csv(gbk).notes == []
    assert read_labeled_csv(gbk).texts == ["很好", "太差了，退款"]


def test_a_gb18030_file_with_its_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext,label\n很好,1\n太差了，退款,0\n".encode("gb18030"))
    labeled = read_labeled_csv(path)
    assert labeled.texts == ["很好", "太差了，退款"] and labeled.notes == []


@pytest.mark.parametrize(("data", "message"), [
    (random.Random(0).randbytes(4000).replace(b"\0", b"a"), "不是 UTF-8 或 GB18030 文本"),  # not a header of garbage
    (b"PK\x03\x04" + bytes(range(256)) * 4, "这是 Excel 工作簿或压缩包"),
    ("text,label\n好,1\n".encode("utf-16"), "这是 UTF-16 或 UTF-32 文本"),
])
def test_a_file_that_is_not_text_is_still_refused_clearly(tmp_path, data, message):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message):
        read_labeled_csv(path)


# ---- 3. `score` turns argv bytes that are not UTF-8 into text before echoing them -----------------------
def test_score_json_of_an_argv_with_invalid_utf8_is_valid_utf8_json():
    done = subprocess.run([sys.executable.encode(), b"-m", b"bot.cli", b"sentiment", b"score", b"--json", b"ab\x80cd"],
                          cwd=REPO, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    line = done.stdout.decode("utf-8").strip().splitlines()[-1]  # strict: a raw 0x80 fails here
    assert json.loads(line)["text"] == "ab\ufffdcd"


# ---- 4. a CSV without a header row is read as text,label (or label,text) rows -----------------------
@pytest.mark.parametrize(("content", "texts", "labels", "order"), [
    ("太差了,0\n好,1\n", ["太差了", "好"], ["neg", "pos"], "text,label"),
    ("0,太差了\n1,好\n", ["太差了", "好"], ["neg", "pos"], "label,text"),
    ("太差了,neg\n一般,neu\n好,pos\n", ["太差了", "一般", "好"], ["neg", "neu", "pos"], "text,label"),
    ("太差了,-1\n一般,0\n好,1\n", ["太差了", "一般", "好"], ["neg", "neu", "pos"], "text,label"),
    ("太差了, Negative\n好,positive\n", ["太差了", "好"], ["neg", "pos"], "text,label"),
])
def test_a_file_without_a_header_is_read_as_rows(tmp_path, content, texts, labels, order):
    path = tmp_path / "noheader.csv"
    path.write_text(content, encoding="utf-8")
    labeled = read_labeled_csv(path)
    assert labeled.texts == texts and labeled.labels == labels and labeled.rejected == []
    assert len(labeled.notes) == 1 and labeled.notes[0].startswith("注意") and order in labeled.notes[0]


def test_eval_of_a_file_without_a_header_scores_every_row_and_says_so(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text("太差了,0\n好,1\n", encoding="utf-8")
    preds_path = tmp_path / "preds.csv"
    result = runner.invoke(app, ["eval", str(path), "--json", "--predictions", str(preds_path)])
    assert result.exit_code == 0, result.output
    assert _last_json(result.stdout)["n"] == 2
    assert [(r["text"], r["label"]) for r in _predictions(preds_path)] == [("太差了", "0"), ("好", "1")]
    note = [line for line in result.stderr.splitlines() if "text,label" in line]
    assert len(note) == 1 and note[0].startswith("注意") and note[0].index("没有表头") < note[0].index("no header")


@pytest.mark.parametrize("content", [
    "text,label\n太差了,0\n好,1\n",
    "Text , Label\n太差了,0\n好,1\n",
    "content,sentiment\n太差了,0\n好,1\n",
    "label,text\n0,太差了\n1,好\n",
    "评论,情感\n太差了,0\n好,1\n",
])
def test_a_file_with_a_header_is_never_read_as_headerless(tmp_path, content):
    path = tmp_path / "h.csv"
    path.write_text(content, encoding="utf-8")
    labeled = read_labeled_csv(path)
    assert labeled.texts == ["太差了", "好"] and labeled.labels == ["neg", "pos"] and labeled.notes == []


@pytest.mark.parametrize("content", [
    "words,tag\n好,1\n",  # an unknown header
    "太差了,好\n",  # two texts
    "太差了,0,x\n好,1,y\n",  # three columns
    "text,positive\n好,1\n",  # a header naming one known column: not data
])
def test_a_file_neither_headed_nor_headerless_is_still_refused(tmp_path, content):
    path = tmp_path / "f.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="expected a header with columns text,label"):
        read_labeled_csv(path)


# ---- 5. texts starting with "-" are texts, the real options still options ----------------------------
@pytest.mark.parametrize("args", [
    ["--json", "-_-"],
    ["-_-", "--json"],
    ["-_-", "--backend", "default", "--json"],
    ["--json", "--", "-_-"],
])
def test_score_takes_an_emoticon_starting_with_a_dash_as_text(args):
    result = runner.invoke(app, ["score", *args])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line["text"] for line in lines] == ["-_-"]


def test_score_keeps_texts_in_order_with_dashes_and_options_anywhere():
    result = runner.invoke(app, ["score", "好", "-.-", "--json", "--x--", "-1分", "--", "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["text"] for line in result.stdout.strip().splitlines()] == [
        "好", "-.-", "--x--", "-1分", "--json"]


def test_score_options_still_work_and_fail_as_options():
    assert "--json" in runner.invoke(app, ["score", "-_-", "--help"]).stdout
    bad = runner.invoke(app, ["score", "-_-", "--backend", "nope"])
    assert bad.exit_code == 2 and "未知的后端" in bad.output
    table = runner.invoke(app, ["score", "-_-"])  # no --json: the human output
    assert table.exit_code == 0 and "-_-" in table.stdout and "{" not in table.stdout
