"""A rejected record is one dead letter however often it arrives: the same file imported again by another
path (`f.jsonl`, then `./f.jsonl`), the same bad record in another webhook batch. Same source, reason and
raw text: one row, counting the repeats and keeping where it was seen last; each delivery still reports
its rejections. Migration 0018 merges the duplicates stored before. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import column, insert, select, table

from bot.storage.db import Database
from bot.storage.models import DeadLetter
from bot.storage.types import UTCDateTime
from tests.conftest import postgres_schema


def record(comment_id: str, **over) -> dict:
    base = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": "这个面霜用了过敏", "created_at": "2026-11-22T20:15:00+08:00"}
    return {**base, **over}


def letters(db) -> list[DeadLetter]:
    with db.session() as s:
        return list(s.exec(select(DeadLetter).order_by(DeadLetter.id)).scalars())


def test_the_same_file_imported_by_another_path_dead_letters_each_rejection_once(bot, db, clock):
    ingest = bot.services.ingest
    batch = [record("ok"), record("bad", created_at="not a time")]
    first = ingest.ingest_records(batch, source="file", positions=["f.jsonl:1", "f.jsonl:2"])
    clock.advance(timedelta(minutes=5))
    unreadable = [(2, "not json", "JSON 格式错误 / invalid JSON")]
    again = ingest.ingest_records(batch, source="file", positions=["./f.jsonl:1", "./f.jsonl:2", "./f.jsonl:3"],
                                  rejections=unreadable)
    assert (first.rejected, again.rejected) == (1, 2)  # each import still reports what it rejected
    rows = letters(db)
    assert len(rows) == 2, [d.position for d in rows]
    assert [(d.raw.startswith("{"), d.position, d.seen_count) for d in rows] == [
        (True, "./f.jsonl:2", 2), (False, "./f.jsonl:3", 1)]
    assert rows[0].received_at < rows[0].last_seen_at == clock.now()


def test_the_same_bad_record_in_another_batch_is_one_dead_letter_and_another_source_or_reason_is_not(bot, db):
    ingest = bot.services.ingest
    bad = record("bad", created_at="not a time")
    ingest.ingest_records([bad], source="webhook")
    ingest.ingest_records([record("ok"), bad, bad], source="webhook")  # twice in one batch as well
    ingest.ingest_records([bad], source="file")
    ingest.ingest_records([], source="file", rejections=[(0, "x", "one reason")])
    ingest.ingest_records([], source="file", rejections=[(0, "x", "another reason")])
    assert len(letters(db)) == 4, [(d.source, d.position) for d in letters(db)]
    assert [(d.source, d.position, d.seen_count) for d in letters(db)] == [
        ("webhook", "2", 3), ("file", "0", 1), ("file", "0", 1), ("file", "0", 1)]


# ---- migration 0018 ------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db(request, tmp_path):
    """A database with no tables yet, to migrate step by step."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
        yield database
        database.dispose()
        return
    with postgres_schema() as database:
        yield database


def test_the_migration_merges_the_duplicates_stored_before(empty_db):
    with empty_db.engine.connect() as connection, connection.begin():
        command.upgrade(empty_db._alembic_config(connection), "0016")
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    old = [  # as 0016 stored them: once per path the file was imported by, once per webhook batch
        ("file", "f.jsonl:2", "bad time", "{\"a\": 1}", t0),
        ("file", "./f.jsonl:2", "bad time", "{\"a\": 1}", t0 + timedelta(hours=1)),
        ("webhook", "0", "bad time", "{\"a\": 1}", t0 + timedelta(hours=2)),
        ("file", "/data/f.jsonl:2", "bad time", "{\"a\": 1}", t0 + timedelta(hours=3)),
        ("file", "f.jsonl:3", "invalid JSON", "x" * 5000, t0),  # longer than an index entry may be
    ]
    as_0016 = table("dead_letter", column("source"), column("position"), column("reason"), column("raw"),
                    column("received_at", UTCDateTime()))
    with empty_db.engine.connect() as connection, connection.begin():
        connection.execute(insert(as_0016), [
            {"source": s, "position": p, "reason": r, "raw": raw, "received_at": at} for s, p, r, raw, at in old])
    empty_db.upgrade()
    rows = letters(empty_db)
    assert [(d.id, d.source, d.position, d.seen_count, d.received_at, d.last_seen_at) for d in rows] == [
        (1, "file", "/data/f.jsonl:2", 3, t0, t0 + timedelta(hours=3)),
        (3, "webhook", "0", 1, t0 + timedelta(hours=2), t0 + timedelta(hours=2)),
        (5, "file", "f.jsonl:3", 1, t0, t0),
    ]
    from bot.storage.models import dead_letter_fingerprint

    assert rows[0].fingerprint == dead_letter_fingerprint("file", "bad time", "{\"a\": 1}")
    # and the merged rows go on counting
    from bot.clock import FakeClock
    from bot.feeds.ingest import IngestService

    service = IngestService(empty_db, FakeClock(t0 + timedelta(days=1)), scorer=lambda: None)
    assert service.ingest_records([], source="file", rejections=[(0, "x" * 5000, "invalid JSON")]).rejected == 1
    assert [d.seen_count for d in letters(empty_db)] == [3, 1, 2]


def test_the_dead_letter_migration_matches_the_model(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diffs if "dead_letter" in repr(d)] == []
