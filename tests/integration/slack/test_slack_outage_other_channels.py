"""A Slack outage delays Slack's messages only: the outbox keeps delivering to every other channel."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.adapters.console.port import ConsolePort
from bot.adapters.slack.port import SlackChatPort
from bot.messages import Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack


def test_hundreds_of_slack_messages_waiting_out_an_outage_do_not_hold_other_channels(sqlite_db, clock):
    with FakeSlack() as slack:
        outbox = Outbox(sqlite_db, clock)
        outbox.register_port(SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None))
        console = ConsolePort()
        outbox.register_port(console)
        slack.down = True
        # An alert storm for one Slack channel: more rows than one delivery round reads.
        for n in range(205):
            outbox.send(channel="slack:C1", message=Message(text=f"告警 {n}"), key=f"storm:{n}")
        outbox.send(channel="console:ops", message=Message(text="值班提醒 / on-call reminder"), key="console:1")

        for _ in range(3):
            clock.advance(timedelta(minutes=10))
            outbox.deliver_due()

        assert [m.text for m in console.messages("ops")] == ["值班提醒 / on-call reminder"]
        # Slack's messages wait, in order, and are all delivered once Slack is back.
        assert slack.successful("chat.postMessage") == []
        slack.down = False
        for _ in range(5):
            clock.advance(timedelta(minutes=10))
            outbox.drain(max_rounds=10)
        texts = [c.args["text"] for c in slack.successful("chat.postMessage")]
        assert texts == [f"告警 {n}" for n in range(205)]
        with sqlite_db.session() as session:
            assert session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all() == []
