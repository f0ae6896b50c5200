"""`crisisbot sentiment score|eval|train` defects found by the twelfth audit (each test failed before its fix):

- `train` on data with one label only, or without neg or pos, ended in a DataError traceback (exit 1);
- `score` and `eval` ignored the config's `sentiment.model_path`, which the bot (and chat's `/sentiment
  score`) uses;
- a risk term after the first 5,000 characters was never flagged (the folding cut the text there);
- `score -` read UTF-16 input (with its byte-order mark) as garbage, and a bare CR did not end a line;
- an empty or whitespace-only CSV was refused as "expected a header ... (got None)", a binary file as a
  header of control characters;
- `score --json` wrote U+2028, U+2029 and U+0085 raw: one JSON document split into several lines for
  str.splitlines() and JavaScript.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.sentiment.cli import app
from bot.sentiment.normalization import MAX_CHARS
from tests.unit.sentiment.test_sentiment_cli import _write

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def _json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# --- train: too few labels -----------------------------------------------------------------------------


@pytest.mark.parametrize(("rows", "chinese"), [
    ([("太好了", "pos"), ("很棒", "pos"), ("喜欢", "pos")], "至少需要两种不同的标签"),
    ([("太差了", "neg"), ("请问几点", "neu"), ("垃圾", "neg")], "同时有负面和正面"),
    ([("太好了", "pos"), ("请问几点", "neu"), ("喜欢", "pos")], "同时有负面和正面"),
])
def test_train_on_too_few_labels_is_the_clean_error_line_and_exit_2(tmp_path, monkeypatch, rows, chinese):
    from bot.sentiment.reproducible import PINNED_MARK

    monkeypatch.setenv(PINNED_MARK, "1")  # train in this process, as the pinned child does
    data = _write(tmp_path / "one.csv", rows)
    out = tmp_path / "m.npz"
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("错误 / error: ") and chinese in line
    assert not out.exists()


# --- score / eval: the config's model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def flat_model(tmp_path_factory) -> Path:
    """The shipped model with every weight and bias zero: the same answer for every text, unlike the shipped
    model ("太好了" pos, "太差了" neg)."""
    from bot.sentiment.model import LinearModel

    shipped = LinearModel.load()
    path = tmp_path_factory.mktemp("models") / "flat.npz"
    LinearModel(weights=np.zeros_like(shipped.weights), bias=np.zeros_like(shipped.bias), meta=shipped.meta).save(path)
    return path


def _config(tmp_path: Path, monkeypatch, model_path: str) -> Path:
    config = tmp_path / "cfg" / "crisisbot.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"sentiment:\n  model_path: {json.dumps(model_path)}\n", encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(config))
    return config


def test_score_uses_the_configs_model_path_and_says_so(tmp_path, monkeypatch, flat_model):
    _config(tmp_path, monkeypatch, str(flat_model))
    result = runner.invoke(app, ["score", "太好了", "太差了", "--json"])
    assert result.exit_code == 0, result.output
    good, bad = _json_lines(result.stdout)
    # the flat model's answer, one for all texts; the shipped model tells these two apart
    assert (good["label"], good["score"]) == (bad["label"], bad["score"])
    human = runner.invoke(app, ["score", "太好了"])
    assert human.exit_code == 0, human.output
    assert str(flat_model) in human.stderr and "sentiment.model_path" in human.stderr
    # --model still wins over the config
    from bot.sentiment.model import default_model_path

    chosen = runner.invoke(app, ["score", "太好了", "--json", "--model", str(default_model_path())])
    assert _json_lines(chosen.stdout)[0]["label"] == "pos"


def test_eval_uses_the_configs_model_path_and_model_options_still_compare(tmp_path, monkeypatch, flat_model):
    from bot.sentiment.model import default_model_path

    _config(tmp_path, monkeypatch, str(flat_model))
    data = _write(tmp_path / "d.csv", [("太好了，爱了", "pos"), ("质量不错，很满意", "pos"), ("垃圾，退款！", "neg"),
                                        ("太差了，再也不买", "neg")])
    result = runner.invoke(app, ["eval", str(data), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    predicted = {label for row in payload["confusion"].values() for label, count in row.items() if count}
    assert len(predicted) == 1  # the flat model: one answer for every row
    both = runner.invoke(app, ["eval", str(data), "--json", "--model", str(flat_model),
                               "--model", str(default_model_path())])
    assert both.exit_code == 0, both.output
    payload = json.loads(both.stdout.strip().splitlines()[-1])
    assert [m["model"] for m in payload["models"]] == [str(flat_model), str(default_model_path())]
    assert payload["models"][0]["accuracy"] < payload["models"][1]["accuracy"] == 1.0


def test_a_configured_model_that_is_missing_is_a_clear_error_naming_the_config(tmp_path, monkeypatch):
    _config(tmp_path, monkeypatch, str(tmp_path / "gone.npz"))
    result = runner.invoke(app, ["score", "太好了"])
    assert result.exit_code == 2, result.output
    assert "找不到模型文件" in result.stderr and "sentiment.model_path" in result.stderr


# --- risk terms after the first 5,000 characters ------------------------------------------------------


@pytest.mark.parametrize("prefix", [MAX_CHARS * 3, MAX_CHARS - 1, MAX_CHARS + 7])
def test_a_risk_term_anywhere_in_a_long_text_is_flagged(prefix):
    from bot.sentiment.risk import RiskLexicon

    text = "好" * prefix + "我要投訴"  # traditional: folded to 投诉 wherever it is
    assert [f.term for f in RiskLexicon.load().find(text)] == ["投诉"]
    result = runner.invoke(app, ["score", text, "--json"])
    assert result.exit_code == 0, result.output
    assert {"term": "投诉", "category": "complaint"} in _json_lines(result.stdout)[0]["risk_flags"]


def test_a_term_straddling_a_fold_piece_is_found_and_short_texts_fold_as_before():
    from bot.sentiment.risk import RiskLexicon

    lexicon = RiskLexicon.load()
    for cut in range(1, 5):  # 虚假宣传 across the boundary of the first MAX_CHARS piece
        text = "a" * (MAX_CHARS - cut) + "虛假宣傳"
        assert [f.term for f in lexicon.find(text)] == ["虚假宣传"], cut
    assert lexicon.find("a" * (MAX_CHARS + 1)) == ()
    assert [f.term for f in lexicon.find("ＡＢＣ投訴")] == ["投诉"]


# --- score -: UTF-16 and bare CR ----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_score_stdin_with_a_byte_order_mark_is_read_in_its_encoding(encoding):
    boms = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
    piped = boms.get(encoding, b"") + "太差了，我要投诉\n很好用，推荐\n".encode(encoding)
    result = runner.invoke(app, ["score", "-", "--json"], input=piped)
    assert result.exit_code == 0, result.output
    lines = _json_lines(result.stdout)
    assert [r["text"] for r in lines] == ["太差了，我要投诉", "很好用，推荐"]
    assert lines[0]["label"] == "neg" and {"term": "投诉", "category": "complaint"} in lines[0]["risk_flags"]


def test_score_stdin_with_bare_cr_line_ends_gives_one_result_per_line():
    result = runner.invoke(app, ["score", "-", "--json"], input="太差了\r\r很好用\r".encode())
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in _json_lines(result.stdout)] == ["太差了", "", "很好用"]


# --- eval: empty, whitespace-only and binary files ----------------------------------------------------


@pytest.mark.parametrize(("content", "chinese", "english"), [
    (b"", "文件是空的", "the file is empty"),
    (codecs.BOM_UTF8, "文件是空的", "the file is empty"),
    (b"  \n\n \t \r\n", "只有空白", "only whitespace"),
    (bytes(range(256)), "不是文本文件", "not a text file"),
    (bytes(range(256)) * 4, "不是文本文件", "not a text file"),
])
@pytest.mark.parametrize("command", ["eval", "train"])
def test_an_empty_or_binary_labeled_file_says_so(tmp_path, monkeypatch, content, chinese, english, command):
    from bot.sentiment.reproducible import PINNED_MARK

    monkeypatch.setenv(PINNED_MARK, "1")
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    args = ["eval", str(path)] if command == "eval" else ["train", "--data", str(path), "--out", str(tmp_path / "m.npz")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("错误 / error: ") and chinese in line and english in line
    assert "got None" not in line and "表头" not in line


def test_a_file_with_one_stray_nul_is_still_read(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes("text,label\n太好了,1\na\0b,0\n太差了,0\n".encode())
    result = runner.invoke(app, ["eval", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["n"] == 3


# --- score --json: one line per document --------------------------------------------------------------


def test_score_json_escapes_every_line_break_but_keeps_chinese():
    texts = ["好\u2028坏", "a\u2029b", "c\x85d", "e\x0bf\x0cg", "h\x1ci\x1dj\x1ek", "投诉\u2028了"]
    result = runner.invoke(app, ["score", *texts, "--json"])
    assert result.exit_code == 0, result.output
    raw = result.stdout
    lines = raw.splitlines()  # every line break str.splitlines() knows
    assert len(lines) == len(texts), lines
    assert [json.loads(line)["text"] for line in lines] == texts
    assert "好" in raw and "投诉" in raw and "\\u597d" not in raw  # Chinese unescaped
    assert "\\u2028" in raw and "\\u2029" in raw and "\\u0085" in raw


# --- the defaults shipped in the package ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["risk_terms.yaml", "userdict.txt"])
def test_the_packaged_defaults_are_the_repositorys_config_files(name):
    """An install without the repository's config/ reads bot/sentiment/data/<name>: it must be the file the
    shipped model was trained and measured with. Edit config/sentiment/<name>, then copy it there."""
    packaged = REPO / "bot" / "sentiment" / "data" / name
    assert packaged.read_bytes() == (REPO / "config" / "sentiment" / name).read_bytes()
