"""The crisis review reaches Slack as a Markdown FILE (files_upload_v2), beside a short summary and the chart:
outbox + SlackChatPort (the real slack_sdk) against the fake Slack Web API.

The file arrives once under its key-derived name ("crisis-3-review-<hash>.md", titled for people), with the
review's bytes, also when the first attempt fails (an outage of the upload step, a lost answer) and after
a restart: a retry finds what Slack already has (the text by its metadata, the file by its name) instead
of showing it twice. The summary message carries no Markdown table, heading or image link.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.slack.port import SlackChatPort, upload_filename
from bot.messages import File, Image, Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import (
    VALID_BOT_TOKEN,
    FakeSlack,
    accepted_then,
    missing_scope,
    passthrough,
    rate_limited,
    server_error,
)

REVIEW = (
    "# 复盘报告：面霜过敏\n\n## 概要 / Summary\n\n- 状态 / Status：已解除（resolved）\n\n"
    "## 时间线 / Timeline\n\n| 时间 | 人员 | 动作 | 内容 |\n| --- | --- | --- | --- |\n"
    "| 2026-11-22 20:15 | 王芳 | 启动 | 启动预案 |\n\n"
    "![负面占比 / negative share](crisis-3-negative-share.png)\n"
)
KEY = "crisis:3:report:v7"


def review_message() -> Message:
    return Message(
        title="复盘报告 #3：面霜过敏 / post-incident review",
        text="• 状态 / Status：已解除（resolved）\n📄 完整复盘见文件 crisis-3-review.md",
        images=(Image("负面占比 / negative share", png=b"\x89PNG-chart", filename="crisis-3-negative-share.png"),),
        files=(File("crisis-3-review.md", REVIEW.encode(), "text/markdown; charset=utf-8", "复盘报告 #3"),),
        meta={"crisis_run": 3},
    )


@pytest.fixture
def slack(clock):
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        yield fake


def outbox_for(db, clock, slack: FakeSlack) -> Outbox:
    """A fresh process's outbox and port: nothing in memory, the same database."""
    outbox = Outbox(db, clock)
    outbox.register_port(SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None))
    return outbox


def row_for(db, key: str) -> OutboxMessage:
    with db.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def shared(slack: FakeSlack, channel: str = "C1") -> list[dict]:
    return [file for message in slack.channel_messages(channel) for file in message.get("files") or ()]


def uploaded_bytes(slack: FakeSlack, name: str) -> list[bytes]:
    """The bytes uploaded for files of this name (the fake records the name at getUploadURLExternal)."""
    ids = [c.answer["file_id"] for c in slack.successful("files.getUploadURLExternal") if c.args["filename"] == name]
    return [c.args["bytes"] for c in slack.calls("upload") if c.args["file_id"] in ids]


def review_posts(slack: FakeSlack) -> list[dict]:
    return [m for m in slack.channel_messages("C1") if (m.get("metadata") or {}).get("event_payload")]


def assert_delivered_once(slack: FakeSlack, db) -> None:
    name = upload_filename("crisis-3-review.md", f"{KEY}:file:0", default_extension="")
    assert name.startswith("crisis-3-review-") and name.endswith(".md")
    reviews = [f for f in shared(slack) if f["name"].endswith(".md")]
    assert [(f["name"], f["title"]) for f in reviews] == [(name, "复盘报告 #3")]
    assert uploaded_bytes(slack, name) == [REVIEW.encode()]  # the review's bytes, uploaded once
    charts = [f for f in shared(slack) if f["name"].endswith(".png")]
    assert len(charts) == 1
    assert [m["metadata"]["event_payload"]["key"] for m in review_posts(slack)] == [KEY]  # the summary, once
    assert row_for(db, KEY).status == "sent"


