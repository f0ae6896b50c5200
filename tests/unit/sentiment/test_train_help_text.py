"""`crisisbot sentiment train --help` says in user terms how to get the training extras, Chinese first,
and shows no internal source path."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from bot.sentiment.cli import app


def _help() -> str:
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return re.sub(r"\s+", " ", result.output)


def test_train_help_names_the_install_command_chinese_first():
    text = _help()
    assert "需要训练依赖 scikit-learn 与 scipy（make install 已安装）" in text
    assert text.index("需要训练依赖") < text.index("needs the training dependencies")


def test_train_help_shows_no_internal_path():
    text = _help()
    assert "bot/sentiment/" not in text
    assert ".py" not in text
    assert "`train` extra" not in text


def test_make_install_really_installs_the_training_extras():
    # the help says `make install` includes them: the Makefile installs '.[dev]', which must hold the train pins
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    assert "-e '.[dev]'" in (root / "Makefile").read_text(encoding="utf-8")
    extras = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert set(extras["train"]) <= set(extras["dev"])
