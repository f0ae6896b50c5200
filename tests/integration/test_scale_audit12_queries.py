"""Scale audit (500k comments): the queries that ran on every /report and every retention purge read the
whole comment table, and the outbox kept every superseded version of a notice for a year.

- A channel's scope filter was `(platform, account_id) IN (VALUES ...)`: SQLite plans that as
  `SCAN comment`, so each /report scanned the table four times (3.6-4.4 s at 500k rows). It is an OR of
  `(platform = ? AND account_id = ?)` now, which SQLite answers from ix_comment_account_created.
- The raw-payload purge (every 6 h) had no index to use: a full scan, forever. Two partial indexes
  (migration 0021), one per retention window, and one statement per window.
- Superseded outbox rows (never sent) go a day after they were superseded, not after `outbox_days`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select
from sqlmodel import select as sm_select

from bot.config import RetentionConfig, parse_config
from bot.retention import purge_expired
from bot.scope import OR_TERMS_MAX, ChannelScope
from bot.storage.models import Comment, OutboxMessage

ACCOUNTS = [("douyin", "lanji_a"), ("bilibili", "lanji_b"), ("weibo", "lanji_c")]


def _scope(accounts) -> ChannelScope:
    return ChannelScope(parse_config({
        "default_channel": "console:general",
        "clients": [{"id": "lanji", "name": "澜肌护肤"}],
        "accounts": [{"platform": p, "account_id": a, "name": a, "client": "lanji"} for p, a in accounts],
        "channels": [{"id": "console:lanji", "client": "lanji"}],
    }, source="tests"))


def _plan(db, statement) -> list[str]:
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()]


def _report_queries(scope: ChannelScope, clock):
    """The shapes of the report's comment queries (bot/reports/service.py)."""
    visible = scope.sql_condition("console:lanji", Comment.platform, Comment.account_id)
    end = clock.now()
    start = end - timedelta(days=7)
    not_ours = Comment.is_from_account.is_(False)
    return {
        "rows": select(Comment.platform, Comment.account_id, Comment.created_at, Comment.sentiment_label)
        .where(visible, not_ours, Comment.created_at >= start - timedelta(days=7), Comment.created_at < end),
        "negatives": select(Comment.text).where(visible, not_ours, Comment.sentiment_label == "neg",
                                                Comment.created_at >= start, Comment.created_at < end)
        .order_by(Comment.like_count.desc(), Comment.id).limit(200),
        "flagged": select(Comment.risk_flags).where(visible, not_ours, Comment.created_at >= start,
                                                    Comment.created_at < end, Comment.risk_flags.is_not(None)),
    }


def _comment(platform, account_id, n, at) -> Comment:
    return Comment(platform=platform, account_id=account_id, content_id="v1", comment_id=f"{account_id}-{n}",
                   text=f"评论 {n}", created_at=at, ingested_at=at, raw={"n": n})


def test_a_channels_comment_queries_use_the_account_index_on_sqlite(sqlite_db, clock):
    for name, query in _report_queries(_scope(ACCOUNTS), clock).items():
        plan = _plan(sqlite_db, query)
        assert not any(line.startswith("SCAN comment") for line in plan), (name, plan)
        searches = [line for line in plan if "USING INDEX ix_comment_account_created" in line]
        assert len(searches) == len(ACCOUNTS), (name, plan)  # one index search per account


def test_the_scope_filter_selects_the_same_rows_with_few_and_many_accounts(db, clock):
    many = [("douyin", f"lanji_{i:03d}") for i in range(OR_TERMS_MAX + 5)]
    others = [("douyin", "other"), ("bilibili", "lanji_000"), ("weibo", "lanji_a")]
    now = clock.now()
    with db.session() as session:
        for n, (platform, account_id) in enumerate(ACCOUNTS + many + others):
            session.add(_comment(platform, account_id, n, now - timedelta(hours=1)))
    for accounts in (ACCOUNTS, ACCOUNTS[:1], many):
        visible = _scope(accounts).sql_condition("console:lanji", Comment.platform, Comment.account_id)
        with db.session() as session:
            seen = set(session.execute(select(Comment.platform, Comment.account_id).where(visible)).all())
        assert seen == set(accounts)


