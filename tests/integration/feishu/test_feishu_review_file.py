"""The crisis review reaches Feishu as a Markdown FILE (im.v1.file.create, file_type "stream", then a `file`
message), after a summary card with the chart: FeishuChatPort and the outbox through the real lark-oapi
client against the local fake Open API, and `/crisis report` end to end.

The file message arrives once, with the review's name and bytes, also when the first attempt fails
(the upload or the send is refused for a while): its `uuid` comes from the outbox key like every message's.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from bot.adapters.feishu.port import FeishuChatPort, feishu_uuid
from bot.adapters.feishu.settings import FeishuSettings
from bot.app import build_app
from bot.messages import File, Image, Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import (
    FeishuEvents,
    feishu_settings,
    post_event,
    running_server,
    wait_until,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
REVIEW = "# 复盘报告：面霜过敏\n\n| 时间 | 人员 |\n| --- | --- |\n\n![负面占比 / negative share](crisis-3-negative-share.png)\n"
KEY = "crisis:3:report:v7"


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


def make_port(fake: FakeFeishuApi) -> FeishuChatPort:
    # a fresh app id per port: the SDK caches tenant tokens process-wide, keyed by app id
    return FeishuChatPort(FeishuSettings(f"cli_{uuid.uuid4().hex[:12]}", "secret", domain=fake.url))


def review_message() -> Message:
    return Message(
        title="复盘报告 #3：面霜过敏 / post-incident review",
        text="• 状态 / Status：已解除（resolved）\n📄 完整复盘见文件 crisis-3-review.md",
        images=(Image("负面占比 / negative share", png=PNG, filename="crisis-3-negative-share.png"),),
        files=(File("crisis-3-review.md", REVIEW.encode(), "text/markdown; charset=utf-8"),),
    )


def file_messages(fake: FakeFeishuApi, chat_id: str = "oc_ops") -> list:
    return [m for m in fake.sent(chat_id) if m.msg_type == "file"]


def assert_review_file_once(fake: FakeFeishuApi) -> None:
    (message,) = file_messages(fake)
    uploaded = fake.files[json.loads(message.content)["file_key"]]
    assert (uploaded.name, uploaded.file_type, uploaded.content) == ("crisis-3-review.md", "stream", REVIEW.encode())
    cards = [m for m in fake.sent("oc_ops") if m.msg_type == "interactive"]
    assert len(cards) == 1
    assert fake.sent("oc_ops").index(cards[0]) < fake.sent("oc_ops").index(message)  # summary first


def outbox_for(db, clock, port: FeishuChatPort) -> Outbox:
    outbox = Outbox(db, clock)
    outbox.register_port(port)
    return outbox


def status_of(db, key: str) -> str:
    with db.session() as session:
        return session.exec(select(OutboxMessage.status).where(OutboxMessage.key == key)).one()


def test_the_review_is_posted_as_a_file_message_after_its_summary_card(fake):
    port = make_port(fake)
    card_id = port.post("oc_ops", review_message(), idempotency_key=KEY)

    assert fake.messages[card_id].msg_type == "interactive"
    assert_review_file_once(fake)
    (upload,) = fake.calls("file.create")
    assert upload.path == "/open-apis/im/v1/files" and upload.body["file_type"] == "stream"
    (file_message,) = file_messages(fake)
    assert file_message.uuid == feishu_uuid(f"{KEY}:file:0")
    card = json.dumps(fake.messages[card_id].card, ensure_ascii=False)
    assert "| --- |" not in card and "![" not in card and "crisis-3-review.md" in card


@pytest.mark.parametrize("failing", ["file.create", "message.create"])
def test_a_failed_first_attempt_is_retried_without_a_second_file_message(db, clock, fake, failing):
    # file.create: the upload answers 500; message.create: the card goes out, the file's send is rate limited
    if failing == "file.create":
        fake.fail_next("file.create", "server_error")
    else:
        fake.fail_next("message.create", "slow", seconds=0)  # the card: answered normally
        fake.fail_next("message.create", "rate_limit", seconds=1)  # the file message
    outbox = outbox_for(db, clock, make_port(fake))
    outbox.send(channel="feishu:oc_ops", message=review_message(), key=KEY)
    outbox.drain()
    assert status_of(db, KEY) == "pending" and file_messages(fake) == []

    restarted = outbox_for(db, clock, make_port(fake))  # a restart in between: nothing in memory
    clock.advance(timedelta(minutes=6))
    restarted.drain()

    assert status_of(db, KEY) == "sent"
    assert_review_file_once(fake)


def test_a_file_only_message_is_an_upload(db, clock, fake):
    outbox = outbox_for(db, clock, make_port(fake))
    outbox.send(channel="feishu:oc_ops", message=Message(files=(File("notes.md", b"# n\n"),)), key="doc:1")
    outbox.drain()
    (message,) = file_messages(fake)
    assert fake.files[json.loads(message.content)["file_key"]].name == "notes.md"
    assert [m.msg_type for m in fake.sent("oc_ops")] == ["file"]


def test_a_missing_im_resource_scope_holds_the_file_until_granted(db, clock, fake):
    fake.missing_scopes["file.create"] = "im:resource"
    outbox = outbox_for(db, clock, make_port(fake))
    outbox.send(channel="feishu:oc_ops", message=Message(files=(File("notes.md", b"# n\n"),)), key="doc:1")
    outbox.send(channel="feishu:oc_ops", message=Message(text="告警"), key="alert:1")
    outbox.drain()
    assert (status_of(db, "doc:1"), status_of(db, "alert:1")) == ("pending", "sent")

    del fake.missing_scopes["file.create"]
    clock.advance(timedelta(minutes=6))
    outbox.drain()
    assert status_of(db, "doc:1") == "sent" and len(file_messages(fake)) == 1


@pytest.mark.slow
def test_crisis_report_in_feishu_posts_a_summary_card_the_chart_and_the_review_file(db, app_config, clock, fake):
    bot = build_app(feishu_settings(fake), app_config, clock=clock, db=db, upgrade=False)
    if "crisis" not in bot.services.registry.commands:
        bot.stop()
        pytest.skip("the playbooks feature is not wired on this branch")
    events = FeishuEvents(clock)
    try:
        with running_server(bot.web) as url, httpx.Client(timeout=10) as client:
            start = events.message('/crisis start 负面舆情爆发 "面霜过敏" --severity 1', chat_id="oc_ops")
            assert post_event(client, url, events, start).status_code == 200
            wait_until(lambda: fake.sent("oc_ops"), what="the run card")
            report = events.message("/crisis report", chat_id="oc_ops")
            assert post_event(client, url, events, report).status_code == 200
            (message,) = wait_until(lambda: file_messages(fake), what="the review file")
    finally:
        bot.stop()
    uploaded = fake.files[json.loads(message.content)["file_key"]]
    assert uploaded.name == "crisis-1-review.md" and uploaded.content.decode().startswith("# 复盘报告：面霜过敏")
    summary = next(m for m in fake.sent() if "crisis-1-review.md" in json.dumps(m.card, ensure_ascii=False))
    shown = json.dumps(summary.card, ensure_ascii=False)
    assert "复盘报告 #1" in shown and "持续 / Duration" in shown
    assert "| --- |" not in shown and "![" not in shown and "## " not in shown
    assert any(m.msg_type == "image" or "img_key" in json.dumps(m.card if m.msg_type == "interactive" else {})
               for m in fake.sent())  # the chart, as today
