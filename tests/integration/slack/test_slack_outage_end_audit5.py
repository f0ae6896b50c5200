"""When Slack answers again after an outage, the messages waiting on backoff go out now (audit 5, a).

Outbox + SlackChatPort against the fake Slack Web API. After a long outage the backoff had reached
minutes; a message that gets through makes the others of the platform due at once (a message whose last
attempt may have reached Slack after the settle time of the duplicate check), while a wait Slack asked
for (Retry-After) is kept.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.slack.port import SlackChatPort
from bot.messages import Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack, rate_limited, server_error


@pytest.fixture
def slack(clock):
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        yield fake


def status(db, key: str) -> str:
    with db.session() as session:
        return session.exec(select(OutboxMessage.status).where(OutboxMessage.key == key)).one()


def test_a_message_getting_through_ends_the_backoff_of_the_others(db, clock, slack):
    port = SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None, max_retries=0)
    outbox = Outbox(db, clock)
    outbox.register_port(port)
    outbox.send(channel="slack:C1", message=Message(text="告警一"), key="alert:1")
    outbox.send(channel="slack:C2", message=Message(text="告警二"), key="alert:2")
    slack.down = True
    for _ in range(7):  # a long outage: the backoff grows to minutes
        clock.advance(timedelta(minutes=6))
        outbox.drain()
    # The last failed round (each retry first looks for the message: its earlier answer was a 5xx).
    slack.down = False
    slack.script("conversations.history", server_error(503), rate_limited(retry_after=250))
    clock.advance(timedelta(minutes=6))
    outbox.drain()
    assert (status(db, "alert:1"), status(db, "alert:2")) == ("pending", "pending")

    outbox.send(channel="slack:C3", message=Message(text="新消息"), key="alert:3")
    outbox.drain()  # gets through: Slack is back
    assert status(db, "alert:3") == "sent"
    clock.advance(timedelta(seconds=port.unknown_outcome_settle_s + 1))  # the duplicate check's settle time
    outbox.drain()

    assert status(db, "alert:1") == "sent"  # not minutes later
    assert status(db, "alert:2") == "pending"  # Slack asked for 250 s: that wait stands
    texts = [m["text"] for m in slack.channel_messages("C1")]
    assert texts == ["告警一"]
