"""Reading labeled CSV files for eval and training: a bad row is left out with its line and reason."""

from __future__ import annotations

import pytest

from bot.sentiment.train import DataError, TrainOptions, build_training_set, read_labeled_csv


def test_a_row_with_an_unknown_label_is_left_out_and_recorded(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("text,label\n很好,1\n坏,\n太差了,0\n还行,2\n", encoding="utf-8")
    labeled = read_labeled_csv(path)
    assert labeled.texts == ["很好", "太差了"] and labeled.labels == ["pos", "neg"]
    assert labeled.raw_labels == ["1", "0"] and not labeled.three_class
    assert [(r.line, r.reason) for r in labeled.rejected] == [
        (3, "标签 '' 不是 0/1、neg/neu/pos 或 -1/0/1 之一 / label '' is not one of 0/1, neg/neu/pos or -1/0/1"),
        (5, "标签 '2' 不是 0/1、neg/neu/pos 或 -1/0/1 之一 / label '2' is not one of 0/1, neg/neu/pos or -1/0/1"),
    ]
    sources = build_training_set([labeled], TrainOptions()).sources
    assert sources[0]["rows"] == 2 and sources[0]["rejected_rows"] == 2


def test_a_clean_file_records_no_rejections(tmp_path):
    # the training metadata of clean files stays exactly as before (the shipped model's bytes)
    path = tmp_path / "clean.csv"
    path.write_text("text,label\n很好,pos\n一般,neu\n差,neg\n", encoding="utf-8")
    labeled = read_labeled_csv(path)
    assert labeled.rejected == [] and labeled.three_class
    assert "rejected_rows" not in build_training_set([labeled], TrainOptions()).sources[0]


def test_a_very_long_post_is_read_and_the_csv_limit_is_restored(tmp_path):
    import csv

    path = tmp_path / "long.csv"
    path.write_text("text,label\n" + "好" * 300_000 + ",1\n差,0\n", encoding="utf-8")
    before = csv.field_size_limit()
    labeled = read_labeled_csv(path)
    assert [len(t) for t in labeled.texts] == [300_000, 1] and csv.field_size_limit() == before


@pytest.mark.parametrize("content, message", [
    ("text,label\n好,1\n坏,neg\n", "mixes 0/1 and neg/neu/pos labels"),
    ("words,tag\n好,1\n", "expected a header with columns text,label"),
    ("text,label\n", "no rows"),
])
def test_unusable_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_labeled_csv(path)
