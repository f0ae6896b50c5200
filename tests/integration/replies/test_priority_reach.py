"""Priority: reach (likes, replies, followers) and risk terms outrank age and an accumulated backlog.

An acceptance probe found a comment ingested just now with 12,000 likes and 退款 ranked 40th in
`/reply-queue --limit 50`, behind day-old items with 46-141 likes, and a fresh 12315 complaint not in the
top 50 at all: the age part (full after 2 x SLA) and negativity outweighed reach.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from bot.sentiment.base import SentimentResult
from bot.sentiment.risk import RiskLexicon

from .conftest import ago, cmd, rec

NEGATIVE = ("烂脸", "退款", "投诉", "失望", "太差", "过敏")


class LexiconScorer:
    """Stands in for the sentiment model (another feature); risk flags come from the project's risk lexicon."""

    name = "test-lexicon"

    def __init__(self) -> None:
        self.lexicon = RiskLexicon.load()

    def score(self, text: str) -> SentimentResult:
        flags = self.lexicon.find(text)
        if any(word in text for word in NEGATIVE):
            return SentimentResult("neg", 0.1, risk_flags=flags, neg_score=0.88)
        if any(word in text for word in ("好用", "喜欢", "回购")):
            return SentimentResult("pos", 0.9, risk_flags=flags, neg_score=0.04)
        return SentimentResult("neu", 0.5, risk_flags=flags, neg_score=0.2)

    def score_batch(self, texts: Sequence[str]) -> list[SentimentResult]:
        return [self.score(t) for t in texts]


# Ordinary comments of a busy day, mostly unhappy ones; none names a risk term.
ORDINARY = ("质量太差了，很失望", "发货好慢，有点失望", "请问敏感肌能用吗", "客服回复太慢了，失望", "用着有点过敏怎么办",
            "包装太差了，失望", "几点开播", "好用，已经回购了", "这个颜色适合黄皮吗", "味道太差了")
# What the probe's backlog was made of: day-old complaints naming one risk term each.
RISKY = ("退款！退款！退款！", "我要投诉到底", "申请退款被拒，失望", "这是假货吧，太差了", "准备曝光你们")


def _backlog(clock, texts: tuple[str, ...], count: int = 50, prefix: str = "old") -> list[dict]:
    rng = random.Random(7)
    return [rec(f"{prefix}{n}", ago(clock, rng.uniform(60, 30 * 60)), texts[n % len(texts)],
                like_count=rng.choice([0, 3, 8, 20, 46, 60, 90, 141, 141, 141]),
                reply_count=rng.choice([0, 0, 1, 3, 12]), author_followers=rng.choice([200, 2000, 20000, 20000]))
            for n in range(count)]


def _ordinary_backlog(clock, count: int = 50) -> list[dict]:
    return _backlog(clock, ORDINARY, count)


VIRAL = "用了第二天就烂脸，客服不理人，必须退款"
REGULATOR = "已经打了12315，服务太差"


def _fresh(clock) -> list[dict]:
    return [rec("viral", ago(clock, 1), VIRAL, like_count=12_000, reply_count=340, author_followers=800),
            rec("regulator", ago(clock, 1), REGULATOR, like_count=2, author_followers=150)]


def _top(bot, limit: int = 50) -> list[str]:
    cards = bot.dispatcher.handle(cmd(f"/reply-queue --limit {limit}"))  # several cards past 5 items
    return [s.text for reply in cards for s in reply.sections]


def _bot(rq_bot):
    rq_bot.services.ingest._scorer = lambda: LexiconScorer()
    return rq_bot


def test_fresh_viral_refund_and_12315_complaints_lead_a_backlog_of_older_ordinary_items(rq_bot, clock):
    bot = _bot(rq_bot)
    scorer = bot.services.ingest._scorer()
    assert all(not scorer.score(r["text"]).risk_flags for r in _ordinary_backlog(clock))  # ordinary: no risk term
    assert len(scorer.score(REGULATOR).risk_flags) == 1 and scorer.score(VIRAL).risk_flags
    bot.services.ingest.ingest_records(_ordinary_backlog(clock) + _fresh(clock), source="test")

    texts = _top(bot)
    assert len(texts) == 50
    top5 = "\n".join(texts[:5])
    assert VIRAL in top5 and REGULATOR in top5, "\n".join(texts[:8])
    # The queue says why: the viral complaint's line names its biggest parts (risk term and likes).
    viral = next(t for t in texts if VIRAL in t)
    assert re.search(r"优先级 \d+（风险词 risk \+\d+、点赞 likes \+\d+", viral), viral


def test_a_fresh_viral_complaint_leads_a_backlog_of_older_complaints_with_the_same_risk(rq_bot, clock):
    """The probe's queue: day-old complaints naming 退款/投诉/曝光 with 46-141 likes ranked above the fresh
    12,000-like refund complaint (40th of 50): waiting time counted for more than 85 times the reach."""
    bot = _bot(rq_bot)
    bot.services.ingest.ingest_records(_backlog(clock, RISKY, prefix="risky") + _fresh(clock)[:1], source="test")
    texts = _top(bot)
    assert VIRAL in texts[0], "\n".join(texts[:3])


def test_an_item_near_its_deadline_still_outranks_a_fresh_unliked_neutral_one(rq_bot, clock):
    bot = _bot(rq_bot)
    bot.services.ingest.ingest_records([
        rec("fresh", ago(clock, 0.5), "几点开播", like_count=0, author_followers=10),
        rec("waiting", ago(clock, 110), "几点开播呀", like_count=0, author_followers=10),  # due in 10 of 120 min
    ], source="test")
    entries = bot.services.replies.list_queue(channel="console:lanji", user="console:alice", limit=10)
    assert [e.item.comment_id for e in entries] == ["waiting", "fresh"]
    assert "等待 waiting" in entries[0].reasons
    # a negative comment about to pass its 30-minute deadline rises above a fresh one like it
    bot.services.ingest.ingest_records([
        rec("neg_fresh", ago(clock, 0.5), "质量太差了，很失望", like_count=5, author_followers=100),
        rec("neg_due", ago(clock, 27), "质量太差了，真失望", like_count=5, author_followers=100),
    ], source="test")
    entries = bot.services.replies.list_queue(channel="console:lanji", user="console:alice", limit=10)
    order = [e.item.comment_id for e in entries]
    assert order.index("neg_due") < order.index("neg_fresh")


def test_items_scored_by_an_older_formula_are_rescored_at_start(rq_bot, db, clock):
    """Scores are stored on ingest: after the upgrade, items already queued kept the old weights' score
    (a day-old backlog still above the fresh viral complaint) until each was handled."""
    from sqlmodel import select, update

    from bot.replies.models import ReplyQueueItem

    bot = _bot(rq_bot)
    bot.services.ingest.ingest_records(_backlog(clock, RISKY, prefix="risky"), source="test")
    service = bot.services.replies
    assert not service.scores_stale()
    with db.session() as s:  # as written by the old weights: negativity 40, a risk term counting half ...
        s.execute(update(ReplyQueueItem).values(static_score=ReplyQueueItem.static_score + 15))
    bot.services.ingest.ingest_records(_fresh(clock)[:1], source="test")  # scored by the current weights
    assert VIRAL not in _top(bot, 1)[0]
    assert service.scores_stale()
    assert service.rescore_open(batch=7) == 50
    assert not service.scores_stale() and VIRAL in _top(bot, 1)[0]
    with db.session() as s:
        assert all(i.static_score < 80 for i in s.exec(select(ReplyQueueItem)).all())
