"""Reply-queue benchmark: queue queries and claims over a large store, on SQLite and PostgreSQL.

    python -m bench.reply_queue                      # both engines, 1,000,000 comments (takes minutes)
    python -m bench.reply_queue --db sqlite --comments 200000
    python -m bench.reply_queue --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Data: N comments over 200 accounts and 30 days (70% top-level, 30% replies, some by the accounts);
20% of all comments are unanswered queue items, 5% of all comments are claimed (by 50 responders).
Channels see 10 accounts each (20 clients). Timed, each repeated --rounds times:
  queue-1     the top 20 of one account (the query and loading the items + comments for display)
  queue-10    the top 20 of a channel's 10 accounts
  mine        --mine: my live claims within the channel's accounts
  claim       claiming an open item (scope check, conditional UPDATE, event row, reload)
Targets: queue p95 <= 50 ms, claim p95 <= 20 ms. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from bench.database import bench_database

ACCOUNTS = 200
ACCOUNTS_PER_CHANNEL = 10
DAYS = 30
RESPONDERS = 50
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def account_ids() -> list[str]:
    return [f"acct{n:03d}" for n in range(ACCOUNTS)]


def build_config():
    from bot.config import parse_config

    ids = account_ids()
    clients = [{"id": f"client{c:02d}", "name": f"客户{c}"} for c in range(ACCOUNTS // ACCOUNTS_PER_CHANNEL)]
    accounts = [{"platform": "douyin", "account_id": a, "name": f"账号{a}",
                 "client": f"client{i // ACCOUNTS_PER_CHANNEL:02d}"} for i, a in enumerate(ids)]
    channels = [{"id": f"console:c{c:02d}", "client": f"client{c:02d}"} for c in range(len(clients))]
    return parse_config({"clients": clients, "accounts": accounts, "channels": channels}, source="bench")


def populate(db, total: int, seed: int = 7) -> dict:
    """Bulk-load comments and queue items (what ingestion would have built), return facts for the timing."""
    from bot.replies.models import ReplyQueueItem
    from bot.replies.priority import PriorityInputs, is_urgent, sla_for, static_parts
    from bot.replies.settings import RepliesConfig
    from bot.storage.models import Comment

    rng = random.Random(seed)
    config = RepliesConfig()
    ids = account_ids()
    unanswered_target = int(total * 0.20)
    claimed_target = int(total * 0.05)
    comment_table, item_table = Comment.__table__, ReplyQueueItem.__table__
    batch_comments: list[dict] = []
    batch_items: list[dict] = []
    open_ids_sample: list[tuple[str, str]] = []
    claims_by_user: dict[str, int] = {}
    made_open = made_claimed = 0
    top_level_left = int(total * 0.7)
    started = time.monotonic()
    span = DAYS * 86400

    def flush(conn) -> None:
        if batch_comments:
            conn.execute(insert(comment_table), batch_comments)
            batch_comments.clear()
        if batch_items:
            conn.execute(insert(item_table), batch_items)
            batch_items.clear()

    with db.engine.begin() as conn:
        roots: list[tuple[str, str, datetime]] = []
        for n in range(total):
            account = ids[n % ACCOUNTS]
            created = NOW - timedelta(seconds=rng.random() * span)
            comment_id = f"c{n}"
            is_top = top_level_left > 0 and (n < 1000 or rng.random() < 0.72)
            label = rng.choices(("neg", "neu", "pos"), (0.2, 0.5, 0.3))[0]
            likes = int(rng.paretovariate(1.2)) - 1
            followers = int(rng.paretovariate(0.9) * 10)
            risk = [{"term": "投诉", "category": "complaint"}] if label == "neg" and rng.random() < 0.2 else None
            parent = None
            own = False
            if not is_top and roots:
                parent_account, parent, parent_created = roots[rng.randrange(len(roots))]
                account = parent_account
                created = parent_created + timedelta(minutes=rng.expovariate(1 / 60))
                own = rng.random() < 0.5
            else:
                top_level_left -= 1
                roots.append((account, comment_id, created))
            batch_comments.append({
                "platform": "douyin", "account_id": account, "content_id": f"v{rng.randrange(50)}-{account}",
                "content_title": "视频标题", "content_url": None, "comment_id": comment_id, "parent_id": parent,
                "author_id": account if own else f"u{rng.randrange(2_000_000)}",
                "author_name": "官方" if own else f"用户{rng.randrange(10**8)}", "author_followers": followers,
                "text": "用了过敏了，退款！" if label == "neg" else "请问敏感肌能用吗？", "like_count": likes,
                "reply_count": 0, "created_at": created, "ingested_at": created, "updated_at": None,
                "is_from_account": own, "sentiment_label": label, "sentiment_score": 0.1 if label == "neg" else 0.6,
                "sentiment_model": "bench", "risk_flags": risk, "raw": None, "source": "bench",
            })
            if is_top or (parent is not None and not own and rng.random() < 0.1):
                inputs = PriorityInputs(created_at=created, sentiment_label=label,
                                        sentiment_score=0.1 if label == "neg" else 0.6,
                                        risk_flags=len(risk or ()), like_count=likes, author_followers=followers)
                sla = sla_for(inputs, config)
                # Unanswered: 20% of all comments; claimed: 5% of all comments (a quarter of the open ones).
                remaining = total - n
                want_open = unanswered_target - made_open
                state = "open" if want_open > 0 and rng.random() < min(1.0, want_open / max(1, remaining * 0.75)) else rng.choice(("answered", "replied", "answered", "skipped"))
                claimed_by = expires = None
                if state == "open":
                    made_open += 1
                    if made_claimed < claimed_target and rng.random() < claimed_target / unanswered_target:
                        made_claimed += 1
                        claimed_by = f"console:user{rng.randrange(RESPONDERS)}"
                        claims_by_user[claimed_by] = claims_by_user.get(claimed_by, 0) + 1
                        expires = NOW + timedelta(minutes=rng.uniform(1, 15))
                    elif len(open_ids_sample) < 20000 and rng.random() < 0.1:
                        open_ids_sample.append((account, comment_id))
                closed = state != "open"
                batch_items.append({
                    "platform": "douyin", "comment_id": comment_id, "account_key": f"douyin:{account}",
                    "content_id": "v", "thread_root_id": parent or comment_id, "created_at": created,
                    "created_ts": created.timestamp(), "static_score": round(sum(static_parts(inputs, config.weights).values()), 4),
                    "sla_seconds": int(sla.total_seconds()), "due_ts": (created + sla).timestamp(),
                    "urgent": is_urgent(inputs), "state": state, "claimed_by": claimed_by, "claimed_by_name": claimed_by,
                    "claim_expires_at": expires, "first_response_at": created + timedelta(minutes=30) if closed else None,
                    "responder": "account" if closed else None, "responder_name": None,
                    "closed_at": created + timedelta(minutes=30) if closed else None, "skip_reason": None,
                    "escalated_at": None, "escalated_by": None, "last_reminded_at": None, "queued_at": created,
                })
            if len(batch_comments) >= 5000:
                flush(conn)
            if n and n % 200_000 == 0:
                print(f"  … {n:,} comments loaded ({time.monotonic() - started:.0f}s)", file=sys.stderr, flush=True)
        flush(conn)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return {"open": made_open, "claimed": made_claimed, "claims_by_user": claims_by_user,
            "open_sample": open_ids_sample, "load_seconds": time.monotonic() - started}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run(db, label: str, total: int, rounds: int) -> list[tuple]:
    from bot.clock import FakeClock
    from bot.outbox import Outbox
    from bot.replies.precheck import Prechecker
    from bot.replies.service import ReplyQueueService
    from bot.replies.templates import TemplateLibrary
    from bot.replies.wiring import find_list_file
    from bot.scope import ChannelScope

    print(f"[{label}] loading {total:,} comments …", file=sys.stderr, flush=True)
    facts = populate(db, total)
    config = build_config()
    clock = FakeClock(NOW)
    service = ReplyQueueService(
        db=db, clock=clock, app_config=config, scope=ChannelScope(config), outbox=Outbox(db, clock),
        prechecker=Prechecker.from_file(find_list_file("precheck.yaml", None)),
        templates=TemplateLibrary.from_file(find_list_file("reply_templates.yaml", None)),
    )
    rng = random.Random(11)
    ids = account_ids()
    channels = [f"console:c{c:02d}" for c in range(ACCOUNTS // ACCOUNTS_PER_CHANNEL)]
    busy_users = sorted(facts["claims_by_user"], key=facts["claims_by_user"].get, reverse=True)

    cpu_ms: dict[str, float] = {}

    def timed(fn) -> list[float]:
        fn()  # warm the cache and the connection pool
        samples = []
        cpu0 = time.process_time()
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1000)
        cpu_ms[fn.__name__] = (time.process_time() - cpu0) * 1000 / rounds
        return samples

    def one_account():
        account = rng.choice(ids)
        channel = channels[ids.index(account) // ACCOUNTS_PER_CHANNEL]
        entries = service.list_queue(channel=channel, user="console:user0", account=account, limit=20)
        assert entries

    def ten_accounts():
        entries = service.list_queue(channel=rng.choice(channels), user="console:user0", limit=20)
        assert entries

    def mine():
        service.list_queue(channel=rng.choice(channels), user=rng.choice(busy_users), mine=True, limit=20)

    def queue_ids_only():
        service.queue_ids([f"douyin:{a}" for a in rng.sample(ids, 10)], user="console:user0", limit=20, now=NOW)

    sample = list(facts["open_sample"])
    rng.shuffle(sample)
    with db.session() as session:
        from sqlmodel import select

        from bot.replies.models import ReplyQueueItem

        pairs = [(a, c) for a, c in sample[: rounds + 1]]
        id_by_comment = dict(session.exec(select(ReplyQueueItem.comment_id, ReplyQueueItem.id).where(
            ReplyQueueItem.comment_id.in_([c for _, c in pairs]))).all())
    claim_targets = iter([(a, id_by_comment[c]) for a, c in pairs])

    def claim():
        account, item_id = next(claim_targets)
        channel = channels[ids.index(account) // ACCOUNTS_PER_CHANNEL]
        result = service.claim(item_id, user=f"console:user{rng.randrange(RESPONDERS)}", user_name="x", channel=channel)
        assert result.ok

    rows = []
    for name, fn, target in (("queue-1 (top 20, one account)", one_account, 50),
                             ("queue-10 (top 20, channel of 10)", ten_accounts, 50),
                             ("mine (--mine, channel of 10)", mine, 50),
                             ("  query only, 10 accounts", queue_ids_only, 50),
                             ("claim", claim, 20)):
        samples = timed(fn)
        rows.append((label, name, statistics.median(samples), percentile(samples, 0.95), percentile(samples, 0.99),
                     target, cpu_ms[fn.__name__]))
    print(f"[{label}] loaded in {facts['load_seconds']:.0f}s: {facts['open']:,} unanswered, {facts['claimed']:,} claimed",
          file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="reply-queue benchmark")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--postgres-url", default=os.environ.get("CRISISBOT_BENCH_POSTGRES_URL")
                        or os.environ.get("CRISISBOT_TEST_POSTGRES_URL") or DEFAULT_PG)
    args = parser.parse_args(argv)

    rows: list[tuple] = []
    if args.db in ("sqlite", "both"):
        with bench_database(None) as db:
            rows += run(db, "sqlite", args.comments, args.rounds)
    if args.db in ("postgres", "both"):
        with bench_database(args.postgres_url, "bench_rq") as db:
            rows += run(db, "postgresql", args.comments, args.rounds)

    print(f"\nreply queue: {args.comments:,} comments, {ACCOUNTS} accounts, {DAYS} days, "
          f"20% unanswered, 5% claimed; {args.rounds} rounds each (ms)")
    print("(bot-process CPU per call shows how much of the wall time was ours on a shared machine; "
          f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'engine':<11} {'operation':<34} {'p50':>8} {'p95':>8} {'p99':>8} {'target p95':>11}  ok  {'cpu/call':>8}")
    for engine, name, p50, p95, p99, target, cpu in rows:
        ok = "yes" if p95 <= target else "NO"
        print(f"{engine:<11} {name:<34} {p50:>8.2f} {p95:>8.2f} {p99:>8.2f} {target:>11}  {ok:<3} {cpu:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
