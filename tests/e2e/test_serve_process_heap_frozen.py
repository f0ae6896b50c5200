"""`crisisbot serve` freezes its start-up heap (gc.freeze) before it serves its first request: a full garbage
collection over the start-up objects (lark-oapi's modules, the wiring) otherwise held the GIL ~240 ms during
serving, and every acknowledgement in flight waited behind it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.serve_process import free_port, wait_until_listening

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]



def test_serve_freezes_its_startup_heap_before_answering(tmp_path):
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
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(server, base, log_path, timeout=120)
        # the start (the lifespan, whose last hook freezes) is over before the first request is answered
        frozen = [line for line in log_path.read_text().splitlines() if "start-up heap frozen" in line]
        assert len(frozen) == 1, log_path.read_text()
        assert int(frozen[0].split("frozen: ")[1].split()[0]) > 0
        assert httpx.get(base + "/healthz", timeout=10).status_code == 200
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
