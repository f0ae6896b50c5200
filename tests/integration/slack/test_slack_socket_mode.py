"""Socket Mode: the bot connects to a local fake gateway (apps.connections.open -> ws://127.0.0.1)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def slash_payload(text: str, fake, *, trigger: str) -> dict:
    return {"token": "x", "team_id": "T1", "channel_id": "C5", "user_id": "U9", "user_name": "zoe",
            "command": "/help", "text": text, "response_url": fake.response_url("sm-" + trigger),
            "trigger_id": trigger, "api_app_id": "A1"}


def test_socket_mode_commands_and_mentions_are_acked_and_answered(fake_slack, sqlite_db, app_config, clock,
                                                                    slack_harness):
    settings = slack_harness.settings(fake_slack, http=False, socket_mode=True)
    with slack_harness.running_bot(settings, app_config, sqlite_db, clock) as (bot, base_url):
        fake_slack.wait_socket_connected()
        (opened,) = fake_slack.calls("apps.connections.open")
        assert opened.token == "xapp-test-token"

        envelope = fake_slack.send_envelope("slash_commands", slash_payload("", fake_slack, trigger="t-sm-1"))
        ack = fake_slack.wait_ack(envelope)
        assert ack.args["envelope_id"] == envelope
        (call,) = fake_slack.wait_for("chat.postMessage")
        assert call.args["channel"] == "C5" and "/help" in json.dumps(call.args, ensure_ascii=False)

        event = {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "EvSM1",
                 "event_time": 1, "event": {"type": "app_mention", "user": "U9", "text": "<@UBOT> /help",
                                            "ts": "1700000700.000100", "channel": "C6", "event_ts": "1700000700.000100"}}
        first = fake_slack.send_envelope("events_api", event)
        retry = fake_slack.send_envelope("events_api", event, retry_attempt=1)
        fake_slack.wait_ack(first)
        fake_slack.wait_ack(retry)
        calls = fake_slack.wait_for("chat.postMessage", 2)
        assert calls[1].args["channel"] == "C6"
        bot.services.dispatcher.shutdown()
    assert [c.args["channel"] for c in fake_slack.successful("chat.postMessage")] == ["C5", "C6"]
    # HTTP stays closed without a signing secret
    assert not bot.services.settings.slack_signing_secret


def test_socket_mode_with_a_bad_app_token_keeps_the_bot_serving(fake_slack, sqlite_db, app_config, clock,
                                                                 slack_harness):
    settings = slack_harness.settings(fake_slack, http=True, socket_mode=True)
    settings = settings.model_copy(update={"slack_app_token": "xapp-wrong"})
    with slack_harness.running_bot(settings, app_config, sqlite_db, clock) as (bot, base_url):
        fake_slack.wait_for("apps.connections.open", ok_only=False)
        assert fake_slack.calls("apps.connections.open")[0].answer["error"] == "invalid_auth"
        import httpx

        assert httpx.get(base_url + "/healthz").status_code == 200
