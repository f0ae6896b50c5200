"""A slow Slack that stores a post after the bot gave up must never leave two visible copies (audit 5, b3).

Outbox + SlackChatPort against the fake Slack Web API. The retry after an unknown outcome waits long enough
for Slack to finish storing (the port's timeout plus a margin), a re-send that follows an unknown outcome is
checked once more, and any extra copy carrying the same outbox key is deleted, the oldest staying.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.slack.port import SlackChatPort
from bot.messages import Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack, ScriptedAnswer, lost_response

# Slack has not stored the earlier attempt yet when the history check runs (it answers late)
NOT_YET_IN_HISTORY = ScriptedAnswer(200, {"ok": True, "messages": [], "has_more": False,
                                          "response_metadata": {"next_cursor": ""}})


@pytest.fixture
def slack(clock):
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        yield fake


def outbox_for(db, clock, slack: FakeSlack, **port_args) -> tuple[Outbox, SlackChatPort]:
    port = SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None, **port_args)
    outbox = Outbox(db, clock)
    outbox.register_port(port)
    return outbox, port


def row_for(db, key: str) -> OutboxMessage:
    with db.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def test_the_retry_after_an_unknown_outcome_waits_for_slack_to_finish_storing(db, clock, slack):
    outbox, port = outbox_for(db, clock, slack, timeout=10)
    slack.script("chat.postMessage", lost_response())
    outbox.send(channel="slack:C1", message=Message(text="负面评论激增"), key="alert:slow-1")
    failed_at = clock.now()
    outbox.drain()

    row = row_for(db, "alert:slow-1")
    assert row.status == "pending" and row.maybe_sent_since is not None
    # not the first backoff step (about a second): the history check must not run before Slack is done
    assert row.next_attempt_at - failed_at >= timedelta(seconds=port.unknown_outcome_settle_s)
    assert port.unknown_outcome_settle_s > port.timeout


def test_a_resend_after_an_unknown_outcome_deletes_the_late_copy_and_keeps_the_oldest(db, clock, slack):
    outbox, _port = outbox_for(db, clock, slack)
    slack.script("chat.postMessage", lost_response())  # attempt 1: stored, answer lost
    slack.script("conversations.history", NOT_YET_IN_HISTORY)  # attempt 2's check: Slack not done yet
    outbox.send(channel="slack:C1", message=Message(text="负面评论激增"), key="alert:slow-2")
    outbox.drain()
    clock.advance(timedelta(minutes=6))
    outbox.drain()  # attempt 2: not found -> re-sent -> looked at again: attempt 1 landed meanwhile

    (message,) = slack.channel_messages("C1")  # one visible copy, not two
    row = row_for(db, "alert:slow-2")
    assert (row.status, row.platform_message_id) == ("sent", message["ts"])
    (resent,) = slack.successful("chat.postMessage")  # attempt 1's answer was lost: not "successful"
    (delete,) = slack.successful("chat.delete")
    assert delete.args["ts"] == resent.answer["ts"] != message["ts"]  # the re-sent copy went, the first stays


def test_two_landed_attempts_leave_one_copy_when_found(db, clock, slack):
    outbox, _port = outbox_for(db, clock, slack)
    slack.script("chat.postMessage", lost_response(), lost_response())  # both attempts stored, answers lost
    slack.script("conversations.history", NOT_YET_IN_HISTORY)
    outbox.send(channel="slack:C1", message=Message(text="二级·严重"), key="alert:slow-3")
    outbox.drain()
    clock.advance(timedelta(minutes=6))
    outbox.drain()
    assert len(slack.channel_messages("C1")) == 2  # attempt 2 also landed with its answer lost
    clock.advance(timedelta(minutes=6))
    outbox.drain()  # attempt 3: finds both copies

    (message,) = slack.channel_messages("C1")
    row = row_for(db, "alert:slow-3")
    assert (row.status, row.platform_message_id) == ("sent", message["ts"])
    assert len(slack.calls("chat.postMessage")) == 2  # nothing posted a third time
