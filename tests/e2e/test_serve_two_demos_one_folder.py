"""Two demos in one folder (`crisisbot serve --demo --port 8080`, then `--port 8081`, or `make run` twice
with different ports): both used var/demo.db and the second one's rebuild deleted the first one's data. The
second now refuses to start (exit 2, Chinese first with English, naming the running demo's port and pid)
before it touches var/demo.db; once the first has stopped, a demo starts there again. Real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.serve_process import free_port, stop, wait_until_listening

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]



def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET",
                 "CRISISBOT_DATABASE_URL", "DATABASE_URL", "CRISISBOT_CONFIG", "CRISISBOT_INGEST_TOKEN",
                 "HTTP_PROXY", "http_proxy"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def start_demo(tmp_path: Path, port: int) -> subprocess.Popen:
    log_path = tmp_path / f"demo-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--demo", "--port", str(port)],
                                   cwd=tmp_path, env=environment(), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    wait_until_listening(process, f"http://127.0.0.1:{port}", log_path, timeout=120)
    return process



def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", "serve", *args], cwd=tmp_path, env=environment(),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_a_second_demo_in_the_same_folder_refuses_and_leaves_the_first_ones_database(tmp_path):
    first_port, second_port = free_port(), free_port()
    first = start_demo(tmp_path, first_port)
    try:
        demo_db = tmp_path / "var" / "demo.db"
        before = demo_db.stat().st_ino
        # the replay check first: without the lock it ends by itself (a second server would serve on)
        for args in (("--demo", "--exit-after-replay"), ("--demo", "--port", str(second_port))):
            second = serve(tmp_path, *args)
            assert second.returncode == 2, second.stdout + second.stderr
            message = second.stderr
            assert "本目录已有一个演示在运行" in message and "another demo is running in this folder" in message
            assert message.index("本目录已有一个演示在运行") < message.index("another demo is running")
            assert f"port {first_port}, pid {first.pid}" in message, message
            assert "演示数据库 / demo database" not in second.stdout  # it never got to the rebuild
            assert demo_db.stat().st_ino == before  # the running demo's file, not a rebuilt one
        assert httpx.get(f"http://127.0.0.1:{first_port}/healthz", timeout=10).status_code == 200
    finally:
        stop(first)
    # the lock went with the first demo: a demo starts in this folder again
    again = start_demo(tmp_path, second_port)
    stop(again)
