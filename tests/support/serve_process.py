"""Waiting for a `crisisbot serve` subprocess to listen (the tests that drive the real process)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx


def wait_until_listening(process: subprocess.Popen, base: str, log_path: Path, *, timeout: float = 60) -> None:
    """Until GET /healthz answers 200; fails with the process's log if it exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:  # waiting for a process to start listening, not for time to pass
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.1)


def free_port() -> int:
    """A port nothing listens on now (the process is told to use it; a race with another binder is rare)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (serve's graceful stop), then a kill if it has not ended within 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
