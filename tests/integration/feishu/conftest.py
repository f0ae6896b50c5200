"""Fixtures for the Feishu integration tests (helpers that are not fixtures live in support.py)."""

from __future__ import annotations

import pytest

from tests.integration.feishu.support import served_feishu_bot


@pytest.fixture
def served_bot(sqlite_db, app_config, clock):
    """(bot, url, client, fake) of the bot with an encrypt key (signed, encrypted events), on SQLite."""
    with served_feishu_bot(sqlite_db, app_config, clock) as served:
        yield served
