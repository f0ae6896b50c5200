"""An alert in Slack end to end: a negative spike -> an alert card in the mapped Slack channel (valid Block
Kit, severity colour, buttons) -> 确认 pressed in Slack -> the same card updated in place."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import count

import pytest

from bot.adapters.slack.render import block_kit_problems
from bot.config import parse_config
from tests.fakes.slack_api import SlackSender

pytestmark = pytest.mark.slow

ACCOUNT = {"platform": "douyin", "account_id": "lanji_official"}
NEGATIVE = "垃圾产品，用了烂脸过敏，退款！太差了，再也不买"
CALM = "今天直播几点开始呀"
_ids = count(1)


def comment(at, text=CALM):
    return {**ACCOUNT, "content_id": "v1", "comment_id": f"s{next(_ids)}", "text": text,
            "created_at": at.isoformat(), "like_count": 0, "content_title": "新品面霜"}


def tick(bot):
    for fn in bot.wiring.ticks:
        fn()


def test_spike_alert_card_in_slack_is_acknowledged_and_updated_in_place(fake_slack, sqlite_db, clock, slack_harness):
    config = parse_config({
        "clients": [{"id": "lanji", "name": "澜肌护肤"}],
        "accounts": [{**ACCOUNT, "name": "澜肌官方旗舰店", "client": "lanji"}],
        "channels": [{"id": "slack:C1", "client": "lanji"}],
    }, source="tests")
    with slack_harness.running_bot(slack_harness.settings(fake_slack), config, sqlite_db, clock) as (bot, url):
        if "alerts" not in bot.services.extra:
            pytest.skip("alerts feature not wired")
        now = clock.now()
        history = [comment(now - timedelta(minutes=5 * (288 - b)) + timedelta(seconds=30 + 60 * i))
                   for b in range(288) for i in range(2)]
        bot.services.ingest.ingest_records(history, source="test-history")
        tick(bot)
        for _minute in range(20):  # a burst of plainly negative comments, ticking as time moves
            for _ in range(3):
                clock.advance(timedelta(seconds=20))
                tick(bot)
            bot.services.ingest.ingest_records([comment(clock.now(), NEGATIVE) for _ in range(12)], source="test")
            if any(c.args.get("attachments") for c in fake_slack.successful("chat.postMessage")):
                break
        bot.services.outbox.notify()
        posted = fake_slack.wait_for("chat.postMessage")
        alert = next(c for c in posted if "alert.ack" in json.dumps(c.args.get("blocks")))
        assert alert.args["channel"] == "C1"
        assert block_kit_problems(alert.args) == []
        assert alert.args["attachments"][0]["color"].startswith("#")  # severity colour
        value = next(e["value"] for b in alert.args["blocks"] if b["type"] == "actions"
                     for e in b["elements"] if e["action_id"] == "alert.ack")

        sender = SlackSender(url + "/slack/events", slack_harness.secret, fake_slack)
        updates_before = len(fake_slack.successful("chat.update"))
        assert sender.button("alert.ack", value, user="UONCALL", message_ts=alert.answer["ts"]).status_code == 200
        update = fake_slack.wait_for("chat.update", updates_before + 1)[-1]
        assert update.args["ts"] == alert.answer["ts"] and update.args["channel"] == "C1"
        assert block_kit_problems(update.args) == []
        sender.close()
