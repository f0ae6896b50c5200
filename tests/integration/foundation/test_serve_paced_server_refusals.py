"""uvicorn's own refusals (a request it cannot parse, answered 400 before the bot sees it) are counted and paced
like the endpoints' refusals: anyone who can reach the port wrote one unpaced WARNING line per garbage request."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import timedelta

import uvicorn
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.serve import server_config


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _garbage(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GARBAGE\r\n\r\n")
        return connection.recv(200)


def test_garbage_requests_are_answered_400_and_logged_once_a_minute(clock, caplog):
    web = Starlette(routes=[Route("/healthz", lambda _r: PlainTextResponse("ok"))])
    server = uvicorn.Server(server_config(web, "127.0.0.1", 0, clock=clock))
    # what reaches uvicorn's own handlers (its stderr line "WARNING:  Invalid HTTP request received.")
    uvicorn_lines = _Records()
    logging.getLogger("uvicorn.error").addHandler(uvicorn_lines)
    thread = threading.Thread(target=server.run, daemon=True)
    counted = _refused_count()
    try:
        thread.start()
        while not server.started:  # waiting for the server to listen, not for time to pass
            assert thread.is_alive()
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="bot.serve"):
            for _ in range(3):
                assert _garbage(port).startswith(b"HTTP/1.1 400 ")
            clock.advance(timedelta(seconds=61))
            assert _garbage(port).startswith(b"HTTP/1.1 400 ")
    finally:
        server.should_exit = True
        thread.join(20)
        logger = logging.getLogger("uvicorn.error")
        logger.removeHandler(uvicorn_lines)
        for paced_filter in [f for f in logger.filters if type(f).__name__ == "_PacedServerRefusals"]:
            logger.removeFilter(paced_filter)  # this test's clock: not for the tests after it
    assert not [r for r in uvicorn_lines.records if "Invalid HTTP request" in r.getMessage()]
    paced = [r.getMessage() for r in caplog.records if r.name == "bot.serve" and "Invalid HTTP request" in r.getMessage()]
    assert len(paced) == 2, paced
    assert "2 more refused like it" in paced[1]
    assert _refused_count() - counted == 4  # every one counted, logged or not


def _refused_count() -> float:
    return REGISTRY.get_sample_value("crisisbot_http_server_refused_total", {"kind": "invalid_request"}) or 0.0
