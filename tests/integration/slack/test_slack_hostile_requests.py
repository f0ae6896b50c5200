"""Forged, oversized and malformed requests into the running bot's /slack/events: refused with 401,
413 or 400 (never a 500 from inside the SDKs), while the well-formed requests around them still work.

Real signed HTTP into the bot served by uvicorn on 127.0.0.1, as in test_slack_e2e; Web API calls go
to the fake Slack.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.messages import Message
from bot.storage.models import ProcessedEvent
from tests.fakes.slack_api import slack_signature
from tests.support.chunked import answer_before_body_ends

pytestmark = pytest.mark.slow

FORM = "application/x-www-form-urlencoded"


def processed_count(bot) -> int:
    with bot.services.db.session() as session:
        return len(session.exec(select(ProcessedEvent)).all())


def assert_still_working(bot, sender, fake_slack) -> None:
    """A well-formed signed command after the bad requests is handled, and it is the only thing handled."""
    assert sender.command("/help").status_code == 200
    fake_slack.wait_for("chat.postMessage")
    bot.services.dispatcher.shutdown()
    assert processed_count(bot) == 1


def test_a_signed_request_with_a_400_digit_timestamp_is_refused_with_401(slack_bot, fake_slack):
    # slack_sdk's verifier raised OverflowError on it (a 500 and "Exception in ASGI application")
    bot, sender = slack_bot
    response = sender.post(sender.command_body("/help"), FORM, timestamp=int("9" * 400))
    assert response.status_code == 401
    assert_still_working(bot, sender, fake_slack)


def test_a_chunked_body_over_the_limit_is_refused_before_it_ends(slack_bot):
    # Without Content-Length the size is only known while reading: the answer must come at the limit,
    # not after the whole body (300 MB of zeros used to be read into memory first).
    _, sender = slack_bot
    assert answer_before_body_ends(sender.events_url, send_bytes=2 * 1024 * 1024) == 413


def test_a_signed_body_that_is_not_utf8_is_a_bad_encoding_not_a_bad_signature(slack_bot):
    _, sender = slack_bot
    body = b"command=%2Fhelp&text=\xff\xfe"
    ts = str(int(time.time()))
    response = sender.http.post(sender.events_url, content=body, headers={
        "Content-Type": FORM, "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(sender.secret, ts, body)})
    assert response.status_code == 400 and response.json() == {"error": "bad encoding"}


def block_actions(**overrides) -> dict:
    payload = {
        "type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
        "user": {"id": "U1", "username": "ann", "team_id": "T1"}, "trigger_id": f"{time.time_ns()}.t",
        "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": "C1"},
        "channel": {"id": "C1"}, "message": {"ts": "1700000001.000100"},
        "response_url": "http://127.0.0.1:9/r/1",
        "actions": [{"type": "button", "action_id": "hostile.press", "block_id": "b", "value": "7",
                     "action_ts": f"{time.time():.6f}"}],
    }
    payload.update(overrides)
    return payload


def interaction(payload) -> str:
    return urlencode({"payload": json.dumps(payload)})


MALFORMED = {
    "payload-not-json": ("payload=%7Bnot+json", FORM),
    "payload-empty": ("payload=", FORM),
    "payload-a-list": (urlencode({"payload": "[1, 2]"}), FORM),
    "actions-a-dict": (interaction(block_actions(actions={"a": 1})), FORM),
    "actions-of-strings": (interaction(block_actions(actions=["a"])), FORM),
    "user-a-number": (interaction(block_actions(user=5)), FORM),
    "view-without-type": (interaction({"type": "view_submission", "user": {"id": "U1"}, "trigger_id": "1.2",
                                       "view": {"id": "V1", "callback_id": "crisisbot.form"}}), FORM),
    "json-invalid": ("{not json", "application/json"),
    "json-a-list": ("[1]", "application/json"),
    "event-a-string": (json.dumps({"type": "event_callback", "event_id": "Ev1", "event": "str"}), "application/json"),
    # neither a slash command nor a typed payload (Bolt answered 404 "unhandled request")
    "payload-without-type": (interaction({"user": {"id": "U1"}, "actions": []}), FORM),
    "form-without-command": (urlencode({"channel_id": "C1", "user_id": "U1", "text": "x"}), FORM),
    # a slash command without its channel or user (acked with 200, then the dispatcher failed in the log)
    "command-without-channel": (urlencode({"command": "/crisis", "text": "status", "user_id": "U1",
                                           "trigger_id": "1.2"}), FORM),
    "command-without-user": (urlencode({"command": "/crisis", "text": "status", "channel_id": "C1",
                                        "trigger_id": "1.2"}), FORM),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_signed_but_malformed_payload_gets_400_and_changes_nothing(slack_bot, fake_slack, name):
    bot, sender = slack_bot
    body, content_type = MALFORMED[name]
    response = sender.post(body, content_type)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "malformed payload"}
    assert_still_working(bot, sender, fake_slack)


def test_a_modal_submission_with_foreign_private_metadata_is_acknowledged_and_ignored(slack_bot, fake_slack):
    # Not a modal of ours (we always write an object): Slack closes it on the 200, nothing runs.
    bot, sender = slack_bot
    payload = {"type": "view_submission", "user": {"id": "U1"}, "trigger_id": "1.2.3",
               "view": {"id": "V1", "type": "modal", "hash": "h", "callback_id": "crisisbot.form",
                        "private_metadata": "[1]",
                        "state": {"values": {}}}}
    started = time.monotonic()
    response = sender.post(interaction(payload), FORM)
    assert response.status_code == 200 and time.monotonic() - started < 2.5
    assert_still_working(bot, sender, fake_slack)


def test_a_button_press_with_the_channel_as_a_bare_id_is_acked_and_handled(slack_bot, fake_slack):
    # `channel` sent as a string used to crash the listener after its ack: Bolt answered 404 after 3 s.
    bot, sender = slack_bot
    seen = []
    bot.services.registry.add_action("hostile.", lambda ctx, action: seen.append(action) or Message(text="ok"))
    started = time.monotonic()
    response = sender.post(interaction(block_actions(channel="C1")), FORM)
    assert response.status_code == 200 and time.monotonic() - started < 2.5
    fake_slack.wait_for("chat.postMessage")
    (action,) = seen
    assert (action.action_id, action.value, action.channel) == ("hostile.press", "7", "slack:C1")


def test_a_button_press_outside_any_channel_is_acked_and_ignored_without_an_error(slack_bot, fake_slack, caplog):
    # A modal's own element or App Home: no channel to answer in or to check the client's scope against.
    # It was handed to the dispatcher, failed there and logged an ERROR ("a retry will be accepted").
    bot, sender = slack_bot
    seen = []
    bot.services.registry.add_action("hostile.", lambda ctx, action: seen.append(action) or Message(text="ok"))
    payload = block_actions(container={"type": "view", "view_id": "V1"})
    del payload["channel"]
    response = sender.post(interaction(payload), FORM)
    assert response.status_code == 200
    assert_still_working(bot, sender, fake_slack)
    assert seen == []
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
