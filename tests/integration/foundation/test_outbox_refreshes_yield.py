"""Refreshes of delivered messages yield to the other messages of their channel, and a waiting refresh takes
the newer version in its place.

The outbox delivered strictly in id order per channel, so an alert queued just after a burst of card
re-renders (one reply-queue press re-rendered up to 60 cards) waited behind all of them, and behind their
429s. A refresh (`enqueue(..., refresh=True)`) now goes after the rest of its channel; everything the outbox
promised before still holds: posts keep their order, plain updates keep their place (a playbook card's edit
before the answer that follows it), an update of a message not delivered yet keeps its place (it is posted
in its place), and a row that waits still holds back every later row of its channel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlmodel import select

from bot.adapters.console.port import ConsolePort
from bot.messages import Message, TransientChatError
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage


class RecordingPort(ConsolePort):
    """A console port that logs every call in order and can fail scripted calls like a chat platform."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[tuple[str, str], list[Exception]] = {}  # (kind, text) -> errors to raise, in turn
        self.on_call: Callable[[str, str], None] | None = None

    def _call(self, kind: str, text: str) -> None:
        self.calls.append((kind, text))
        errors = self.fail.get((kind, text))
        if errors:
            raise errors.pop(0)
        if self.on_call is not None:
            self.on_call(kind, text)

    def post(self, channel_id, message, *, idempotency_key, maybe_sent_since=None):
        self._call("post", message.text)
        return super().post(channel_id, message, idempotency_key=idempotency_key)

    def update(self, channel_id, message_id, message):
        self._call("update", message.text)
        return super().update(channel_id, message_id, message)


def _setup(db, clock, cards: int = 0):
    outbox = Outbox(db, clock)
    port = RecordingPort()
    outbox.register_port(port)
    for n in range(cards):
        outbox.send(channel="console:ops", message=Message(text=f"card{n}"), key=f"card{n}")
    outbox.drain()
    port.calls.clear()
    return outbox, port


def _refresh(outbox, original: str, text: str, *, refresh: bool = True) -> bool:
    options = {"refresh": True} if refresh else {}
    with outbox.db.session() as session:
        return outbox.enqueue(session, channel="console:ops", message=Message(text=text), key=f"{original}:{text}",
                              update_of=original, **options)


def _post(outbox, text: str, *, channel: str = "console:ops") -> None:
    outbox.send(channel=channel, message=Message(text=text), key=text)


def _rows(db, **where):
    with db.session() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(s.exec(query).all())


def test_an_alert_queued_after_a_pile_of_card_refreshes_goes_out_first(db, clock):
    outbox, port = _setup(db, clock, cards=30)
    for n in range(30):
        _refresh(outbox, f"card{n}", f"card{n} v2")
    _post(outbox, "ALERT")
    outbox.drain()
    assert port.calls == [("post", "ALERT")] + [("update", f"card{n} v2") for n in range(30)]
    assert {r.kind for r in _rows(db, status="sent")} == {"post", "refresh"}


def test_a_message_queued_while_refreshes_go_out_waits_for_one_refresh_only(db, clock):
    outbox, port = _setup(db, clock, cards=10)
    for n in range(10):
        _refresh(outbox, f"card{n}", f"card{n} v2")

    def alert_arrives(kind, text):  # e.g. a spike detected while the worker is going through the refreshes
        if text == "card2 v2":
            _post(outbox, "ALERT")

    port.on_call = alert_arrives
    outbox.drain()
    refreshes = [("update", f"card{n} v2") for n in range(10)]
    assert port.calls == refreshes[:3] + [("post", "ALERT")] + refreshes[3:]


def test_plain_updates_posts_and_updates_of_messages_not_delivered_yet_keep_their_order(db, clock):
    outbox, port = _setup(db, clock, cards=2)
    _refresh(outbox, "card0", "card0 v2")  # a refresh of a delivered message: yields to the rest
    _refresh(outbox, "card1", "card1 v2", refresh=False)  # a plain update (a playbook card): keeps its place
    _post(outbox, "p1")
    _refresh(outbox, "p1", "p1 v2")  # a refresh of a message not delivered yet: keeps its place too
    _post(outbox, "p2")
    _refresh(outbox, "p2", "p2 v2", refresh=False)
    _post(outbox, "p3")
    outbox.drain()
    assert port.calls == [("update", "card1 v2"), ("post", "p1"), ("update", "p1 v2"), ("post", "p2"),
                          ("update", "p2 v2"), ("post", "p3"), ("update", "card0 v2")]
    assert [e.message.text for e in port.entries.values()] == ["card0 v2", "card1 v2", "p1 v2", "p2 v2", "p3"]


