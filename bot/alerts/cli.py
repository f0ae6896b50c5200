"""`crisisbot backtest ...` (mounted at the top level by the lead). Heavy imports live inside commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(no_args_is_help=True, help="负面激增告警 / negative-spike alerts")

USAGE = ("用法 / usage: crisisbot backtest SERIES.csv --out OUT.csv [--bucket 5m] [--tz Europe/Berlin]  或 / or  "
         "crisisbot backtest --comments FEED.jsonl [--bucket 5m]")


@app.callback()
def _group() -> None:
    """负面激增告警 / negative-spike alerts."""


def _fail(message: str) -> NoReturn:
    # exit 2 with one "错误 / error" line, as the command's other input errors (not click's BadParameter,
    # whose "Invalid value:" frame would wrap a message that is already Chinese first)
    typer.echo(f"错误 / error: {message}", err=True)
    raise typer.Exit(2)


def _os_error(exc: OSError) -> str:
    """An OSError Chinese first: Python's own text ("[Errno 2] No such file or directory: 'x'") is English only."""
    if exc.filename is None:  # one of ours, already worded
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"找不到文件 / file not found: {exc.filename}"
    return f"无法访问文件 {exc.filename} / cannot access {exc.filename}: {exc.strerror or exc}"


def _series_zone(tz: str | None):
    """The zone whose daily rhythm a series is profiled in: `--tz`, else the configured `timezone` (as the
    service does), and a note (or None). An unreadable configuration does not stop a backtest that never
    needed one: it runs with UTC slots, as before zones were taken into account, and says so."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if tz is not None:
        try:
            return ZoneInfo(tz.strip()), None
        except (ZoneInfoNotFoundError, ValueError):
            _fail(f"--tz: 未知的时区 / unknown time zone {tz!r}（例如 / e.g. Asia/Shanghai, Europe/Berlin）")
    from bot.config import ConfigError, load_all

    try:
        _, config, _ = load_all()
    except ConfigError:
        return None, ("配置无法读取（见 crisisbot config check），日内时段按 UTC 计算，不做夏令时修正；可用 --tz 指定时区 / "
                      "the configuration cannot be read (see crisisbot config check): time-of-day slots are in UTC, "
                      "with no daylight-saving correction; give the zone with --tz")
    return config.zone(), None


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same path once resolved, or another name for it (a hard link,
    a symlink, a different spelling on a case-insensitive disk)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError):  # unreadable, or a symlink loop: not provably the same file
        return False


@app.command("backtest")
def backtest(
    series: Annotated[Path | None, typer.Argument(
        metavar="SERIES.csv",
        help="计数序列 CSV，列为 timestamp,value（每桶一行）/ count series CSV with columns timestamp,value "
             "(one row per bucket)")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="OUT.csv",
        help="输出 CSV，列为 timestamp,value,score,alert，每个输入行一行；不能是输入文件本身 / output CSV: "
             "timestamp,value,score,alert, one row per input row (must not be the input file)")] = None,
    bucket: Annotated[str | None, typer.Option(
        "--bucket",
        help="桶大小，如 5m、300s 或 1h；默认由时间戳推断，回放评论时默认用配置的 alerts.bucket_minutes / "
             "bucket size, e.g. 5m, 300s, 1h (default: inferred from the timestamps; for a comment feed, "
             "the configured alerts.bucket_minutes)")] = None,
    comments: Annotated[Path | None, typer.Option(
        "--comments", metavar="FEED.jsonl",
        help="改为回放评论文件（JSONL 或 CSV，按 crisisbot ingest 的规则校验）/ replay a comment feed instead "
             "(JSONL or CSV, checked as crisisbot ingest checks it)")] = None,
    tz: Annotated[str | None, typer.Option(
        "--tz", metavar="ZONE",
        help="序列日内节律所在的时区（如 Europe/Berlin），夏令时切换不会移动“同一时段”；默认用配置的 timezone / "
             "the time zone the series' daily rhythm follows (e.g. Europe/Berlin), so daylight-saving changes do "
             "not move \"the same time of day\" (default: the configured timezone)")] = None,
) -> None:
    """回测：用线上检测器回放计数序列（或评论文件）/ Backtest: replay a count series (or a comment feed)
    through the production detector.

    SERIES.csv --out OUT.csv 每个输入行输出一行；只有会发出新告警的行 alert=1。--comments FEED.jsonl
    在模拟时钟上把评论走完整条流程（含情感分析），列出会发出的告警 / SERIES.csv --out OUT.csv writes one
    row per input row; alert=1 only where a NEW alert would be posted. --comments FEED.jsonl replays comments
    through the whole pipeline (sentiment included) with a simulated clock and prints the alerts that would
    have been posted.
    """
    if comments is not None:
        if series is not None:
            _fail("SERIES.csv 与 --comments FEED.jsonl 只能给一个 / give either SERIES.csv or --comments "
                  "FEED.jsonl, not both")
        if tz is not None:  # the replay runs the whole bot: its zones come from the configuration
            _fail("--tz 只用于 SERIES.csv；回放评论时用配置中的时区 / --tz is for SERIES.csv only; a comment feed "
                  "replay uses the zones in the configuration")
        if out is not None:  # it was ignored: the caller then looked for a file that was never written
            _fail("--out 只用于 SERIES.csv；--comments 的结果打印在标准输出，可用 > 文件 保存 / --out is for "
                  "SERIES.csv only; --comments prints its result to standard output (redirect it with > FILE)")
        from bot.alerts.replay import replay_comment_feed

        try:
            lines = replay_comment_feed(comments, bucket=bucket)
        except OSError as exc:
            _fail(_os_error(exc))
        except ValueError as exc:
            _fail(str(exc))
        for line in lines:
            typer.echo(line)
        return
    if series is None or out is None:
        _fail(("缺少 SERIES.csv / SERIES.csv is missing" if series is None else "缺少 --out / --out is missing")
              + f"\n{USAGE}")
    if _same_file(out, series):
        # the output is written while the input is still to be read back by nobody: the series was lost
        _fail(f"--out 不能是输入文件本身，否则会覆盖它 / --out must not be the input file {str(series)!r}: "
              f"it would be overwritten")
    from bot.alerts.backtest import (
        BacktestInputError,
        bucket_slip_warning,
        describe_bucket,
        infer_bucket_seconds,
        off_grid_share,
        parse_bucket,
        read_series,
        run_backtest,
        write_backtest,
    )

    try:
        bucket_seconds = parse_bucket(bucket) if bucket else None
    except ValueError as exc:
        _fail(f"--bucket: {exc}")
    zone, zone_note = _series_zone(tz)
    try:
        rows = read_series(series)
        given = bucket_seconds is not None
        if bucket_seconds is None:
            bucket_seconds = infer_bucket_seconds(r.timestamp for r in rows)
        off = off_grid_share((r.timestamp for r in rows), bucket_seconds)
        slip = bucket_slip_warning(bucket, bucket_seconds, (r.timestamp for r in rows)) if bucket else None
        alerts = write_backtest(run_backtest(rows, bucket_seconds=bucket_seconds, zone=zone), out)
    except OSError as exc:
        _fail(_os_error(exc))
    except BacktestInputError as exc:
        _fail(str(exc))
    size = describe_bucket(bucket_seconds)
    how_zh, how_en = ("--bucket 指定", "--bucket") if given else ("由时间戳推断", "inferred from the timestamps")
    rows_en = f"{len(rows)} row{'' if len(rows) == 1 else 's'}"
    alerts_en = f"{alerts} alert{'' if alerts == 1 else 's'}"
    typer.echo(f"{len(rows)} 行，{alerts} 次告警 → {out}（桶 {size}，{how_zh}）/ "
               f"{rows_en}, {alerts_en} -> {out} (bucket {size}, {how_en})")
    if zone_note:
        typer.echo(f"注意 / note: {zone_note}", err=True)
    if slip:
        # `--bucket 5` is 5 seconds (bare numbers are seconds, "300" works): on a 5-minute series every row
        # is a gap and nothing alerts; the file is still written as asked
        typer.echo(f"注意 / note: {slip}", err=True)
    if off > 0.1:
        # a file mixing time scales (or a --bucket that does not fit it) is judged on one scale only
        typer.echo(f"注意 / note: {off:.0%} 的时间间隔不是桶 {size} 的整数倍，请用 --bucket 指定 / {off:.0%} of the "
                   f"steps between rows are not whole buckets of {size}: check --bucket", err=True)