def _purge_statements(db, clock) -> list[tuple[str, object]]:
    """The UPDATE comment ... raw statements the scheduled purge runs, with their parameters."""
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE COMMENT") and "raw" in statement.split("WHERE")[0]:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        purge_expired(db, clock.now(), RetentionConfig(raw_payload_days=30, author_identifiers_days=90))
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert seen
    return seen


def test_the_raw_payload_purge_reads_its_partial_indexes_not_the_table(db, clock):
    now = clock.now()
    with db.session() as session:
        for n in range(40):
            session.add(_comment("douyin", "lanji_a", n, now - timedelta(days=n * 5)))
    used: set[str] = set()
    for statement, parameters in _purge_statements(db, clock):
        with db.engine.connect() as conn:
            if db.engine.dialect.name == "sqlite":
                plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                assert not any(line.startswith("SCAN comment") for line in plan), plan
            else:
                # A handful of rows: PostgreSQL would rightly scan them; forbid that to see what it can use.
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
                assert not any("Seq Scan" in line for line in plan), plan
        used |= {name for name in ("ix_comment_raw_ingested", "ix_comment_raw_created")
                 if any(name in line for line in plan)}
    assert used == {"ix_comment_raw_ingested", "ix_comment_raw_created"}
    with db.session() as session:
        kept = session.exec(sm_select(Comment.comment_id).where(Comment.raw.is_not(None))).all()
    assert sorted(kept) == sorted(f"lanji_a-{n}" for n in range(7))  # 0..30 days old: not past the window


def test_superseded_outbox_rows_go_a_day_after_they_were_superseded(db, clock):
    now = clock.now()

    def row(key, status, created_days, sent_hours=None):
        return OutboxMessage(key=key, channel="console:lanji", kind="update", update_of="notice:term:1",
                             payload={"text": "风险提醒"}, status=status, next_attempt_at=now,
                             created_at=now - timedelta(days=created_days),
                             sent_at=None if sent_hours is None else now - timedelta(hours=sent_hours))

    with db.session() as session:
        session.add(OutboxMessage(key="notice:term:1", channel="console:lanji", payload={"text": "风险提醒"},
                                  status="sent", next_attempt_at=now, created_at=now - timedelta(days=3),
                                  sent_at=now - timedelta(days=3), platform_message_id="m1"))
        session.add(row("notice:term:1#v2", "superseded", 3, sent_hours=72))
        session.add(row("notice:term:1#v3", "superseded", 2, sent_hours=25))
        session.add(row("notice:term:1#v4", "superseded", 2, sent_hours=23))  # created long ago, superseded lately
        session.add(row("notice:term:1#v5", "superseded", 0.5, sent_hours=1))
        session.add(row("notice:term:1#v6", "sent", 2, sent_hours=47))
        session.add(row("notice:term:1#v7", "failed", 2, sent_hours=47))
        session.add(row("notice:term:1#v8", "pending", 2))

    counts = purge_expired(db, now, RetentionConfig(outbox_days=365))

    with db.session() as session:
        keys = set(session.exec(sm_select(OutboxMessage.key)).all())
    assert keys == {"notice:term:1", "notice:term:1#v4", "notice:term:1#v5", "notice:term:1#v6",
                    "notice:term:1#v7", "notice:term:1#v8"}
    assert counts["outbox_messages"] == 2


def test_the_default_channel_and_an_unmapped_channel_keep_their_filters():
    scope = _scope(ACCOUNTS)
    default = scope.sql_condition("console:general", Comment.platform, Comment.account_id)
    assert "NOT IN" in str(default.compile(compile_kwargs={"literal_binds": True})).upper()
    assert str(scope.sql_condition("console:nobody", Comment.platform, Comment.account_id)
               .compile(compile_kwargs={"literal_binds": True})) in ("false", "0 = 1")
