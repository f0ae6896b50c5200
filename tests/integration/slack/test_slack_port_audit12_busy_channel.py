"""Audit 12, item 3: a retry after a lost answer must not post a second copy when the channel is busy.

The duplicate check reads the channel's history from a little before the first uncertain attempt. Slack
returns it newest first, a page at a time; the message looked for is the oldest in that window. Reading one
page only (50 messages) missed it as soon as people had written more than that meanwhile, and the retry
posted the run card a second time. The lookup now pages on (`cursor` / `response_metadata.next_cursor`)
until the window is read or the message found, bounded. Outbox + SlackChatPort (slack_sdk) against the fake
Slack Web API, whose history pages like Slack's.
"""

from __future__ import annotations

import logging

import pytest

from bot.adapters.slack.port import HISTORY_LIMIT, HISTORY_MAX_PAGES, SlackChatPort, upload_filename
from bot.messages import Image, Message
from bot.outbox import Outbox
from tests.fakes.slack_api import (
    VALID_BOT_TOKEN,
    FakeSlack,
    accepted_then,
    lost_response,
    rate_limited,
    server_error,
)
from tests.integration.slack.test_slack_post_dedup import retry_round, row_for


@pytest.fixture
def slack(clock):
    # Message ts follow the test clock, as Slack's follow real time, so `oldest` means the same to both.
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        yield fake


def outbox_with(db, clock, slack: FakeSlack) -> Outbox:
    outbox = Outbox(db, clock)
    outbox.register_port(SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None))
    return outbox


def bot_posts(slack: FakeSlack, channel: str = "C1") -> list[dict]:
    return [m for m in slack.channel_messages(channel) if (m.get("metadata") or {}).get("event_payload")]


def chatter(slack: FakeSlack, n: int, *, prefix: str = "human chatter", thread_ts: str | None = None) -> None:
    for i in range(n):
        slack.say("C1", f"{prefix} {i}", thread_ts=thread_ts)


def test_a_lost_run_card_is_found_behind_pages_of_chatter_and_not_posted_again(db, clock, slack):
    """The audit's busy3 run: the card is stored, its answer lost; people write 250 messages; the retry finds
    the card on the third page of history (the window starts a minute before the first attempt, where
    people wrote too); it reads the window to its end (page 5), where an older copy would be (audit 5: two
    attempts of unknown outcome can both land, and only the oldest copy may stay)."""
    outbox = outbox_with(db, clock, slack)
    chatter(slack, 150, prefix="before")  # inside the lookup's minute before the first attempt
    slack.script("chat.postMessage", lost_response())
    outbox.send(channel="slack:C1", message=Message(title="危机预案已启动", text="忙碌频道测试三"),
                key="crisis:4:card")
    outbox.drain()
    assert row_for(db, "crisis:4:card").status == "pending"
    chatter(slack, 2 * HISTORY_LIMIT + 50)  # people keep talking in the crisis channel meanwhile

    retry_round(outbox, clock)

    (card,) = bot_posts(slack)  # one copy, not two
    assert card["metadata"]["event_payload"]["key"] == "crisis:4:card"
    row = row_for(db, "crisis:4:card")
    assert (row.status, row.platform_message_id) == ("sent", card["ts"])
    lookups = slack.calls("conversations.history")
    assert len(lookups) == 5  # 250 newer messages: the card is on page 3; page 5 ends the window
    assert lookups[-2].answer["has_more"] is True and lookups[-1].answer["has_more"] is False
    assert "cursor" not in lookups[0].args
    for previous, page in zip(lookups, lookups[1:], strict=False):
        assert page.args["cursor"] == previous.answer["response_metadata"]["next_cursor"]
        assert page.args["oldest"] == lookups[0].args["oldest"]  # the same window, page after page
    assert all(int(page.args["limit"]) <= 200 for page in lookups)  # Slack recommends no more than 200


