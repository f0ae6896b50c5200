from sqlmodel import func, select

from bot.storage.models import Comment, DeadLetter


def record(comment_id: str, **over):
    base = {
        "platform": "douyin",
        "account_id": "lanji_official",
        "content_id": "v1",
        "comment_id": comment_id,
        "text": "这个面霜用了过敏",
        "created_at": "2026-11-22T20:15:00+08:00",
        "like_count": 1,
    }
    base.update(over)
    return base


def count(db, model) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_good_records_are_stored_while_bad_ones_are_dead_lettered(bot, db):
    report = bot.services.ingest.ingest_records(
        [record("c1"), record("c2", platform="tiktok"), record("c3"), {"nonsense": True}], source="test"
    )
    assert [r.status for r in report.results] == ["accepted", "rejected", "accepted", "rejected"]
    assert "platform" in report.results[1].reason
    assert count(db, Comment) == 2
    assert count(db, DeadLetter) == 2


def test_redelivery_updates_counts_and_never_stores_twice(bot, db):
    ingest = bot.services.ingest
    ingest.ingest_records([record("c1", like_count=3)], source="test")
    report = ingest.ingest_records([record("c1", like_count=40), record("c1", like_count=41)], source="test")
    assert [r.status for r in report.results] == ["duplicate", "duplicate"]
    with db.session() as s:
        rows = s.exec(select(Comment)).all()
    assert len(rows) == 1
    assert rows[0].like_count == 41
    assert rows[0].updated_at is not None
    assert rows[0].created_at.tzinfo is not None


def test_same_comment_twice_in_one_batch_is_one_row(bot, db):
    report = bot.services.ingest.ingest_records([record("c1", like_count=1), record("c1", like_count=5)], source="t")
    assert [r.status for r in report.results] == ["accepted", "duplicate"]
    with db.session() as s:
        assert s.exec(select(Comment.like_count)).one() == 5


def test_listeners_get_stored_rows_with_sentiment(bot):
    seen = []
    bot.services.ingest.add_listener(lambda rows, _handoff: seen.extend(rows))
    bot.services.ingest.ingest_records([record("c1"), record("c2")], source="test")
    assert sorted(c.comment_id for c in seen) == ["c1", "c2"]
    assert all(c.sentiment_label in ("neg", "neu", "pos") for c in seen)


def test_a_failing_listener_does_not_lose_the_batch(bot, db):
    def broken(_rows, _handoff):
        raise RuntimeError("feature bug")

    bot.services.ingest.add_listener(broken)
    report = bot.services.ingest.ingest_records([record("c1")], source="test")
    assert report.accepted == 1 and count(db, Comment) == 1


def test_large_batches_are_chunked(bot, db):
    records = [record(f"c{i}", text=f"评论 {i}") for i in range(1234)]
    report = bot.services.ingest.ingest_records(records, source="bulk")
    assert report.accepted == 1234 and count(db, Comment) == 1234


def test_comments_by_the_account_itself_are_marked_as_our_replies(db, clock):
    from bot.feeds.ingest import IngestService
    from bot.sentiment.base import NeutralScorer

    ingest = IngestService(db, clock, NeutralScorer, own_author_ids={("douyin", "lanji_official"): {"open_id_42"}})
    ingest.ingest_records(
        [record("r1", author_id="open_id_42", parent_id="c1"), record("r2", author_id="lanji_official"),
         record("r3", author_id="someone")],
        source="test",
    )
    with db.session() as s:
        marks = dict(s.exec(select(Comment.comment_id, Comment.is_from_account)).all())
    assert marks == {"r1": True, "r2": True, "r3": False}
