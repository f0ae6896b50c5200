"""Retention of the outbox (PIPL): finished messages lose their content after the author-identifier
window and the rows go after `retention.outbox_days`; pending messages are never touched; keys and
platform message ids survive the content, so idempotency and updates in place keep working."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.adapters.console.port import ConsolePort
from bot.config import RetentionConfig
from bot.messages import Field, Message, PermanentChatError
from bot.outbox import Outbox
from bot.retention import purge_expired
from bot.storage.models import OutboxMessage

QUOTE = Message(title="负面评论激增 / negative spike", text="用户「小王」：用了过敏，要去12315投诉",
                fields=(Field("作者 / author", "小王 (uid 8812)"),), meta={"kind": "alert", "alert_episode": "e1"})
RETENTION = RetentionConfig(author_identifiers_days=90, outbox_days=365)


class RefusingPort(ConsolePort):
    """Refuses one channel for good, as a platform does for a channel the app was removed from."""

    def post(self, channel_id, message, *, idempotency_key, maybe_sent_since=None):
        if channel_id == "gone":
            raise PermanentChatError("channel_not_found: 用户「小王」", code="channel_not_found")
        return super().post(channel_id, message, idempotency_key=idempotency_key)


def rows(db) -> dict[str, OutboxMessage]:
    with db.session() as s:
        return {r.key: r for r in s.exec(select(OutboxMessage)).all()}


@pytest.fixture
def outbox(db, clock):
    box = Outbox(db, clock)
    box.port = RefusingPort()
    box.register_port(box.port)
    return box


def test_finished_messages_lose_their_content_after_the_author_window_and_pending_ones_are_untouched(db, clock, outbox):
    # Feishu is not enabled here: its messages wait in the outbox (pending) until it is.
    outbox.send(channel="console:ops", message=QUOTE, key="alert:old")
    outbox.send(channel="console:gone", message=QUOTE, key="alert:refused")
    outbox.send(channel="feishu:oc_ops", message=QUOTE, key="alert:waiting")
    outbox.drain()
    clock.advance(timedelta(days=80))
    outbox.send(channel="console:ops", message=QUOTE, key="alert:recent")
    outbox.send(channel="feishu:oc_ops", message=QUOTE, key="alert:still-waiting")
    outbox.drain()
    clock.advance(timedelta(days=11))  # the first three are 91 days old, the last two 11

    before = rows(db)
    assert before["alert:old"].status == "sent" and before["alert:refused"].status == "failed"
    assert before["alert:waiting"].status == "pending" and before["alert:waiting"].attempts > 0
    counts = purge_expired(db, clock.now(), RETENTION)
    assert counts["outbox_contents"] == 2 and counts["outbox_messages"] == 0

    after = rows(db)
    for key in ("alert:old", "alert:refused"):
        row = after[key]
        assert row.payload == {} and row.last_error is None and row.content_purged_at == clock.now()
        assert "小王" not in repr(row.model_dump())
        assert (row.channel, row.status, row.platform_message_id) == (
            before[key].channel, before[key].status, before[key].platform_message_id)
    assert after["alert:old"].platform_message_id
    # a message still to be delivered keeps everything, however old; a recent one is not due yet
    for key in ("alert:waiting", "alert:still-waiting", "alert:recent"):
        assert after[key].payload == QUOTE.to_dict() and after[key].content_purged_at is None
        assert after[key].model_dump() == before[key].model_dump()

    assert purge_expired(db, clock.now(), RETENTION)["outbox_contents"] == 0  # done once per row
    # the key still stops a repeat
    assert outbox.has("alert:old")
    assert not outbox.send(channel="console:ops", message=QUOTE, key="alert:old")
    # and the waiting messages are delivered in full once Feishu is enabled
    feishu = ConsolePort(platform="feishu")
    outbox.register_port(feishu)
    clock.advance(timedelta(minutes=10))
    outbox.drain()
    assert rows(db)["alert:waiting"].status == "sent"
    assert feishu.messages("oc_ops") == [QUOTE, QUOTE]


def test_an_old_alert_message_whose_content_was_dropped_is_still_updated_in_place(db, clock, outbox):
    outbox.send(channel="console:ops", message=QUOTE, key="ep1@console:ops")
    outbox.drain()
    [message_id] = list(outbox.port.entries)
    clock.advance(timedelta(days=100))
    assert purge_expired(db, clock.now(), RETENTION)["outbox_contents"] == 1

    resolved = Message(title="已恢复 / recovered", text="负面评论回落 / back to normal")
    outbox.send(channel="console:ops", message=resolved, key="ep1@console:ops#v2", update_of="ep1@console:ops")
    outbox.drain()
    assert list(outbox.port.entries) == [message_id]  # no second message in the channel
    entry = outbox.port.entries[message_id]
    assert entry.message == resolved and entry.updates == 1
    assert rows(db)["ep1@console:ops#v2"].platform_message_id == message_id


def test_finished_rows_are_deleted_after_outbox_days_and_pending_ones_stay(db, clock, outbox):
    outbox.send(channel="console:ops", message=QUOTE, key="report:2025-11-01")
    outbox.send(channel="console:gone", message=QUOTE, key="alert:refused")
    outbox.send(channel="feishu:oc_ops", message=QUOTE, key="alert:waiting")  # Feishu is not enabled
    outbox.drain()
    clock.advance(timedelta(days=200))
    counts = purge_expired(db, clock.now(), RETENTION)
    assert counts["outbox_contents"] == 2 and counts["outbox_messages"] == 0
    clock.advance(timedelta(days=166))  # 366 days
    outbox.send(channel="console:ops", message=QUOTE, key="report:2026-11-01")
    outbox.drain()

    counts = purge_expired(db, clock.now(), RETENTION)
    assert counts["outbox_messages"] == 2 and counts["outbox_contents"] == 0
    left = rows(db)
    assert sorted(left) == ["alert:waiting", "report:2026-11-01"]
    assert left["alert:waiting"].status == "pending" and left["alert:waiting"].payload == QUOTE.to_dict()
    assert left["report:2026-11-01"].payload == QUOTE.to_dict()
    assert not outbox.has("report:2025-11-01") and outbox.has("report:2026-11-01")


def test_outbox_days_has_a_default_and_a_floor():
    assert RetentionConfig().outbox_days == 365
    with pytest.raises(ValidationError):
        RetentionConfig(outbox_days=7)


def test_handled_chat_event_ids_go_with_the_retention_purge(db, clock):
    """They had an hourly job of their own that first ran an hour after each start: a bot restarted more
    often than that never forgot one, and `crisisbot purge --expired` did not touch them."""
    from bot.storage.models import ProcessedEvent

    with db.session() as s:
        s.add(ProcessedEvent(key="slack:old", received_at=clock.now() - timedelta(hours=49)))
        s.add(ProcessedEvent(key="slack:recent", received_at=clock.now() - timedelta(hours=47)))
        s.add(ProcessedEvent(key="feishu:retry-window", received_at=clock.now() - timedelta(hours=6)))
    counts = purge_expired(db, clock.now(), RetentionConfig(processed_event_hours=48))
    assert counts["processed_events"] == 1
    with db.session() as s:
        assert sorted(e.key for e in s.exec(select(ProcessedEvent)).all()) == ["feishu:retry-window", "slack:recent"]
    # the shortest setting (7 h) still outlives Feishu's 6 h of retries
    counts = purge_expired(db, clock.now() + timedelta(minutes=30), RetentionConfig(processed_event_hours=7))
    assert counts["processed_events"] == 1
    with db.session() as s:
        assert [e.key for e in s.exec(select(ProcessedEvent)).all()] == ["feishu:retry-window"]
