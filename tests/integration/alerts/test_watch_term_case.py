"""Watched terms match comments regardless of letter case ("iPhone" fires on "iphone"), so two watches
that differ only in case are one watch: one notice per comment, and `/watch remove` takes either spelling."""

from __future__ import annotations

from sqlmodel import select

from bot.storage.models import OutboxMessage

LANJI = {"platform": "douyin", "account_id": "lanji_official"}


def _record(comment_id, text, at):
    return {**LANJI, "content_id": "v1", "comment_id": comment_id, "text": text, "created_at": at.isoformat()}


def _notices(db):
    with db.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "risk_notice"]


def test_two_spellings_of_one_term_post_one_notice_per_comment(bot, clock, db, run_command):
    run_command("/watch add SK-II")
    second = run_command("/watch add sk-ii")[0].text
    first_id = run_command("/watch list")[0].text.split("#", 1)[1].split(" ", 1)[0]
    assert f"#{first_id}" in second  # the same watch, not a second one
    bot.services.ingest.ingest_records([_record("k1", "买的sk-ii是假货", clock.now())], source="test")
    bot.services.outbox.drain()
    posts = [r for r in _notices(db) if r.update_of is None]
    assert len(posts) == 1, [r.payload["text"] for r in posts]
    assert "1 条" in posts[0].payload["text"]


def test_a_stored_term_in_another_case_than_a_config_term_is_one_notice(db, settings, clock):
    from bot.app import build_app
    from bot.config import parse_config
    from bot.messages import Command

    config = parse_config({
        "accounts": [{**LANJI, "client": "lanji"}], "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji"}],
        "alerts": {"watch_terms": [{"term": "iPhone"}]},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        app.dispatcher.handle(Command("console", "console:lanji", "console:alice", "/watch add iphone",
                                      user_name="alice", event_id="e1"))
        app.services.ingest.ingest_records([_record("k2", "IPHONE 上用不了", clock.now())], source="test")
        app.services.outbox.drain()
        posts = [r for r in _notices(db) if r.update_of is None]
        assert len(posts) == 1, [r.payload["text"] for r in posts]
    finally:
        app.stop()


def test_remove_takes_the_term_in_any_case(bot, run_command):
    run_command("/watch add ABC")
    assert "已取消 1 项" in run_command("/watch remove abc")[0].text
    assert "暂无" in run_command("/watch list")[0].text
