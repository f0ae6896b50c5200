"""Signed payloads of shapes Bolt's routing trips over, payload kinds Slack really sends that no listener
took, and messages written by bots: each gets a deliberate answer (400, or an acknowledgement that does
nothing), never a 500 with a traceback or a 404 "unhandled request".

Real signed HTTP into the whole bot served by uvicorn on 127.0.0.1 (as in test_slack_hostile_requests);
Web API calls go to the fake Slack.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from urllib.parse import urlencode

import pytest

from bot.messages import Message
from tests.integration.slack.test_slack_hostile_requests import assert_still_working

pytestmark = pytest.mark.slow

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def errors_logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def interaction(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})


BASE = {"user": {"id": "U1", "username": "ann"}, "team": {"id": "T1"}, "api_app_id": "A1"}


def trigger() -> str:
    return f"{time.time_ns()}.{uuid.uuid4().hex}"


def block_actions(*actions) -> dict:
    return {**BASE, "type": "block_actions", "trigger_id": trigger(), "channel": {"id": "C1"},
            "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": "C1"},
            "message": {"ts": "1700000001.000100"}, "actions": list(actions)}


def pressed(**fields) -> dict:
    return {"type": "button", "block_id": "b", "value": "1", "action_ts": f"{time.time():.6f}", **fields}


def event(inner: dict) -> str:
    return json.dumps({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event_id": "Ev" + uuid.uuid4().hex[:10].upper(), "event_time": int(time.time()),
                       "event": inner})


# Each was answered 500 (empty body, an ERROR traceback from Bolt's matchers) or, for the last ones,
# 404 "unhandled request" / 200 followed by an ERROR in the dispatcher.
MALFORMED = {
    "block_actions-action_id-int": (interaction(block_actions(pressed(action_id=5))), FORM),
    "block_actions-action_id-dict": (interaction(block_actions(pressed(action_id={"a": 1}))), FORM),
    "block_actions-action_id-list": (interaction(block_actions(pressed(action_id=["a"]))), FORM),
    "block_actions-action_id-missing": (interaction(block_actions(pressed())), FORM),
    "block_actions-second-action_id-int": (
        interaction(block_actions(pressed(action_id="shape.ok"), pressed(action_id=7))), FORM),
    "block_actions-no-actions": (interaction(block_actions()), FORM),
    "view_closed-callback_id-int": (
        interaction({**BASE, "type": "view_closed", "view": {"id": "V1", "type": "modal", "callback_id": 5}}), FORM),
    "view_submission-callback_id-list": (
        interaction({**BASE, "type": "view_submission", "trigger_id": trigger(),
                     "view": {"id": "V1", "type": "modal", "callback_id": ["x"], "state": {"values": {}}}}), FORM),
    "shortcut-callback_id-int": (
        interaction({**BASE, "type": "shortcut", "callback_id": 5, "trigger_id": trigger()}), FORM),
    "shortcut-without-callback_id": (interaction({**BASE, "type": "shortcut", "trigger_id": trigger()}), FORM),
    "message_action-callback_id-int": (
        interaction({**BASE, "type": "message_action", "callback_id": 5, "channel": {"id": "C1"},
                     "trigger_id": trigger()}), FORM),
    "interactive_message-without-callback_id": (
        interaction({**BASE, "type": "interactive_message", "actions": [{"name": "a"}]}), FORM),
    "block_suggestion-action_id-int": (
        interaction({**BASE, "type": "block_suggestion", "action_id": 5, "block_id": "b", "value": "x"}), FORM),
    "type-a-number": (interaction({**BASE, "type": 5}), FORM),
    "type-a-list": (json.dumps({"type": ["event_callback"], "event": {"type": "app_mention"}}), JSON),
    "type-an-object": (interaction({**BASE, "type": {"t": "block_actions"}, "actions": []}), FORM),
    "app_mention-without-channel": (
        event({"type": "app_mention", "user": "U1", "text": "<@UBOT> /help", "ts": "1700000002.000100"}), JSON),
    "app_mention-channel-a-number": (
        event({"type": "app_mention", "user": "U1", "text": "<@UBOT> /help", "ts": "1700000002.000200",
               "channel": 5}), JSON),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_signed_payload_of_a_shape_bolt_cannot_route_gets_400_without_an_error_logged(
        slack_bot, fake_slack, caplog, name):
    bot, sender = slack_bot
    body, content_type = MALFORMED[name]
    response = sender.post(body, content_type)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "malformed payload"}
    assert not errors_logged(caplog), [r.getMessage() for r in errors_logged(caplog)]
    assert_still_working(bot, sender, fake_slack)


# Real Slack payloads that no listener took: Bolt answered 404 {"error": "unhandled request"}.
def test_app_rate_limited_is_acknowledged_and_logged_as_a_warning(slack_bot, fake_slack, caplog):
    bot, sender = slack_bot
    body = json.dumps({"token": "x", "type": "app_rate_limited", "team_id": "T1",
                       "minute_rate_limited": 1518467820, "api_app_id": "A1"})
    response = sender.post(body, JSON)
    assert response.status_code == 200, response.text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "rate" in r.getMessage()]
    assert warnings and "1518467820" in warnings[0].getMessage()
    assert not errors_logged(caplog)
    assert_still_working(bot, sender, fake_slack)


def test_a_submitted_modal_that_is_not_ours_is_acknowledged_and_nothing_runs(slack_bot, fake_slack, caplog):
    # Slack shows the person an error in the modal unless the submission is acknowledged.
    bot, sender = slack_bot
    payload = {**BASE, "type": "view_submission", "trigger_id": trigger(),
               "view": {"id": "V1", "hash": "h", "type": "modal", "callback_id": "old.form",
                        "private_metadata": json.dumps({"action_id": "shape.press", "channel": "slack:C1"}),
                        "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": "x"}}}}}}
    response = sender.post(interaction(payload), FORM)
    assert response.status_code == 200, response.text
    assert response.content == b""  # a plain ack: the modal closes, no response_action
    assert not errors_logged(caplog)
    assert_still_working(bot, sender, fake_slack)


# A person's mention is answered; a bot's is not (two bots answering each other would loop for ever).
def mention_event(**fields) -> dict:
    ts = f"{time.time():.6f}"
    return {"type": "app_mention", "text": "<@UBOT> /help", "ts": ts, "event_ts": ts, "channel": "C1", **fields}


BOT_MENTIONS = {
    "bot_message-subtype": {"subtype": "bot_message", "bot_id": "B0OTHER", "username": "otherbot"},
    "bot-user-with-bot_id": {"user": "U0BOTUSER", "bot_id": "B0OTHER",
                             "bot_profile": {"id": "B0OTHER", "name": "otherbot"}},
    "subtype-only": {"subtype": "bot_message", "user": "U0BOTUSER"},
    "our-own-bot": {"user": "UBOT", "bot_id": "BCRISISBOT", "app_id": "A1",
                    "bot_profile": {"id": "BCRISISBOT", "app_id": "A1", "name": "crisisbot"}},
}


@pytest.mark.parametrize("name", sorted(BOT_MENTIONS))
def test_a_mention_written_by_a_bot_is_acknowledged_and_not_answered(slack_bot, fake_slack, caplog, name):
    bot, sender = slack_bot
    seen = []
    bot.services.registry.add_action("shape.", lambda ctx, action: seen.append(action) or Message(text="ok"))
    response = sender.post(event(mention_event(**BOT_MENTIONS[name])), JSON)
    assert response.status_code == 200, response.text
    assert not errors_logged(caplog)
    # the person's command after it is the only thing handled and answered
    assert_still_working(bot, sender, fake_slack)
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_a_persons_mention_is_still_answered(slack_bot, fake_slack):
    bot, sender = slack_bot
    response = sender.post(event(mention_event(user="U1")), JSON)
    assert response.status_code == 200
    (call,) = fake_slack.wait_for("chat.postMessage")
    assert call.args["channel"] == "C1"


def test_well_formed_neighbours_of_the_refused_shapes_are_still_acknowledged(slack_bot, fake_slack, caplog):
    # The checks look at types only: the same kinds with the fields Slack sends pass as before.
    bot, sender = slack_bot
    seen = []
    bot.services.registry.add_action("shape.", lambda ctx, action: seen.append(action) or Message(text="ok"))
    ok = [
        (interaction({**BASE, "type": "view_closed", "is_cleared": False,
                      "view": {"id": "V1", "type": "modal", "callback_id": "crisisbot.form"}}), FORM),
        (interaction({**BASE, "type": "shortcut", "callback_id": "x", "trigger_id": trigger()}), FORM),
        (interaction({**BASE, "type": "message_action", "callback_id": "x", "channel": {"id": "C1"},
                      "trigger_id": trigger(), "message": {"ts": "1.1"}}), FORM),
        (interaction({**BASE, "type": "block_suggestion", "action_id": "x", "block_id": "b", "value": "q"}), FORM),
        # a mention whose channel comes as an object (read like Bolt reads it)
        (event(mention_event(user="U1", channel={"id": "C1"})), JSON),
    ]
    for body, content_type in ok:
        response = sender.post(body, content_type)
        assert response.status_code == 200, (body, response.text)
    fake_slack.wait_for("chat.postMessage")  # the mention's answer
    response = sender.post(interaction(block_actions(pressed(action_id="shape.press"))), FORM)
    assert response.status_code == 200
    fake_slack.wait_for("chat.postMessage", 2)
    assert [a.action_id for a in seen] == ["shape.press"]
    assert not errors_logged(caplog)


# Socket Mode has no HTTP route to refuse shapes before Bolt: there the error handler decides.
def wait_for_log(caplog, needle: str, timeout: float = 10.0) -> logging.LogRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in list(caplog.records):
            if needle in record.getMessage():
                return record
        time.sleep(0.05)
    raise AssertionError(f"no log line with {needle!r}")


def test_over_socket_mode_a_payload_bolt_trips_over_is_a_logged_refusal_and_bots_and_channelless_mentions_are_ignored(
        fake_slack, sqlite_db, app_config, clock, slack_harness, caplog):
    settings = slack_harness.settings(fake_slack, http=False, socket_mode=True)
    with slack_harness.running_bot(settings, app_config, sqlite_db, clock) as (bot, _):
        fake_slack.wait_socket_connected()
        # Bolt's action matcher searches the int action_id with a regex (TypeError inside slack_bolt):
        # it was logged as an ERROR traceback, "listener failed"
        fake_slack.send_envelope("interactive", block_actions(pressed(action_id=5)))
        record = wait_for_log(caplog, "Bolt could not route a signed payload")
        assert record.levelno == logging.WARNING and "TypeError" in record.getMessage()

        def mention(**fields) -> dict:
            return json.loads(event(mention_event(**fields)))

        no_channel = mention(user="U1")
        del no_channel["event"]["channel"]
        for envelope in (mention(**BOT_MENTIONS["bot_message-subtype"]), mention(**BOT_MENTIONS["our-own-bot"]),
                         no_channel):
            fake_slack.wait_ack(fake_slack.send_envelope("events_api", envelope))
        wait_for_log(caplog, "a mention without a channel")
        # a person's mention after them is the only thing answered
        fake_slack.wait_ack(fake_slack.send_envelope("events_api", mention(user="U1", channel="C7")))
        (call,) = fake_slack.wait_for("chat.postMessage")
        assert call.args["channel"] == "C7"
        bot.services.dispatcher.shutdown()
    assert [c.args["channel"] for c in fake_slack.calls("chat.postMessage")] == ["C7"]
    assert not errors_logged(caplog), [r.getMessage() for r in errors_logged(caplog)]


def test_a_fault_of_this_server_while_bolt_routes_stays_a_500_with_an_error_logged(fake_slack, caplog):
    # The net above is for Bolt tripping over the payload; an error raised by code of ours (here a Bolt
    # middleware the test adds to the real app and route) is a server fault: 500 and an ERROR traceback.
    from starlette.applications import Starlette

    from bot.adapters.slack.inbound_app import InboundBridge, build_bolt_app, build_events_route
    from tests.fakes.slack_api import VALID_BOT_TOKEN, SlackSender
    from tests.integration.slack.conftest import SIGNING_SECRET
    from tests.support.asgi_server import running_server

    handed = []
    app = build_bolt_app(bot_token=VALID_BOT_TOKEN, signing_secret=SIGNING_SECRET,
                         bridge=InboundBridge(handed.append), api_url=fake_slack.base_url)

    @app.middleware
    async def broken(body, next):  # noqa: A002 - Bolt's name
        if body.get("callback_id") == "boom":
            raise KeyError("a bug of ours")
        return await next()

    web = Starlette(routes=[build_events_route(app=app, signing_secret=SIGNING_SECRET)])
    with running_server(web) as base_url:
        sender = SlackSender(base_url + "/slack/events", SIGNING_SECRET, fake_slack)
        try:
            response = sender.post(interaction({**BASE, "type": "shortcut", "callback_id": "boom",
                                                "trigger_id": trigger()}), FORM)
            assert response.status_code == 500
            (error,) = errors_logged(caplog)
            assert "server fault" in error.getMessage() and error.exc_info and "a bug of ours" in error.exc_text
            # the same kind without the bug is acknowledged
            response = sender.post(interaction({**BASE, "type": "shortcut", "callback_id": "x",
                                                "trigger_id": trigger()}), FORM)
            assert response.status_code == 200
        finally:
            sender.close()
