"""`crisisbot ingest PATH...`: file import with a progress bar, bulk batches and a summary.

A file is read and stored a batch at a time (`BATCH` records): its records are never all in memory, nor
their results (the summary keeps the counts and the first rejections it shows), so a large file takes
about as much memory as a small one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from sqlmodel import select

from bot.config import AppConfig, Settings
from bot.feeds.files import FileFormatError, open_items
from bot.feeds.ingest import IngestReport, RecordResult
from bot.storage.models import DeadLetter

BATCH = 1000
SHOW_REJECTED = 20
#: the exit status for input the user has to fix (a missing file, a CSV without the required columns), as
#: the other commands use it; rejected records in a file that was read do not count
BAD_INPUT = 2
#: new comments one run has to store before the database's planner statistics are refreshed (PostgreSQL
#: `ANALYZE comment`: see IngestService.refresh_statistics)
ANALYZE_AFTER = 10_000


@dataclass(slots=True)
class Tally:
    """What the summary shows of a file's (or a run's) results: the counts, and the first SHOW_REJECTED
    rejected and warned-about records; not a result per record (a file of millions held them all)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    warned: int = 0
    first_rejected: list[RecordResult] = field(default_factory=list)
    first_warned: list[RecordResult] = field(default_factory=list)

    def add(self, report: IngestReport | Tally) -> None:
        if isinstance(report, Tally):
            self.accepted += report.accepted
            self.duplicates += report.duplicates
            self.rejected += report.rejected
            self.warned += report.warned
            self._keep(report.first_rejected, report.first_warned)
            return
        for r in report.results:
            if r.status == "accepted":
                self.accepted += 1
            elif r.status == "duplicate":
                self.duplicates += 1
            else:
                self.rejected += 1
            if r.warning and r.status != "rejected":
                self.warned += 1
        self._keep([r for r in report.results if r.status == "rejected"],
                   [r for r in report.results if r.warning and r.status != "rejected"])

    def _keep(self, rejected: list[RecordResult], warned: list[RecordResult]) -> None:
        self.first_rejected.extend(rejected[:SHOW_REJECTED - len(self.first_rejected)])
        self.first_warned.extend(warned[:SHOW_REJECTED - len(self.first_warned)])


