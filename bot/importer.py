"""`crisisbot ingest PATH...`: file import with a progress bar, bulk batches and a summary.

A file is read and stored a batch at a time (`BATCH` records): its records are never all in memory, nor
their results (the summary keeps the counts and the first rejections it shows), so a large file takes
about as much memory as a small one.

Each batch is one transaction, so a run cut short keeps whole batches and a rerun of the same command
continues (what is stored counts as duplicates). Cut short by Ctrl-C or SIGTERM (a `kill`, a container
stopping), it says how much was stored and hands the last stored batch to the alerts and the reply queue
before it exits (130 / 143): without that, a batch stored the moment before the signal reached the alert
counts only when a `serve` retried its hand-off, 30 s or more later. A database that cannot serve (SQLite
locked past its 30 s busy timeout, PostgreSQL unreachable) ends the run with one clear line, as the webhook
answers 503: nothing of the batch being stored is kept, rerun the same command (exit status 3).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from sqlmodel import select

from bot.adapters.console.terminal import shown
from bot.config import AppConfig, Settings
from bot.feeds.files import FileFormatError, open_items
from bot.feeds.ingest import IngestReport, RecordResult, compact_reason
from bot.feeds.records import REQUIRED, list_wrapper
from bot.storage.db import database_unavailable, failure_line
from bot.storage.models import DeadLetter

BATCH = 1000
SHOW_REJECTED = 20
#: the exit status for input the user has to fix (a missing file, a CSV without the required columns), as
#: the other commands use it; rejected records in a file that was read do not count
BAD_INPUT = 2
#: new comments one run has to store before the database's planner statistics are refreshed (PostgreSQL
#: `ANALYZE comment`: see IngestService.refresh_statistics)
ANALYZE_AFTER = 10_000
#: the exit status when the database cannot serve (locked, unreachable): nothing is wrong with the input
DATABASE_UNAVAILABLE = 3
#: how many left-over hand-offs an interrupted import hands over before it exits (two per batch: alerts and
#: the reply queue; more are a serve's, which its own retry handles)
HANDOFFS_ON_INTERRUPT = 10


class Terminated(KeyboardInterrupt):
    """SIGTERM during an import: handled as Ctrl-C is (whole batches kept, the line saying so), then the
    process exits 143 as a terminated process does."""


@contextmanager
def _sigterm_as_interrupt():
    """While importing, SIGTERM interrupts like Ctrl-C instead of ending the process where it stands
    (silently, with the last batch's hand-off left for a serve to retry). Main thread only (Python's rule)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(_signum, _frame) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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

    def reset(self) -> None:
        self.accepted = self.duplicates = self.rejected = self.warned = 0
        self.first_rejected = []
        self.first_warned = []

    def _keep(self, rejected: list[RecordResult], warned: list[RecordResult]) -> None:
        self.first_rejected.extend(rejected[:SHOW_REJECTED - len(self.first_rejected)])
        self.first_warned.extend(warned[:SHOW_REJECTED - len(self.first_warned)])


def import_files(settings: Settings, config: AppConfig, paths: list[Path], *, console: Console | None = None,
                 batch: int = BATCH, analyze_after: int = ANALYZE_AFTER) -> int:
    """Import every file; exit status 0 when all files were read (rejected records do not fail it), 2 when
    a file could not be read at all (nothing of that file is stored; the other files still are), 3 when the
    database could not serve (DATABASE_UNAVAILABLE: the batches stored before it stay; rerun the command).

    Each file is read twice, a record at a time: once to count its records (the count printed first, the
    progress bar's total) and once to store them, `batch` records a transaction."""
    # soft_wrap: in a pipe or a log rich would break lines at 80 columns, mid-phrase ("72 \n小时").
    # The summary is the command's output (standard output: `ingest x.jsonl > result.txt` kept nothing);
    # a file that cannot be read is an error (standard error).
    errors = console or Console(stderr=True, soft_wrap=True)
    console = console or Console(soft_wrap=True)
    built: list = []  # the app, built at the first file that has records: a mistyped path creates no database
    total = Tally()
    report = Tally()  # the file being imported, until it is added to the total
    try:
        with _sigterm_as_interrupt():
            return _import_all(settings, config, paths, console, errors, batch, analyze_after, total, report,
                               built)
    except KeyboardInterrupt as interrupt:
        # each batch is stored in its own transaction: what was imported stays, whole batches only
        done = total.accepted + report.accepted
        # "at least": a batch stored the moment before the interrupt may not be counted here yet
        errors.print(f"[yellow]已中断：已导入的评论按整批保存（至少 {done} 条）；重新运行同一命令会继续，已导入的记为"
                     f"重复 / interrupted: what was imported is kept in whole batches (at least {done} "
                     f"comments); run the same command again to continue (those count as duplicates)[/yellow]")
        _hand_over_cut_batch(built)
        if isinstance(interrupt, Terminated):
            raise SystemExit(128 + signal.SIGTERM) from None
        raise
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        done = total.accepted + report.accepted
        errors.print(f"[red]数据库暂时不可用（{escape(failure_line(exc))}）：正在保存的这一批未保存，之前的批次已保存（新增 "
                     f"{done} 条）；稍后重新运行同一命令即可继续，已导入的记为重复 / the database is unavailable "
                     f"({escape(failure_line(exc))}): nothing of the batch being stored was kept, the batches before "
                     f"it are ({done} new comments); run the same command again later to continue (those count as "
                     f"duplicates)[/red]")
        return DATABASE_UNAVAILABLE
    finally:
        if built:
            built[0].close()


