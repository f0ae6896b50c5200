"""What a new user hits on the command line: a mistyped SQLite path is said (it gave an empty database and an
all-zero report with exit 0), an import interrupted with Ctrl-C says what was kept, a mistyped command is
answered in Chinese with its suggestion, option values are words in the help (not Python types), one-shot
commands keep INFO logs out of their output, and the import summary is the command's standard output."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, db: str = "bot.db") -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / db}"}
    for name in ("CRISISBOT_CONFIG", "CRISISBOT_LOG_LEVEL", "SLACK_BOT_TOKEN", "FEISHU_APP_ID"):
        env.pop(name, None)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_sqlite_file_that_does_not_exist_is_said_before_a_report_of_nothing(tmp_path):
    done = _run(["report", "--channel", "console:general"], _env(tmp_path, "typo.db"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"注意：数据库文件 {tmp_path / 'typo.db'} 不存在，将新建一个空数据库（路径写对了吗？）" in done.stderr
    again = _run(["report", "--channel", "console:general"], _env(tmp_path, "typo.db"), tmp_path)
    assert "不存在" not in again.stderr  # it exists now


def test_one_shot_commands_keep_info_logs_out_and_the_import_summary_goes_to_stdout(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"platform": "douyin", "account_id": "a", "content_id": "v", "comment_id": "c1",
                                "text": "质量太差了", "created_at": "2026-11-22T20:00:00+08:00"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    env = _env(tmp_path)
    imported = _run(["ingest", str(feed)], env, tmp_path)
    assert "新增 accepted 1" in imported.stdout
    purged = _run(["purge", "--expired"], env, tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert " INFO " not in purged.stderr and " INFO " not in imported.stderr
    # asked for: the INFO lines are back
    loud = _run(["purge", "--expired"], {**env, "CRISISBOT_LOG_LEVEL": "INFO"}, tmp_path)
    assert " INFO " in loud.stderr


def test_an_interrupted_import_says_what_was_kept(tmp_path):
    feed = tmp_path / "big.jsonl"
    with feed.open("w", encoding="utf-8") as out:
        for i in range(40_000):
            out.write(json.dumps({"platform": "douyin", "account_id": "a", "content_id": "v", "comment_id": f"c{i}",
                                  "text": f"第{i}条评论", "created_at": "2026-11-22T20:00:00+08:00"},
                                 ensure_ascii=False) + "\n")
    db = tmp_path / "bot.db"
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "ingest", str(feed)], cwd=tmp_path,
                               env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while True:  # waiting for the first batches to be stored, not for time to pass
        assert time.monotonic() < deadline and process.poll() is None
        try:
            with sqlite3.connect(db) as conn:
                if conn.execute("SELECT count(*) FROM comment").fetchone()[0] > 0:
                    break
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    with sqlite3.connect(db) as conn:
        kept = conn.execute("SELECT count(*) FROM comment").fetchone()[0]
    said = re.search(r"已中断：已导入的评论按整批保存（至少 (\d+) 条）", err)
    assert said and int(said.group(1)) <= kept and kept % 1000 == 0, err
    assert "Traceback" not in err


def test_a_mistyped_command_is_answered_in_chinese_with_the_suggestion():
    result = CliRunner().invoke(app, ["reprot"])
    assert result.exit_code == 2
    assert "没有这个命令：'reprot'（是否想用 'report'？）" in result.output


def _helps(command, path):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _helps(sub, [*path, name])


def test_no_help_shows_a_python_type():
    import typer.main

    root = typer.main.get_command(app)
    for path, _command in _helps(root, []):
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        for python_type in ("<list[", "<int", "<str>", "<path>", "<float", "<Path>", "{texts}", "{file}"):
            assert python_type not in result.output, (path, python_type, result.output)
