"""The docs say what relabelling in chat is, as the code does it: the Fix sentiment buttons are plain buttons
(docs/slack.md said they open a label modal, docs/feishu.md called them a future feature), and docs/sentiment.md
names who may relabel, what a fix changes and what `train --include-corrections` prints."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.forms import form_spec_for
from bot.config import REPO_ROOT
from bot.sentiment.actions import FIX_ACTION, REVIEW_ACTION
from bot.sentiment.cli import _say_corrections
from bot.sentiment.train import CORRECTION_WEIGHT, LabeledFile

DOCS = REPO_ROOT / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_slack_and_feishu_docs_describe_the_fix_sentiment_buttons_as_plain_buttons():
    assert form_spec_for(REVIEW_ACTION) is None and form_spec_for(FIX_ACTION) is None  # what the code does
    slack = _doc("slack.md")
    [modals] = [line for line in slack.splitlines() if line.startswith("| 弹窗 / modals")]
    assert "更正情感" not in modals and "relabel" not in modals, modals
    assert "纠正情感 / Fix sentiment | 不弹窗" in slack
    feishu = _doc("feishu.md")
    assert "今后的功能若加入" not in feishu and "should a feature add one" not in feishu
    assert "“纠正情感” 按钮不需要表单" in feishu and "Fix sentiment) on alerts and queue items needs no form" in feishu


def test_sentiment_doc_names_the_permission_and_what_a_fix_changes():
    doc = _doc("sentiment.md")
    assert "`sentiment.permissions.fix`" in doc and "permissions: {fix: [sentiment_reviewer]}" in doc
    for words in ("立即按新标签重新计算优先级、回复时限", "之后生成的报告", "告警已计入的负面数量", "人工标注 / labelled"):
        assert words in doc, words
    assert f"每条权重 {CORRECTION_WEIGHT:g}" in doc and f"weight {CORRECTION_WEIGHT:g} each" in doc


def test_the_train_output_the_doc_quotes_is_what_train_prints(capsys):
    files = [LabeledFile(Path("a.csv"), ["发货太慢了", "挺好"], ["pos", "pos"], False, "0" * 64)]
    _say_corrections([("发货太慢了", "neu"), ("发货太慢了", "neg"), ("还行", "pos")], files, "sqlite:///bot.db")
    _say_corrections([], files, "sqlite:///bot.db")
    printed = capsys.readouterr().err
    doc = " ".join(_doc("sentiment.md").split())
    # (what train printed here, how the doc quotes it with placeholders)
    quoted = [
        ("更正 / corrections: 加入 2 条（neg 1、pos 1；每条评论取最新一次更正），每条权重 5（训练文件一行为 1）",
         "更正 / corrections: 加入 N 条（neg a、neu b、pos c；每条评论取最新一次更正），每条权重 5（训练文件一行为 1）"),
        ("另有 1 条与另一条更正过的评论文本相同，同一文本只用最新的一条更正 / 1 more had the text of another corrected "
         "comment: one row per text, with the latest correction",
         "另有 M 条与另一条更正过的评论文本相同，同一文本只用最新的一条更正 / M more had the text of another corrected "
         "comment: one row per text, with the latest correction"),
        ("其中 1 条的文本也在训练文件中（1 条标签不同），以更正为准 / 1 of them also appear in the training files (1 "
         "labelled differently there): the correction replaces those rows",
         "其中 K 条的文本也在训练文件中（D 条标签不同），以更正为准 / K of them also appear in the training files (D "
         "labelled differently there): the correction replaces those rows"),
        ("中没有更正，只用训练文件训练 / no corrections in sqlite:///bot.db: the model learns from the training files only",
         "中没有更正，只用训练文件训练 / no corrections in …: the model learns from the training files only"),
    ]
    printed = " ".join(printed.split())
    for said, documented in quoted:
        assert said in printed, said
        assert documented in doc, documented