def _hand_over_cut_batch(built: list) -> None:
    """Hand the batch stored just before an interrupt to its listeners (alerts, reply queue) now, not when a
    serve next retries it. Safe beside a running serve: each listener claims its hand-off in its own
    transaction, so a batch is never counted twice. A second signal ends it at once (default handler)."""
    if not built:
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL) if (
        threading.current_thread() is threading.main_thread()) else None
    try:
        built[0].services.ingest.retry_handoffs(older_than_seconds=0, limit=HANDOFFS_ON_INTERRUPT)
    except Exception:  # noqa: BLE001 - a serve's retry still hands it over later
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _import_all(settings: Settings, config: AppConfig, paths: list[Path], console: Console, errors: Console,
                batch: int, analyze_after: int, total: Tally, report: Tally, built: list) -> int:
    """The import itself (`import_files`); `total` and `report` are filled in place and the app is put into
    `built` when made, so the caller can still say what was stored, and close it, when this is cut short."""
    from bot.app import build_app

    status = 0
    bot = None
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
                built.append(bot)
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
                    records, rejections = [], []
                    for n, i in enumerate(chunk):
                        reason = (i.error or "无法读取 / unreadable") if i.record is None else wrapped_list_reason(i.record)
                        if reason is None:
                            records.append(i.record)
                        else:
                            rejections.append((n, i.raw, reason))
                    positions = [i.position for i in chunk]
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
        report.reset()  # for the next file, in place: the caller reads it when the run is cut short
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
    return status


def wrapped_list_reason(record: dict) -> str | None:
    """Why a JSON object that wraps a list of comments (`{"comments": [...]}`, an API response saved as it came)
    is not imported, saying how to give the list; None for any other record. It was refused for the six
    fields it lacks as a comment, which says nothing of the fix (the webhook says it: `list_wrapper`)."""
    if all(name in record for name in REQUIRED):  # a comment (carrying a list or not): judged by the ingest
        return None
    wrapped = list_wrapper(record)  # no clock: the ingest judges a comment's time
    if wrapped is None:
        return None
    key, problems = wrapped
    # what it lacks as a comment first, as before (the line a user or a script already knows), then the fix
    return (f"{compact_reason(problems)}; 这是一个对象，评论列表在其 {key!r} 字段中：请每行写一条评论（JSONL），或让整个"
            f"文件是一个 JSON 数组（[{{…}}, {{…}}]）/ this is one object with the comments in its {key!r} field: write "
            f"one comment a line (JSONL), or make the whole file one JSON array ([{{…}}, {{…}}])")


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


def show_dead_letters(settings: Settings, config: AppConfig, *, limit: int = 50, as_json: bool = False,
                      out: IO[str] | None = None) -> int:
    """The newest rejected records: a table on a terminal; one block per record when piped (a table at 80
    columns wrapped every reason into a column of ten characters); `as_json`: one JSON array, as `sources
    --json` prints, with the whole raw record."""
    import json
    import sys

    from bot.config import database_url
    from bot.storage.db import Database

    out = sys.stdout if out is None else out
    db = Database(database_url(settings, config))
    db.upgrade()
    with db.session() as session:
        rows = session.exec(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)).all()
    if as_json:
        payload = [{"id": row.id, "source": row.source, "position": row.position, "reason": row.reason,
                    "received_at": row.received_at.isoformat(), "seen_count": row.seen_count,
                    "last_seen_at": row.last_seen_at.isoformat(), "raw": row.raw} for row in rows]
        print(json.dumps(payload, ensure_ascii=False, indent=2), file=out)
        return 0
    if not rows:
        print("没有被拒收的记录 / no rejected records", file=out)
        return 0

    def times(row: DeadLetter) -> str:
        # a record rejected again (the file imported again) is one row: when last, and how many times
        return str(row.seen_count) if row.seen_count == 1 else (
            f"{row.seen_count}（最近 last {row.last_seen_at.isoformat(timespec='seconds')}）")

    if not out.isatty():
        for row in rows:
            print(f"#{row.id}  来源 source: {row.source}" + (f"  位置 position: {shown(row.position)}"
                                                            if row.position else ""), file=out)
            print(f"  原因 reason: {shown(row.reason)}", file=out)
            print(f"  时间 received (UTC): {row.received_at.isoformat(timespec='seconds')}  次数 times: {times(row)}",
                  file=out)
            print(f"  原文 raw: {shown(row.raw[:300])}", file=out)
            print(file=out)
        return 0
    table = Table(title="拒收记录 / dead letters")
    for column in ("id", "来源 source", "位置 position", "原因 reason", "时间 received (UTC)", "次数 times", "原文 raw"):
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text, not str: a str cell is read as rich markup, and the reason and the raw record quote the
        # rejected input ("[/x]" in a comment stopped the listing with a traceback)
        cells = (str(row.id), row.source, row.position or "", row.reason, row.received_at.isoformat(timespec="seconds"),
                 times(row), row.raw[:120])
        table.add_row(*(Text(shown(cell)) for cell in cells))
    Console(file=out).print(table)
    return 0
