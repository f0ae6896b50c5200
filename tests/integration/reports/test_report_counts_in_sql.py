"""A report's figures come from counts made in the database (GROUP BY account and label, and by span of
time for the chart), not from every comment of the period loaded into Python; the figures are the ones
worked out by hand below, on SQLite and PostgreSQL, across a DST change and in a half-hour zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from bot.clock import FakeClock
from bot.config import parse_config
from bot.outbox import Outbox
from bot.reports.service import ReportRequest, ReportService
from bot.scope import ChannelScope
from bot.storage.models import Comment

LANJI = ("douyin", "lanji_official")
LANJI_WB = ("weibo", "lanji_wb")
XIAOCHU = ("bilibili", "xiaochu_kitchen")
CONFIG = {
    "timezone": "Asia/Shanghai",
    "default_channel": "console:general",
    "clients": [{"id": "lanji", "name": "澜肌护肤"}, {"id": "xiaochu", "name": "小厨科技"}],
    "accounts": [
        {"platform": "douyin", "account_id": "lanji_official", "name": "澜肌抖音", "client": "lanji"},
        {"platform": "weibo", "account_id": "lanji_wb", "name": "澜肌微博", "client": "lanji"},
        {"platform": "bilibili", "account_id": "xiaochu_kitchen", "name": "小厨B站", "client": "xiaochu"},
    ],
    "channels": [
        {"id": "console:lanji", "client": "lanji", "timezone": "Europe/Berlin"},
        {"id": "console:lanji-in", "client": "lanji", "timezone": "Asia/Kolkata"},
        {"id": "console:xiaochu", "client": "xiaochu"},
    ],
}
COMPLAINT = [{"term": "投诉", "category": "complaint"}]


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def service_for(db, **reports) -> ReportService:
    config = parse_config({**CONFIG, "reports": reports}, source="tests")
    clock = FakeClock(utc(2026, 11, 1))
    return ReportService(db=db, clock=clock, config=config, scope=ChannelScope(config), outbox=Outbox(db, clock))


def comment(cid: str, account: tuple[str, str], created: datetime, label: str | None, *, likes: int = 0,
            score: float | None = None, neg: float | None = None, flags=None, own: bool = False) -> dict:
    platform, account_id = account
    return {
        "platform": platform, "account_id": account_id, "content_id": "v1", "content_url": f"https://example.com/{cid}",
        "comment_id": cid, "text": f"评论 {cid}", "like_count": likes, "reply_count": 0, "created_at": created,
        "ingested_at": created, "is_from_account": own, "sentiment_label": label, "sentiment_score": score,
        "sentiment_neg": neg, "risk_flags": flags,
    }


def store(db, rows: list[dict]) -> None:
    with db.session() as session:
        for row in rows:
            session.add(Comment(**row))
        session.commit()


# A weekly report ending Wednesday 2026-10-28 12:00 UTC, in Berlin: the clocks went back from 03:00 CEST
# to 02:00 CET on Sunday 2026-10-25 (01:00 UTC), a 25-hour day.
WEEK_END = utc(2026, 10, 28, 12)
WEEK = [
    # the period, 2026-10-21 12:00 UTC to 2026-10-28 12:00 UTC
    comment("c1", LANJI, utc(2026, 10, 21, 12), "neg", likes=5, flags=COMPLAINT),  # the start: in
    comment("c2", LANJI, utc(2026, 10, 21, 21, 59, 59), "neu", flags=[{"category": "x"}]),  # 23:59:59 on the 21st
    comment("c3", LANJI, utc(2026, 10, 21, 22), "neg", likes=50, flags=COMPLAINT),  # midnight: the 22nd
    comment("c4", LANJI, utc(2026, 10, 25, 0, 30), "pos"),  # the first 02:30 of the 25th
    comment("c5", LANJI, utc(2026, 10, 25, 1, 30), "neg", likes=7,  # the second 02:30
            flags=[{"term": "投诉", "category": "complaint"}, {"term": "12315", "category": ""}]),
    # negative but a near tie the model leans positive on: counted, never quoted
    comment("c6", LANJI_WB, utc(2026, 10, 25, 22, 59), "neg", likes=1000, score=0.6, neg=0.35),  # 23:59 CET
    comment("c7", LANJI, utc(2026, 10, 25, 23), None),  # midnight CET: the 26th; not scored
    comment("c8", LANJI, utc(2026, 10, 27, 10), "mixed"),  # a label that is no score
    comment("c9", LANJI_WB, utc(2026, 10, 28, 11, 59, 59, 999999), "neg", likes=3, score=0.2, neg=0.7,
            flags=[{"term": "律师"}]),
    comment("c10", LANJI, WEEK_END, "neg", likes=500, flags=COMPLAINT),  # the end: out
    comment("c11", LANJI, utc(2026, 10, 26, 9), "neg", likes=800, flags=COMPLAINT, own=True),  # the account's own
    comment("c12", XIAOCHU, utc(2026, 10, 26, 9), "neg", likes=999, flags=COMPLAINT),  # another client's
    # the previous period, 2026-10-14 12:00 UTC to 2026-10-21 12:00 UTC
    comment("p1", LANJI, utc(2026, 10, 14, 12), "neg", flags=COMPLAINT),
    comment("p2", LANJI, utc(2026, 10, 18, 8), "pos"),
    comment("p3", LANJI_WB, utc(2026, 10, 20, 6), "neu"),  # the Weibo account's first comment
    comment("p4", LANJI_WB, utc(2026, 10, 21, 11, 59), None),
    comment("p5", LANJI, utc(2026, 10, 14, 11, 59), "neg"),  # before both periods
]


def test_a_weekly_report_across_the_autumn_dst_change_has_the_hand_counted_figures(db):
    store(db, WEEK)
    data = service_for(db).build(ReportRequest("console:lanji", WEEK_END - timedelta(days=7), WEEK_END)).data

    assert (data.now.comments, data.now.scored, data.now.negative) == (9, 7, 5)  # c1-c9
    assert (data.before.comments, data.before.scored, data.before.negative) == (4, 3, 1)  # p1-p4
    assert [(a.key, a.name, a.counts.comments, a.counts.scored, a.counts.negative) for a in data.accounts] == [
        ("douyin:lanji_official", "澜肌抖音", 7, 5, 3),
        ("weibo:lanji_wb", "澜肌微博", 2, 2, 2),
    ]
    # one bar per Berlin calendar day, the 25th 25 hours long; the 21st holds only what came from 14:00 on
    assert [(p.start, p.negative, p.total) for p in data.series] == [
        (utc(2026, 10, 20, 22), 1, 2),  # 21st: c1, c2
        (utc(2026, 10, 21, 22), 1, 1),  # 22nd: c3
        (utc(2026, 10, 22, 22), 0, 0),
        (utc(2026, 10, 23, 22), 0, 0),
        (utc(2026, 10, 24, 22), 2, 3),  # 25th: c4, c5 (both 02:30s), c6
        (utc(2026, 10, 25, 23), 0, 0),  # 26th: c7 is not scored
        (utc(2026, 10, 26, 23), 0, 0),  # 27th: nor is c8
        (utc(2026, 10, 27, 23), 1, 1),  # 28th: c9
    ]
    assert [(c.text, c.likes, c.account) for c in data.top_negative] == [
        ("评论 c3", 50, "澜肌抖音"), ("评论 c5", 7, "澜肌抖音"), ("评论 c1", 5, "澜肌抖音"),
    ]
    assert [(r.term, r.category, r.count) for r in data.risk_terms] == [
        ("投诉", "complaint", 3), ("12315", "", 1), ("律师", "", 1),
    ]
    # the Weibo account's stored comments begin inside the previous period: no trend against it
    assert data.previous_since == utc(2026, 10, 20, 6)


def test_a_daily_report_over_the_repeated_hour_has_one_bar_per_real_hour(db):
    store(db, WEEK)
    end = utc(2026, 10, 25, 12)
    data = service_for(db).build(ReportRequest("console:lanji", end - timedelta(days=1), end)).data
    assert (data.now.comments, data.now.scored, data.now.negative) == (2, 2, 1)  # c4, c5
    assert [p.start for p in data.series] == [utc(2026, 10, 24, 12) + timedelta(hours=h) for h in range(24)]
    filled = [(p.start, p.negative, p.total) for p in data.series if p.total]
    # 02:00-03:00 CEST and 02:00-03:00 CET are two bars
    assert filled == [(utc(2026, 10, 25, 0), 0, 1), (utc(2026, 10, 25, 1), 1, 1)]


def test_hourly_bars_of_a_half_hour_zone_split_utc_hours(db):
    """India is UTC+05:30: its hours begin at half past a UTC hour, so comments of one UTC hour fall in
    two bars (counting by UTC hour would put them in one)."""
    store(db, [
        comment("a", LANJI, utc(2026, 10, 21, 21, 10), "neg"),  # 02:40 IST: the 02:00 bar
        comment("b", LANJI, utc(2026, 10, 21, 21, 50), "pos"),  # 03:20 IST: the 03:00 bar
        comment("c", LANJI, utc(2026, 10, 21, 22, 20), "neg"),  # 03:50 IST: the 03:00 bar
        comment("d", LANJI, utc(2026, 10, 21, 0, 0), "neu"),  # the start, 05:30 IST: the 05:00 bar
    ])
    end = utc(2026, 10, 22)
    data = service_for(db).build(ReportRequest("console:lanji-in", end - timedelta(days=1), end)).data
    assert len(data.series) == 25 and data.series[0].start == utc(2026, 10, 20, 23, 30)
    filled = [(p.start, p.negative, p.total) for p in data.series if p.total]
    assert filled == [(utc(2026, 10, 20, 23, 30), 0, 1), (utc(2026, 10, 21, 20, 30), 1, 1),
                      (utc(2026, 10, 21, 21, 30), 1, 2)]


@pytest.fixture
def rows_per_statement():
    """How many rows each statement the ORM runs hands back (SQLAlchemy's own hook, nothing replaced)."""
    counts: list[int] = []

    def count(state):
        frozen = state.invoke_statement().freeze()
        counts.append(len(frozen.data))
        return frozen()

    event.listen(Session, "do_orm_execute", count)
    yield counts
    event.remove(Session, "do_orm_execute", count)


def test_no_statement_of_a_report_reads_the_periods_comments_one_by_one(db, rows_per_statement):
    """3,000 comments in the period, each flagged: the report reads counts, at most `keyword_sample` rows
    of text, never a row per comment (it read all 6,000 of both periods, and each flagged one)."""
    end = utc(2026, 10, 28, 12)
    rows = []
    for n in range(6000):
        created = end - timedelta(days=2) + timedelta(seconds=n * 28.8)  # 2 days, 6,000 comments
        label = ("neg", "neu", "pos", None)[n % 4]
        rows.append(comment(f"n{n}", (LANJI, LANJI_WB)[n % 2], created, label, likes=n % 97, flags=COMPLAINT))
    with db.engine.begin() as conn:
        conn.execute(insert(Comment.__table__), rows)
    service = service_for(db, keyword_sample=100, top_keywords=0)
    data = service.build(ReportRequest("console:lanji", end - timedelta(days=1), end)).data
    assert (data.now.comments, data.now.scored, data.now.negative) == (3000, 2250, 750)
    assert (data.before.comments, data.before.negative) == (3000, 750)
    assert sum(p.total for p in data.series) == 2250 and len(data.series) == 24
    assert [(r.term, r.count) for r in data.risk_terms] == [("投诉", 3000)]
    assert [c.likes for c in data.top_negative] == [96, 96, 96]
    assert rows_per_statement and max(rows_per_statement) <= 100, rows_per_statement


def test_every_comment_query_of_a_report_searches_the_account_index_on_sqlite(sqlite_db):
    """The counting statements read the period through ix_comment_account_created, as the row-loading
    ones did (tests/integration/test_scale_audit12_queries.py): no SCAN of the whole comment table."""
    store(sqlite_db, WEEK)
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM comment" in statement:
            seen.append((statement, parameters))

    event.listen(sqlite_db.engine, "before_cursor_execute", capture)
    try:
        service_for(sqlite_db).build(ReportRequest("console:lanji", WEEK_END - timedelta(days=7), WEEK_END))
    finally:
        event.remove(sqlite_db.engine, "before_cursor_execute", capture)
    assert len(seen) >= 6
    with sqlite_db.engine.connect() as conn:
        for statement, parameters in seen:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()]
            assert not any(line.startswith("SCAN comment") for line in plan), (statement, plan)
            assert any("ix_comment_account_created" in line for line in plan), (statement, plan)
