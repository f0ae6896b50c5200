"""The "teach the model" loop from outside: `/sentiment fix` and the Fix sentiment buttons on comments whose
ids hold ":" or spaces, what a fix answers about what follows it, what `train --include-corrections` says
about the corrections it adds, and `eval --model old --model new` as a before/after table."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime

from sqlmodel import select
from typer.testing import CliRunner

from bot.sentiment.cli import app
from bot.sentiment.models import SentimentCorrection
from bot.storage.models import Comment

runner = CliRunner()


def _ingest(bot, comment_id: str, text: str, *, likes: int = 0):
    report = bot.services.ingest.ingest_records([{
        "platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
        "text": text, "created_at": "2026-11-22T20:15:00+08:00", "like_count": likes,
    }], source="test")
    assert report.results[0].status == "accepted"


def _label(db, comment_id: str) -> str | None:
    with db.session() as s:
        return s.exec(select(Comment).where(Comment.comment_id == comment_id)).one().sentiment_label


def _texts(replies) -> str:
    return "\n".join((m.title or "") + "\n" + m.text for m in replies)


def _other_label(db, comment_id: str) -> str:
    return "neu" if _label(db, comment_id) != "neu" else "pos"


# ---- chat: ids with ":" and spaces ------------------------------------------------------------------------

def test_a_comment_id_holding_a_colon_can_be_corrected_by_command_and_by_its_queue_button(bot, db, run_command,
                                                                                         press_button):
    """Split at the last ":", "douyin:t1:c5" was read as platform "douyin:t1", id "c5": not found, also from
    the Fix sentiment button on the comment's own reply-queue item."""
    _ingest(bot, "t1:c5", "你们客服到底管不管？用了过敏没人理", likes=30)
    first = _other_label(db, "t1:c5")
    assert "无法更正" not in _texts(run_command(f"/sentiment fix douyin:t1:c5 {first}"))
    assert _label(db, "t1:c5") == first
    bare = "neg" if first != "neg" else "pos"
    assert "无法更正" not in _texts(run_command(f"/sentiment fix t1:c5 {bare}"))  # the bare id, colon and all
    assert _label(db, "t1:c5") == bare

    queue = run_command("/reply-queue")[-1]
    [review] = [b for s in queue.sections for b in s.buttons if b.action_id == "sentiment.review"]
    [choices] = press_button(review.action_id, review.value)
    assert "找不到" not in choices.text and len(choices.sections) == 1
    fix = next(b for b in choices.sections[0].buttons if b.value.endswith(" pos") or b.value.endswith(" neu"))
    assert "无法更正" not in _texts(press_button(fix.action_id, fix.value))
    assert _label(db, "t1:c5") == fix.value.rsplit(" ", 1)[1]
    with db.session() as s:
        assert {c.comment_id for c in s.exec(select(SentimentCorrection)).all()} == {"t1:c5"}


def test_a_prefix_that_is_no_platform_is_part_of_the_id_and_other_channels_still_see_nothing(bot, db, run_command):
    _ingest(bot, "shop:42", "发货太慢了")
    label = _other_label(db, "shop:42")
    assert "无法更正" not in _texts(run_command(f"/sentiment fix shop:42 {label}"))
    assert "找不到评论" in _texts(run_command("/sentiment fix bilibili:shop:42 neg"))  # another platform's
    assert "找不到评论" in _texts(run_command("/sentiment fix shop:42 neg", channel="console:xiaochu"))
    assert _label(db, "shop:42") == label


def test_the_label_buttons_of_a_comment_id_holding_a_space_work(bot, db, press_button):
    """The choice buttons carry "douyin:x y neg": split on every space, they were refused as malformed."""
    _ingest(bot, "x y", "带空格的评论 ID")
    [choices] = press_button("sentiment.review", "douyin:x y")
    label = _other_label(db, "x y")
    fix = next(b for b in choices.sections[0].buttons if b.value == f"douyin:x y {label}")
    replies = press_button(fix.action_id, fix.value)
    assert "按钮数据有误" not in _texts(replies) and _label(db, "x y") == label
    assert "按钮数据有误" in _texts(press_button("sentiment.fix", "douyin:x"))  # no label: still malformed


