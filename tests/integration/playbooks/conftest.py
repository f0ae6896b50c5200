"""Fixtures for the playbook integration tests: a wired bot with a configurable `playbooks:` section."""

from __future__ import annotations

import copy

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG
from tests.integration.playbooks.helpers import CrisisDriver


@pytest.fixture
def make_bot(db, settings, clock):
    """Build bots on the test database (several = a restart), with extra config merged in."""
    from bot.app import build_app

    built = []

    def make(extra: dict | None = None):
        data = copy.deepcopy(TEST_CONFIG)
        data.update(extra or {})
        app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
        built.append(app)
        return app

    yield make
    for app in built:
        app.stop()


@pytest.fixture
def driver(bot) -> CrisisDriver:
    return CrisisDriver(bot)
