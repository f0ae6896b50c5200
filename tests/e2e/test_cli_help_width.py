"""`--help` at 80 columns: every word of every command's help text shows in full (rich cut Chinese
phrases longer than their column with "…"), and no line is wider than the terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import app

REPO = Path(__file__).resolve().parents[2]
BOX = re.compile(r"[\s│─╭╮╰╯]")


def _cells(line: str) -> int:
    """Terminal columns of a line: East Asian wide and fullwidth characters take two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _commands():
    """(path, click command) for the root and every command and group under it."""
    found = []

    def walk(command, path):
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _first_paragraph(text: str | None) -> str:
    return (text or "").split("\n\n")[0]


def _expected_words(command) -> list[str]:
    """The words of the help a `--help` of this command shows: its own text, its parameters', and the
    first paragraph of each subcommand's."""
    texts = [command.help or ""]
    texts += [getattr(p, "help", None) or "" for p in command.params]
    texts += [_first_paragraph(sub.short_help or sub.help) for sub in getattr(command, "commands", {}).values()]
    return [word for text in texts for word in text.split()]


def _assert_fits_and_complete(output: str, words: list[str], where: str) -> None:
    wide = [line for line in output.splitlines() if _cells(line) > 80]
    assert not wide, f"{where}: lines wider than 80 columns: {wide}"
    assert "…" not in output, f"{where}: text cut with an ellipsis:\n{output}"
    # a word folded over two lines of its column is still whole once the frame and the spacing are gone
    squashed = BOX.sub("", output)
    missing = [word for word in words if BOX.sub("", word) not in squashed]
    assert not missing, f"{where}: words lost or cut: {missing}\n{output}"


COMMANDS = _commands()


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p) or "crisisbot")
def test_every_help_keeps_every_word_at_80_columns(path):
    command = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": None})
    assert result.exit_code == 0, result.output
    _assert_fits_and_complete(result.output, _expected_words(command), f"crisisbot {' '.join(path)} --help")


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p) or "crisisbot")
def test_no_flag_is_shown_as_taking_a_value(path):
    # typer 0.2x wrote a flag's type as if it took one: "--demo <bool>", "--help -h <bool>"
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": None})
    assert "<bool>" not in result.output


def test_help_the_known_cut_phrases_show_whole():
    """The phrases rich cut at 80 columns before (longer than their column, no space to break at)."""
    serve = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": None}).output
    assert "回放结束后退出（检查示例危机是否告警）" in BOX.sub("", serve)
    sentiment = CliRunner().invoke(app, ["sentiment", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": None}).output
    assert "训练默认模型（确定性）/trainthedefaultmodel(deterministic)." in BOX.sub("", sentiment)


def test_help_joins_the_line_breaks_of_the_docstring():
    """A docstring's own line breaks are not kept: `poll`'s row no longer breaks after "once now"."""
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": None})
    assert re.search(r"poll one source once now \(ignores", result.output), result.output


def test_real_process_help_at_80_columns(tmp_path):
    """The installed entry point as a user runs it, in a pipe with COLUMNS=80."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80"}
    env.pop("TERMINAL_WIDTH", None)
    for path in ([], ["serve"], ["sentiment"]):
        result = subprocess.run([sys.executable, "-m", "bot.cli", *path, "--help"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        command = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
        _assert_fits_and_complete(result.stdout, _expected_words(command), f"crisisbot {' '.join(path)} --help")
