"""click's (typer's) own usage errors, and the `-h/--help` line of every help screen, read Chinese first
with the English kept under it ("Invalid value for '--limit': ...", "No such option", "Missing argument",
"Try '... -h' for help.", "Show this message and exit." were English only). Usage errors still exit 2.
Run in a real process too, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("args", "chinese", "english"), [
    (["ingest", "--limit", "abc"], "'--limit' 的值无效：'abc' 不是整数", "Invalid value for '--limit'"),
    (["ingest", "--limit", "0"], "'--limit' 的值无效：应不小于 1", "Invalid value for '--limit'"),
    (["serve", "--port", "99999"], "'--port' 的值无效：应不大于 65535", "Invalid value for '--port'"),
    (["serve", "--speed", "fast"], "'--speed' 的值无效：'fast' 不是数字", "Invalid value for '--speed'"),
    (["ingest", "--bogus"], "没有这个选项：--bogus", "No such option: --bogus"),
    (["--bogus"], "没有这个选项：--bogus", "No such option: --bogus"),
    (["sentiment", "--bogus"], "没有这个选项：--bogus", "No such option: --bogus"),
    (["report"], "缺少选项 '--channel'", "Missing option '--channel'."),
    (["poll"], "缺少参数 'SOURCE_ID'", "Missing argument 'SOURCE_ID'."),
    (["nosuch"], "没有这个命令：'nosuch'", "No such command 'nosuch'."),
    (["config", "check", "extra"], "多余的参数：extra", "Got unexpected extra argument(s) (extra)"),
    (["ingest", "--dead-letters", "--limit"], "选项 '--limit' 需要一个值", "Option '--limit' requires an argument."),
    (["serve", "--demo=yes"], "选项 '--demo' 不接受值", "Option '--demo' does not take a value."),
])
def test_a_usage_error_reads_chinese_first_with_the_english_kept(args, chinese, english):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert chinese in result.output and english in result.output, result.output
    assert result.output.index(chinese) < result.output.index(english)
    assert "错误 / Error" in result.output and "Traceback" not in result.output


def test_the_help_hint_under_the_usage_line_reads_chinese_first():
    result = CliRunner().invoke(app, ["ingest", "--bogus"])
    assert "运行 'crisisbot ingest -h' 查看帮助 / Try 'crisisbot ingest -h' for help." in result.output


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["ingest", "-h"], ["config", "check", "--help"],
                                  ["sentiment"], ["playbooks", "-h"]])
def test_every_help_screen_describes_its_help_option_chinese_first(args):
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert "显示帮助并退出 / Show this message and exit." in result.output, result.output


def test_in_a_real_process_too():
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", "--limit", "abc"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    chinese, english = "'--limit' 的值无效：'abc' 不是整数", "Invalid value for '--limit'"
    assert chinese in result.stderr and english in result.stderr, result.stderr
    assert result.stderr.index(chinese) < result.stderr.index(english)
