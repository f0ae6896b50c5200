"""No duplicate Slack posts when an answer is lost: outbox + SlackChatPort against the fake Slack Web API.

chat.postMessage and PNG uploads have no idempotency key. When Slack stored a message but its answer never arrived, the
outbox's retry must find that message (by the outbox key in its metadata) instead of posting it again,
also after a restart; when the check itself is refused the message is still delivered.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.slack.port import METADATA_EVENT_TYPE, SlackChatPort, metadata_key, upload_filename
from bot.messages import Image, Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import (
    VALID_BOT_TOKEN,
    FakeSlack,
    ScriptedAnswer,
    accepted_then,
    lost_response,
    missing_scope,
    rate_limited,
    server_error,
)

LONG_KEY = "reply-queue:douyin:lanji_official:comment:" + "7" * 80 + ":answer"


@pytest.fixture
def slack(clock):
    # Message ts follow the test clock, as Slack's follow real time, so `oldest` means the same to both.
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        yield fake


def slack_port(slack: FakeSlack, **kwargs) -> SlackChatPort:
    return SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None, **kwargs)


def outbox_with(db, clock, port: SlackChatPort) -> Outbox:
    outbox = Outbox(db, clock)
    outbox.register_port(port)
    return outbox


def retry_round(outbox: Outbox, clock) -> None:
    clock.advance(timedelta(minutes=6))  # past any backoff
    outbox.drain()


def row_for(db, key: str) -> OutboxMessage:
    with db.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


@pytest.mark.parametrize("failure", ["lost_response", "accepted_then_502", "timeout"])
def test_a_lost_answer_is_found_in_the_channel_instead_of_posting_twice(db, clock, slack, failure):
    if failure == "timeout":
        port = slack_port(slack, timeout=1)  # Slack stores the message, then answers after we gave up
        slack.script("chat.postMessage", ScriptedAnswer(accept=True, delay=1.6))
    else:
        port = slack_port(slack)
        slack.script("chat.postMessage", lost_response() if failure == "lost_response" else accepted_then(502))
    outbox = outbox_with(db, clock, port)
    outbox.send(channel="slack:C1", message=Message(title="负面舆情激增", text="澜肌官方旗舰店"), key="alert:ep-1")
    outbox.drain()
    assert row_for(db, "alert:ep-1").status == "pending"
    assert len(slack.channel_messages("C1")) == 1  # Slack has it; we do not know

    retry_round(outbox, clock)

    (message,) = slack.channel_messages("C1")
    assert message["metadata"] == {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": "alert:ep-1"}}
    row = row_for(db, "alert:ep-1")
    assert (row.status, row.platform_message_id, row.attempts) == ("sent", message["ts"], 2)
    (lookup,) = slack.calls("conversations.history")
    assert lookup.args["channel"] == "C1" and lookup.args["include_all_metadata"] in ("1", "true", True)
    # a little before the first attempt, not the whole channel
    first_attempt = row.created_at.timestamp()
    assert first_attempt - 600 < float(lookup.args["oldest"]) < first_attempt
    assert int(lookup.args["limit"]) <= 100


def test_the_check_survives_a_restart(db, clock, slack):
    first = outbox_with(db, clock, slack_port(slack))
    slack.script("chat.postMessage", lost_response())
    first.send(channel="slack:C1", message=Message(text="危机预案已启动"), key=LONG_KEY)
    first.drain()
    assert row_for(db, LONG_KEY).maybe_sent_since is not None

    # A new process: new outbox, new port (nothing in memory), same database.
    restarted = outbox_with(db, clock, slack_port(slack))
    retry_round(restarted, clock)

    (message,) = slack.channel_messages("C1")
    key = message["metadata"]["event_payload"]["key"]
    assert key == metadata_key(LONG_KEY) and len(key) <= 64  # long keys travel hashed
    assert row_for(db, LONG_KEY).platform_message_id == message["ts"]
    assert len(slack.calls("conversations.history")) == 1


def test_a_refused_history_lookup_still_delivers_and_logs_once(db, clock, slack, caplog):
    outbox = outbox_with(db, clock, slack_port(slack))
    slack.script("chat.postMessage", lost_response(), lost_response())
    slack.script("conversations.history", missing_scope(), missing_scope())
    outbox.send(channel="slack:C1", message=Message(text="需要人工回复"), key="reply:42")
    with caplog.at_level(logging.WARNING, logger="crisisbot.slack"):
        outbox.drain()  # attempt 1: stored, answer lost
        retry_round(outbox, clock)  # attempt 2: check refused -> posts anyway, answer lost again
        retry_round(outbox, clock)  # attempt 3: check refused -> posts anyway, delivered

    assert row_for(db, "reply:42").status == "sent"
    # The documented fallback: never hold a message back for the check, even if it may show twice.
    assert len(slack.channel_messages("C1")) == 3
    assert len(slack.calls("conversations.history")) == 2
    lines = [r.getMessage() for r in caplog.records if "conversations.history failed" in r.getMessage()]
    assert len(lines) == 1 and "missing_scope" in lines[0] and "channels:history" in lines[0]


def test_first_attempts_and_clean_refusals_make_no_history_call(db, clock, slack):
    outbox = outbox_with(db, clock, slack_port(slack, max_rate_limit_wait=5))
    for n in range(3):
        outbox.send(channel="slack:C1", message=Message(text=f"第 {n} 条"), key=f"digest:{n}")
    slack.script("chat.postMessage", rate_limited(45))  # refused before anything was stored
    outbox.drain()
    refused = row_for(db, "digest:0")
    assert (refused.status, refused.attempts, refused.maybe_sent_since) == ("pending", 1, None)
    retry_round(outbox, clock)

    assert [m["text"] for m in slack.channel_messages("C1")] == ["第 0 条", "第 1 条", "第 2 条"]
    assert slack.calls("conversations.history") == [] and slack.calls("conversations.replies") == []
    assert all(c.args["metadata"]["event_payload"]["key"].startswith("digest:")
               for c in slack.successful("chat.postMessage"))


def test_a_thread_reply_is_looked_up_in_its_thread(db, clock, slack):
    port = slack_port(slack)
    parent = port.post("C1", Message(text="告警"), idempotency_key="alert:ep-2")
    outbox = outbox_with(db, clock, port)
    slack.script("chat.postMessage", lost_response())
    outbox.send(channel="slack:C1", message=Message(text="已认领", meta={"reply": {"thread_ts": parent}}),
                key="alert:ep-2:ack")
    outbox.drain()
    retry_round(outbox, clock)

    replies = [m for m in slack.channel_messages("C1") if m.get("thread_ts") == parent]
    assert len(replies) == 1
    assert row_for(db, "alert:ep-2:ack").platform_message_id == replies[0]["ts"]
    (lookup,) = slack.calls("conversations.replies")
    assert lookup.args["ts"] == parent
    assert slack.calls("conversations.history") == []  # thread replies are not in the channel history


def shared_files(slack: FakeSlack, channel: str) -> list[dict]:
    return [file for message in slack.channel_messages(channel) for file in message.get("files") or ()]


def lose_the_completion_answer(slack: FakeSlack) -> None:
    """Slack shares the file, then answers 502; slack_sdk's in-place retries (2) get 503s."""
    slack.script("files.completeUploadExternal", accepted_then(502), server_error(503), server_error(503))


