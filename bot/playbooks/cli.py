"""`crisisbot playbooks ...`: check playbook files. Keep imports light; heavy parts load inside commands."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="预案 / crisis playbooks")


@app.callback()
def _group() -> None:
    """预案工具 / playbook tools."""


def configured_dir() -> Path:
    """`playbooks.directory` of the app config (CRISISBOT_CONFIG or ./config/crisisbot.yaml), else the
    repository's config/playbooks. A broken app config does not stop playbook validation."""
    from bot.playbooks.wiring import playbook_dir

    try:
        from bot.config import load_all

        _settings, config, _path = load_all()
    except Exception:  # noqa: BLE001 - `crisisbot config check` reports config problems
        return playbook_dir(None)
    return playbook_dir(config.playbooks.directory)


@app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(None, help="预案文件或目录（默认：配置的预案目录）/ files or folders"),
) -> None:
    """校验预案文件；全部有效退出码 0，否则 2 / validate playbooks: exit 0 when all valid, 2 otherwise."""
    from bot.playbooks.validate import load_playbooks

    result = load_playbooks(paths or [configured_dir()])
    for problem in result.problems:
        typer.echo(str(problem), err=True)
    for playbook in result.playbooks:
        typer.echo(
            f"OK  {playbook.source}: {playbook.id} {playbook.name} / {playbook.title_en} ({len(playbook.steps)} 步 steps)"
        )
    if result.problems:
        typer.echo(f"{len(result.problems)} 个问题 / problems found", err=True)
        raise typer.Exit(2)
