"""`crisisbot playbooks ...`: check playbook files. Keep imports light; heavy parts load inside commands."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="预案 / crisis playbooks")


@app.callback()
def _group() -> None:
    """预案工具 / playbook tools."""


def configured_dir() -> Path:
    """`playbooks.directory` of the app config (CRISISBOT_CONFIG or ./config/crisisbot.yaml; relative to
    that file's folder), else the repository's config/playbooks. A broken app config does not stop
    playbook validation."""
    from bot.playbooks.wiring import playbook_dir

    try:
        from bot.config import load_all

        _settings, config, path = load_all()
    except Exception:  # noqa: BLE001 - `crisisbot config check` reports config problems
        return playbook_dir(None)
    return playbook_dir(config.playbooks.directory, path)


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


def _file_in_the_way(out: Path) -> Path | None:
    """`out` itself or the nearest existing folder above it, when that is not a folder."""
    for path in (out, *out.parents):
        if path.exists():
            return None if path.is_dir() else path
    return None


@app.command("report")
def report(
    run_id: int = typer.Argument(..., help="预案运行编号 / run id"),
    out: Path = typer.Option(Path("."), "--out", help="输出目录 / output folder"),
) -> None:
    """把复盘报告（Markdown）和负面占比图（PNG）写到文件 / write a run's review and chart to files."""
    from bot.clock import SystemClock
    from bot.config import ConfigError, database_url, load_all
    from bot.outbox import Outbox
    from bot.playbooks.service import PlaybookService, RunNotFound
    from bot.playbooks.validate import PlaybookSet
    from bot.scope import ChannelScope
    from bot.storage.db import Database

    try:
        settings, config, _path = load_all()
    except ConfigError as exc:
        typer.echo("\n".join(exc.problems), err=True)
        raise typer.Exit(2) from None
    # --out is a folder for two files: refuse a file (or a path under one) before touching the database,
    # as `crisisbot report` does, instead of failing after the report was built.
    blocker = _file_in_the_way(out)
    if blocker is not None:
        typer.echo(
            f"错误 / error: --out 应为目录，{str(blocker)!r} 是文件 / --out must be a folder; "
            f"{str(blocker)!r} is a file",
            err=True,
        )
        raise typer.Exit(2)
    db = Database(database_url(settings, config))
    # A database never set up has no crisis_run table yet: migrate first, like `purge` and `sources`.
    db.upgrade()
    clock = SystemClock()
    service = PlaybookService(
        db=db,
        clock=clock,
        outbox=Outbox(db, clock),
        config=config,
        playbooks=PlaybookSet(),
        scope=ChannelScope(config),
    )
    try:
        result = service.build_report(run_id)
    except RunNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. no permission
        typer.echo(
            f"错误 / error: 无法创建目录 / cannot create folder {str(out)!r}: {exc.strerror or exc}", err=True
        )
        raise typer.Exit(2) from None
    markdown_path = out / f"crisis-{run_id}-review.md"
    markdown_path.write_text(result.markdown, encoding="utf-8")
    (out / result.filename).write_bytes(result.png)
    typer.echo(f"{markdown_path}\n{out / result.filename}")
