"""`crisisbot serve` on a machine where something real is set up runs on real data, never the demo; and a
console fed from a pipe runs its commands and keeps serving.

The demo (replay clock in November, throwaway var/demo.db) started whenever no chat platform and no
database was configured: with the comment webhook on, a comment written now was refused as "7 days in the
future", an older one was stored in demo.db and lost at the next start, and what `crisisbot ingest` had put
in var/crisisbot.db was never seen by serve.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.serve_process import free_port, stop, wait_until_listening

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
TOKEN = "real-setup-token"



def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **extra}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET",
                 "CRISISBOT_DATABASE_URL", "DATABASE_URL", "CRISISBOT_CONFIG", "HTTP_PROXY", "http_proxy"):
        if name not in extra:
            env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def start_serve(tmp_path: Path, env: dict[str, str], *args: str, stdin=None) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), *args],
                                   cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=stdin if stdin is not None else subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_until_listening(process, base, log_path, timeout=120)
    return process, base, log_path



def comments_in(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("SELECT comment_id FROM comment ORDER BY comment_id")]
    finally:
        connection.close()


def test_with_the_comment_webhook_on_serve_keeps_what_arrives_instead_of_playing_the_demo(tmp_path):
    process, base, log_path = start_serve(tmp_path, environment(CRISISBOT_INGEST_TOKEN=TOKEN))
    try:
        now = datetime.now(UTC).isoformat()
        record = {"platform": "douyin", "account_id": "a1", "content_id": "v1", "comment_id": "live-1",
                  "text": "刚下单就降价了，太坑了", "created_at": now}
        response = httpx.post(base + "/api/v1/comments", json=[record], timeout=10,
                              headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.text
        assert json.dumps(response.json()).count("accepted") >= 1, response.text  # not "7 days in the future"
    finally:
        stop(process)
    log = log_path.read_text()
    assert "CRISISBOT_INGEST_TOKEN" in log and "演示模式" not in log, log
    assert not (tmp_path / "var" / "demo.db").exists()
    assert comments_in(tmp_path / "var" / "crisisbot.db") == ["live-1"]  # still there for the next start


def test_comments_imported_first_are_what_serve_runs_on(tmp_path):
    record = {"platform": "douyin", "account_id": "a1", "content_id": "v1", "comment_id": "imported-1",
              "text": "质量不错", "created_at": datetime.now(UTC).isoformat()}
    (tmp_path / "export.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    imported = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", "export.jsonl"], cwd=tmp_path,
                              env=environment(), capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
    process, _, log_path = start_serve(tmp_path, environment())
    stop(process)
    log = log_path.read_text()
    assert "默认数据库中已有导入的评论" in log and "演示模式" not in log, log
    assert not (tmp_path / "var" / "demo.db").exists()


def test_the_database_named_by_database_url_alone_is_what_serve_runs_on(tmp_path):
    """The plain DATABASE_URL (read when neither CRISISBOT_DATABASE_URL nor the config's database_url is set,
    as every command reads it) counted as nothing set up: serve played the demo on var/demo.db instead."""
    named = tmp_path / "named.db"
    process, _, log_path = start_serve(tmp_path, environment(DATABASE_URL=f"sqlite:///{named}"))
    stop(process)
    log = log_path.read_text()
    assert "已配置数据库（DATABASE_URL）" in log and "演示模式" not in log, log
    assert not (tmp_path / "var" / "demo.db").exists()
    connection = sqlite3.connect(named)
    try:  # migrated by serve: the database it ran on
        assert connection.execute("SELECT count(*) FROM comment").fetchone() == (0,)
    finally:
        connection.close()


def test_a_fresh_folder_still_gets_the_demo(tmp_path):
    process, _, log_path = start_serve(tmp_path, environment(), "--speed", "1")
    stop(process)
    assert "演示模式" in log_path.read_text()


def test_a_console_fed_from_a_pipe_runs_its_commands_and_keeps_serving(tmp_path):
    commands = tmp_path / "commands.txt"
    commands.write_text("/help\n#lanji\n/reply-queue\n", encoding="utf-8")
    with open(commands, encoding="utf-8") as stdin:
        process, base, log_path = start_serve(tmp_path, environment(CRISISBOT_INGEST_TOKEN=TOKEN), "--console",
                                              stdin=stdin)
    try:
        deadline = datetime.now(UTC).timestamp() + 60
        while "回复队列 / Reply queue" not in log_path.read_text():  # waiting for the answers to be printed
            assert datetime.now(UTC).timestamp() < deadline, log_path.read_text()
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.1)
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200  # input ended; still serving
        assert process.poll() is None
    finally:
        stop(process)
    log = log_path.read_text()
    assert "crisisbot 命令 / Commands" in log, log


def test_a_forced_demo_never_reaches_the_real_slack_channels_or_the_webhook(tmp_path):
    """`serve --demo` on a machine with Slack set up posted the sample crisis's alerts to the client's real
    Slack channel (the sample names the configured accounts), and the webhook judged real comments on the
    replay clock. The demo now stays in the console."""
    from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack

    (tmp_path / "crisisbot.yaml").write_text(
        "clients:\n  - {id: lanji, name: 澜肌护肤}\naccounts:\n"
        "  - {platform: douyin, account_id: lanji_official, client: lanji}\n"
        "channels:\n  - {id: 'slack:C0REAL', client: lanji}\n", encoding="utf-8")
    with FakeSlack() as fake:
        env = environment(SLACK_BOT_TOKEN=VALID_BOT_TOKEN, SLACK_SIGNING_SECRET="demo-secret",
                          CRISISBOT_SLACK_API_URL=fake.base_url, CRISISBOT_INGEST_TOKEN=TOKEN,
                          CRISISBOT_CONFIG=str(tmp_path / "crisisbot.yaml"))
        # the default speed: at 100000x every bucket is judged as history and every comment arrives past its
        # reply deadline, so nothing is posted at all
        process, base, log_path = start_serve(tmp_path, env, "--demo", "--speed", "600")
        try:
            deadline = time.monotonic() + 90
            # the sample's history loaded (its reports and notices summed up in one line, not shown)
            while "已载入示例历史" not in log_path.read_text():
                assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.5)
            # the sample's messages for lanji went to the console channel named after the Slack channel
            # (they used to wait in the throwaway database for a Slack the demo keeps off)
            connection = sqlite3.connect(tmp_path / "var" / "demo.db")
            try:
                channels = dict(connection.execute(
                    "SELECT channel, count(*) FROM outbox_message WHERE status = 'sent' GROUP BY channel").fetchall())
            finally:
                connection.close()
            assert channels.get("console:slack-C0REAL", 0) > 0 and not any(c.startswith("slack:") for c in channels)
            answer = httpx.post(base + "/api/v1/comments", json=[], timeout=10,
                                headers={"Authorization": f"Bearer {TOKEN}"})
        finally:
            stop(process)
        assert fake.calls("chat.postMessage") == [] and fake.calls("chat.update") == []
    assert answer.status_code != 200  # the webhook is off during the demo
    assert "不连接 Slack / 飞书" in log_path.read_text()
    assert "slack:C0REAL → slack-C0REAL" in log_path.read_text()
