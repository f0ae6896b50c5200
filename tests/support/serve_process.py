"""Waiting for a `crisisbot serve` subprocess to listen (the tests that drive the real process)."""

from __future__ import annotations

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
