from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.console.port import ConsolePort
from bot.messages import Message, PermanentChatError, TransientChatError
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage


class FlakyPort(ConsolePort):
    """A console port that fails the first `failures` calls like a chat platform outage."""

    def __init__(self, failures: int = 0, permanent_for: str | None = None):
        super().__init__()
        self.failures = failures
        self.permanent_for = permanent_for
        self.calls = 0

    def post(self, channel_id, message, *, idempotency_key, maybe_sent_since=None):
        self.calls += 1
        if channel_id == self.permanent_for:
            raise PermanentChatError("channel_not_found", code="channel_not_found")
        if self.failures > 0:
            self.failures -= 1
            raise TransientChatError("503 from platform", retry_after=None)
        return super().post(channel_id, message, idempotency_key=idempotency_key)


def test_messages_are_delivered_in_order_per_channel(db, clock):
    outbox = Outbox(db, clock)
    port = ConsolePort()
    outbox.register_port(port)
    for i in range(5):
        outbox.send(channel="console:a", message=Message(text=f"a{i}"), key=f"k-a{i}")
        outbox.send(channel="console:b", message=Message(text=f"b{i}"), key=f"k-b{i}")
    outbox.drain()
    assert [m.text for m in port.messages("a")] == [f"a{i}" for i in range(5)]
    assert [m.text for m in port.messages("b")] == [f"b{i}" for i in range(5)]


def test_same_key_is_enqueued_once(db, clock):
    outbox = Outbox(db, clock)
    assert outbox.send(channel="console:a", message=Message(text="x"), key="alert:1")
    assert not outbox.send(channel="console:a", message=Message(text="x"), key="alert:1")
    with db.session() as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1


def test_outage_delays_and_never_drops_and_keeps_order(db, clock):
    outbox = Outbox(db, clock)
    port = FlakyPort(failures=3)
    outbox.register_port(port)
    outbox.send(channel="console:a", message=Message(text="first"), key="k1")
    outbox.send(channel="console:a", message=Message(text="second"), key="k2")
    for _ in range(10):
        outbox.drain()
        clock.advance(timedelta(minutes=6))
    assert [m.text for m in port.messages("a")] == ["first", "second"]
    with db.session() as s:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.key == "k1")).one()
    assert row.status == "sent" and row.attempts == 4


def test_restart_delivers_what_was_pending(db, clock):
    first = Outbox(db, clock)  # no port registered: the platform is "down"
    first.send(channel="console:a", message=Message(text="survives restart"), key="k1")
    first.drain()
    clock.advance(timedelta(minutes=10))
    second = Outbox(db, clock)
    port = ConsolePort()
    second.register_port(port)
    second.drain()
    assert [m.text for m in port.messages("a")] == ["survives restart"]


def test_permanent_error_marks_failed_and_does_not_block_other_channels(db, clock):
    outbox = Outbox(db, clock)
    port = FlakyPort(permanent_for="gone")
    outbox.register_port(port)
    outbox.send(channel="console:gone", message=Message(text="x"), key="k1")
    outbox.send(channel="console:ok", message=Message(text="y"), key="k2")
    outbox.drain()
    with db.session() as s:
        assert s.exec(select(OutboxMessage.status).where(OutboxMessage.key == "k1")).one() == "failed"
    assert [m.text for m in port.messages("ok")] == ["y"]


def test_update_in_place_targets_the_sent_message(db, clock):
    outbox = Outbox(db, clock)
    port = ConsolePort()
    outbox.register_port(port)
    outbox.send(channel="console:a", message=Message(text="v1"), key="alert:7")
    outbox.send(channel="console:a", message=Message(text="v2"), key="alert:7:v2", update_of="alert:7")
    outbox.drain()
    assert len(port.entries) == 1
    (entry,) = port.entries.values()
    assert entry.message.text == "v2" and entry.updates == 1


def test_message_round_trips_through_the_outbox(db, clock):
    from bot.messages import Button, Field, Image, Section

    message = Message(
        title="负面评论激增",
        text="**47** 条",
        fields=(Field("严重程度", "二级"),),
        sections=(Section("一条评论", buttons=(Button("认领", "reply.claim", "9"),)),),
        buttons=(Button("确认", "alert.ack", "1", "primary"),),
        images=(Image("图", png=b"\x89PNG..."),),
        severity=2,
        mentions=("here",),
        meta={"kind": "alert"},
    )
    assert Message.from_dict(message.to_dict()) == message


