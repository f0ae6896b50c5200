"""A command's own BadParameter (no validation error typer knows behind it) read "值无效：值无效 / Invalid value:
...": the Chinese words were given twice, once as the frame and once as the unknown reason."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from bot.cli import _Group


def _app_raising(error: typer.BadParameter) -> typer.Typer:
    # a command of the real command group (bot.cli._Group, whose translation is tested), raising as a
    # feature command may: the project's own commands now word their errors themselves
    app = typer.Typer(cls=_Group, add_completion=False)

    @app.command()
    def run(value: str = typer.Option("x", "--value")) -> None:
        raise error

    @app.command()
    def other() -> None:  # a second command keeps `run` a subcommand, as in crisisbot
        pass

    return app


def test_an_unexplained_invalid_value_says_so_once():
    result = CliRunner().invoke(_app_raising(typer.BadParameter("usage: tool run --value V")), ["run"])
    assert result.exit_code == 2, result.output
    assert "值无效：值无效" not in result.output
    assert "值无效" in result.output and "Invalid value: usage: tool run --value V" in result.output
    assert result.output.index("值无效") < result.output.index("Invalid value")


def test_one_naming_its_option_says_so_once_too():
    result = CliRunner().invoke(_app_raising(typer.BadParameter("bad", param_hint="'--value'")), ["run"])
    assert result.exit_code == 2, result.output
    assert "'--value' 的值无效" in result.output and "的值无效：值无效" not in result.output
