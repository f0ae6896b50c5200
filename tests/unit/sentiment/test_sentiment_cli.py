"""`crisisbot sentiment score|eval|train` through the typer app (real scorer, small fixture files)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.sentiment.cli import app
from bot.sentiment.metrics import compute_metrics

runner = CliRunner()
EVAL_KEYS = {"n", "accuracy", "macro_f1", "neg_precision", "neg_recall", "texts_per_s"}

POS = ["太好看了，爱了", "支持，做得真棒", "服务很好，下次还来", "开心，推荐大家买", "质量不错，很满意",
       "谢谢客服，超级耐心", "真香！", "好评，物流快"]
NEG = ["垃圾，退款！", "太差了，再也不买", "骗子公司，投诉", "不好用，失望", "质量太差，恶心",
       "客服态度恶劣", "不高兴", "坑人，避雷"]
NEU = ["请问多少钱", "明天几点发布", "这是什么型号", "已转发", "在哪里买", "几号到货"]


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_score_json():
    result = runner.invoke(app, ["score", "不高兴", "我要投诉", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert lines[0]["label"] == "neg" and 0 <= lines[0]["score"] <= 1
    assert lines[0]["neg_score"] > 0.5 and lines[0]["score"] + lines[0]["neg_score"] <= 1
    assert {"term": "投诉", "category": "complaint"} in lines[1]["risk_flags"]


def test_eval_binary_json_keys_and_predictions(tmp_path):
    rows = [(t, "1") for t in POS] + [(t, "0") for t in NEG]
    data = _write(tmp_path / "binary.csv", rows)
    preds_path = tmp_path / "out" / "preds.csv"
    result = runner.invoke(app, ["eval", str(data), "--json", "--predictions", str(preds_path)])
    assert result.exit_code == 0, result.output
    payload = _last_json(result.stdout)
    assert EVAL_KEYS <= set(payload) and "neutral_as_negative" not in payload
    assert payload["n"] == len(rows)
    with preds_path.open(encoding="utf-8") as fh:
        written = list(csv.DictReader(fh))
    assert [r["text"] for r in written] == [t for t, _ in rows]  # input order
    assert [r["label"] for r in written] == [lab for _, lab in rows]
    gold = ["pos" if r["label"] == "1" else "neg" for r in written]
    recomputed = compute_metrics(gold, [r["pred"] for r in written], three_class=False)
    for key in ("accuracy", "macro_f1", "neg_precision", "neg_recall"):
        assert payload[key] == recomputed[key]
    assert payload["accuracy"] >= 0.75


def test_eval_three_class_reports_neutral_as_negative(tmp_path):
    rows = [(t, "pos") for t in POS] + [(t, "neg") for t in NEG] + [(t, "neu") for t in NEU]
    result = runner.invoke(app, ["eval", str(_write(tmp_path / "three.csv", rows)), "--json"])
    assert result.exit_code == 0, result.output
    payload = _last_json(result.stdout)
    assert EVAL_KEYS | {"neutral_as_negative"} <= set(payload)
    assert 0.0 <= payload["neutral_as_negative"] <= 1.0
    # where the errors are: gold x predicted counts, in the table and in the JSON
    assert "混淆矩阵 / confusion" in result.stdout
    assert set(payload["confusion"]) == {"neg", "neu", "pos"}
    assert sum(sum(row.values()) for row in payload["confusion"].values()) == payload["n"]
    assert payload["confusion"]["neu"]["neg"] == round(payload["neutral_as_negative"] * len(NEU))


def test_a_file_labelled_only_neg_and_pos_in_words_is_judged_as_binary(tmp_path):
    """No `neu` row: a binary file written in words. A `neu` prediction counts as not negative, exactly as
    for the same file written 0/1 (judged as 3-class, every neutral-looking comment would be an error)."""
    texts = POS + NEG + ["请问哪里买的", "已转发给朋友"]
    gold = ["pos"] * len(POS) + ["neg"] * len(NEG) + ["pos", "pos"]
    words = _write(tmp_path / "words.csv", list(zip(texts, gold, strict=True)))
    digits = _write(tmp_path / "digits.csv", [(t, "1" if g == "pos" else "0") for t, g in zip(texts, gold, strict=True)])
    by_words = _last_json(runner.invoke(app, ["eval", str(words), "--json"]).stdout)
    by_digits = _last_json(runner.invoke(app, ["eval", str(digits), "--json"]).stdout)
    assert "neutral_as_negative" not in by_words
    assert set(by_words["confusion"]) == {"neg", "pos"}
    for key in ("accuracy", "macro_f1", "neg_precision", "neg_recall"):
        assert by_words[key] == by_digits[key]


def test_eval_skips_a_row_with_a_bad_label_and_says_which(tmp_path):
    rows = [(t, "1") for t in POS] + [("坏", "maybe")] + [(t, "0") for t in NEG]
    preds_path = tmp_path / "preds.csv"
    result = runner.invoke(app, ["eval", str(_write(tmp_path / "bad.csv", rows)), "--json",
                                 "--predictions", str(preds_path)])
    assert result.exit_code == 0, result.output
    assert "line 10 skipped" in result.stderr and "label 'maybe' is not one of" in result.stderr and "skipped" in result.stderr
    payload = _last_json(result.stdout)
    assert payload["n"] == len(rows) - 1 and payload["rejected"] == 1
    with preds_path.open(encoding="utf-8") as fh:
        assert [r["text"] for r in csv.DictReader(fh)] == POS + NEG


def test_eval_with_no_usable_label_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["eval", str(_write(tmp_path / "bad.csv", [("好", "maybe"), ("坏", "")])), "--json"])
    assert result.exit_code == 2
    assert "no row has a usable label" in result.stderr and "maybe" in result.stderr


def test_eval_reads_other_corpora_column_names_and_signed_labels(tmp_path):
    """review/sentiment headers; -1/0/1 (0 = neutral when -1 is present); -1/1 alone is binary."""
    three = tmp_path / "signed.csv"
    three.write_text("label,review\n" + "".join(f"{g},{t}\n" for g, texts in (("1", POS), ("-1", NEG), ("0", NEU))
                                                for t in texts), encoding="utf-8")
    words = tmp_path / "words.csv"
    _write(words, [(t, "pos") for t in POS] + [(t, "neg") for t in NEG] + [(t, "neu") for t in NEU])
    signed = _last_json(runner.invoke(app, ["eval", str(three), "--json"]).stdout)
    plain = _last_json(runner.invoke(app, ["eval", str(words), "--json"]).stdout)
    assert {k: signed[k] for k in ("n", "accuracy", "neutral_as_negative")} == \
        {k: plain[k] for k in ("n", "accuracy", "neutral_as_negative")}
    binary = tmp_path / "signed_binary.csv"
    binary.write_text("text,sentiment\n" + "".join(f"{t},1\n" for t in POS) + "".join(f"{t},-1\n" for t in NEG),
                      encoding="utf-8")
    payload = _last_json(runner.invoke(app, ["eval", str(binary), "--json"]).stdout)
    assert payload["n"] == len(POS) + len(NEG) and "neutral_as_negative" not in payload


def test_eval_predictions_of_a_gbk_file_keep_its_labels_as_written(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(("Text,Label\n" + "".join(f"{t},{g}\n" for t, g in (("太差了", "0.0"), ("很好", "1.0"))))
                     .encode("gbk"))
    preds_path = tmp_path / "preds.csv"
    result = runner.invoke(app, ["eval", str(path), "--predictions", str(preds_path)])
    assert result.exit_code == 0, result.output
    with preds_path.open(encoding="utf-8") as fh:
        written = list(csv.DictReader(fh))
    assert [(r["text"], r["label"]) for r in written] == [("太差了", "0.0"), ("很好", "1.0")]


def test_eval_reads_spreadsheet_style_files_the_same_way(tmp_path):
    """Header case and spaces, 0.0/1.0 or negative/positive labels, a GBK file: the same metrics."""
    rows = [(t, "1") for t in POS] + [(t, "0") for t in NEG]
    plain = _last_json(runner.invoke(app, ["eval", str(_write(tmp_path / "plain.csv", rows)), "--json"]).stdout)
    floats = "Text , Label\n" + "".join(f"{t},{float(g)}\n" for t, g in rows)
    words = "TEXT,LABEL\n" + "".join(f"{t},{'positive' if g == '1' else 'negative'}\n" for t, g in rows)
    for name, content, encoding in (("floats.csv", floats, "utf-8"), ("words.csv", words, "gbk")):
        path = tmp_path / name
        path.write_bytes(content.encode(encoding))
        result = runner.invoke(app, ["eval", str(path), "--json"])
        assert result.exit_code == 0, result.output
        payload = _last_json(result.stdout)
        assert {k: payload[k] for k in ("n", "accuracy", "neg_precision", "neg_recall")} == \
            {k: plain[k] for k in ("n", "accuracy", "neg_precision", "neg_recall")}
        # negative/positive words with no neutral row: a binary file written in words, judged as binary
        assert "neutral_as_negative" not in payload


def test_eval_missing_file(tmp_path):
    result = runner.invoke(app, ["eval", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2


# Training is deterministic on two files at once (the second one an extra argument, labelled 1/0) and `eval`
# compares the models: checked in test_reproducible_training.py on the models that test trains anyway (two
# more trainings here, each a process of its own, cost the suite ~10 s).


def test_every_json_line_has_the_same_keys_even_for_an_empty_text():
    result = runner.invoke(app, ["score", "", "   ", "不高兴", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == 3 and len({frozenset(line) for line in lines}) == 1, lines
    assert lines[0]["label"] == "neu" and lines[0]["neg_score"] == 0.0


def test_score_reads_one_text_per_line_from_stdin():
    piped = "太差了，退款！\r\n\n很好用，推荐\n".encode("gbk")
    result = runner.invoke(app, ["score", "-", "--json"], input=piped)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    # one output per input line, the blank one too (scored as the empty text), so output line N is input line N
    assert [(r["text"], r["label"]) for r in lines] == [("太差了，退款！", "neg"), ("", "neu"), ("很好用，推荐", "pos")]


def test_score_in_a_narrow_terminal_prints_each_text_whole(monkeypatch):
    # an 80-column terminal: a six-column table cut "呵呵，服务真好" to "呵呵，服 …"
    monkeypatch.setenv("COLUMNS", "80")
    text = "呵呵，服务真好，下次还来这家店吃饭吗？我要投诉"
    result = runner.invoke(app, ["score", text, "很好用"])
    assert result.exit_code == 0, result.output
    assert f"> {text}" in result.stdout and "> 很好用" in result.stdout
    assert "负面 neg · P(正面 pos)" in result.stdout and "投诉（投诉举报 complaint）" in result.stdout


def test_score_in_a_wide_terminal_prints_a_table(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["score", "不高兴"])
    assert result.exit_code == 0, result.output
    assert "文本 / text" in result.stdout and "不高兴" in result.stdout


def test_macro_f1_leaves_out_a_class_absent_from_gold_and_predictions(tmp_path):
    """A neg/pos file written with words is read as 3-class; with no neu anywhere, a perfect run is macro-F1 1.0
    (it was 0.667: the absent neu class counted as F1 0)."""
    assert compute_metrics(["neg", "pos"], ["neg", "pos"], three_class=True)["macro_f1"] == 1.0
    assert compute_metrics(["neg", "neg"], ["neg", "neg"], three_class=False)["macro_f1"] == 1.0
    # a class that is predicted but never gold still counts (its F1 is 0)
    assert compute_metrics(["neg", "pos"], ["neg", "neu"], three_class=True)["macro_f1"] == pytest.approx(1 / 3, rel=0, abs=1e-12)
    rows = [("垃圾，退款！", "neg"), ("太差了，再也不买", "negative"), ("支持，做得真棒", "pos")]
    result = runner.invoke(app, ["eval", str(_write(tmp_path / "words.csv", rows)), "--json"])
    assert result.exit_code == 0, result.output
    payload = _last_json(result.stdout)
    if payload["accuracy"] == 1.0:
        assert payload["macro_f1"] == 1.0


@pytest.mark.parametrize("content", [b"", b"text,label\n\xe5\xa5\xbd,1\n", b"PK\x03\x04garbage"])
@pytest.mark.parametrize("command", ["score", "eval"])
def test_a_file_that_is_no_model_is_a_clear_error(tmp_path, content, command):
    """An empty file ended in "Aborted." (exit 1), a CSV in numpy's pickle advice, another .npz in a traceback."""
    model = tmp_path / "model.npz"
    model.write_bytes(content)
    args = ["score", "好"] if command == "score" else ["eval", str(_write(tmp_path / "d.csv", [("好", "1")]))]
    result = runner.invoke(app, [*args, "--model", str(model)])
    assert result.exit_code == 2, result.output
    assert "不是有效的 crisisbot 情感模型文件" in result.output and str(model) in result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output


