"""The long connection's address carries its credential in the query string (Feishu's endpoint answers
wss://msg-frontier.feishu.cn/ws/v2?…&access_key=…&ticket=…), and lark-oapi logs it at INFO on every
connect and disconnect: the bot's logs show the host and path only."""

from __future__ import annotations

import logging

import pytest

from bot.adapters.feishu.inbound import FeishuEvents
from bot.adapters.feishu.longconn import LongConnection
from bot.adapters.feishu.settings import FeishuSettings
from bot.clock import SystemClock
from tests.fakes.feishu_api import FakeFeishuApi, FakeFeishuGateway

pytestmark = pytest.mark.slow
APP_ID = "cli_ws_url"


def test_the_connection_credential_is_not_logged(caplog):
    with FakeFeishuApi(apps={APP_ID: "right"}) as api, FakeFeishuGateway(api) as gateway:
        api.ws_endpoint_url += "&access_key=AK-conn-secret&ticket=TK-conn-secret"
        settings = FeishuSettings(APP_ID, "right", domain=api.url, mode="ws")
        inbound = FeishuEvents(settings, lambda item: None, clock=SystemClock())
        connection = LongConnection(settings, inbound.build_dispatcher("", ""))
        with caplog.at_level(logging.INFO, logger="Lark"):
            connection.start()
            try:
                assert gateway.wait_connected(10)
            finally:
                connection.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "Lark"]
    assert any(f"connected to ws://127.0.0.1:{gateway.port}/ws?…" in line for line in lines), lines
    assert not any("conn-secret" in line for line in lines), lines
