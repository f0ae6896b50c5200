"""Audit 14: a report lists every account of its channel. An account with no comments in the period (busy
the period before, or configured and quiet) was left out of "各账号", so a client's account whose comments
stopped, or whose feed broke, vanished from its report without a word. And keyword counts made in a
sample (`reports.keyword_sample`) say so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import FakeClock
from bot.config import parse_config
from bot.outbox import Outbox
from bot.reports import render
from bot.reports.service import ReportRequest, ReportService
from bot.scope import ChannelScope
from bot.storage.models import Comment

CONFIG = {
    "timezone": "Asia/Shanghai",
    "default_channel": "console:general",
    "clients": [{"id": "multi", "name": "多平台客户"}, {"id": "other", "name": "别家"}],
    "accounts": [
        {"platform": "douyin", "account_id": "m_dy", "name": "多抖音", "client": "multi"},
        {"platform": "kuaishou", "account_id": "m_ks", "name": "多快手", "client": "multi"},
        {"platform": "xiaohongshu", "account_id": "m_xhs", "name": "多小红书", "client": "multi"},
        {"platform": "weibo", "account_id": "o_wb", "name": "别家微博", "client": "other"},
    ],
    "channels": [{"id": "console:multi", "client": "multi"}, {"id": "console:other", "client": "other"}],
}
END = datetime(2026, 11, 22, 16, tzinfo=UTC)  # midnight in Shanghai
START = END - timedelta(days=1)


def _comment(cid: str, platform: str, account_id: str, created: datetime, label: str, text: str | None = None) -> Comment:
    return Comment(platform=platform, account_id=account_id, content_id="v1", comment_id=cid, text=text or f"评论 {cid}",
                   like_count=0, reply_count=0, created_at=created, ingested_at=created, is_from_account=False,
                   sentiment_label=label)


def _service(db, **reports) -> ReportService:
    config = parse_config({**CONFIG, "reports": reports}, source="tests")
    clock = FakeClock(END + timedelta(hours=1))
    return ReportService(db=db, clock=clock, config=config, scope=ChannelScope(config), outbox=Outbox(db, clock))


def test_every_account_of_the_channel_is_listed_also_with_no_comments_this_period(db):
    service = _service(db)
    with db.session() as session:
        session.add_all([
            _comment("d0", "douyin", "m_dy", START - timedelta(days=5), "pos"),  # both covered from before
            _comment("k0", "kuaishou", "m_ks", START - timedelta(days=5), "pos"),
            _comment("d1", "douyin", "m_dy", START + timedelta(hours=3), "neg"),
            _comment("d2", "douyin", "m_dy", START + timedelta(hours=4), "pos"),
            _comment("k1", "kuaishou", "m_ks", START - timedelta(hours=3), "neg"),  # the previous day only
            _comment("w1", "weibo", "o_wb", START + timedelta(hours=3), "neg"),  # another client's
        ])
        session.commit()
    data = service.build(ReportRequest("console:multi", START, END)).data

    assert [(a.name, a.counts.comments, a.counts.negative) for a in data.accounts] == [
        ("多抖音", 2, 1), ("多快手", 0, 0), ("多小红书", 0, 0),
    ]
    text = render.markdown(data)
    assert "- 多快手（快手）：评论 0，负面占比 —" in text and "- 多小红书（小红书）：评论 0，负面占比 —" in text, text
    assert "别家微博" not in text
    # the channel's totals are those of its accounts, as before
    assert (data.now.comments, data.before.comments) == (2, 1)


def test_keyword_counts_made_in_a_sample_say_so(db):
    texts = ("垃圾产品，用了过敏，要退款", "客服不理人，投诉")
    with db.session() as session:
        session.add(_comment("p0", "douyin", "m_dy", START - timedelta(days=3), "pos", "很好用"))
        session.add_all(_comment(f"p{n}", "douyin", "m_dy", START - timedelta(hours=2), "pos", "很好用，推荐")
                        for n in range(1, 20))
        session.add_all(_comment(f"n{n}", "douyin", "m_dy", START + timedelta(minutes=n), "neg", texts[n % 2])
                        for n in range(150))
        session.commit()
    sampled = _service(db, keyword_sample=100).build(ReportRequest("console:multi", START, END)).data
    assert sampled.keywords and sampled.keyword_sampled == (True, False)
    assert "注：条数只统计点赞最多的 100 条负面评论（共 150 条）" in render.markdown(sampled)
    whole = _service(db, keyword_sample=200).build(ReportRequest("console:multi", START, END)).data
    assert whole.keywords and whole.keyword_sampled == (False, False) and "注：" not in render.markdown(whole)
