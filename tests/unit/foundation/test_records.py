from datetime import UTC, datetime

import pytest

from bot.feeds.records import CommentRecord, validate_record

GOOD = {
    "platform": "douyin",
    "account_id": "lanji_official",
    "content_id": "v1",
    "comment_id": "c1",
    "text": "好用",
    "created_at": "2026-11-22T20:15:00+08:00",
}


def test_valid_record_is_normalised():
    rec = validate_record({**GOOD, "like_count": "12", "is_from_account": "true", "comment_id": 123})
    assert isinstance(rec, CommentRecord)
    assert rec.created_at == datetime(2026, 11, 22, 12, 15, tzinfo=UTC)
    assert rec.like_count == 12 and rec.is_from_account and rec.comment_id == "123"


def test_epoch_seconds_and_empty_sticker_text_are_accepted():
    rec = validate_record({**GOOD, "created_at": 1763813700, "text": ""})
    assert isinstance(rec, CommentRecord)
    assert rec.created_at.tzinfo is not None and rec.text == ""


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"platform": "tiktok"}, "platform"),
        ({"comment_id": ""}, "comment_id: required"),
        ({"created_at": "2026-11-22T20:15:00"}, "needs a UTC offset"),
        ({"created_at": "yesterday"}, "not ISO 8601"),
        ({"like_count": -1}, "like_count"),
        ({"is_from_account": "maybe"}, "is_from_account"),
        ({"text": 5}, "text: expected a string"),
    ],
)
def test_bad_fields_are_rejected_with_reason(change, reason):
    problems = validate_record({**GOOD, **change})
    assert isinstance(problems, list)
    assert any(reason in p for p in problems), problems


def test_missing_text_key_is_rejected_but_every_problem_is_listed():
    raw = {k: v for k, v in GOOD.items() if k not in ("text", "created_at")}
    problems = validate_record(raw)
    assert isinstance(problems, list) and len(problems) == 2


def test_non_object_is_rejected():
    assert validate_record(["x"]) == ["record: expected a JSON object, got list"]
