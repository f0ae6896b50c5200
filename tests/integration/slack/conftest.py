"""Fixtures for the Slack end-to-end tests: the fake Slack server and the whole bot under uvicorn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.config import Settings, parse_config
from tests.conftest import TEST_CONFIG
from tests.fakes.slack_api import VALID_APP_TOKEN, VALID_BOT_TOKEN, FakeSlack, SlackSender
from tests.support.asgi_server import running_server

SIGNING_SECRET = "test-signing-secret-8f2d"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def slack_settings(fake: FakeSlack, *, http: bool = True, socket_mode: bool = False) -> Settings:
    values = {"slack_bot_token": VALID_BOT_TOKEN, "slack_api_url": fake.base_url}
    if http:
        values["slack_signing_secret"] = SIGNING_SECRET
    if socket_mode:
        values["slack_app_token"] = VALID_APP_TOKEN
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def running_bot(settings: Settings, app_config, db, clock) -> Iterator[tuple[object, str]]:
    """The whole bot (build_app, as `crisisbot serve` wires it) served on 127.0.0.1; yields (bot, base URL)."""
    from bot.app import build_app

    bot = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    try:
        with running_server(bot.web) as base_url:
            yield bot, base_url
    finally:
        bot.stop()


@pytest.fixture
def slack_harness():
    """Helpers for tests that start and restart the bot themselves."""

    class Harness:
        secret = SIGNING_SECRET
        settings = staticmethod(slack_settings)
        running_bot = staticmethod(running_bot)

    return Harness


@pytest.fixture
def slack_bot(fake_slack, sqlite_db, app_config, clock):
    """(bot, sender): the bot served over HTTP with Slack on, and a client that signs like Slack."""
    with running_bot(slack_settings(fake_slack), app_config, sqlite_db, clock) as (bot, base_url):
        sender = SlackSender(base_url + "/slack/events", SIGNING_SECRET, fake_slack)
        try:
            yield bot, sender
        finally:
            sender.close()


@pytest.fixture
def crisis_slack(fake_slack, sqlite_db, clock, slack_harness):
    """The bot with a Slack channel of client lanji whose `lead` role (slack:ULEAD) may start and end runs."""
    config = json.loads(json.dumps(TEST_CONFIG))
    config["channels"].append({"id": "slack:C1", "client": "lanji"})
    config["roles"] = {"lead": ["slack:ULEAD"]}
    config["playbooks"] = {"permissions": {"start": ["lead"], "resolve": ["lead"], "cancel": ["lead"]}}
    app_config = parse_config(config, source="tests")
    with slack_harness.running_bot(slack_harness.settings(fake_slack), app_config, sqlite_db, clock) as (bot, url):
        sender = SlackSender(url + "/slack/events", slack_harness.secret, fake_slack)
        yield bot, sender
        sender.close()
