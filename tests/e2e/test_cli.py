"""The `crisisbot` command as a user runs it: real processes, from a folder with no config."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CRISISBOT = [sys.executable, "-m", "bot.cli"]


def run(args, cwd, env=None, timeout=300):
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET"):
        full_env.pop(name, None)
    return subprocess.run(CRISISBOT + args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def test_help_everywhere(tmp_path):
    for args in (["--help"], ["serve", "--help"], ["ingest", "--help"], ["config", "check", "--help"], ["db", "upgrade", "--help"], ["purge", "--help"]):
        result = run(args, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_bad_config_exits_2_with_every_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts:\n  - {platform: tiktok, account_id: a}\nport: -1\n", encoding="utf-8")
    result = run(["config", "check"], tmp_path, env={"CRISISBOT_CONFIG": str(bad)})
    assert result.returncode == 2
    assert f"{bad}: accounts[0].platform: 'tiktok' 不是可选值之一 / is not one of" in result.stderr
    assert f"{bad}: port:" in result.stderr


def test_ingest_files_in_three_encodings_and_list_dead_letters(tmp_path):
    rows = [
        {"platform": "douyin", "account_id": "a1", "content_id": "v", "comment_id": f"c{i}", "text": f"第{i}条评论",
         "created_at": "2026-11-22T20:00:00+08:00"}
        for i in range(5)
    ]
    (tmp_path / "utf8.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")
    header = "platform,account_id,content_id,comment_id,text,created_at\n"
    (tmp_path / "bom.csv").write_bytes(("\ufeff" + header + "weibo,a2,p,w1,转发抽奖,2026-11-22T20:00:00+08:00\n").encode("utf-8"))
    (tmp_path / "gbk.csv").write_bytes((header + "weibo,a2,p,w2,质量太差了,1763813700\nweibo,a2,p,w3,,bad-time\n").encode("gb18030"))
    result = run(["ingest", "utf8.jsonl", "bom.csv", "gbk.csv"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "新增 accepted 5" in result.stdout and "拒收 rejected 1" in result.stdout  # the command's output
    assert "gb18030" in result.stdout
    assert "utf8.jsonl:6" in result.stdout and "gbk.csv:3" in result.stdout
    letters = run(["ingest", "--dead-letters"], tmp_path)
    assert letters.returncode == 0 and "bad-time" in letters.stdout


def test_purge_author_prints_counts_per_kind_and_refuses_a_bad_author(tmp_path):
    rows = [{"platform": "douyin", "account_id": "a1", "content_id": "v", "comment_id": f"c{i}", "text": f"第{i}条评论",
             "created_at": "2026-11-22T20:00:00+08:00", "author_id": f"u{i % 2}", "author_name": f"用户{i % 2}"}
            for i in range(4)]
    (tmp_path / "feed.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    assert run(["ingest", "feed.jsonl"], tmp_path).returncode == 0
    result = run(["purge", "--author", "douyin:u1"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "已删除 / removed:" in result.stdout and "评论 comments 2," in result.stdout
    assert "情感更正样本 sentiment corrections 0" in result.stdout
    assert run(["purge", "--author", "u1"], tmp_path).returncode == 2
    expired = run(["purge", "--expired"], tmp_path)
    assert expired.returncode == 0, expired.stderr
    # counts in words, as --author prints them (it printed a Python dict)
    assert "已清理 / purged: 原始数据 raw payloads 0, 作者信息 author identifiers 0," in expired.stdout
    assert "{" not in expired.stdout


def test_serve_on_a_port_in_use_says_so_and_exits_2(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["serve", "--port", str(port)], tmp_path, timeout=120,
                     env={"CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"无法监听 127.0.0.1:{port}" in result.stderr
    # it must not claim to be listening first
    assert "已启动" not in result.stdout


def test_serve_on_port_0_prints_the_port_it_listens_on(tmp_path):
    import re
    import time

    import httpx

    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(CRISISBOT + ["serve", "--port", "0"], cwd=tmp_path, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on http://127\.0\.0\.1:(\d+)", log_path.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)  # waiting for the process to print, not for time to pass
        port = int(found.group(1))
        assert port != 0
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(20)


def test_help_lists_the_commands_a_new_user_needs_first():
    import re

    from typer.testing import CliRunner

    from bot.cli import app

    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    listed = re.findall(r"^│ ([a-z]+) ", result.stdout, flags=re.M)
    assert listed[:4] == ["serve", "console", "ingest", "report"], listed
    assert set(listed) >= {"sources", "poll", "backtest", "sentiment", "playbooks", "purge", "config", "db"}


# A forced demo on a machine whose config maps the sample's account to a Slack channel: the demo keeps Slack
# off, so that channel's alerts used to wait in the throwaway database for a platform that never came, shown
# nowhere (and `--exit-after-replay` failed: no alert in the console).
DEMO_SLACK_CONFIG = """\
clients:
  - {id: lanji, name: 澜肌}
accounts:
  - {platform: douyin, account_id: lanji_official, name: 澜肌官方旗舰店, client: lanji}
channels:
  - {id: slack:C0123, client: lanji}
default_channel: feishu:oc_general
"""


@pytest.mark.slow
def test_readme_first_command_replays_the_sample_feed_beside_a_real_setup(tmp_path):
    """`crisisbot serve --demo --exit-after-replay` is what `make run` exercises, end to end; one replay (the
    slowest thing in the suite) on a machine that is set up: a configured database and Slack-mapped channels."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "crisisbot.yaml").write_text(DEMO_SLACK_CONFIG, encoding="utf-8")
    configured = tmp_path / "team.db"
    result = run(["serve", "--demo", "--exit-after-replay", "--port", "0"], tmp_path, timeout=600,
                 env={"CRISISBOT_DATABASE_URL": f"sqlite:///{configured}"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "回放完成 / replay done" in result.stdout and "示例危机已告警 / sample crisis alerted" in result.stdout
    # the demo replays into its own var/demo.db, never into the configured database
    assert (tmp_path / "var" / "demo.db").exists()
    if configured.exists():
        import sqlite3

        with sqlite3.connect(configured) as con:
            tables = {name for (name,) in con.execute("select name from sqlite_master where type='table'")}
            assert "comment" not in tables or con.execute("select count(*) from comment").fetchone()[0] == 0
    # the Slack-mapped channel's messages show in a console channel named after it
    assert "slack:C0123 → slack-C0123" in result.stdout and "feishu:oc_general → feishu-oc_general" in result.stdout
    assert "\n#slack-C0123\n== " in result.stdout  # the sample crisis, in this terminal
