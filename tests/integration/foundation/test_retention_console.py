import io
from datetime import timedelta

from sqlmodel import select

from bot.console_repl import repl
from bot.retention import purge_author, purge_expired
from bot.storage.models import Comment, DeadLetter


def _ingest(bot, comment_id, author, created_at="2026-11-01T10:00:00+08:00"):
    bot.services.ingest.ingest_records(
        [{"platform": "weibo", "account_id": "w", "content_id": "p", "comment_id": comment_id, "text": "hi",
          "created_at": created_at, "author_id": author, "author_name": "某人"}],
        source="test",
    )


def test_retention_drops_raw_payloads_and_author_ids_after_the_window(bot, db, clock):
    _ingest(bot, "old", "u1")
    clock.advance(timedelta(days=120))
    _ingest(bot, "new", "u2", created_at=clock.now().isoformat())
    counts = purge_expired(db, clock.now(), bot.services.config.retention)
    assert counts["raw_payloads"] == 1 and counts["author_identifiers"] == 1
    with db.session() as s:
        old = s.exec(select(Comment).where(Comment.comment_id == "old")).one()
        new = s.exec(select(Comment).where(Comment.comment_id == "new")).one()
    assert old.raw is None and old.author_id is None and old.author_name is None
    assert new.raw is not None and new.author_id == "u2"


def test_purge_author_removes_one_persons_data(bot, db):
    _ingest(bot, "a", "victim")
    _ingest(bot, "b", "other")
    bot.services.ingest.ingest_records([{"platform": "weibo", "author_id": "victim", "text": "x"}], source="test")
    counts = purge_author(db, "weibo", "victim")
    assert counts["comments"] == 1 and counts["dead_letters"] == 1 and counts["reply_items"] == 1
    assert sum(counts.values()) == 3, counts  # nothing else held a copy
    with db.session() as s:
        assert [c.comment_id for c in s.exec(select(Comment)).all()] == ["b"]
        assert s.exec(select(DeadLetter)).all() == []


def test_console_takes_commands_and_button_presses(bot):
    out = io.StringIO()
    bot.console.echo = out
    code = repl(bot, channel="lanji", user="alice", stdin=io.StringIO("/help\n/press nope.x 1\n#xiaochu\n/help crisis\nquit\n"))
    assert code == 0
    text = out.getvalue()
    assert "#lanji" in text and "命令" in text and "未知按钮 nope.x" in text and "#xiaochu" in text


def test_a_second_purge_finds_nothing_left_to_drop(bot, db, clock):
    # Dropped payloads must be SQL NULL, not JSON 'null': otherwise every purge rewrites every old row.
    _ingest(bot, "old", "u1")
    clock.advance(timedelta(days=120))
    assert purge_expired(db, clock.now(), bot.services.config.retention)["raw_payloads"] == 1
    again = purge_expired(db, clock.now(), bot.services.config.retention)
    assert again["raw_payloads"] == 0 and again["author_identifiers"] == 0
