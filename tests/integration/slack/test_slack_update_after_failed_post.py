"""An alert whose first post failed (bot not in the channel) and is then fixed: the first update posts the
card, every later update edits that card (chat.update) instead of posting another one."""

from __future__ import annotations

from bot.adapters.slack.port import SlackChatPort
from bot.messages import Message
from bot.outbox import Outbox
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack


def test_updates_of_a_failed_post_edit_the_card_posted_in_its_place(sqlite_db, clock):
    with FakeSlack() as slack:
        outbox = Outbox(sqlite_db, clock)
        outbox.register_port(SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None))
        slack.not_in_channels.add("C1")
        outbox.send(channel="slack:C1", message=Message(title="负面舆情激增", text="新增 42 条"), key="alert:ep-1")
        outbox.drain()
        assert slack.successful("chat.postMessage") == []  # refused: not_in_channel, marked failed

        slack.not_in_channels.discard("C1")  # someone invited the bot
        outbox.send(channel="slack:C1", message=Message(title="负面舆情激增", text="新增 80 条"),
                    key="alert:ep-1:update:1", update_of="alert:ep-1")
        outbox.drain()
        outbox.send(channel="slack:C1", message=Message(title="负面舆情激增", text="已确认 / acknowledged"),
                    key="alert:ep-1:update:2", update_of="alert:ep-1")
        outbox.drain()

        (posted,) = slack.successful("chat.postMessage")
        (edited,) = slack.successful("chat.update")
        assert edited.args["ts"] == posted.answer["ts"]
        assert [m["text"] for m in slack.channel_messages("C1")] == ["负面舆情激增\n已确认 / acknowledged"]
