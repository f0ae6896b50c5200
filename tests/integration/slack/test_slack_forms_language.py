"""The skip and assign forms of a run card speak the channel's language: in a channel set to English the
modal Slack opens says "Skip"/"Reason"/"Submit" alone (and a blank reason is refused in English); a Chinese
channel beside it keeps its forms as before (Chinese first with English). Through the real /slack/events
endpoint, the whole bot served on 127.0.0.1 and the fake Slack Web API on loopback."""

from __future__ import annotations

import json

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG
from tests.fakes.slack_api import SlackSender

pytestmark = pytest.mark.slow


@pytest.fixture
def two_channels(fake_slack, sqlite_db, clock, slack_harness):
    config = json.loads(json.dumps(TEST_CONFIG))
    config["channels"] += [{"id": "slack:CEN", "client": "lanji", "language": "en"},
                           {"id": "slack:CZH", "client": "lanji"}]
    app_config = parse_config(config, source="tests")
    with slack_harness.running_bot(slack_harness.settings(fake_slack), app_config, sqlite_db, clock) as (bot, url):
        sender = SlackSender(url + "/slack/events", slack_harness.secret, fake_slack)
        yield bot, sender
        sender.close()


def card_buttons(fake, channel: str) -> dict[str, str]:
    """action id -> value of the first run card posted in `channel`."""
    def card():
        for call in fake.successful("chat.postMessage"):
            if call.args.get("channel") != channel:
                continue
            found = {e["action_id"]: e.get("value", "") for block in call.args.get("blocks") or []
                     for e in block.get("elements") or [] if e.get("type") == "button"}
            if "crisis.skip" in found:
                return found, call.answer["ts"]
        return None

    count = 1
    while (found := card()) is None:
        fake.wait_for("chat.postMessage", count)
        count += 1
    return found


def modal(fake, sender, action_id: str, value: str, channel: str, ts: str) -> dict:
    opened_before = len(fake.calls("views.open"))
    assert sender.button(action_id, value, channel=channel, message_ts=ts).status_code == 200
    opened = fake.wait_for("views.open", opened_before + 1)[-1]
    return opened.args["view"] if isinstance(opened.args["view"], dict) else json.loads(opened.args["view"])


def words(view: dict) -> tuple:
    block = view["blocks"][0]
    return (view["title"]["text"], block["label"]["text"], block["element"].get("placeholder", {}).get("text"),
            view["submit"]["text"], view["close"]["text"])


def test_the_forms_follow_the_channels_language(two_channels, fake_slack):
    bot, sender = two_channels
    assert sender.command("/crisis", "start negative-outbreak Cream --severity 1", channel="CEN").status_code == 200
    (buttons, ts) = card_buttons(fake_slack, "CEN")
    skip = modal(fake_slack, sender, "crisis.skip", buttons["crisis.skip"], "CEN", ts)
    assert words(skip) == ("Skip", "Reason", "e.g. Support already answered by direct message", "Submit", "Cancel")
    blank = sender.view_submission(skip, {"reason": {"reason": {"type": "plain_text_input", "value": "  "}}})
    assert blank.json() == {"response_action": "errors", "errors": {"reason": "Please fill this in"}}
    assign = modal(fake_slack, sender, "crisis.assign", buttons["crisis.assign"], "CEN", ts)
    assert words(assign) == ("Assign", "Assign to", None, "Submit", "Cancel")

    assert sender.command("/crisis", "start negative-outbreak 面霜 --severity 1", channel="CZH").status_code == 200
    (buttons, ts) = card_buttons(fake_slack, "CZH")
    skip = modal(fake_slack, sender, "crisis.skip", buttons["crisis.skip"], "CZH", ts)
    assert words(skip) == ("跳过 / Skip", "跳过原因 / Reason", "例如：已由客服私信处理", "提交 / Submit", "取消 / Cancel")
    blank = sender.view_submission(skip, {"reason": {"reason": {"type": "plain_text_input", "value": "  "}}})
    assert blank.json()["errors"] == {"reason": "请填写内容（不能只有空格）/ Please fill this in"}
    assign = modal(fake_slack, sender, "crisis.assign", buttons["crisis.assign"], "CZH", ts)
    assert words(assign) == ("指派 / Assign", "指派给 / Assign to", None, "提交 / Submit", "取消 / Cancel")