# ---- chat: what a fix says follows it ---------------------------------------------------------------------

def test_a_fix_says_the_queue_item_followed_and_alert_counts_did_not(bot, db, run_command):
    _ingest(bot, "q1", "今天直播几点开始呀", likes=5)
    label = _other_label(db, "q1")
    text = _texts(run_command(f"/sentiment fix q1 {label}"))
    assert "回复队列中这条评论的优先级和时限已按人工标签更新" in text and "reply-queue item" in text
    assert "告警已计入的负面数量不变" in text and "alerts already made stay" in text
    # the same label again: a confirmation; its queue item is re-ranked, no relabelling to explain
    again = _texts(run_command(f"/sentiment fix q1 {label}"))
    assert "已确认" in again and "优先级和时限已按人工标签更新" in again and "告警已计入" not in again


def test_a_fix_of_a_sticker_only_comment_does_not_claim_a_training_example(bot, db, run_command):
    """Training leaves out corrections without text; the answer said "kept as a training example"."""
    from bot.sentiment.corrections import corrections_for_training

    _ingest(bot, "s1", "")
    text = _texts(run_command("/sentiment fix s1 neg"))
    assert "评论没有文字，不用于训练" in text and "not used for training" in text
    assert "已存为训练样本" not in text and "> （仅表情 / sticker only）" in text
    assert _label(db, "s1") == "neg" and corrections_for_training(db) == []


# ---- train --include-corrections: what it says ------------------------------------------------------------

def _correct(db, comment_id: str, text: str, label: str, minute: int) -> None:
    with db.session() as s:
        s.add(SentimentCorrection(platform="douyin", account_id="lanji_official", comment_id=comment_id, text=text,
                                  old_label=None, new_label=label, corrected_by="console:alice",
                                  channel="console:lanji", created_at=datetime(2026, 11, 22, 12, minute, tzinfo=UTC)))


def _train(tmp_path, monkeypatch, rows: list[tuple[str, str]], *extra: str):
    from bot.sentiment.reproducible import PINNED_MARK

    monkeypatch.setenv(PINNED_MARK, "1")  # train in this process, as the pinned child does
    data = tmp_path / "data.csv"
    data.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows), encoding="utf-8")
    out = tmp_path / "model.npz"
    return runner.invoke(app, ["train", "--data", str(data), "--out", str(out), *extra]), out


# No pos row anywhere: training stops at the fit ("needs both neg and pos", exit 2) within a second, after
# the corrections were summed up, which happens before any training. A real fit takes 5-25 s here.
NO_POSITIVE = [("太差了，失望", "neg"), ("垃圾，要退款", "neg"), ("请问怎么用", "neu"), ("几号发货", "neu")]


def test_train_says_how_many_corrections_of_which_labels_with_what_weight_and_what_they_replace(
        sqlite_db, tmp_path, monkeypatch):
    _correct(sqlite_db, "c1", "用完脸更干了", "neg", 1)
    _correct(sqlite_db, "c1", "用完脸更干了", "neu", 2)  # the same comment again: the latest counts
    _correct(sqlite_db, "c2", "垃圾，要退款", "neu", 3)  # a training-file text, labelled neg there
    _correct(sqlite_db, "c3", "离谱", "neu", 4)
    _correct(sqlite_db, "c4", "离谱", "neg", 5)  # another comment of the same text: one row, the latest
    result, _ = _train(tmp_path, monkeypatch, NO_POSITIVE, "--include-corrections", "--database-url", sqlite_db.url)
    assert result.exit_code == 2 and "正面" in result.stderr, result.output  # the fit, after the summary
    said = re.sub(r"\s+", " ", result.stderr)
    assert "加入 3 条（neg 1、neu 2；每条评论取最新一次更正），每条权重 5" in said
    assert "3 added (neg 1, neu 2; the latest correction of each comment), weight 5 each" in said
    assert "另有 1 条与另一条更正过的评论文本相同" in said
    assert "其中 1 条的文本也在训练文件中（1 条标签不同），以更正为准" in said


