"""`crisisbot serve` stopped with SIGTERM (a deploy, `docker stop`, systemd) or SIGINT closes the bot and exits 0.

uvicorn stops gracefully on the signal and then raises it again with the handler it found: Python's default,
which killed the process on the spot (exit 143) before `bot.close()` ran, so the scheduler, the workers and the
feed leases were never closed (the next serve skipped each source for two minutes, "being polled by" the dead
process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.serve_process import free_port, stop, wait_until_listening

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_closes_and_exits_0_on_a_stop_signal(tmp_path, sig):
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
           "CRISISBOT_LOG_LEVEL": "INFO", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET",
                 "CRISISBOT_CONFIG", "CRISISBOT_INGEST_TOKEN"):
        env.pop(name, None)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path,
                                  env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until_listening(server, f"http://127.0.0.1:{port}", log_path, timeout=120)
        server.send_signal(sig)
        code = server.wait(60)
    finally:
        stop(server)
    text = log_path.read_text(encoding="utf-8")
    assert code == 0, text
    assert f"{sig.name} received; stopping" in text and text.rstrip().endswith("crisisbot 已停止 / stopped"), text
    assert "Traceback" not in text