def test_a_chart_shared_before_its_answer_was_lost_is_not_uploaded_again_after_a_restart(db, clock, slack):
    chart = Image("负面趋势", png=b"\x89PNG-trend", filename="trend.png")
    first = outbox_with(db, clock, slack_port(slack))
    lose_the_completion_answer(slack)
    first.send(channel="slack:C1", message=Message(title="复盘报告", text="处置用时 3 小时", images=(chart,)),
               key="review:run-7")
    first.drain()
    row = row_for(db, "review:run-7")
    assert row.status == "pending" and row.maybe_sent_since is not None
    assert len(shared_files(slack, "C1")) == 1  # Slack shared it; we do not know

    # A new process: its port remembers neither the text post nor the upload.
    restarted = outbox_with(db, clock, slack_port(slack))
    retry_round(restarted, clock)

    assert row_for(db, "review:run-7").status == "sent"
    (file,) = shared_files(slack, "C1")
    assert file["name"] == upload_filename("trend.png", "review:run-7:image:0") and file["name"].startswith("trend-")
    posts = [m for m in slack.channel_messages("C1") if (m.get("metadata") or {}).get("event_payload")]
    assert [m["metadata"]["event_payload"]["key"] for m in posts] == ["review:run-7"]  # the text, once
    assert len(slack.successful("files.getUploadURLExternal")) == 1


def test_an_image_only_message_whose_answer_was_lost_is_found_by_its_file_name(db, clock, slack):
    outbox = outbox_with(db, clock, slack_port(slack))
    lose_the_completion_answer(slack)
    outbox.send(channel="slack:C1", message=Message(images=(Image("周报图表", png=b"\x89PNG-week"),)),
                key="report:weekly:2026-48")
    outbox.drain()
    assert row_for(db, "report:weekly:2026-48").maybe_sent_since is not None
    retry_round(outbox, clock)

    (file,) = shared_files(slack, "C1")
    row = row_for(db, "report:weekly:2026-48")
    assert (row.status, row.platform_message_id) == ("sent", file["id"])


def test_uploads_on_first_attempts_make_no_history_call(db, clock, slack):
    outbox = outbox_with(db, clock, slack_port(slack))
    outbox.send(channel="slack:C1", message=Message(text="日报", images=(Image("图", png=b"\x89PNG"),)), key="d:1")
    outbox.drain()
    assert row_for(db, "d:1").status == "sent" and len(shared_files(slack, "C1")) == 1
    assert slack.calls("conversations.history") == []


def test_a_lookup_that_meets_the_outage_waits_instead_of_posting_a_duplicate(db, clock, slack, caplog):
    outbox = outbox_with(db, clock, slack_port(slack))
    slack.script("chat.postMessage", accepted_then(502))  # Slack stored it, then the outage began
    # The lookup meets the outage too (the port's own retries included).
    slack.script("conversations.history", server_error(503), server_error(503), server_error(503))
    outbox.send(channel="slack:C1", message=Message(title="负面舆情激增", text="澜肌官方旗舰店"), key="alert:ep-9")
    with caplog.at_level(logging.WARNING, logger="crisisbot.slack"):
        outbox.drain()
        retry_round(outbox, clock)  # lookup fails: nothing is posted blind
        assert len(slack.channel_messages("C1")) == 1
        assert row_for(db, "alert:ep-9").status == "pending"
        retry_round(outbox, clock)  # Slack is back: the message is found, not posted again

    (message,) = slack.channel_messages("C1")
    row = row_for(db, "alert:ep-9")
    assert (row.status, row.platform_message_id) == ("sent", message["ts"])
    assert len(slack.successful("chat.postMessage")) == 0  # the only post is the one whose answer was lost
    # An outage is not a missing scope: the operator is not sent to reinstall the app.
    assert not any("channels:history" in r.getMessage() for r in caplog.records)
