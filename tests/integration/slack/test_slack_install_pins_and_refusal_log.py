"""SLACK_TEAM_ID / SLACK_APP_ID pin the workspaces and the app whose requests are taken, and refused
requests cannot fill the log.

The signing secret is the app's: a distributed or org-wide app gets every installation's requests signed
with it. With a pin, a slash command, button press or event of another workspace (or org, or app) is refused
with 403 before anything runs, counted, and logged once per workspace id (never a token); unset, any
workspace is taken as before. Forged signatures are logged once, then at most once a minute with the count
left out. Real signed HTTP into the served bot (and Socket Mode through the fake gateway); the log's pace
follows the injected clock.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import httpx
import pytest

from tests.fakes.slack_api import SlackSender
from tests.integration.slack.conftest import SIGNING_SECRET, running_bot, slack_settings
from tests.integration.slack.test_slack_socket_mode import slash_payload
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

FORM = "application/x-www-form-urlencoded"
LOGGER = "crisisbot.slack"


def _metric(base_url: str, kind: str, outcome: str) -> float:
    text = httpx.get(base_url + "/metrics").text
    found = re.search(rf'^crisisbot_slack_inbound_total{{kind="{kind}",outcome="{outcome}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def _lines(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


def _command_of(sender: SlackSender, team: str = "T1", app: str = "A1") -> str:
    return sender.command_body("/help").replace("team_id=T1", f"team_id={team}").replace("api_app_id=A1",
                                                                                         f"api_app_id={app}")


def _press_of(sender: SlackSender, team: str, *, enterprise: str | None = None) -> str:
    payload = {
        "type": "block_actions", "team": {"id": team} if team else None, "api_app_id": "A1",
        "user": {"id": "U1", "username": "ann", "team_id": team}, "trigger_id": "1.2.foreign",
        "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": "C1"},
        "channel": {"id": "C1"}, "message": {"ts": "1700000001.000100"},
        "response_url": "http://127.0.0.1:9/r/1",
        "actions": [{"type": "button", "action_id": "pin.press", "block_id": "b", "value": "7",
                     "action_ts": "1700000002.000100"}],
    }
    if enterprise:
        payload["enterprise"] = {"id": enterprise}
    return sender.interaction_body(payload)


def _mention_of(sender: SlackSender, team: str) -> str:
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> /help", "ts": "1700000001.000200",
             "channel": "C1", "event_ts": "1700000001.000200"}
    return sender.event_body(event).replace('"team_id": "T1"', f'"team_id": "{team}"')


@pytest.fixture
def pinned(fake_slack, sqlite_db, app_config, clock):
    settings = slack_settings(fake_slack).model_copy(update={"slack_team_id": "T1,E1", "slack_app_id": "A1"})
    with running_bot(settings, app_config, sqlite_db, clock) as (bot, base_url):
        sender = SlackSender(base_url + "/slack/events", SIGNING_SECRET, fake_slack)
        yield bot, sender, base_url
        sender.close()


def test_with_a_pin_another_workspaces_commands_presses_and_events_get_403(pinned, fake_slack, caplog):
    bot, sender, base_url = pinned
    pressed = []
    bot.services.registry.add_action("pin.", lambda ctx, action: pressed.append(action))
    before = _metric(base_url, "http", "other_workspace")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for body, content_type in [(_command_of(sender, "T9"), FORM), (_press_of(sender, "T9"), FORM),
                                   (_mention_of(sender, "T9"), "application/json"),
                                   (_command_of(sender, "T8"), FORM)]:
            response = sender.post(body, content_type)
            assert response.status_code == 403, response.text
            assert response.json() == {"error": "forbidden"}  # nothing useful for another workspace
    assert _metric(base_url, "http", "other_workspace") == before + 4
    lines = _lines(caplog, "refused a request of workspace")
    # once per workspace id: T9's second and third refusals within the minute are only counted
    assert len(lines) == 2 and "T9" in lines[0] and "T8" in lines[1] and "SLACK_TEAM_ID" in lines[0], lines
    assert not any(secret in caplog.text for secret in (SIGNING_SECRET, "legacy-verification-token"))

    # another app, and a press of another org with no workspace named (an org-wide install's shape)
    assert sender.post(_command_of(sender, "T1", app="A9"), FORM).status_code == 403
    assert sender.post(_press_of(sender, "", enterprise="E9"), FORM).status_code == 403
    # our workspace, our org with no workspace named: taken as before
    assert sender.post(_press_of(sender, "", enterprise="E1"), FORM).status_code == 200
    assert sender.command("/help").status_code == 200
    fake_slack.wait_for("chat.postMessage")
    bot.services.dispatcher.shutdown()
    assert len(pressed) == 1  # only our org's press ran
    assert len(fake_slack.successful("chat.postMessage")) == 1  # only our /help was answered


def test_without_a_pin_any_workspace_is_taken(slack_bot, fake_slack):
    bot, sender = slack_bot
    assert sender.post(_command_of(sender, "T9", app="A9"), FORM).status_code == 200
    fake_slack.wait_for("chat.postMessage")
    bot.services.dispatcher.shutdown()


def test_the_pin_holds_over_socket_mode(fake_slack, sqlite_db, app_config, clock):
    settings = slack_settings(fake_slack, http=False, socket_mode=True).model_copy(update={"slack_team_id": "T1"})
    with running_bot(settings, app_config, sqlite_db, clock) as (bot, base_url):
        fake_slack.wait_socket_connected()
        foreign = slash_payload("", fake_slack, trigger="t-foreign") | {"team_id": "T9"}
        fake_slack.send_envelope("slash_commands", foreign)
        ours = fake_slack.send_envelope("slash_commands", slash_payload("", fake_slack, trigger="t-ours"))
        fake_slack.wait_ack(ours)
        fake_slack.wait_for("chat.postMessage")
        # envelopes are handled side by side: wait for the foreign one's refusal (not for time to pass)
        wait_until(lambda: _metric(base_url, "socket_mode", "other_workspace") >= 1, what="the refusal")
        bot.services.dispatcher.shutdown()
    assert [c.args["channel"] for c in fake_slack.successful("chat.postMessage")] == ["C5"]
    assert all("t-foreign" not in json.dumps(c.args) for c in fake_slack.calls())


def test_forged_signatures_write_one_line_then_one_summary_a_minute(slack_bot, clock, caplog):
    bot, sender = slack_bot
    base_url = sender.events_url.removesuffix("/slack/events")
    before = _metric(base_url, "http", "bad_signature")
    forged = {"signature": "v0=" + "0" * 64}
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(5):
            assert sender.post(sender.command_body("/help"), FORM, **forged).status_code == 401
        assert len(_lines(caplog, "forged or stale signature")) == 1
        clock.advance(timedelta(seconds=59))
        assert sender.post(sender.command_body("/help"), FORM, **forged).status_code == 401
        assert len(_lines(caplog, "forged or stale signature")) == 1  # still within the minute
        clock.advance(timedelta(seconds=2))
        assert sender.post(sender.command_body("/help"), FORM, **forged).status_code == 401
    lines = _lines(caplog, "forged or stale signature")
    assert len(lines) == 2 and "5 more refused like it in the last 61 s" in lines[1], lines
    assert _metric(base_url, "http", "bad_signature") == before + 7
