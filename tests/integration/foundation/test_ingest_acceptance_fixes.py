"""Acceptance findings on ingestion (issue #2), on both engines."""

from __future__ import annotations

from sqlmodel import select

from bot.storage.models import Comment


def record(comment_id: str, **over):
    base = {
        "platform": "douyin",
        "account_id": "lanji_official",
        "content_id": "v1",
        "comment_id": comment_id,
        "text": "第一次的原文",
        "author_id": "u77",
        "author_name": "王小明",
        "created_at": "2026-11-22T20:15:00+08:00",
        "like_count": 3,
    }
    base.update(over)
    return base


def stored(db, comment_id: str) -> Comment:
    with db.session() as s:
        row = s.exec(select(Comment).where(Comment.comment_id == comment_id)).one()
        s.expunge(row)
        return row


def test_a_second_copy_in_the_same_batch_stores_what_two_batches_store(bot, db):
    """A later copy lacking the author (or with other text) must not erase the first copy's fields when
    both come in one batch: the result is the same as when they come one after the other."""
    ingest = bot.services.ingest
    later = {"text": "", "author_id": None, "author_name": None, "like_count": 5}
    ingest.ingest_records([record("apart")], source="webhook")
    ingest.ingest_records([record("apart", **later)], source="webhook")
    report = ingest.ingest_records([record("together"), record("together", **later)], source="webhook")
    assert [r.status for r in report.results] == ["accepted", "duplicate"]
    apart, together = stored(db, "apart"), stored(db, "together")
    for row in (apart, together):
        assert (row.text, row.author_id, row.author_name, row.like_count) == ("第一次的原文", "u77", "王小明", 5)
    assert together.raw["author_name"] == "王小明"  # the payload kept is the first one, as across batches


def test_ndjson_malformed_line_position_is_the_offset_in_the_body(bot):
    """`position` of a 400 points into the body for NDJSON as it does for a JSON array (it was the
    offset inside the bad line, so a client cutting the body at it landed on the wrong record). A 400 now
    needs a body none of whose lines is JSON (test_webhook_ndjson_bad_lines.py): the lines before the bad
    one are blank ones, which still count for the line number and the offset."""
    import httpx

    from tests.support.asgi_server import running_server

    good = " " * len('{"platform": "douyin"}')
    body = f"{good}\r\n\n{good}\n" + '{"platform": }\n'
    with running_server(bot.web) as url:
        response = httpx.post(f"{url}/api/v1/comments", content=body.encode(),
                              headers={"Authorization": "Bearer test-ingest-token",
                                       "Content-Type": "application/x-ndjson"})
    assert response.status_code == 400
    data = response.json()
    assert (data["line"], data["column"]) == (4, 14)
    assert body[data["position"]] == "}" and data["position"] == body.index("}\n", len(good) * 2 + 4)


def test_a_shorter_author_window_also_drops_payloads_and_dead_letters_holding_the_author(bot, db, clock):
    """retention.author_identifiers_days below raw_payload_days: the author's id and name must not
    survive in the comment's raw payload or in a dead letter once the author window has passed."""
    from datetime import timedelta

    from bot.config import RetentionConfig
    from bot.retention import purge_expired
    from bot.storage.models import DeadLetter

    ingest = bot.services.ingest
    ingest.ingest_records([record("kept-apart", created_at=clock.now().isoformat())], source="webhook")
    ingest.ingest_records([record("bad", created_at="not a time")], source="webhook")  # a dead letter
    clock.advance(timedelta(days=40))
    counts = purge_expired(db, clock.now(), RetentionConfig(raw_payload_days=90, author_identifiers_days=30))
    assert counts["author_identifiers"] == 1 and counts["raw_payloads"] == 1 and counts["dead_letters"] == 1
    row = stored(db, "kept-apart")
    assert (row.author_id, row.author_name, row.raw) == (None, None, None)
    with db.session() as s:
        assert s.exec(select(DeadLetter)).all() == []


def test_an_ingest_token_ending_in_a_newline_still_authenticates(db, app_config, clock):
    """A token mounted from a file usually ends in a newline; HTTP strips it from the header, so the
    webhook compared "tok" with "tok\\n" and answered every request 401."""
    import httpx

    from bot.app import build_app
    from bot.config import Settings
    from tests.support.asgi_server import running_server

    settings = Settings(_env_file=None, ingest_token="s3cret-token\n")  # type: ignore[call-arg]
    app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    try:
        with running_server(app.web) as url:
            ok = httpx.post(f"{url}/api/v1/comments", json=[record("nl1", created_at=clock.now().isoformat())],
                            headers={"Authorization": "Bearer s3cret-token"})
            wrong = httpx.post(f"{url}/api/v1/comments", json=[], headers={"Authorization": "Bearer s3cret"})
    finally:
        app.stop()
    assert ok.status_code == 200 and ok.json()["accepted"] == 1
    assert wrong.status_code == 401


def test_the_retention_purge_runs_soon_after_every_start(bot):
    """An interval job first fires one interval after the start: the 6-hourly purge never ran in a bot
    restarted more often than that (deploys, crashes), and personal data outlived its window."""
    from datetime import UTC, datetime, timedelta

    scheduler = bot.wiring.scheduler
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("retention-purge")
        assert job.next_run_time - datetime.now(UTC) < timedelta(minutes=10)
    finally:
        scheduler.shutdown(wait=False)
