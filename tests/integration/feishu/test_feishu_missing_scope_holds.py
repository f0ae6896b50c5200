"""A scope the Feishu app lacks (99991672) holds the messages that need it instead of failing them; granted
(a new app version, no restart) they go out in order, each once. A missing image scope holds image
messages only; the bot missing from one chat (230002) still fails that chat's message at once."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlmodel import select

from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.messages import Image, Message
from bot.outbox import MAX_BACKOFF_S, Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import (
    assert_alerts_and_report_sent_in_order,
    json_text,
    queue_alerts_and_a_report_for_half_an_hour,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _outbox(db, clock, fake: FakeFeishuApi) -> Outbox:
    app_id = f"cli_{uuid.uuid4().hex[:12]}"  # the SDK caches tenant tokens process-wide, by app id
    outbox = Outbox(db, clock)
    outbox.register_port(FeishuChatPort(FeishuSettings(app_id, "secret", domain=fake.url)))
    return outbox


def _rows(db) -> dict[str, OutboxMessage]:
    with db.session() as session:
        return {r.key: r for r in session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()}


def test_a_send_scope_not_granted_holds_feishu_messages_until_it_is_granted(db, clock, caplog):
    with FakeFeishuApi() as fake:
        fake.missing_scopes["message.create"] = "im:message:send_as_bot"
        fake.member_chats = {"oc_ops", "oc_other"}  # not in oc_gone
        outbox = _outbox(db, clock, fake)
        queue_alerts_and_a_report_for_half_an_hour(outbox, clock, caplog)

        rows = _rows(db)
        assert {r.status for r in rows.values()} == {"pending"} and all(r.attempts == 0 for r in rows.values())
        assert "99991672" in rows["alert:0"].last_error and "im:message:send_as_bot" in rows["alert:0"].last_error
        assert fake.sent() == []
        assert 1 <= len(fake.calls("message.create")) <= 15  # probed after a capped backoff
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert 1 <= len(lines) <= 4
        assert "缺少权限" in lines[0] and "im:message:send_as_bot" in lines[0] and "发布新版本" in lines[0]

        # Granted and released as a new version: no restart, the held messages go out in order, once.
        del fake.missing_scopes["message.create"]
        outbox.send(channel="feishu:oc_gone", message=Message(text="群已移除机器人"), key="gone:1")
        clock.advance(timedelta(seconds=MAX_BACKOFF_S + 1))
        outbox.drain()
        outbox.drain()
        assert_alerts_and_report_sent_in_order(fake)
        rows = _rows(db)
        assert rows["gone:1"].status == "failed" and "230002" in rows["gone:1"].last_error  # per chat: as before
        assert {r.status for k, r in rows.items() if k != "gone:1"} == {"sent"}


def test_a_missing_image_scope_holds_image_messages_while_text_cards_still_go_out(db, clock):
    with FakeFeishuApi() as fake:
        fake.missing_scopes["image.create"] = "im:resource"
        outbox = _outbox(db, clock, fake)
        outbox.send(channel="feishu:oc_ops", message=Message(images=(Image("趋势图", png=PNG),)), key="chart:1")
        for n in range(10):
            outbox.send(channel="feishu:oc_alerts", message=Message(text=f"告警 {n}"), key=f"alert:{n}")
            clock.advance(timedelta(minutes=1))
            outbox.deliver_due()

        rows = _rows(db)
        assert [json_text(m) for m in fake.sent("oc_alerts")] == [f"告警 {n}" for n in range(10)]
        assert rows["chart:1"].status == "pending" and rows["chart:1"].attempts == 0
        assert "im:resource" in rows["chart:1"].last_error

        del fake.missing_scopes["image.create"]
        clock.advance(timedelta(seconds=MAX_BACKOFF_S + 1))
        outbox.drain()
        assert _rows(db)["chart:1"].status == "sent"
        assert [m.msg_type for m in fake.sent("oc_ops")] == ["image"]
