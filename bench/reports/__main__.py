"""Client-report benchmark: building one report (`/report`, `crisisbot report`) over a large store.

    python -m bench.reports                                   # SQLite, 300,000 comments, a weekly report
    python -m bench.reports --comments 500000 --period 7d
    python -m bench.reports --db postgres --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Data: N comments over 10 accounts and the report's period plus the previous one (so half of them fall in
the period the report covers), 9 of the accounts in the reported channel's client and 1 in another one;
labels 20% neg, 50% neu, 25% pos, 5% unscored; 10% of the negative ones carry a risk flag; the negative
texts are drawn from a small vocabulary so keyword extraction has real work.

Each round builds the report (every figure, keywords, the chart) in a fresh child process, after one
warm-up report of the last hour (imports, the tokenizer's dictionaries, fonts, the connection pool), and
prints the wall time of the build, of drawing its chart alone, and the child's peak RSS (and how much the
build added to it).
Asserts nothing.

Measured on the 2-core machine (a weekly report, medians of 3; other work was running alongside, so
times vary by some 20%), before and after the counts moved into the database:

    comments  engine      build            peak RSS (added by the build)
    300,000   SQLite      4.6 s -> 2.1 s   411 MiB (+120) -> 291 MiB (+0)
    300,000   PostgreSQL  2.5 s -> 0.7 s   441 MiB (+143) -> 297 MiB (+0)
    500,000   SQLite      5.6 s -> 3.8 s   498 MiB (+206) -> 291 MiB (+0)
    500,000   PostgreSQL  2.3 s -> 0.9 s   540 MiB (+242) -> 297 MiB (+0)

What is left on SQLite is the database visiting each comment of the periods a few times (one index range
scan per query, each row looked up in the table for its label); keywords and the chart take ~0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bench.database import throwaway_schema

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # --now
CHANNEL = "console:c0"
ACCOUNTS = [f"acct{n}" for n in range(10)]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WORDS = ["过敏", "退款", "投诉", "烂脸", "客服", "不理人", "假货", "质量差", "发货慢", "漏液", "刺痛", "红肿",
         "虚假宣传", "再也不买", "差评", "包装破损", "价格贵", "没效果", "味道难闻", "售后"]


def build_config(tz: str):
    from bot.config import parse_config

    return parse_config({
        "timezone": tz,
        "clients": [{"id": "c0", "name": "客户零"}, {"id": "c1", "name": "客户一"}],
        "accounts": [{"platform": "douyin", "account_id": a, "name": f"账号{a}", "client": "c0" if i < 9 else "c1"}
                     for i, a in enumerate(ACCOUNTS)],
        "channels": [{"id": CHANNEL, "client": "c0"}, {"id": "console:c1", "client": "c1"}],
    }, source="bench")


def populate(db, total: int, span: timedelta, seed: int = 5) -> float:
    from sqlalchemy import insert, text

    from bot.storage.models import Comment

    rng = random.Random(seed)
    table = Comment.__table__
    started = time.monotonic()
    seconds = span.total_seconds() * 2  # the period and the previous one
    batch: list[dict] = []
    with db.engine.begin() as conn:
        for n in range(total):
            account = ACCOUNTS[n % len(ACCOUNTS)]
            created = NOW - timedelta(seconds=rng.random() * seconds)
            label = rng.choices(("neg", "neu", "pos", None), (0.20, 0.50, 0.25, 0.05))[0]
            if label == "neg":
                text_ = "，".join(rng.sample(WORDS, 3)) + f"！第{rng.randrange(1000)}次"
                score, neg = rng.uniform(0.05, 0.45), rng.uniform(0.3, 0.9)
                risk = [{"term": rng.choice(("投诉", "12315", "律师")), "category": "complaint"}] if rng.random() < 0.1 else None
            else:
                text_ = rng.choice(("请问敏感肌能用吗？", "很好用，回购了", "还行吧", "已下单，期待")) + str(rng.randrange(100))
                score, neg, risk = (rng.uniform(0.5, 0.95), rng.uniform(0, 0.2), None) if label else (None, None, None)
            batch.append({
                "platform": "douyin", "account_id": account, "content_id": f"v{rng.randrange(40)}",
                "content_title": "视频标题", "content_url": f"https://example.com/v{n % 40}", "comment_id": f"c{n}",
                "parent_id": None, "author_id": f"u{rng.randrange(10**6)}", "author_name": "用户", "author_followers": 10,
                "text": text_, "like_count": int(rng.paretovariate(1.2)) - 1, "reply_count": 0, "created_at": created,
                "ingested_at": created, "updated_at": None, "is_from_account": rng.random() < 0.02,
                "sentiment_label": label, "sentiment_score": score, "sentiment_neg": neg,
                "sentiment_model": "bench" if label else None, "risk_flags": risk, "raw": None, "source": "bench",
            })
            if len(batch) >= 5000:
                conn.execute(insert(table), batch)
                batch.clear()
        if batch:
            conn.execute(insert(table), batch)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.monotonic() - started


def child(url: str, schema: str | None, period: str, tz: str) -> dict:
    """One measured build in this (fresh) process; returns the figures."""
    from bot.clock import FakeClock
    from bot.outbox import Outbox
    from bot.reports import render
    from bot.reports.service import ReportRequest, ReportService
    from bot.scope import ChannelScope
    from bot.storage.db import Database

    db = Database(url, schema=schema) if schema else Database(url)
    config = build_config(tz)
    clock = FakeClock(NOW)
    service = ReportService(db=db, clock=clock, config=config, scope=ChannelScope(config), outbox=Outbox(db, clock))
    span, name = service.period_for(period)
    # warm-up: a report of the last hour (imports, the keyword tokenizer's dictionaries, the chart's fonts,
    # the connection pool), so the figures below are those of a running bot
    service.build(ReportRequest(CHANNEL, NOW - timedelta(hours=1), NOW, "warm-up"))
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = service.build(ReportRequest(CHANNEL, NOW - span, NOW, name))
    build_s = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    render.chart_png(result.data)
    chart_s = time.perf_counter() - started
    db.dispose()
    data = result.data
    return {
        "build_s": build_s, "chart_s": chart_s, "peak_mib": peak_kib / 1024, "added_mib": (peak_kib - before_kib) / 1024,
        "comments": data.now.comments, "previous": data.before.comments, "negative": data.now.negative,
        "keywords": [k.term for k in data.keywords], "series": len(data.series),
        "digest": render.markdown(data) + "\n" + "\n".join(
            f"{p.start.isoformat()} {p.negative}/{p.total}" for p in data.series),
    }


def measure(url: str, schema: str | None, period: str, tz: str) -> dict:
    command = [sys.executable, "-m", "bench.reports", "--child", url, "--period", period, "--tz", tz,
               "--now", NOW.isoformat()]
    if schema:
        command += ["--schema", schema]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_one(label: str, url: str, schema: str | None, args) -> None:
    from bot.reports.settings import parse_period
    from bot.storage.db import Database

    db = Database(url, schema=schema) if schema else Database(url)
    db.upgrade()
    print(f"[{label}] loading {args.comments:,} comments …", file=sys.stderr, flush=True)
    load_s = populate(db, args.comments, parse_period(args.period))
    db.dispose()
    runs = [measure(url, schema, args.period, args.tz) for _ in range(args.rounds)]
    first = runs[0]
    digests = {run["digest"] for run in runs}
    print(f"[{label}] {args.comments:,} comments loaded in {load_s:.0f}s; report {args.period} ({args.tz}): "
          f"{first['comments']:,} comments in the period ({first['negative']:,} negative), {first['previous']:,} "
          f"in the previous one, {first['series']} chart buckets, keywords {'、'.join(first['keywords'][:5])} …")
    builds = [run["build_s"] for run in runs]
    print(f"[{label}] build: median {statistics.median(builds):.2f} s (min {min(builds):.2f}, max {max(builds):.2f}; "
          f"{args.rounds} rounds), of which the chart {statistics.median(r['chart_s'] for r in runs):.2f} s")
    print(f"[{label}] peak RSS of the building process: {max(r['peak_mib'] for r in runs):.0f} MiB "
          f"(the build added {max(r['added_mib'] for r in runs):.0f} MiB to the warmed-up process)")
    if len(digests) != 1:
        print(f"[{label}] WARNING: the rounds gave different reports", flush=True)
    if args.print_report:
        print(first["digest"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="client-report benchmark")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--comments", type=int, default=300_000)
    parser.add_argument("--period", default="7d")
    parser.add_argument("--tz", default="Asia/Shanghai")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--now", help="the report's end, ISO 8601 (default 2026-11-30T12:00Z)")
    parser.add_argument("--print-report", action="store_true",
                        help="print the report's Markdown and its chart's buckets (to compare two versions)")
    parser.add_argument("--postgres-url", default=os.environ.get("CRISISBOT_BENCH_POSTGRES_URL")
                        or os.environ.get("CRISISBOT_TEST_POSTGRES_URL") or DEFAULT_PG)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.now:
        global NOW
        NOW = datetime.fromisoformat(args.now).astimezone(UTC)
    if args.child:
        figures = child(args.child, args.schema, args.period, args.tz)
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
            bench_one("sqlite", f"sqlite:///{tmp}/bench.db", None, args)
    if args.db in ("postgres", "both"):
        with throwaway_schema(args.postgres_url) as schema:
            bench_one("postgres", args.postgres_url, schema, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