def test_a_rate_limited_refresh_holds_back_later_refreshes_of_its_channel_not_its_posts(db, clock):
    outbox, port = _setup(db, clock, cards=2)
    port.fail[("update", "card0 v2")] = [TransientChatError("ratelimited", code="ratelimited", retry_after=30)]
    _refresh(outbox, "card0", "card0 v2")
    _refresh(outbox, "card1", "card1 v2")
    _post(outbox, "ALERT")
    outbox.drain()
    assert port.calls == [("post", "ALERT"), ("update", "card0 v2")]  # card1's refresh waits behind card0's
    clock.advance(timedelta(seconds=31))
    outbox.drain()
    assert port.calls[2:] == [("update", "card0 v2"), ("update", "card1 v2")]


def test_a_waiting_post_still_holds_back_the_later_refreshes_of_its_channel(db, clock):
    outbox, port = _setup(db, clock, cards=2)
    port.fail[("post", "p")] = [TransientChatError("503 from platform")]
    _refresh(outbox, "card0", "card0 v2")  # queued before the post: not held back by it
    _post(outbox, "p")
    _refresh(outbox, "card1", "card1 v2")  # queued after it: waits for it, as before
    _post(outbox, "elsewhere", channel="console:other")
    outbox.drain()
    assert port.calls == [("post", "p"), ("post", "elsewhere"), ("update", "card0 v2")]
    clock.advance(timedelta(minutes=6))
    outbox.drain()
    assert port.calls[3:] == [("post", "p"), ("update", "card1 v2")]


def test_a_pending_refresh_takes_a_newer_version_in_its_place(db, clock):
    outbox, port = _setup(db, clock, cards=1)
    assert _refresh(outbox, "card0", "card0 v2")
    (first,) = _rows(db, status="pending")
    assert _refresh(outbox, "card0", "card0 v3")
    (row,) = _rows(db, status="pending")
    assert row.id == first.id and row.payload["text"] == "card0 v3"
    outbox.drain()
    assert port.calls == [("update", "card0 v3")]
    assert _refresh(outbox, "card0", "card0 v4")  # nothing pending: queued as usual
    outbox.drain()
    assert port.calls[1:] == [("update", "card0 v4")] and len(_rows(db, kind="refresh")) == 2


def test_a_pending_plain_update_is_followed_not_replaced(db, clock):
    outbox, port = _setup(db, clock, cards=1)
    _refresh(outbox, "card0", "card0 v2", refresh=False)
    _refresh(outbox, "card0", "card0 v3")
    assert [(r.kind, r.payload["text"]) for r in _rows(db, status="pending")] == [
        ("update", "card0 v2"), ("refresh", "card0 v3")]
    outbox.drain()
    assert port.calls == [("update", "card0 v3")]  # the older version is superseded, as before


def test_a_refresh_that_may_have_reached_the_platform_is_followed_not_replaced(db, clock):
    outbox, port = _setup(db, clock, cards=1)
    port.fail[("update", "card0 v2")] = [TransientChatError("timed out", code="connection_error",
                                                            maybe_delivered=True)]
    _refresh(outbox, "card0", "card0 v2")
    outbox.drain()
    (uncertain,) = _rows(db, status="pending")
    assert uncertain.maybe_sent_since is not None
    _refresh(outbox, "card0", "card0 v3")
    assert [r.payload["text"] for r in _rows(db, status="pending")] == ["card0 v2", "card0 v3"]
    clock.advance(timedelta(minutes=6))
    outbox.drain()
    (card,) = port.entries.values()
    assert card.message.text == "card0 v3" and not _rows(db, status="pending")


def test_a_worker_that_read_a_refresh_before_its_replacement_sends_the_replacement(db, clock):
    outbox, port = _setup(db, clock, cards=2)
    _refresh(outbox, "card0", "card0 v2")
    _refresh(outbox, "card1", "card1 v2")

    def press_meanwhile(kind, text):  # the worker has read both refreshes and is sending the first one
        if text == "card0 v2":
            assert _refresh(outbox, "card1", "card1 v3")

    port.on_call = press_meanwhile
    outbox.drain()
    assert ("update", "card1 v2") not in port.calls
    assert [e.message.text for e in port.entries.values()] == ["card0 v2", "card1 v3"]
    assert not _rows(db, status="pending")
