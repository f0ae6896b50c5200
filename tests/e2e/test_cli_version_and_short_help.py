"""`crisisbot --version` / `-V`, and `-h` as well as `--help` on every command."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from bot.cli import app


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_installed_version_and_exits_0(flag):
    result = CliRunner().invoke(app, [flag])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"crisisbot {version('crisisbot')}"


@pytest.mark.parametrize("args", [[], ["sentiment"], ["sentiment", "eval"], ["sentiment", "train"], ["report"],
                                  ["ingest"], ["config", "check"], ["console"]])
def test_dash_h_is_help_everywhere(args):
    result = CliRunner().invoke(app, [*args, "-h"])
    assert result.exit_code == 0, result.output
    assert "Usage: crisisbot" in result.output