class UncertainPort(ConsolePort):
    """A chat platform whose answers can get lost: each call takes the next scripted outcome and records
    what the outbox told it about earlier attempts."""

    def __init__(self, outcomes):
        super().__init__()
        self.outcomes = list(outcomes)
        self.told: list = []

    def post(self, channel_id, message, *, idempotency_key, maybe_sent_since=None):
        self.told.append(maybe_sent_since)
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "lost":
            super().post(channel_id, message, idempotency_key=idempotency_key)  # it got through ...
            raise TransientChatError("timed out", code="connection_error", maybe_delivered=True)  # ... unseen
        if outcome == "refused":
            raise TransientChatError("rate limited", code="ratelimited", retry_after=1)
        if outcome == "killed":
            super().post(channel_id, message, idempotency_key=idempotency_key)
            raise SystemExit("the worker process died mid-call")
        return super().post(channel_id, message, idempotency_key=idempotency_key)


def attempt_times(outbox, clock, rounds):
    started = []
    for _ in range(rounds):
        started.append(clock.now())
        outbox.drain()
        clock.advance(timedelta(minutes=6))
    return started


def test_the_port_hears_of_an_uncertain_attempt_and_not_of_clean_refusals(db, clock):
    outbox = Outbox(db, clock)
    port = UncertainPort(["refused", "lost", "refused", "ok"])
    outbox.register_port(port)
    outbox.send(channel="console:a", message=Message(text="x"), key="k1")
    t = attempt_times(outbox, clock, 4)
    # first attempt: nothing to check; a refusal leaves nothing to check; once an answer was lost, every
    # later attempt hears when that attempt started, even after another clean refusal
    assert port.told == [None, None, t[1], t[1]]
    with db.session() as s:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.key == "k1")).one()
    assert row.status == "sent" and row.maybe_sent_since is None


def test_a_worker_killed_mid_call_counts_as_uncertain_after_a_restart(db, clock):
    first = Outbox(db, clock)
    first.register_port(UncertainPort(["killed"]))
    first.send(channel="console:a", message=Message(text="x"), key="k1")
    started = clock.now()
    with pytest.raises(SystemExit):
        first.drain()
    clock.advance(timedelta(minutes=5))  # past the dead worker's lease
    second = Outbox(db, clock)
    port = UncertainPort([])
    second.register_port(port)
    second.drain()
    assert port.told == [started]


def test_outbox_migration_matches_the_model(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diffs if "outbox_message" in repr(d)] == []


class CountingPort(ConsolePort):
    def __init__(self):
        super().__init__()
        self.update_calls = 0

    def update(self, channel_id, message_id, message):
        self.update_calls += 1
        return super().update(channel_id, message_id, message)


def test_a_burst_of_updates_of_one_message_reaches_the_platform_as_its_latest_version(db, clock):
    outbox = Outbox(db, clock)
    port = CountingPort()
    outbox.register_port(port)
    outbox.send(channel="console:a", message=Message(text="1 条"), key="notice")
    outbox.drain()
    for n in range(2, 51):  # a watched term in 50 comments: 49 updates queued before the worker runs
        outbox.send(channel="console:a", message=Message(text=f"{n} 条"), key=f"notice#v{n}", update_of="notice")
    outbox.send(channel="console:a", message=Message(text="after"), key="other")
    outbox.drain()
    (notice, other) = port.entries.values()
    assert notice.message.text == "50 条" and port.update_calls == 1 and other.message.text == "after"
    with db.session() as s:
        statuses = [r.status for r in s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()]
    assert statuses.count("superseded") == 48 and "pending" not in statuses


class CrashingPort(ConsolePort):
    def post(self, channel_id, message, *, idempotency_key, maybe_sent_since=None):
        if message.text == "poison":
            raise KeyError("user")  # an adapter bug on this one message
        return super().post(channel_id, message, idempotency_key=idempotency_key)


def test_a_message_the_adapter_keeps_crashing_on_stops_blocking_its_channel(db, clock):
    outbox = Outbox(db, clock)
    port = CrashingPort()
    outbox.register_port(port)
    outbox.send(channel="console:a", message=Message(text="poison"), key="bad")
    outbox.send(channel="console:a", message=Message(text="alert"), key="good")
    for _ in range(15):
        outbox.drain()
        clock.advance(timedelta(minutes=6))
    assert [m.text for m in port.messages("a")] == ["alert"]
    with db.session() as s:
        bad = s.exec(select(OutboxMessage).where(OutboxMessage.key == "bad")).one()
    assert bad.status == "failed" and "crashed attempts" in bad.last_error
