"""A wrong Feishu app secret (no tenant token: 10014) holds Feishu's messages instead of failing them;
after the restart with the right secret they go out in order, each once."""

from __future__ import annotations

import logging
import uuid

from sqlmodel import select

from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import (
    assert_alerts_and_report_sent_in_order,
    queue_alerts_and_a_report_for_half_an_hour,
)


def _outbox(db, clock, fake: FakeFeishuApi, app_id: str, secret: str) -> Outbox:
    outbox = Outbox(db, clock)
    outbox.register_port(FeishuChatPort(FeishuSettings(app_id, secret, domain=fake.url)))
    return outbox


def _rows(db) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_messages_queued_with_a_wrong_app_secret_go_out_after_a_restart_with_the_right_one(db, clock, caplog):
    app_id = f"cli_{uuid.uuid4().hex[:12]}"  # the SDK caches tenant tokens process-wide, by app id
    with FakeFeishuApi(apps={app_id: "right-secret"}) as fake:
        outbox = _outbox(db, clock, fake, app_id, "wrong-secret")
        queue_alerts_and_a_report_for_half_an_hour(outbox, clock, caplog)

        rows = _rows(db)
        assert {r.status for r in rows} == {"pending"} and all(r.attempts == 0 for r in rows)
        assert "10014" in rows[0].last_error
        assert fake.sent() == []
        assert 1 <= len(fake.calls("token")) <= 15  # backed off (about one probe per 5 minutes), not 4 a minute
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert 1 <= len(lines) <= 4 and "FEISHU_APP_SECRET" in lines[0]

        restarted = _outbox(db, clock, fake, app_id, "right-secret")
        restarted.drain()
        restarted.drain()
        assert_alerts_and_report_sent_in_order(fake)
        assert {r.status for r in _rows(db)} == {"sent"}
