"""The Feishu long connection (real lark-oapi ws client, fake endpoint and gateway on 127.0.0.1) never gives
up while the app runs: refused, unreachable or lost, it is tried again after a capped backoff, said loudly
once per period, and events flow again once it connects; stop() ends it at once, even mid-wait."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.adapters.feishu.inbound import FeishuEvents as InboundEvents
from bot.adapters.feishu.longconn import LongConnection
from bot.adapters.feishu.settings import FeishuSettings
from bot.clock import SystemClock
from tests.fakes.feishu_api import FakeFeishuApi, FakeFeishuGateway
from tests.integration.feishu.support import FeishuEvents, wait_until

APP_ID = "cli_ws_retry"
LOGGER = "bot.adapters.feishu.longconn"


@pytest.fixture
def fake():
    with FakeFeishuApi(apps={APP_ID: "right"}) as api, FakeFeishuGateway(api) as gateway:
        yield api, gateway


def _connection(fake_api: FakeFeishuApi, secret: str, commands: list, **backoff) -> LongConnection:
    settings = FeishuSettings(APP_ID, secret, domain=fake_api.url, mode="ws")
    inbound = InboundEvents(settings, commands.append, clock=SystemClock())
    return LongConnection(settings, inbound.build_dispatcher("", ""), **backoff)


@contextmanager
def _started(connection: LongConnection) -> Iterator[None]:
    """The connection running for the block; stopped after it, and then no longer running."""
    connection.start()
    try:
        yield
    finally:
        connection.stop()
    assert not connection.running


def _endpoint_calls(api: FakeFeishuApi) -> int:
    return len(api.calls("ws.endpoint"))


def _events_flow(gateway: FakeFeishuGateway, commands: list) -> None:
    payload = FeishuEvents(SystemClock()).message("/help")
    assert gateway.push_event(payload)["code"] == 200
    wait_until(lambda: any(c.text.startswith("/help") for c in commands), what="the command over the connection")


def test_a_refused_long_connection_is_retried_with_a_capped_backoff_until_it_connects(fake, caplog):
    api, gateway = fake
    commands: list = []
    connection = _connection(api, "not-yet-valid", commands, initial_backoff_s=0.05, max_backoff_s=0.4)
    with caplog.at_level(logging.INFO, logger=LOGGER), _started(connection):
        wait_until(lambda: _endpoint_calls(api) >= 6, what="six attempts")
        assert connection.running and not gateway.wait_connected(0.01)
        at = [r.at for r in api.calls("ws.endpoint")]
        gaps = [b - a for a, b in zip(at, at[1:], strict=False)]
        assert gaps[3] - gaps[0] > 0.2  # doubling (0.05 s, 0.1, 0.2, 0.4) ...
        assert max(gaps) < 0.4 + 2.0  # ... up to the cap (0.4 s), plus the time an attempt takes
        # The cause is fixed on Feishu's side (here: the endpoint now accepts this secret): no restart.
        api.apps[APP_ID] = "not-yet-valid"
        assert gateway.wait_connected(5), "the long connection did not come back"
        _events_flow(gateway, commands)
    ours = [r for r in caplog.records if r.name == LOGGER]
    errors = [r.getMessage() for r in ours if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # loud once per period (10 min), not once per attempt
    assert errors[0].index("飞书长连接") < errors[0].index("long connection") and "FEISHU_APP_SECRET" in errors[0]
    assert "403" in errors[0]
    assert any("已恢复" in r.getMessage() and r.levelno == logging.WARNING for r in ours)


def test_a_lost_connection_that_the_endpoint_then_refuses_is_retried_until_it_is_back(fake):
    api, gateway = fake
    commands: list = []
    connection = _connection(api, "right", commands, initial_backoff_s=0.05, max_backoff_s=0.2)
    with _started(connection):
        assert gateway.wait_connected(5)
        before = _endpoint_calls(api)
        api.apps[APP_ID] = "rotated"  # refused from now on ...
        gateway.drop_connections()  # ... when the gateway closes the connection
        wait_until(lambda: _endpoint_calls(api) >= before + 3, what="reconnect attempts after the loss")
        assert connection.running and gateway.connections == 0
        api.apps[APP_ID] = "right"
        wait_until(lambda: gateway.connections == 1, what="the connection to come back")
        _events_flow(gateway, commands)


def test_a_connection_the_gateway_closes_at_once_is_retried_until_one_holds(fake):
    api, gateway = fake
    gateway.close_on_open = True  # closed while the SDK may still be in its connect step
    commands: list = []
    connection = _connection(api, "right", commands, initial_backoff_s=0.01, max_backoff_s=0.02)
    with _started(connection):
        # Many rounds: the close lands at a different point of the SDK's start() each time.
        wait_until(lambda: gateway.opened >= 40, timeout=20, what="new connections after each close")
        assert connection.running
        gateway.close_on_open = False
        wait_until(lambda: gateway.connections == 1, what="a connection that holds")
        _events_flow(gateway, commands)


def test_an_unreachable_endpoint_is_retried_with_our_backoff_not_every_two_minutes(fake):
    api, gateway = fake
    api.outage = True  # every call 503
    connection = _connection(api, "right", [], initial_backoff_s=0.05, max_backoff_s=0.2)
    with _started(connection):
        wait_until(lambda: _endpoint_calls(api) >= 4, what="attempts during the outage")
        api.outage = False
        assert gateway.wait_connected(5)


def test_stop_ends_the_wait_between_attempts_at_once(fake):
    api, _gateway = fake
    connection = _connection(api, "wrong", [], initial_backoff_s=60.0)
    connection.start()
    wait_until(lambda: _endpoint_calls(api) >= 1, what="the first attempt")
    time.sleep(0.2)  # now waiting a minute for the next one
    assert connection.running
    started = time.monotonic()
    connection.stop()
    assert not connection.running and time.monotonic() - started < 2.0
    assert _endpoint_calls(api) == 1
