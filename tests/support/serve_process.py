"""Waiting for a `crisisbot serve` subprocess to listen (the tests that drive the real process)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def start_serve(tmp_path: Path, *, log_level: str = "INFO") -> tuple[subprocess.Popen, str, Path]:
    """`crisisbot serve` on a free port with its own SQLite file and no platform credentials, logs (INFO unless
    `log_level`) into tmp_path/serve.log; returns the process, its base URL and the log's path
    (wait_until_listening next)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
           "CRISISBOT_LOG_LEVEL": log_level, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET",
                 "CRISISBOT_CONFIG", "CRISISBOT_INGEST_TOKEN"):
        env.pop(name, None)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path,
                                   env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}", log_path


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
