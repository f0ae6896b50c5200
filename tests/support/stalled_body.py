"""Requests whose body never ends, over a raw loopback socket: one that stalls (the client sends a little,
then waits) and one that hangs up mid-body. An HTTP client library would insist on sending the whole body.

`uvicorn_errors()` collects what uvicorn logs as errors ("Exception in ASGI application" and its
traceback): uvicorn's loggers do not propagate to the root logger, so pytest's caplog never sees them.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


def _open(url: str, headers: dict[str, str], *, declared: int, first: bytes, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "localhost"), "loopback only"
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {declared}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + first)
    return sock


def stalled_body_answer(url: str, headers: dict[str, str], *, timeout: float) -> tuple[int | None, float, bool]:
    """Declare a 1000-byte body, send 5 bytes of it and wait. Returns (status or None when no answer came
    within `timeout`, seconds until the answer, whether the server closed the connection after it)."""
    started = time.monotonic()
    with _open(url, headers, declared=1000, first=b'{"a":', timeout=timeout) as sock:
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            return None, time.monotonic() - started, False
        took = time.monotonic() - started
        if not answer.startswith(b"HTTP/1.1 "):
            return None, took, False
        status = int(answer.split(b" ", 2)[1])
        sock.settimeout(5)
        try:
            while True:
                more = sock.recv(65536)
                if not more:
                    return status, took, True
        except (TimeoutError, ConnectionResetError):
            return status, took, False


def hang_up_mid_body(url: str, headers: dict[str, str]) -> None:
    """Declare a 1000-byte body, send 1 byte of it, then close the connection."""
    with _open(url, headers, declared=1000, first=b"[", timeout=5):
        time.sleep(0.3)  # the server is reading the body when the connection goes


@contextmanager
def uvicorn_errors() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.ERROR)
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
