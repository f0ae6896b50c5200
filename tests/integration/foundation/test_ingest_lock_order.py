"""Batches that hold the same comments (and the same bad records) in different orders are stored side by side
on PostgreSQL without deadlocking, and ids still follow each batch's order."""

import random
import threading

import pytest
from sqlmodel import select

from bot.feeds.ingest import IngestService
from bot.sentiment.base import NeutralScorer
from bot.storage.models import Comment, DeadLetter
from tests.conftest import postgres_schema


def comment(i: int) -> dict:
    return {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": f"c{i:04d}",
            "text": f"第{i}条评论", "created_at": "2026-11-22T10:00:00+08:00", "like_count": i}


def bad(i: int) -> dict:
    return {"platform": "douyin", "comment_id": f"bad{i:03d}"}  # no text, no time: rejected


def run_at_once(ingest: IngestService, batch_lists: list[list[list[dict]]], reports: list | None = None) -> list[str]:
    """Each list of batches ingested by a thread of its own, all at once; the failures, as text (and each
    batch's report into `reports`)."""
    failures: list[str] = []

    def deliver(batches: list[list[dict]]) -> None:
        for batch in batches:
            try:
                report = ingest.ingest_records(batch, source="webhook")
                if reports is not None:
                    reports.append(report)
            except Exception as exc:  # noqa: BLE001 - collected: a thread's exception would vanish
                failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")

    writers = [threading.Thread(target=deliver, args=(batches,)) for batches in batch_lists]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    return failures


@pytest.mark.postgres
def test_overlapping_batches_in_opposite_orders_do_not_deadlock(clock):
    with postgres_schema() as db:
        db.upgrade()
        ingest = IngestService(db, clock, NeutralScorer)
        records = [comment(i) for i in range(200)] + [bad(i) for i in range(20)]

        def shuffled(seed: int) -> list[list[dict]]:
            shuffler = random.Random(seed)
            return [shuffler.sample(records, len(records)) for _ in range(5)]

        reports: list = []
        failures = run_at_once(ingest, [shuffled(seed) for seed in range(4)], reports)
        assert [report.rejected for report in reports] == [20] * 4 * 5

        assert failures == []
        with db.session() as session:
            assert len(session.exec(select(Comment)).all()) == 200
            letters = session.exec(select(DeadLetter)).all()
        assert len(letters) == 20
        assert sum(letter.seen_count for letter in letters) == 4 * 5 * 20


def test_ids_follow_the_batch_order(db, clock):
    ingest = IngestService(db, clock, NeutralScorer)
    order = [7, 3, 9, 1, 5]
    ingest.ingest_records([comment(i) for i in order] + [bad(2), bad(1)], source="file")
    with db.session() as session:
        by_id = session.exec(select(Comment).order_by(Comment.id)).all()
        letters = session.exec(select(DeadLetter).order_by(DeadLetter.id)).all()
    assert [c.comment_id for c in by_id] == [f"c{i:04d}" for i in order]
    assert [letter.raw for letter in letters] == [
        '{"platform": "douyin", "comment_id": "bad002"}', '{"platform": "douyin", "comment_id": "bad001"}']


@pytest.mark.postgres
def test_batches_whose_field_groups_come_in_opposite_orders_are_stored_too(clock):
    # one upsert per set of fields sent (here: with and without like_count), each in key order: two batches can
    # still lock X then Y and Y then X across their statements; the one PostgreSQL picks is run again
    with_likes = [comment(i) for i in range(0, 60, 2)]
    without_likes = [{k: v for k, v in comment(i).items() if k != "like_count"} for i in range(1, 60, 2)]
    with postgres_schema() as db:
        db.upgrade()
        ingest = IngestService(db, clock, NeutralScorer)
        failures = run_at_once(ingest, [[with_likes + without_likes + [bad(1)]] * 6,
                                        [without_likes[::-1] + with_likes[::-1] + [bad(1)]] * 6])

        assert failures == []
        with db.session() as session:
            assert len(session.exec(select(Comment)).all()) == 60
            (letter,) = session.exec(select(DeadLetter)).all()
        assert letter.seen_count == 12  # a batch run again after a deadlock counts its rejection once
