"""`crisisbot ingest PATH...`: file import with a progress bar, bulk batches and a summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlmodel import select

from bot.config import AppConfig, Settings
from bot.feeds.files import FileFormatError, read_items
from bot.feeds.ingest import IngestReport, RecordResult
from bot.storage.models import DeadLetter

BATCH = 1000
SHOW_REJECTED = 20


def import_files(settings: Settings, config: AppConfig, paths: list[Path], *, console: Console | None = None) -> int:
    """Import every file; exit status 0 when all files were read (rejected records do not fail it)."""
    from bot.app import build_app

    console = console or Console(stderr=True)
    bot = build_app(settings, config)
    ingest = bot.services.ingest
    status = 0
    total = IngestReport()
    try:
        for path in paths:
            try:
                items, encoding = read_items(path)
            except FileFormatError as exc:
                console.print(f"[red]{path}: 无法读取 / cannot read: {exc}[/red]")
                status = 1
                continue
            console.print(f"{path}: {len(items)} 行 / rows ({encoding})")
            report = IngestReport()
            with Progress(
                TextColumn("[bold]导入 importing[/bold] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task(path.name, total=len(items))
                for start in range(0, len(items), BATCH):
                    chunk = items[start : start + BATCH]
                    records = [i.record for i in chunk if i.record is not None]
                    positions = [i.position for i in chunk]
                    rejections = [(n, i.raw, i.error or "unreadable") for n, i in enumerate(chunk) if i.record is None]
                    part = ingest.ingest_records(records, source="file", positions=positions, rejections=rejections)
                    report.merge(part)
                    progress.advance(task, len(chunk))
            _summary(console, path, report)
            total.merge(report)
        if len(paths) > 1:
            console.print(
                f"合计 / total: 新增 accepted {total.accepted}, 重复更新 duplicates {total.duplicates}, "
                f"拒收 rejected {total.rejected}"
            )
    finally:
        bot.close()
    return status


def _summary(console: Console, path: Path, report: IngestReport) -> None:
    console.print(
        f"[green]{path}[/green]: 新增 accepted {report.accepted}, 重复更新 duplicates {report.duplicates}, "
        f"拒收 rejected {report.rejected}"
    )
    rejected: list[RecordResult] = [r for r in report.results if r.status == "rejected"]
    for r in rejected[:SHOW_REJECTED]:
        console.print(f"  [yellow]{r.position}[/yellow]: {r.reason}")
    if len(rejected) > SHOW_REJECTED:
        console.print(f"  …另有 {len(rejected) - SHOW_REJECTED} 条，见 `crisisbot ingest --dead-letters` / more in --dead-letters")


def show_dead_letters(settings: Settings, config: AppConfig, *, limit: int = 50) -> int:
    from bot.config import database_url
    from bot.storage.db import Database

    db = Database(database_url(settings, config))
    db.upgrade()
    with db.session() as session:
        rows = session.exec(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)).all()
    table = Table(title="拒收记录 / dead letters")
    for column in ("id", "来源 source", "位置 position", "原因 reason", "时间 received (UTC)", "原文 raw"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.id), row.source, row.position or "", row.reason, row.received_at.isoformat(timespec="seconds"), row.raw[:120])
    Console().print(table)
    return 0
