"""A bad record never costs its batch: every value that cannot be stored is a rejection with its reason
(dead-lettered), on SQLite and PostgreSQL; a re-delivery overwrites only the fields it carries."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.storage.models import Comment, DeadLetter


def record(comment_id: str, **over):
    base: dict = {
        "platform": "douyin",
        "account_id": "lanji_official",
        "content_id": "v1",
        "comment_id": comment_id,
        "text": "这个面霜用了过敏",
        "created_at": "2026-11-22T20:15:00+08:00",
    }
    base.update(over)
    return base


def stored(db) -> dict[str, Comment]:
    with db.session() as s:
        return {c.comment_id: c for c in s.exec(select(Comment)).all()}


def dead_letters(db) -> list[DeadLetter]:
    with db.session() as s:
        return list(s.exec(select(DeadLetter).order_by(DeadLetter.id)).all())


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"like_count": 100000000000000000000}, "like_count"),
        ({"reply_count": 100000000000000000000}, "reply_count"),
        ({"author_followers": 1e20}, "author_followers"),
        ({"created_at": "²"}, "created_at"),
        ({"created_at": "①"}, "created_at"),
        ({"created_at": "0001-01-01T00:00:00+08:00"}, "created_at: 超出范围 / out of range"),
        ({"created_at": "9999-12-31T23:59:59-08:00"}, "created_at: 超出范围 / out of range"),
        ({"created_at": 0}, "created_at: 早于 2000-01-01，不是真实的评论时间 / before 2000-01-01"),
        ({"created_at": "2027-06-01T00:00:00+08:00"}, "比现在晚 7 天以上（时钟或字段有误）/ more than 7 days in the future"),  # clock: 2026-11-22
        ({"comment_id": "c\ud800"}, "comment_id"),
    ],
)
def test_a_value_that_cannot_be_stored_rejects_its_record_and_keeps_the_batch(bot, db, bad, reason):
    report = bot.services.ingest.ingest_records([record("good1"), {**record("bad"), **bad}, record("good2")], source="test")
    assert [r.status for r in report.results] == ["accepted", "rejected", "accepted"]
    assert reason in report.results[1].reason
    assert sorted(stored(db)) == ["good1", "good2"]
    [letter] = dead_letters(db)
    assert reason in letter.reason


def test_lone_surrogates_and_nul_are_stored_as_replacement_characters(bot, db):
    report = bot.services.ingest.ingest_records(
        [record("s1", text="好\ud800用", content_title="标题\udfff", author_name="甲\x00", extra={"k\ud800": "v\x00"}),
         record("s2")],
        source="test",
    )
    assert report.accepted == 2
    row = stored(db)["s1"]
    assert (row.text, row.content_title, row.author_name) == ("好\ufffd用", "标题\ufffd", "甲\ufffd")
    assert row.raw["extra"] == {"k\ufffd": "v\ufffd"}


def test_a_rejected_record_with_unstorable_characters_is_still_dead_lettered(bot, db):
    report = bot.services.ingest.ingest_records([record("r1", platform="tiktok", text="\ud800\x00"), record("ok")],
                                                source="test", positions=["/" + "很长的目录/" * 20 + "feed.jsonl:7", "x"])
    assert [r.status for r in report.results] == ["rejected", "accepted"]
    [letter] = dead_letters(db)
    assert '"text": "\ufffd\\u0000"' in letter.raw  # the surrogate replaced; NUL is JSON-escaped text
    assert len(letter.position) <= 64 and letter.position.endswith("feed.jsonl:7")


def test_a_redelivery_without_the_optional_fields_keeps_the_stored_ones(bot, db):
    ingest = bot.services.ingest
    ingest.ingest_records([record("u1", like_count=800, reply_count=12, author_followers=50000,
                                  content_title="标题A", content_url="https://example.invalid/v/1")], source="test")
    report = ingest.ingest_records([record("u1")], source="test")
    assert [r.status for r in report.results] == ["duplicate"]
    row = stored(db)["u1"]
    assert (row.like_count, row.reply_count, row.author_followers) == (800, 12, 50000)
    assert (row.content_title, row.content_url) == ("标题A", "https://example.invalid/v/1")
    assert row.updated_at is not None


def test_a_redelivery_overwrites_only_the_fields_it_sends(bot, db):
    ingest = bot.services.ingest
    ingest.ingest_records([record("u1", like_count=800, reply_count=12, content_title="标题A"),
                           record("u2", like_count=5)], source="test")
    ingest.ingest_records([record("u1", like_count=900), record("u2", content_title="标题B", like_count=0)], source="test")
    rows = stored(db)
    assert (rows["u1"].like_count, rows["u1"].reply_count, rows["u1"].content_title) == (900, 12, "标题A")
    assert (rows["u2"].like_count, rows["u2"].content_title) == (0, "标题B")


def test_the_same_comment_twice_in_one_batch_keeps_what_the_later_copy_left_out(bot, db):
    bot.services.ingest.ingest_records([record("u1", like_count=800, content_title="标题A"), record("u1", like_count=801)],
                                       source="test")
    row = stored(db)["u1"]
    assert (row.like_count, row.content_title) == (801, "标题A")


def test_a_redelivered_batch_dead_letters_each_rejected_record_once(bot, db):
    """A file imported again or a webhook batch resent after a lost answer: the comments were never stored
    twice, but every rejected record was dead-lettered again, once per delivery."""
    batch = [record("ok"), record("bad", created_at="not a time"), record("bad2", platform="tiktok")]
    for _ in range(3):
        report = bot.services.ingest.ingest_records(batch, source="webhook")
        assert report.rejected == 2  # each delivery still says what it rejected
    letters = dead_letters(db)
    assert [(d.source, d.position, d.seen_count) for d in letters] == [("webhook", "1", 3), ("webhook", "2", 3)]
    # the same raw record at another position is the same rejection (seen where it was seen last); from
    # another source it is another one
    bot.services.ingest.ingest_records([batch[1], batch[1]], source="webhook")
    bot.services.ingest.ingest_records([batch[1]], source="file:f.jsonl")
    assert [(d.source, d.position, d.seen_count) for d in dead_letters(db)] == [
        ("webhook", "1", 5), ("webhook", "2", 3), ("file:f.jsonl", "0", 1)]
