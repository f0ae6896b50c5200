"""A /report without the im:resource scope: the card goes out at once, without its chart and file, and says
why (Chinese first); the missing scope is logged once with what to grant. Before, the outbox held the whole
report on the refusal (99991672) until an admin granted the scope, and the channel got no answer at all.
An outage or a rate limit of the upload is still retried, nothing left out. Through the real lark-oapi
client against the local fake Open API, which refuses as Feishu does (99991672 with
error.permission_violations), and /report end to end through the served bot."""

from __future__ import annotations

import copy
import json
import logging
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.config import parse_config
from bot.messages import File, Image, Message
from bot.outbox import MAX_BACKOFF_S, Outbox
from bot.storage.models import OutboxMessage
from tests.conftest import TEST_CONFIG
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import FeishuEvents, post_event, served_feishu_bot, wait_until

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NOTE_ZH = "未附上：飞书应用缺少 im:resource 权限，请在开放平台开通后重试"


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


def outbox_for(db, clock, fake: FakeFeishuApi) -> Outbox:
    outbox = Outbox(db, clock)
    # a fresh app id per port: the SDK caches tenant tokens process-wide, keyed by app id
    outbox.register_port(FeishuChatPort(FeishuSettings(f"cli_{uuid.uuid4().hex[:12]}", "secret", domain=fake.url)))
    return outbox


def report(n: int = 1, *, with_file: bool = True) -> Message:
    return Message(
        title=f"近 24 小时报告 #{n} / report",
        text="评论 / comments：3（负面 2）",
        images=(Image("负面占比与评论量 / negative share and volume", png=PNG, filename="report.png"),),
        files=(File("report.html", b"<html>report</html>", "text/html; charset=utf-8"),) if with_file else (),
    )


def row(db, key: str) -> OutboxMessage:
    with db.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def shown(message) -> str:
    return json.dumps(message.card, ensure_ascii=False)


def test_without_im_resource_the_report_card_goes_out_without_chart_and_file_and_says_why(db, clock, fake, caplog):
    fake.missing_scopes["image.create"] = "im:resource"  # the one scope covers images and files
    fake.missing_scopes["file.create"] = "im:resource"
    outbox = outbox_for(db, clock, fake)
    caplog.set_level(logging.WARNING)
    outbox.send(channel="feishu:oc_ops", message=report(1), key="report:1")
    outbox.send(channel="feishu:oc_ops", message=report(2), key="report:2")
    outbox.drain()

    assert row(db, "report:1").status == "sent" and row(db, "report:2").status == "sent"
    cards = fake.sent("oc_ops")
    assert [m.msg_type for m in cards] == ["interactive", "interactive"]  # no image, no file message
    for n, card in enumerate(cards, start=1):
        assert f"近 24 小时报告 #{n}" in shown(card) and "评论 / comments：3" in shown(card)
        assert "img_key" not in shown(card)
        assert f"（图表和文件{NOTE_ZH} / chart and file not attached: the app lacks the im:resource scope）" \
            in shown(card)
    assert len(fake.calls("image.create")) == 2 and len(fake.calls("file.create")) == 2  # really refused
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "im:resource" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "开通 im:resource" in warnings[0] and "发布新版本" in warnings[0] and "99991672" in warnings[0]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # nothing held, nothing failed


def test_a_chart_alone_refused_says_chart_and_a_granted_scope_sends_it_again(db, clock, fake):
    fake.missing_scopes["image.create"] = "im:resource"
    outbox = outbox_for(db, clock, fake)
    outbox.send(channel="feishu:oc_ops", message=report(1, with_file=False), key="report:1")
    outbox.drain()
    (card,) = fake.sent("oc_ops")
    assert f"（图表{NOTE_ZH} / chart not attached: the app lacks the im:resource scope）" in shown(card)

    del fake.missing_scopes["image.create"]  # granted, a new app version released: no restart
    outbox.send(channel="feishu:oc_ops", message=report(2, with_file=False), key="report:2")
    outbox.drain()
    assert "img_key" in shown(fake.sent("oc_ops")[-1]) and NOTE_ZH not in shown(fake.sent("oc_ops")[-1])


def test_a_message_that_is_only_an_image_is_still_held_until_the_scope_is_granted(db, clock, fake):
    # nothing else to deliver: as before, it waits (test_feishu_missing_scope_holds covers the release)
    fake.missing_scopes["image.create"] = "im:resource"
    outbox = outbox_for(db, clock, fake)
    outbox.send(channel="feishu:oc_ops", message=Message(images=(Image("趋势图", png=PNG),)), key="chart:1")
    outbox.drain()
    assert row(db, "chart:1").status == "pending" and fake.sent() == []


@pytest.mark.parametrize(("op", "failure"), [("image.create", "server_error"), ("image.create", "rate_limit"),
                                             ("file.create", "rate_limit")])
def test_an_outage_or_rate_limit_of_the_upload_is_retried_and_nothing_left_out(db, clock, fake, op, failure):
    fake.fail_next(op, failure)
    outbox = outbox_for(db, clock, fake)
    outbox.send(channel="feishu:oc_ops", message=report(1), key="report:1")
    outbox.drain()
    assert row(db, "report:1").status == "pending" and not [m for m in fake.sent() if m.msg_type == "file"]

    clock.advance(timedelta(seconds=MAX_BACKOFF_S + 1))
    outbox.drain()
    assert row(db, "report:1").status == "sent"
    card, file_message = fake.sent("oc_ops")  # the card once, with its chart, then the file
    assert "img_key" in shown(card) and "未附上" not in shown(card)
    assert file_message.msg_type == "file"


@pytest.mark.slow
def test_report_in_feishu_without_im_resource_is_answered_with_the_note(db, clock, fake, caplog):
    config = copy.deepcopy(TEST_CONFIG)
    config["channels"].append({"id": "feishu:oc_ops", "client": "lanji"})
    fake.missing_scopes["image.create"] = "im:resource"
    fake.missing_scopes["file.create"] = "im:resource"
    caplog.set_level(logging.WARNING)
    with served_feishu_bot(db, parse_config(config, source="tests"), clock, fake=fake) as (bot, url, client, _):
        now = clock.now()
        records = [{"platform": "douyin", "account_id": "lanji_official", "content_id": "v1",
                    "comment_id": f"c{n}", "text": text, "created_at": (now - timedelta(hours=n + 1)).isoformat(),
                    "like_count": 3, "content_url": "https://example.com/douyin/v1"}
                   for n, text in enumerate(["用了过敏烂脸，太差了，要求退款！", "很好用，回购第三次了", "垃圾产品，客服不理人"])]
        assert bot.services.ingest.ingest_records(records, source="test").accepted == 3
        events = FeishuEvents(clock)
        assert post_event(client, url, events, events.message("/report", chat_id="oc_ops")).status_code == 200
        # the answer is a reply to the command's message (the fake puts replies in "chat-of-<message id>")
        (answer,) = wait_until(lambda: [m for m in fake.sent() if "报告" in shown(m)], what="the report")
        assert fake.calls("image.create"), "the report carried a chart"
    assert "澜肌护肤" in shown(answer) and "img_key" not in shown(answer)
    assert f"（图表和文件{NOTE_ZH} / chart and file not attached" in shown(answer)
    assert [m.msg_type for m in fake.sent()] == ["interactive"] and answer.parent_id  # no image, no file message
    assert any("开通 im:resource" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
