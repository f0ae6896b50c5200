"""An alert that spiked and recovered while Slack was down arrives as one post saying so (audit 5, b2).

The real app, outbox and SlackChatPort against the fake Slack Web API, which answers 503 to everything
while `down`. Before the fix the waiting post kept its "激增" alarm (and a sev1's @here) and an update to
"已恢复" followed a moment later; now the waiting post itself is rewritten.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.adapters.slack.port import SlackChatPort
from bot.app import build_app
from bot.config import parse_config
from tests.conftest import TEST_CONFIG
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack
from tests.integration.alerts.test_alert_service import live, load_history

pytestmark = pytest.mark.slow


@pytest.fixture
def slack_bot(db, settings, clock):
    config = parse_config({**TEST_CONFIG, "channels": [{"id": "slack:C1", "client": "lanji"}]}, source="tests")
    with FakeSlack(now=lambda: clock.now().timestamp()) as slack:
        app = build_app(settings, config, clock=clock, db=db, upgrade=False)
        app.services.outbox.register_port(
            SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None, max_retries=0))
        try:
            yield app, slack
        finally:
            app.stop()


def test_an_alert_recovered_during_an_outage_is_posted_once_as_recovered(slack_bot, clock, db):
    bot, slack = slack_bot
    load_history(bot, clock)
    slack.down = True
    live(bot, clock, 15, per_minute=12)  # the spike: its alert waits in the outbox
    assert slack.calls("chat.postMessage") and not slack.successful("chat.postMessage")
    live(bot, clock, 120)  # calm again: recovered while Slack is still down
    slack.down = False
    clock.advance(timedelta(minutes=6))  # past any backoff
    bot.services.outbox.drain()

    posts = [c for c in slack.successful("chat.postMessage") if "激增" in (c.args.get("text") or "")]
    assert len(posts) == 1, [c.args.get("text") for c in posts]
    text = posts[0].args["text"]
    assert "恢复" in text  # says it spiked and recovered, not a live alarm
    assert "<!here>" not in text and "<!channel>" not in text
    (message,) = [m for m in slack.channel_messages("C1") if "激增" in (m.get("text") or "")]
    assert "恢复" in message["text"]
