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
        ({"comment_id": ""}, "comment_id: 缺少必填字段 / missing required field"),
        ({"created_at": "2026-11-22T20:15:00"}, "缺少时区偏移（例如 2026-11-22T20:15:00+08:00）/ needs a UTC offset"),
        ({"created_at": "yesterday"}, "created_at: 不是 ISO 8601 时间 / not ISO 8601: 'yesterday'"),
        ({"like_count": -1}, "like_count"),
        ({"is_from_account": "maybe"}, "is_from_account"),
        ({"text": 5}, "text: 应为字符串，不能是 int / expected a string, got int"),
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
    assert validate_record(["x"]) == ["record: 应为 JSON 对象，不能是 list / expected a JSON object, got list"]


# ---- validation is total: any value becomes a record that can be stored, or a reason ----------------
@pytest.mark.parametrize(
    "change, reason",
    [
        ({"like_count": 100000000000000000000}, "like_count: 超过可保存的最大计数 9223372036854775807 / larger than the largest storable count "
                                                   "9223372036854775807: 100000000000000000000"),
        ({"reply_count": 2**63}, "reply_count"),
        ({"author_followers": 1e20}, "author_followers"),
        ({"like_count": "9" * 5000}, "like_count"),  # more digits than int() takes
        ({"created_at": "²"}, "created_at: 不是 ISO 8601 时间 / not ISO 8601"),
        ({"created_at": "①"}, "created_at: 不是 ISO 8601 时间 / not ISO 8601"),
        ({"created_at": "0001-01-01T00:00:00+08:00"}, "created_at: 超出范围 / out of range"),
        ({"created_at": "9999-12-31T23:59:59-08:00"}, "created_at: 超出范围 / out of range"),
        ({"created_at": 0}, "created_at: 早于 2000-01-01，不是真实的评论时间 / before 2000-01-01"),
        ({"created_at": "1999-12-31T23:59:59+00:00"}, "created_at: 早于 2000-01-01"),
        ({"created_at": 10**400}, "created_at: 纪元秒超出范围 / epoch seconds out of range"),
        ({"created_at": float("nan")}, "created_at: 纪元秒超出范围 / epoch seconds out of range"),
        ({"comment_id": "c\ud800"}, "comment_id: 含有 NUL 或孤立代理字符 / contains a NUL or lone surrogate"),
        ({"author_id": "a\x00"}, "author_id: 含有 NUL 或孤立代理字符 / contains a NUL or lone surrogate"),
    ],
)
def test_values_that_cannot_be_stored_are_reasons_not_exceptions(change, reason):
    problems = validate_record({**GOOD, **change})
    assert isinstance(problems, list)
    assert any(reason in p for p in problems), problems


def test_the_largest_bigint_count_is_still_accepted():
    rec = validate_record({**GOOD, "like_count": 2**63 - 1})
    assert isinstance(rec, CommentRecord) and rec.like_count == 2**63 - 1


def test_lone_surrogates_and_nul_in_strings_are_replaced_not_stored_raw():
    rec = validate_record({**GOOD, "text": "好\ud800用\x00", "content_title": "\udfff标题", "author_name": "甲\x00"})
    assert isinstance(rec, CommentRecord)
    assert (rec.text, rec.content_title, rec.author_name) == ("好\ufffd用\ufffd", "\ufffd标题", "甲\ufffd")


def test_a_comment_from_more_than_a_week_after_the_ingest_clock_is_refused():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert isinstance(validate_record({**GOOD, "created_at": "2026-11-29T11:00:00+00:00"}, now=now), CommentRecord)
    problems = validate_record({**GOOD, "created_at": "2026-11-29T13:00:00+00:00"}, now=now)
    assert isinstance(problems, list) and "比现在晚 7 天以上（时钟或字段有误）/ more than 7 days in the future" in problems[0]


def test_only_the_refreshable_fields_actually_sent_are_marked_sent():
    rec = validate_record({**GOOD, "like_count": 0, "content_title": "", "reply_count": None})
    assert isinstance(rec, CommentRecord) and rec.sent == {"like_count"}


def test_a_later_copy_in_the_same_batch_keeps_the_fields_it_left_out():
    from bot.feeds.records import refreshed

    earlier = validate_record({**GOOD, "like_count": 800, "content_title": "标题A"})
    later = validate_record({**GOOD, "like_count": 801})
    assert isinstance(earlier, CommentRecord) and isinstance(later, CommentRecord)
    merged = refreshed(earlier, later)
    assert (merged.like_count, merged.content_title) == (801, "标题A")
    assert merged.sent == {"like_count", "content_title"}


def test_spreadsheet_artefacts_in_csv_exports():
    base = {"platform": "douyin", "account_id": "a", "content_id": "v", "text": "x",
            "created_at": "2026-11-20T00:00:00+08:00"}
    # Excel's display of a 19-digit id: digits lost, so distinct comments would merge; refused with why
    problems = validate_record({**base, "comment_id": "7.40100137614299E+18"})
    assert isinstance(problems, list) and "科学计数法" in problems[0] and "scientific notation" in problems[0]
    # a count saved as "3.0" reads as 3, as 3.0 does in JSON; a real fraction is still refused
    assert validate_record({**base, "comment_id": "c1", "like_count": "3.0"}).like_count == 3
    assert isinstance(validate_record({**base, "comment_id": "c1", "like_count": "3.5"}), list)
    assert validate_record({**base, "comment_id": "5e8d"}).comment_id == "5e8d"  # ids with an e stay ids


def test_epoch_milliseconds_are_refused_with_a_hint():
    # Douyin/Kuaishou exports count milliseconds; "out of range" alone left users guessing
    for value in (1763813700000, "1763813700000"):
        problems = validate_record({**GOOD, "created_at": value})
        assert isinstance(problems, list)
        assert "纪元秒超出范围（像是毫秒，请发送秒）" in problems[0]
        assert "epoch seconds out of range (looks like milliseconds: send seconds)" in problems[0]
    problems = validate_record({**GOOD, "created_at": 10**30})
    assert isinstance(problems, list) and "milliseconds" not in problems[0] and "毫秒" not in problems[0]
