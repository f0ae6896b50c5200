"""/reply-queue in Slack: the queue with its buttons, and 跳过 asking for a reason in a modal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.config import parse_config
from tests.fakes.slack_api import SlackSender

pytestmark = pytest.mark.slow


def test_reply_queue_in_slack_with_the_skip_modal(fake_slack, sqlite_db, clock, slack_harness):
    config = parse_config({
        "clients": [{"id": "lanji", "name": "澜肌护肤"}],
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌", "client": "lanji"}],
        "channels": [{"id": "slack:C1", "client": "lanji"}],
    }, source="tests")
    with slack_harness.running_bot(slack_harness.settings(fake_slack), config, sqlite_db, clock) as (bot, url):
        now = clock.now()
        bot.services.ingest.ingest_records([
            {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": f"q{i}",
             "text": text, "created_at": (now - timedelta(minutes=10 + i)).isoformat(), "like_count": 50 - i}
            for i, text in enumerate(["用了过敏了，怎么退款？", "客服一直不回消息", "请问敏感肌能用吗？"])
        ], source="test")
        sender = SlackSender(url + "/slack/events", slack_harness.secret, fake_slack)
        assert sender.command("/reply-queue", "").status_code == 200
        posted = fake_slack.wait_for("chat.postMessage")
        blocks = json.dumps(posted[0].args["blocks"], ensure_ascii=False)
        assert "reply.skip:" in blocks, blocks[:500]
        skip_id = next(e["action_id"] for b in posted[0].args["blocks"] if b["type"] == "actions"
                       for e in b["elements"] if e["action_id"].startswith("reply.skip:"))
        value = next(e.get("value", "") for b in posted[0].args["blocks"] if b["type"] == "actions"
                     for e in b["elements"] if e["action_id"] == skip_id)
        assert sender.button(skip_id, value, message_ts=posted[0].answer["ts"]).status_code == 200
        (opened,) = fake_slack.wait_for("views.open")
        view = opened.args["view"] if isinstance(opened.args["view"], dict) else json.loads(opened.args["view"])
        assert sender.view_submission(view, {"reason": {"reason": {"type": "plain_text_input",
                                                                   "value": "广告，无需回复"}}}).status_code == 200
        answers = fake_slack.wait_for("chat.postMessage", 2)
        reply = json.dumps([a.args for a in answers[1:]], ensure_ascii=False)
        assert "跳过" in reply, reply[:400]
        sender.close()
