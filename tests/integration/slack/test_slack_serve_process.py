"""`crisisbot serve` as an operator runs it, with Slack turned on by the documented environment variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.slack_api import VALID_BOT_TOKEN, SlackSender
from tests.support.serve_process import free_port, wait_until_listening

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
SECRET = "serve-process-secret"



def test_serve_with_slack_env_answers_signed_commands_and_refuses_forged_ones(tmp_path, fake_slack):
    (tmp_path / "crisisbot.yaml").write_text(
        "channels:\n  - {id: 'slack:C0SERVE', client: lanji}\nclients:\n  - {id: lanji, name: 澜肌护肤}\n",
        encoding="utf-8",
    )
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_CONFIG": str(tmp_path / "crisisbot.yaml"),
           "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
           "SLACK_BOT_TOKEN": VALID_BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "CRISISBOT_SLACK_API_URL": fake_slack.base_url}
    env.pop("SLACK_APP_TOKEN", None)
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path,
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(server, base, log_path)
        sender = SlackSender(base + "/slack/events", SECRET, fake_slack)
        assert sender.command("/help", channel="C0SERVE").status_code == 200
        (call,) = fake_slack.wait_for("chat.postMessage", timeout=30)
        assert call.args["channel"] == "C0SERVE" and "/help" in json.dumps(call.args, ensure_ascii=False)
        forged = SlackSender(base + "/slack/events", "wrong-secret", fake_slack)
        assert forged.command("/help", channel="C0SERVE").status_code == 401
        assert sender.mention("<@UBOT> /help", channel="C0SERVE").status_code == 200
        fake_slack.wait_for("chat.postMessage", 2, timeout=30)
        sender.close()
        forged.close()
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
