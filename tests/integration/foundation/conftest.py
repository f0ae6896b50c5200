"""Fixtures of the foundation tests that talk to the bot over real HTTP."""

from __future__ import annotations

import pytest

from tests.support.asgi_server import running_server


@pytest.fixture
def base_url(bot):
    """The bot's web app served by uvicorn on 127.0.0.1 (the webhook, /healthz, /metrics)."""
    with running_server(bot.web) as url:
        yield url