def test_a_numpy_archive_of_something_else_is_a_clear_error(tmp_path):
    import numpy as np

    model = tmp_path / "other.npz"
    np.savez(model, a=np.arange(3))
    result = runner.invoke(app, ["score", "好", "--model", str(model)])
    assert result.exit_code == 2 and "不是有效的 crisisbot 情感模型文件" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unknown_backend_and_missing_model_are_told_in_chinese_first(tmp_path):
    result = runner.invoke(app, ["score", "好", "--backend", "foo"])
    assert result.exit_code == 2 and "未知的后端 'foo'" in result.output
    result = runner.invoke(app, ["score", "好", "--model", str(tmp_path)])  # a folder, not a model file
    assert result.exit_code == 2 and "找不到模型文件" in result.output


def test_predictions_never_overwrite_the_labeled_input(tmp_path):
    """`--predictions data.csv` silently replaced the labeled file with the predictions."""
    rows = [("垃圾，退款！", "0"), ("支持，做得真棒", "1")]
    data = _write(tmp_path / "data.csv", rows)
    before = data.read_bytes()
    result = runner.invoke(app, ["eval", str(data), "--predictions", str(tmp_path / "." / "data.csv")])
    assert result.exit_code == 2 and "--predictions" in result.output and "输入文件" in result.output
    assert data.read_bytes() == before


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_an_output_path_that_cannot_be_a_file_is_refused_before_the_work(tmp_path, where):
    """These ended in a traceback after the whole file was scored (or the whole model trained)."""
    data = _write(tmp_path / "data.csv", [("垃圾，退款！", "0"), ("支持，做得真棒", "1")])
    out = tmp_path if where == "folder" else data / "x.csv"
    for args in (["eval", str(data), "--predictions", str(out)], ["train", "--data", str(data), "--out", str(out)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "错误 / error" in result.output and "Traceback" not in result.output


def test_train_never_overwrites_its_training_data(tmp_path):
    data = _write(tmp_path / "data.csv", [("垃圾，退款！", "neg"), ("支持，做得真棒", "pos"), ("请问多少钱", "neu")])
    before = data.read_bytes()
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(data)])
    assert result.exit_code == 2 and "--out" in result.output and "输入文件" in result.output
    assert data.read_bytes() == before