def test_the_review_is_shared_as_a_markdown_file_beside_a_summary(db, clock, slack):
    outbox = outbox_for(db, clock, slack)
    outbox.send(channel="slack:C1", message=review_message(), key=KEY)
    outbox.drain()

    assert_delivered_once(slack, db)
    (post,) = slack.successful("chat.postMessage")
    shown = json.dumps({k: post.args.get(k) for k in ("text", "blocks")}, ensure_ascii=False)
    assert "| --- |" not in shown and "![" not in shown and "!<" not in shown and "# 复盘" not in shown
    assert [c.args["channel_id"] for c in slack.successful("files.completeUploadExternal")] == ["C1", "C1"]
    assert slack.calls("conversations.history") == []  # first attempts look nothing up


@pytest.mark.parametrize("failure", ["outage", "rate_limited"])
def test_a_failed_upload_is_retried_without_a_second_summary_or_file(db, clock, slack, failure):
    outbox = outbox_for(db, clock, slack)
    # the chart goes out, then the review's upload URL cannot be had: an outage (slack_sdk retries 503 twice
    # in place), or a rate limit longer than the port waits in place (a clean refusal: nothing was taken)
    refusals = [server_error(503)] * 3 if failure == "outage" else [rate_limited(60)]
    slack.script("files.getUploadURLExternal", passthrough(), *refusals)
    outbox.send(channel="slack:C1", message=review_message(), key=KEY)
    outbox.drain()
    row = row_for(db, KEY)
    assert row.status == "pending" and row.maybe_sent_since is not None  # the text is out: the retry checks
    assert [f for f in shared(slack) if f["name"].endswith(".md")] == []

    # a restart in between: the new process remembers nothing of the first attempt
    restarted = outbox_for(db, clock, slack)
    clock.advance(timedelta(minutes=6))
    restarted.drain()

    assert_delivered_once(slack, db)


def test_a_lost_answer_after_slack_shared_the_file_does_not_share_it_twice(db, clock, slack):
    outbox = outbox_for(db, clock, slack)
    # the chart's completion answers normally; the review's is shared by Slack, then its answer is lost
    slack.script("files.completeUploadExternal", passthrough(), accepted_then(502), server_error(503),
                 server_error(503))
    outbox.send(channel="slack:C1", message=review_message(), key=KEY)
    outbox.drain()
    assert row_for(db, KEY).status == "pending"
    assert len([f for f in shared(slack) if f["name"].endswith(".md")]) == 1  # Slack has it; we do not know

    restarted = outbox_for(db, clock, slack)
    clock.advance(timedelta(minutes=6))
    restarted.drain()

    assert_delivered_once(slack, db)
    assert len(slack.successful("files.getUploadURLExternal")) == 2  # chart + review, none again


def test_a_file_only_message_goes_out_as_an_upload(db, clock, slack):
    outbox = outbox_for(db, clock, slack)
    document = File("crisis-4-review.md", b"# review\n", "text/markdown")
    outbox.send(channel="slack:C1", message=Message(files=(document,)), key="crisis:4:file")
    outbox.drain()

    row = row_for(db, "crisis:4:file")
    assert (row.kind, row.status) == ("upload", "sent")
    (file,) = shared(slack)
    assert row.platform_message_id == file["id"]
    assert file["name"] == upload_filename("crisis-4-review.md", "crisis:4:file:file:0", default_extension="")
    assert slack.successful("chat.postMessage") == []


def test_a_missing_files_write_scope_holds_only_messages_with_files(db, clock, slack):
    outbox = outbox_for(db, clock, slack)
    slack.script("files.getUploadURLExternal", missing_scope("files:write"))
    document = File("crisis-5-review.md", b"# review\n", "text/markdown")
    outbox.send(channel="slack:C1", message=Message(files=(document,)), key="crisis:5:file")
    outbox.send(channel="slack:C1", message=Message(text="告警"), key="alert:1")
    outbox.drain()
    assert row_for(db, "crisis:5:file").status == "pending"
    assert row_for(db, "alert:1").status == "sent"  # a text alert does not wait behind the file

    clock.advance(timedelta(minutes=6))  # the scope is granted (the script is used up); the probe sends it
    outbox.drain()
    assert row_for(db, "crisis:5:file").status == "sent"
    assert len(shared(slack)) == 1
