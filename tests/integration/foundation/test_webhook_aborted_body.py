"""A webhook sender that hangs up mid-body (a crashed exporter, a dropped mobile link): nothing is stored,
and the log gets no "Exception in ASGI application" traceback per aborted request; batches around it
are stored as usual. Real HTTP over a raw loopback socket into the app under uvicorn."""

from __future__ import annotations

import httpx
from sqlmodel import func, select

from bot.storage.models import Comment, DeadLetter
from tests.support.asgi_server import running_server
from tests.support.stalled_body import hang_up_mid_body, uvicorn_errors

AUTH = {"Authorization": "Bearer test-ingest-token"}


def test_a_sender_hanging_up_mid_body_stores_nothing_and_leaves_no_traceback(bot, db):
    record = {"platform": "bilibili", "account_id": "xiaochu_kitchen", "content_id": "BV1", "comment_id": "ok-1",
              "text": "锅好用吗？", "created_at": 1763813700}
    with running_server(bot.web) as url, uvicorn_errors() as errors:
        for _ in range(3):
            hang_up_mid_body(f"{url}/api/v1/comments", {**AUTH, "Content-Type": "application/json"})
        response = httpx.post(f"{url}/api/v1/comments", json=[record], headers=AUTH)
        assert response.status_code == 200 and response.json()["accepted"] == 1
    assert [r.getMessage() for r in errors] == []
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(Comment)).one() == 1
        assert session.exec(select(func.count()).select_from(DeadLetter)).one() == 0