def _train_process(tmp_path: Path, *extra: str):
    import subprocess
    import sys

    data = _write(tmp_path / "d.csv", [(t, "pos") for t in POS[:3]] + [(t, "neg") for t in NEG[:3]])
    args = [sys.executable, "-m", "bot.cli", "sentiment", "train", "--data", str(data), "--out",
            str(tmp_path / "m.npz"), "--include-corrections", *extra]
    return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_include_corrections_without_the_bots_database_is_a_clear_error_and_creates_none(tmp_path):
    """Run away from the bot's folder, it created an empty var/crisisbot.db and ended in a "no such table"
    traceback."""
    missing = tmp_path / "elsewhere" / "bot.db"
    done = _train_process(tmp_path, "--database-url", f"sqlite:///{missing}")
    assert done.returncode == 2, done.stderr
    assert "找不到机器人的数据库" in done.stderr and "Traceback" not in done.stderr
    assert not missing.exists() and not (tmp_path / "m.npz").exists()


def test_include_corrections_on_a_database_the_bot_never_ran_on_is_a_clear_error(tmp_path):
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table unrelated (a)").connection.close()
    done = _train_process(tmp_path, "--database-url", f"sqlite:///{other}")
    assert done.returncode == 2, done.stderr
    assert "没有更正记录" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("make", "chinese"), [
    (lambda d: d, "是目录，不是 CSV 文件"),  # read as "file not found" before
    (lambda d: d / "nope.csv", "找不到文件"),
    (lambda d: _write(d / "x.csv", []), "无法使用带标签的文件"),  # header only: "no rows"
    (lambda d: (d / "t.csv").write_text("text\n好\n", encoding="utf-8") and d / "t.csv", "无法使用带标签的文件"),
])
@pytest.mark.parametrize("command", ["eval", "train"])
def test_a_labeled_file_that_cannot_be_used_is_explained_chinese_first(tmp_path, make, chinese, command, monkeypatch):
    from bot.sentiment.reproducible import PINNED_MARK

    monkeypatch.setenv(PINNED_MARK, "1")  # train in this process (as its pinned child does) to see its output
    path = make(tmp_path)
    args = ["eval", str(path)] if command == "eval" else ["train", "--data", str(path), "--out", str(tmp_path / "m.npz")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("错误 / error: ") and chinese in line
    english = min(line.find(w) for w in ("is a folder", "file not found", "cannot use") if w in line)
    assert line.index(chinese) < english  # Chinese before the English


def test_a_skipped_row_is_announced_chinese_first(tmp_path):
    # (a "2" here would make the labels 0/1/2, a file refused as a whole: see test_sentiment_cli_outside_probe)
    result = runner.invoke(app, ["eval", str(_write(tmp_path / "b.csv", [("好", "1"), ("坏", "3"), ("差", "0")]))])
    assert result.exit_code == 0, result.output
    assert "第 3 行已跳过" in result.stderr and "标签 '3' 不是" in result.stderr and "label '3' is not one of" in result.stderr


def test_score_refuses_a_model_for_another_backend(tmp_path):
    """`score --backend snownlp --model m.npz` scored with SnowNLP and ignored the model without a word."""
    model = tmp_path / "m.npz"
    model.write_bytes(b"x")
    result = runner.invoke(app, ["score", "好", "--backend", "snownlp", "--model", str(model)])
    assert result.exit_code == 2 and "--model 只用于 default 后端" in result.output
