"""The bulk write paths (PostgreSQL sends a whole batch as one json parameter) store every field exactly,
and the pooled connections survive a server that dropped them."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

from bot.replies import models as rq
from bot.replies.models import ReplyQueueItem
from bot.storage import db as db_module
from bot.storage.models import Comment

TRICKY = 'he said "退款"\\n, 100% :now %(x)s \' -- ; 😡\n第二行\t[捂脸]'


def full_record(comment_id: str, **over):
    base = {
        "platform": "douyin",
        "account_id": "lanji_official",
        "content_id": "v1",
        "content_title": "新品面霜 \"测评\"",
        "content_url": "https://example.invalid/v/1?a=1&b=%20",
        "comment_id": comment_id,
        "text": TRICKY,
        "created_at": "2026-11-22T20:15:00.123456+08:00",
        "author_id": "u1",
        "author_name": "用户\\甲",
        "author_followers": 5_000_000_000,
        "like_count": 7,
        "reply_count": 2,
        "extra": {"nested": [1, 2.5, None, True, "文字"]},
    }
    base.update(over)
    return base


def test_every_field_is_stored_exactly(bot, db):
    seen: list[Comment] = []
    bot.services.ingest.add_listener(lambda rows, _handoff: seen.extend(rows))
    raw = full_record("c1")
    bot.services.ingest.ingest_records([raw], source="test")
    with db.session() as s:
        row = s.exec(select(Comment)).one()
    for stored in (row, seen[0]):
        assert stored.text == TRICKY
        assert stored.content_title == '新品面霜 "测评"'
        assert stored.content_url == raw["content_url"]
        assert stored.author_name == "用户\\甲"
        assert stored.author_followers == 5_000_000_000
        assert (stored.like_count, stored.reply_count) == (7, 2)
        assert stored.created_at == datetime(2026, 11, 22, 20, 15, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
        assert stored.created_at.tzinfo is not None and stored.ingested_at.tzinfo is not None
        assert stored.updated_at is None
        assert stored.is_from_account is False
        assert stored.parent_id is None
        assert stored.raw == raw
        assert stored.sentiment_label in ("neg", "neu", "pos")
        assert isinstance(stored.sentiment_score, float)
        assert isinstance(stored.risk_flags, list)
        assert stored.source == "test"
        assert stored.id == row.id


def test_a_batch_of_new_and_known_comments(bot, db, clock):
    ingest = bot.services.ingest
    ingest.ingest_records([full_record("old", like_count=1)], source="test")
    with db.session() as s:
        first = s.exec(select(Comment)).one()
    seen: list[Comment] = []
    ingest.add_listener(lambda rows, _handoff: seen.extend(rows))
    clock.advance(timedelta(minutes=5))
    report = ingest.ingest_records(
        [full_record("new"), full_record("old", like_count=99, text="changed text is not stored")], source="test")
    assert [r.status for r in report.results] == ["accepted", "duplicate"]
    by_id = {c.comment_id: c for c in seen}
    assert by_id["new"].updated_at is None
    old = by_id["old"]
    assert old.id == first.id and old.like_count == 99 and old.text == TRICKY
    assert old.updated_at is not None and old.updated_at > old.ingested_at
    assert old.sentiment_label == first.sentiment_label


def test_a_redelivered_comment_refreshes_an_open_queue_item_but_never_reopens_a_closed_one(bot, db, clock):
    ingest = bot.services.ingest
    created = (clock.now() - timedelta(minutes=3)).isoformat()
    ingest.ingest_records([full_record("q1", created_at=created, like_count=0),
                           full_record("q2", created_at=created, like_count=0)], source="test")
    with db.session() as s:
        items = {i.comment_id: i for i in s.exec(select(ReplyQueueItem)).all()}
        assert set(items) == {"q1", "q2"}
        before = items["q1"].static_score
        closed = s.get(ReplyQueueItem, items["q2"].id)
        closed.state = rq.SKIPPED
        s.add(closed)
    ingest.ingest_records([full_record("q1", created_at=created, like_count=90_000),
                           full_record("q2", created_at=created, like_count=90_000)], source="test")
    with db.session() as s:
        items = {i.comment_id: i for i in s.exec(select(ReplyQueueItem)).all()}
    assert items["q1"].static_score > before and items["q1"].state == rq.OPEN
    assert items["q2"].state == rq.SKIPPED and items["q2"].static_score == pytest.approx(before)
    assert items["q1"].created_at.tzinfo is not None and items["q1"].created_ts == pytest.approx(
        datetime.fromisoformat(created).timestamp())


# PostgreSQL only: a SQLite connection is a file handle and never goes stale
@pytest.mark.parametrize("db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_pooled_connections_survive_a_server_that_dropped_them(db, monkeypatch):

    def backend_pid() -> int:
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

    def kill(pid: int) -> None:
        admin = create_engine(db.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        admin.dispose()

    # /healthz: a dropped connection handed out at once is replaced, and the answer is still "reachable"
    kill(backend_pid())
    assert db.ping() is True
    # an idle connection is pinged before use, so the caller never sees the dead one
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    old = backend_pid()
    kill(old)
    with db.session() as s:
        assert s.exec(select(Comment.id)).all() == []
        assert s.connection().execute(text("SELECT pg_backend_pid()")).scalar_one() != old


def test_a_database_that_is_down_is_reported(tmp_path):
    down = db_module.Database("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    try:
        assert down.ping() is False
    finally:
        down.dispose()


def test_a_payload_with_nan_is_stored_without_losing_the_batch(bot, db):
    # Python's json parser accepts NaN/Infinity in a webhook body; PostgreSQL's json type does not
    report = bot.services.ingest.ingest_records(
        [full_record("n1", extra=float("nan")), full_record("n2", extra=[float("inf"), 1.5])], source="test")
    assert report.accepted == 2
    with db.session() as s:
        raws = {c.comment_id: c.raw for c in s.exec(select(Comment)).all()}
    assert raws["n2"]["extra"][1] == 1.5 and set(raws) == {"n1", "n2"}
