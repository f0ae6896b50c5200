"""`crisisbot backtest ...` (mounted at the top level by the lead). Heavy imports live inside commands."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="负面激增告警 / negative-spike alerts")


@app.callback()
def _group() -> None:
    """负面激增告警 / negative-spike alerts."""


@app.command("backtest")
def backtest(
    series: Path | None = typer.Argument(None, help="CSV with columns timestamp,value (one row per bucket)"),
    out: Path | None = typer.Option(None, "--out", help="output CSV: timestamp,value,score,alert"),
    bucket: str | None = typer.Option(None, "--bucket", help="bucket size, e.g. 5m (default: inferred)"),
    comments: Path | None = typer.Option(None, "--comments", help="replay a comment feed (JSONL) instead"),
) -> None:
    """回测 / Backtest: replay a count series (or a comment feed) through the production detector.

    SERIES.csv --out OUT.csv writes one row per input row; alert=1 only where a NEW alert would be posted.
    --comments FEED.jsonl replays comments through the whole pipeline (sentiment included) with a
    simulated clock and prints the alerts that would have been posted.
    """
    if comments is not None:
        if series is not None:
            raise typer.BadParameter("give either SERIES.csv or --comments FEED.jsonl, not both")
        from bot.alerts.replay import replay_comment_feed

        try:
            lines = replay_comment_feed(comments, bucket=bucket)
        except (OSError, ValueError) as exc:
            typer.echo(f"错误 / error: {exc}", err=True)
            raise typer.Exit(2) from None
        for line in lines:
            typer.echo(line)
        return
    if series is None or out is None:
        raise typer.BadParameter("usage: crisisbot backtest SERIES.csv --out OUT.csv [--bucket 5m]")
    from bot.alerts.backtest import (
        BacktestInputError,
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
        raise typer.BadParameter(f"--bucket: {exc}") from None
    try:
        rows = read_series(series)
        given = bucket_seconds is not None
        if bucket_seconds is None:
            bucket_seconds = infer_bucket_seconds(r.timestamp for r in rows)
        off = off_grid_share((r.timestamp for r in rows), bucket_seconds)
        alerts = write_backtest(run_backtest(rows, bucket_seconds=bucket_seconds), out)
    except (OSError, BacktestInputError) as exc:
        typer.echo(f"错误 / error: {exc}", err=True)
        raise typer.Exit(2) from None
    how = "--bucket" if given else "由时间戳推断 / inferred from the timestamps"
    typer.echo(f"{len(rows)} 行，{alerts} 次告警 → {out} / {len(rows)} rows, {alerts} alerts -> {out} "
               f"(桶 bucket {describe_bucket(bucket_seconds)}, {how})")
    if off > 0.1:
        # a file mixing time scales (or a --bucket that does not fit it) is judged on one scale only
        typer.echo(f"注意 / note: {off:.0%} 的时间间隔不是桶的整数倍，请用 --bucket 指定 / of the steps between "
                   f"rows are not whole buckets of {describe_bucket(bucket_seconds)}: check --bucket", err=True)
