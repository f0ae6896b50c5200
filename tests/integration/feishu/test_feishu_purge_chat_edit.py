"""`purge --author … --chat` on Feishu (FeishuChatPort through lark-oapi against the local fake Open API): a
delivered card quoting the person is patched in place (im.v1.message.patch) to the redacted text; a review
whose Markdown file quoted them says the attachment is no longer usable (a file message cannot be edited);
a card recalled meanwhile (230011) is not posted again.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.app import build_app
from bot.config import parse_config
from bot.messages import File, Message
from bot.redaction import REDACTED
from bot.retention import purge_author
from tests.fakes.feishu_api import FakeFeishuApi

CONFIG = {
    "clients": [{"id": "lanji", "name": "澜肌护肤"}],
    "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店", "client": "lanji"}],
    "channels": [{"id": "feishu:oc_ops", "client": "lanji"}],
}
VICTIM, VICTIM_NAME = "victim-feishu-1", "王小受Wxs"
VICTIM_TEXT = "用了这款面霜第三天整张脸过敏红肿刺痛，客服一直推脱不给退款，大家千万别买"


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


@pytest.fixture
def app(db, settings, clock, fake):
    bot = build_app(settings, parse_config(CONFIG, source="test"), clock=clock, db=db, upgrade=False)
    # a fresh app id per port: the SDK caches tenant tokens process-wide, keyed by app id
    bot.services.outbox.register_port(
        FeishuChatPort(FeishuSettings(f"cli_{uuid.uuid4().hex[:12]}", "secret", domain=fake.url)))
    bot.services.ingest.ingest_records([
        {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": "vic-1",
         "text": VICTIM_TEXT, "created_at": (clock.now() - timedelta(minutes=5)).isoformat(), "like_count": 40,
         "author_id": VICTIM, "author_name": VICTIM_NAME},
    ], source="test")
    yield bot
    bot.stop()


def _cards(fake):
    return [m for m in fake.sent("oc_ops") if m.msg_type == "interactive"]


def test_a_delivered_card_is_patched_and_a_file_is_said_to_be_unusable(app, db, clock, fake):
    outbox = app.services.outbox
    outbox.send(channel="feishu:oc_ops", message=Message(title="告警 / alert", text=f"> {VICTIM_TEXT}"),
                key="alert:test:1")
    review = Message(title="复盘报告 #3 / post-incident review", text="完整复盘见文件 crisis-3-review.md",
                     files=(File("crisis-3-review.md", f"# 复盘\n\n> {VICTIM_TEXT}\n".encode(), "text/markdown"),))
    outbox.send(channel="feishu:oc_ops", message=review, key="crisis:3:report:v1")
    outbox.drain()
    alert, summary = _cards(fake)

    counts = purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
    assert counts["chat_edits"] == 2
    outbox.drain()

    alert_card = json.dumps(fake.messages[alert.message_id].card, ensure_ascii=False)
    assert VICTIM_TEXT[:20] not in alert_card and REDACTED in alert_card
    summary_card = json.dumps(fake.messages[summary.message_id].card, ensure_ascii=False)
    assert "附件含已删除的个人信息，已不可用" in summary_card
    assert len(_cards(fake)) == 2  # patched in place, nothing posted again
    assert [m.msg_type for m in fake.sent("oc_ops")].count("file") == 1  # no file sent again


def test_a_recalled_card_is_not_posted_again(app, db, clock, fake):
    outbox = app.services.outbox
    outbox.send(channel="feishu:oc_ops", message=Message(title="告警 / alert", text=f"> {VICTIM_TEXT}"),
                key="alert:test:1")
    outbox.drain()
    (card,) = _cards(fake)
    fake.withdrawn.add(card.message_id)  # someone recalled it in Feishu

    assert purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)["chat_edits"] == 1
    outbox.drain()
    assert len(fake.calls("message.patch")) == 1  # answered 230011
    assert len(_cards(fake)) == 1