def test_a_lost_thread_reply_is_found_in_a_busy_thread(db, clock, slack):
    """A thread reads oldest first: replies written just before the lost one (inside the lookup's minute)
    push it to a later page."""
    outbox = outbox_with(db, clock, slack)
    parent = slack.say("C1", "告警讨论")
    chatter(slack, HISTORY_LIMIT + 50, prefix="before", thread_ts=parent)
    slack.script("chat.postMessage", lost_response())
    outbox.send(channel="slack:C1", message=Message(text="已认领", meta={"reply": {"thread_ts": parent}}),
                key="alert:ep-2:ack")
    outbox.drain()
    chatter(slack, 2 * HISTORY_LIMIT, thread_ts=parent)

    retry_round(outbox, clock)

    (reply,) = bot_posts(slack)
    assert reply["thread_ts"] == parent
    assert row_for(db, "alert:ep-2:ack").platform_message_id == reply["ts"]
    lookups = slack.calls("conversations.replies")
    assert len(lookups) == 4 and lookups[1].answer["has_more"] is True  # found on page 2, page 4 ends the window
    assert lookups[1].args["cursor"] == lookups[0].answer["response_metadata"]["next_cursor"]
    assert slack.calls("conversations.history") == []


def test_a_lost_chart_upload_is_found_behind_pages_of_chatter(db, clock, slack):
    outbox = outbox_with(db, clock, slack)
    # Slack shares the file, then answers 502; slack_sdk's in-place retries (2) get 503s.
    slack.script("files.completeUploadExternal", accepted_then(502), server_error(503), server_error(503))
    outbox.send(channel="slack:C1", message=Message(images=(Image("周报图表", png=b"\x89PNG-week", filename="w.png"),)),
                key="report:weekly:2026-49")
    outbox.drain()
    assert row_for(db, "report:weekly:2026-49").maybe_sent_since is not None
    chatter(slack, 3 * HISTORY_LIMIT)

    retry_round(outbox, clock)

    files = [f for m in slack.channel_messages("C1") for f in m.get("files") or ()]
    assert [f["name"] for f in files] == [upload_filename("w.png", "report:weekly:2026-49")]  # not uploaded twice
    row = row_for(db, "report:weekly:2026-49")
    assert (row.status, row.platform_message_id) == ("sent", files[0]["id"])
    assert len(slack.successful("files.getUploadURLExternal")) == 1
    assert len(slack.calls("conversations.history")) == 4


def test_a_short_rate_limit_between_pages_is_waited_out_in_place(db, clock, slack):
    """conversations.history is Tier 3: a short Retry-After is honoured by the port's own retry handler, and
    the reading goes on where it was."""
    outbox = outbox_with(db, clock, slack)
    slack.script("chat.postMessage", lost_response())
    outbox.send(channel="slack:C1", message=Message(text="危机预案已启动"), key="crisis:5:card")
    outbox.drain()
    chatter(slack, HISTORY_LIMIT + 20)
    slack.script("conversations.history", rate_limited(1))

    retry_round(outbox, clock)

    assert len(bot_posts(slack)) == 1
    assert row_for(db, "crisis:5:card").status == "sent"
    lookups = slack.calls("conversations.history")
    assert [c.status for c in lookups] == [429, 200, 200]


def test_a_window_too_long_to_read_is_bounded_and_the_message_still_goes_out(db, clock, slack, caplog):
    """More chatter than HISTORY_MAX_PAGES pages: the lookup stops there (a bounded cost per attempt), says
    so, and posts anyway, as documented for a check that cannot be made: never hold a message back."""
    outbox = outbox_with(db, clock, slack)
    slack.script("chat.postMessage", lost_response())
    outbox.send(channel="slack:C1", message=Message(text="危机预案已启动"), key="crisis:6:card")
    outbox.drain()
    chatter(slack, HISTORY_MAX_PAGES * HISTORY_LIMIT + 10)

    with caplog.at_level(logging.WARNING, logger="crisisbot.slack"):
        retry_round(outbox, clock)

    assert len(slack.calls("conversations.history")) == HISTORY_MAX_PAGES
    assert row_for(db, "crisis:6:card").status == "sent"
    assert len(bot_posts(slack)) == 2  # the documented fallback: a rare duplicate beats a held-back card
    assert any("posting anyway" in r.getMessage() and "C1" in r.getMessage() for r in caplog.records)
