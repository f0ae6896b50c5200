"""Chat text with characters no database can hold (NUL, lone UTF-16 surrogates) is cleaned where every adapter's
items enter the dispatcher, so the command runs with U+FFFD in their place.

Nobody types them, but a client or a script can send them: a slash command's "%00", a "\\u0000" or "\\ud800" in
an event's JSON. On PostgreSQL the run's title with a NUL was refused (psycopg DataError: "PostgreSQL text fields
cannot contain NUL"): the handler failed with an ERROR and a traceback, the run never started. A lone surrogate in
a Slack button's value was dropped by the adapter before that (its delivery digest could not encode it).

Through the real signed HTTP endpoints (/slack/events, /feishu/events), the whole bot served on 127.0.0.1, the
Slack and Feishu Open APIs faked on loopback; on SQLite, and on PostgreSQL when CRISISBOT_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.playbooks.models import CrisisRun
from tests.conftest import TEST_CONFIG
from tests.fakes.slack_api import FakeSlack, SlackSender
from tests.integration.feishu.support import FeishuEvents, post_event, served_feishu_bot, wait_until
from tests.integration.slack.conftest import SIGNING_SECRET, running_bot, slack_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def app_config():
    config = json.loads(json.dumps(TEST_CONFIG))
    config["channels"] += [{"id": f"slack:{c}", "client": "lanji"} for c in ("C1", "C2")]
    config["channels"] += [{"id": f"feishu:{c}", "client": "lanji"} for c in ("oc_ops", "oc_two")]
    return parse_config(config, source="tests")


def run_titles(bot) -> dict[str, str]:
    """channel -> title of the crisis runs started."""
    with bot.services.db.session() as session:
        return {run.channel: run.title for run in session.exec(select(CrisisRun)).all()}


def errors(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


def test_slack_commands_and_a_button_with_nul_or_lone_surrogates_run_cleaned(db, app_config, clock, caplog):
    with caplog.at_level(logging.ERROR), FakeSlack() as fake, \
            running_bot(slack_settings(fake), app_config, db, clock) as (bot, url):
        sender = SlackSender(url + "/slack/events", SIGNING_SECRET, fake)
        try:
            assert sender.command("/crisis", "start negative-outbreak A\x00B --severity 1").status_code == 200
            # the event's JSON escapes them ("\u0000", "\ud800"), as json.dumps writes them
            assert sender.mention("<@UBOT> /crisis start negative-outbreak C\ud800\u0000D --severity 2",
                                  channel="C2").status_code == 200
            wait_until(lambda: len(run_titles(bot)) == 2, what="both runs started")
            assert run_titles(bot) == {"slack:C1": "A\ufffdB", "slack:C2": "C\ufffd\ufffdD"}

            answered = len(fake.calls("response_url")) + len(fake.calls("chat.postEphemeral"))
            payload = {
                "type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
                "user": {"id": "U1", "username": "userU1", "team_id": "T1"}, "trigger_id": "1.2.unstorable",
                "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": "C1",
                              "is_ephemeral": False},
                "channel": {"id": "C1", "name": "crisis"}, "message": {"ts": "1700000001.000100", "text": "card"},
                "response_url": fake.response_url("unstorable"),
                "actions": [{"type": "button", "action_id": "alert.ack", "block_id": "crisisbot.actions",
                             "value": "1\ud800\u0000", "action_ts": f"{time.time():.6f}"}],
            }
            # json.dumps escapes the surrogate (SlackSender.button writes UTF-8, which cannot hold one)
            body = urlencode({"payload": json.dumps(payload)})
            assert sender.post(body, "application/x-www-form-urlencoded").status_code == 200
            wait_until(lambda: len(fake.calls("response_url")) + len(fake.calls("chat.postEphemeral")) > answered,
                       what="the press answered")
        finally:
            sender.close()
    assert errors(caplog) == []


def test_feishu_messages_with_nul_or_lone_surrogates_run_cleaned(db, app_config, clock, caplog):
    with caplog.at_level(logging.ERROR), served_feishu_bot(db, app_config, clock) as (bot, url, client, _api):
        events = FeishuEvents(clock)
        started = events.message("/crisis start negative-outbreak E\x00F --severity 3")
        assert post_event(client, url, events, started).status_code == 200
        # a message's content is JSON inside the event's JSON: its own escapes give the lone surrogate
        second = events.message("", chat_id="oc_two")
        second["event"]["message"]["content"] = json.dumps(
            {"text": "@_user_1 /crisis start negative-outbreak G\ud800H --severity 3"})
        assert post_event(client, url, events, second).status_code == 200
        wait_until(lambda: len(run_titles(bot)) == 2, what="both runs started")
        assert run_titles(bot) == {"feishu:oc_ops": "E\ufffdF", "feishu:oc_two": "G\ufffdH"}
    assert errors(caplog) == []