def test_the_training_set_takes_the_corrections_as_said(sqlite_db, tmp_path):
    from bot.sentiment.corrections import corrections_for_training
    from bot.sentiment.train import CORRECTION_WEIGHT, TrainOptions, build_training_set, read_labeled_csv

    _correct(sqlite_db, "c2", "垃圾，要退款", "neu", 3)
    _correct(sqlite_db, "c3", "离谱", "neu", 4)
    _correct(sqlite_db, "c4", "离谱", "neg", 5)
    data = tmp_path / "data.csv"
    data.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in NO_POSITIVE), encoding="utf-8")
    built = build_training_set([read_labeled_csv(data)], TrainOptions(), corrections_for_training(sqlite_db))
    rows = dict(zip(built.texts, zip(built.labels, built.weights, strict=True), strict=True))
    assert rows["垃圾，要退款"] == ("neu", CORRECTION_WEIGHT) == ("neu", 5.0)  # the file's neg row replaced
    assert rows["离谱"] == ("neg", 5.0) and len(built.texts) == len(NO_POSITIVE) + 1
    assert built.sources[-1] == {"file": "corrections", "rows": 2, "used": 2, "row_weight": 5.0}


def test_train_says_neutral_corrections_do_nothing_without_a_neutral_training_file(sqlite_db, tmp_path, monkeypatch):
    _correct(sqlite_db, "c1", "请问有小样吗", "neu", 1)
    binary = [("太差了，失望", "0"), ("垃圾，要退款", "0")]
    result, _ = _train(tmp_path, monkeypatch, binary, "--include-corrections", "--database-url", sqlite_db.url)
    said = re.sub(r"\s+", " ", result.stderr)
    assert "1 条中性更正不会起作用" in said and "train with a neg/neu/pos file too" in said, result.output


def test_train_says_when_the_database_has_no_corrections(sqlite_db, tmp_path, monkeypatch):
    result, _ = _train(tmp_path, monkeypatch, NO_POSITIVE, "--include-corrections", "--database-url", sqlite_db.url)
    assert "中没有更正，只用训练文件训练" in result.stderr, result.output


def test_a_database_url_without_include_corrections_is_refused_before_training(sqlite_db, tmp_path, monkeypatch):
    """It was silently ignored: a long training run without the corrections the person named a database for."""
    result, out = _train(tmp_path, monkeypatch, NO_POSITIVE, "--database-url", sqlite_db.url)
    assert result.exit_code == 2 and "--include-corrections" in result.stderr
    assert not out.exists()


def test_train_help_says_which_corrections_go_in_and_from_where():
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "300", "NO_COLOR": "1"})
    text = re.sub(r"\s+", " ", result.output)
    assert "每条评论取最新一次更正，每条权重 5" in text and "the latest per comment, weight 5 each" in text
    assert "默认：机器人配置的数据库" in text
    result = runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert "多个 --model 时为最后一个模型的" in re.sub(r"\s+", " ", result.output)  # whose predictions are written


# ---- eval --model old --model new ---------------------------------------------------------------------------

def test_eval_before_after_names_both_models_in_full_and_shows_the_change(tmp_path):
    """Full paths as headers were cut in a narrow terminal ("…/model-2026-1…" over both columns)."""
    from bot.sentiment.model import default_model_path

    folder = tmp_path / "a rather long folder name for the team's models"
    folder.mkdir()
    before, after = folder / "model-2026-12-01.npz", folder / "model-2026-12-06.npz"
    shutil.copyfile(default_model_path(), before)
    shutil.copyfile(default_model_path(), after)
    check = tmp_path / "check.csv"
    check.write_text("text,label\n太差了，退款,neg\n请问几点开始,neu\n很好用，推荐,pos\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", str(check), "--model", str(before), "--model", str(after)],
                           env={"COLUMNS": "60", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"模型 1 / model 1: {before}" in out and f"模型 2 / model 2: {after}" in out
    assert "neutral_as_negative" in out and "…" not in out  # nothing cut
    assert "变化" in out and "change" in out
    accuracy_row = next(line for line in out.splitlines() if "accuracy" in line)
    assert accuracy_row.rstrip("│ ").endswith("0")  # the same model twice: no change