def import_files(settings: Settings, config: AppConfig, paths: list[Path], *, console: Console | None = None,
                 batch: int = BATCH, analyze_after: int = ANALYZE_AFTER) -> int:
    """Import every file; exit status 0 when all files were read (rejected records do not fail it), 2 when
    a file could not be read at all (nothing of that file is stored; the other files still are).

    Each file is read twice, a record at a time: once to count its records (the count printed first, the
    progress bar's total) and once to store them, `batch` records a transaction."""
    from bot.app import build_app

    # soft_wrap: in a pipe or a log rich would break lines at 80 columns, mid-phrase ("72 \n小时").
    # The summary is the command's output (standard output: `ingest x.jsonl > result.txt` kept nothing);
    # a file that cannot be read is an error (standard error).
    errors = console or Console(stderr=True, soft_wrap=True)
    console = console or Console(soft_wrap=True)
    bot = None  # built at the first file that has records: a mistyped path creates no database
    status = 0
    total = Tally()
    report = Tally()  # the file being imported, until it is added to the total
    try:
        for path in paths:
            try:
                items = open_items(path)
            except FileFormatError as exc:
                _cannot_read(errors, path, exc)
                status = BAD_INPUT
                continue
            with items:
                count = items.count()
                if not count:
                    console.print(f"{escape(str(path))}: 文件中没有记录 / no records in the file ({items.encoding})")
                    continue
                console.print(f"{escape(str(path))}: {count} 行 / rows ({items.encoding})")
                if bot is None:
                    bot = build_app(settings, config)
                ingest = bot.services.ingest
                replies = bot.services.extra.get("replies")
                history_mark = replies.history_mark() if replies is not None else 0
                with Progress(
                    TextColumn("[bold]导入 importing[/bold] {task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=console,
                    transient=True,
                    disable=not console.is_terminal,  # in a pipe or a log it only left an empty line
                ) as progress:
                    task = progress.add_task(escape(path.name), total=count)
                    stream = iter(items)
                    while chunk := list(islice(stream, batch)):
                        records = [i.record for i in chunk if i.record is not None]
                        positions = [i.position for i in chunk]
                        rejections = [(n, i.raw, i.error or "无法读取 / unreadable") for n, i in enumerate(chunk)
                                      if i.record is None]
                        del chunk
                        part = ingest.ingest_records(records, source="file", positions=positions,
                                                     rejections=rejections)
                        report.add(part)
                        progress.advance(task, len(positions))
            _summary(console, path, report)
            if items.damage is not None and report.rejected > SHOW_REJECTED:
                # a broken JSON array's damage, its last rejection, says what of the file was not read: shown
                # even after the first rejections
                console.print(f"  [yellow]{escape(items.damage.position)}[/yellow]: {escape(items.damage.error or '')}")
            history = replies.history_line(history_mark) if replies is not None else None
            if history:  # comments already old on arrival, kept out of the reply queue (history_after_hours)
                console.print(f"  {escape(history)}")
            total.add(report)
            report = Tally()
        if len(paths) > 1:
            console.print(
                f"合计 / total: 新增 accepted {total.accepted}, 重复更新 duplicates {total.duplicates}, "
                f"拒收 rejected {total.rejected}"
            )
        if status == BAD_INPUT and len(paths) > 1:
            errors.print("[red]有文件未能导入，见上 / some files were not imported: see above[/red]")
        if bot is not None and total.accepted >= analyze_after:
            # a bulk load: the planner's statistics still describe the table before it
            bot.services.ingest.refresh_statistics()
    except KeyboardInterrupt:
        # each batch is stored in its own transaction: what was imported stays, whole batches only
        done = total.accepted + report.accepted
        # "at least": a batch stored the moment before the interrupt may not be counted here yet
        errors.print(f"[yellow]已中断：已导入的评论按整批保存（至少 {done} 条）；重新运行同一命令会继续，已导入的记为"
                     f"重复 / interrupted: what was imported is kept in whole batches (at least {done} "
                     f"comments); run the same command again to continue (those count as duplicates)[/yellow]")
        raise
    finally:
        if bot is not None:
            bot.close()
    return status


def _cannot_read(errors: Console, path: Path, exc: FileFormatError) -> None:
    # paths and reasons quote the user's input: never read as rich markup ("[/x]" would raise)
    errors.print(f"[red]{escape(str(path))}: 无法读取 / cannot read: {escape(str(exc))}[/red]")


def _summary(console: Console, path: Path, report: Tally) -> None:
    console.print(
        f"[green]{escape(str(path))}[/green]: 新增 accepted {report.accepted}, 重复更新 duplicates {report.duplicates}, "
        f"拒收 rejected {report.rejected}"
    )
    for r in report.first_rejected:
        console.print(f"  [yellow]{escape(str(r.position))}[/yellow]: {escape(r.reason or '')}")
    if report.rejected > SHOW_REJECTED:
        console.print(f"  …另有 {report.rejected - SHOW_REJECTED} 条，见 `crisisbot ingest --dead-letters` / more in --dead-letters")
    # stored, but with something left out (an unreadable optional count): the comment is in, the count is not
    if report.warned:
        console.print(f"  已保存但有字段未保存 / stored with a field left out: {report.warned}")
    for r in report.first_warned:
        console.print(f"  [cyan]{escape(str(r.position))}[/cyan]: {escape(r.warning or '')}")
    if report.warned > SHOW_REJECTED:
        console.print(f"  …另有 {report.warned - SHOW_REJECTED} 条 / {report.warned - SHOW_REJECTED} more")


def show_dead_letters(settings: Settings, config: AppConfig, *, limit: int = 50) -> int:
    from bot.config import database_url
    from bot.storage.db import Database

    db = Database(database_url(settings, config))
    db.upgrade()
    with db.session() as session:
        rows = session.exec(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)).all()
    table = Table(title="拒收记录 / dead letters")
    for column in ("id", "来源 source", "位置 position", "原因 reason", "时间 received (UTC)", "次数 times", "原文 raw"):
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text, not str: a str cell is read as rich markup, and the reason and the raw record quote the
        # rejected input ("[/x]" in a comment stopped the listing with a traceback)
        # a record rejected again (the file imported again) is one row: when last, and how many times
        times = str(row.seen_count) if row.seen_count == 1 else (
            f"{row.seen_count}（最近 last {row.last_seen_at.isoformat(timespec='seconds')}）")
        cells = (str(row.id), row.source, row.position or "", row.reason, row.received_at.isoformat(timespec="seconds"),
                 times, row.raw[:120])
        table.add_row(*(Text(cell) for cell in cells))
    Console().print(table)
    return 0
