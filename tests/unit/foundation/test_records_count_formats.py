"""Counts as Chinese exports and apps write them are read by the record check (pure, no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.feeds.records import CommentRecord, UnreadableCount, parse_count, validate_record

GOOD = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": "c1",
        "text": "好用", "created_at": "2026-11-22T20:15:00+08:00"}


@pytest.mark.parametrize("text, number", [
    ("1.2万", 12_000), ("1,234", 1_234), ("3w", 30_000), ("3W", 30_000), ("1.5k", 1_500), ("1.5K", 1_500),
    ("2亿", 200_000_000), ("1.2万+", 12_000), ("10万+", 100_000), ("１２３", 123), ("１．５ｗ", 15_000),
    ("１，２３４", 1_234), ("１.２Ｗ＋", 12_000), ("  56\t", 56), ("1.2 万", 12_000), ("2.5千", 2_500),
    ("3.0", 3), ("0", 0), ("1.23456万", 12_345), ("9,223,372,036,854,775,807", 2**63 - 1),
])
def test_count_formats_are_read(text, number):
    rec = validate_record({**GOOD, "like_count": text, "reply_count": text, "author_followers": text})
    assert isinstance(rec, CommentRecord), rec
    assert (rec.like_count, rec.reply_count, rec.author_followers) == (number, number, number)
    assert rec.notes == () and {"like_count", "reply_count", "author_followers"} <= rec.sent


@pytest.mark.parametrize("text", ["很多", "--", "-", "1.2.3", "1,23", "12,34,567", "万", "w", "1e4", "约1万", "N/A"])
def test_an_unreadable_count_is_left_out_with_a_note_not_a_rejection(text):
    rec = validate_record({**GOOD, "like_count": text, "author_followers": "3w"})
    assert isinstance(rec, CommentRecord), rec
    assert rec.like_count == 0 and "like_count" not in rec.sent  # unknown: a re-delivery keeps the stored count
    assert rec.author_followers == 30_000
    [note] = rec.notes
    assert note.startswith("like_count: 无法识别的计数，未保存该计数（按未知处理），评论照常保存 / unreadable count")
    assert note.endswith(repr(text))


@pytest.mark.parametrize("value", ["-1", "3.5", "1.5", -1, 3.5, True, [1], "9" * 5000, "99999999999亿"])
def test_a_number_that_is_no_count_is_still_a_reason(value):
    problems = validate_record({**GOOD, "like_count": value})
    assert isinstance(problems, list) and problems[0].startswith("like_count: ")


def test_spaces_only_is_an_empty_cell():
    rec = validate_record({**GOOD, "like_count": "   ", "author_followers": "\u3000"})
    assert isinstance(rec, CommentRecord) and rec.notes == () and rec.author_followers is None


def test_parse_count_is_exact_and_raises_only_unreadable_count():
    assert parse_count("1.2万") == Decimal(12_000) and parse_count("-3") == Decimal(-3) and parse_count(" ") is None
    with pytest.raises(UnreadableCount):
        parse_count("很多")
