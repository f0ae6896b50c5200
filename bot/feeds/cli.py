"""`crisisbot sources` and `crisisbot poll SOURCE_ID` (mounted at the top level by bot/cli.py).

Keep imports here light: the bot is wired inside the commands.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="评论数据源 / comment sources (platform pollers)")


def _service(*, scoring: bool = False):
    """The configured FeedsService on the configured database (migrations applied). `scoring`: the command
    scores what it fetches, so a missing or non-model `sentiment.model_path` is refused first, as serve,
    ingest and the console refuse it (exit 2, before the database is opened)."""
    from bot.cli import _load
    from bot.clock import SystemClock
    from bot.config import database_url
    from bot.feeds.pollers.service import FeedsService
    from bot.storage.db import Database

    settings, config, _path = _load(quiet=True, new_db_note=True, scoring=scoring)
    db = Database(database_url(settings, config))
    db.upgrade()
    from bot.app import build_app

    bot_app = build_app(settings, config, clock=SystemClock(), db=db, upgrade=False)
    service: FeedsService = bot_app.services.sources
    return bot_app, service


@app.command("sources")
def sources(
    as_json: Annotated[bool, typer.Option("--json", help="机器可读输出 / machine-readable output")] = False,
) -> None:
    """列出数据源：上次轮询、延迟、计数、健康状态 / list sources with last poll, lag, counts and health."""
    from bot.feeds.pollers.commands import status_line

    bot_app, service = _service()
    try:
        rows = service.status()
        if as_json:
            payload = []
            for row in rows:
                item = dict(row.__dict__)
                for key, value in item.items():
                    if hasattr(value, "isoformat"):
                        item[key] = value.isoformat()
                payload.append(item)
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        if not rows:
            typer.echo("未配置数据源 / no sources configured (feeds.sources in config/crisisbot.yaml)")
            return
        zone = bot_app.services.config.zone()
        for row in rows:
            typer.echo(status_line(row, zone))
    finally:
        bot_app.close()


@app.command("poll")
def poll(
    source_id: Annotated[str, typer.Argument(metavar="SOURCE_ID", help="数据源 id / source id")],
) -> None:
    """立即轮询一次数据源（忽略退避与停用；另一进程正在轮询时跳过，退出码 3）/ poll one source once now
    (ignores backoff and `enabled`; exit 3 without polling when another process is polling it)."""
    bot_app, service = _service(scoring=True)
    try:
        try:
            service.config.source(source_id)
        except KeyError:
            known = ", ".join(s.id for s in service.config.sources) or "-"
            typer.echo(f"未知数据源 / unknown source: {source_id}（已配置 / configured: {known}）", err=True)
            raise typer.Exit(2) from None
        outbox = bot_app.services.outbox
        waiting = outbox.pending_count()
        outcome = service.poll(source_id, force=True)
        from bot.feeds.pollers.service import SKIPPED_LEASE_LOST, SKIPPED_LEASED

        if outcome.reason_code == SKIPPED_LEASED:
            # `serve` (or another `crisisbot poll`) is polling this source right now: polling it beside that
            # process would fetch the same pages twice and race its saved position, so nothing was done
            until = outcome.lease_until.astimezone(bot_app.services.config.zone()).strftime("%H:%M:%S")
            typer.echo(
                f"{source_id}: 未轮询：另一个进程（{outcome.leased_by}）正在轮询此数据源（租约至 {until}），"
                f"它完成后再试 / not polled: another process ({outcome.leased_by}) is polling this source "
                f"(lease until {until}); try again when it is done",
                err=True,
            )
            raise typer.Exit(3)
        if outcome.reason_code == SKIPPED_LEASE_LOST:
            typer.echo(f"{source_id}: {outcome.reason}", err=True)
            raise typer.Exit(3)
        # Notices this poll queued (a platform-rule announcement, a risk notice) stay queued for `serve`,
        # as `crisisbot ingest` leaves them: delivering here would hand console messages to this
        # process's console port, which shows nothing, and mark them sent unseen, together with whatever
        # earlier commands had queued.
        queued = outbox.pending_count() - waiting
        line = (
            f"{outcome.source_id}: {outcome.status} | 读取 read {outcome.fetched} | 新增 new {outcome.accepted} | "
            f"重复 dup {outcome.duplicates} | 拒收 rejected {outcome.rejected}"
        )
        if outcome.reason:
            line += f" | {outcome.reason}"
        from bot.feeds.pollers.commands import target_errors_text

        errors = next((row.target_errors for row in service.status() if row.source_id == source_id), {})
        if errors:  # the source polled fine, but these videos/posts did not: say which and why
            line += f" | {target_errors_text(errors)}"
        typer.echo(line)
        if queued > 0:
            typer.echo(f"{queued} 条通知已放入发送队列，serve 运行时发送 / {queued} notice(s) queued: serve delivers them")
        if outcome.status == "failed":
            raise typer.Exit(1)
    finally:
        bot_app.close()
