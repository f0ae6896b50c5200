"""Send a chunked HTTP request over a raw loopback socket and see whether the server answers before
the body ends: how a test shows an endpoint stops reading at its size limit instead of buffering the
whole body first (an HTTP client library would insist on sending everything before reading)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def answer_before_body_ends(url: str, *, send_bytes: int, chunk: int = 64 * 1024, timeout: float = 5.0) -> int | None:
    """POST `send_bytes` zeros to `url` as chunks, never sending the final chunk, then wait up to
    `timeout` for an answer. Returns its status code, or None when the server kept waiting for more."""
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "localhost"), "loopback only"
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        head = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n")
        sock.sendall(head.encode())
        data = b"0" * chunk
        sent = 0
        try:
            while sent < send_bytes:
                sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")
                sent += len(data)
        except OSError:
            pass  # the server answered and closed while we were still sending: read its answer
        try:
            answer = sock.recv(4096)
        except TimeoutError:
            return None
        if not answer.startswith(b"HTTP/1.1 "):
            return None
        return int(answer.split(b" ", 2)[1])
