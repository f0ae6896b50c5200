"""Priority: negativity, risk, likes, followers and age against the SLA, with config weights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.replies.priority import PriorityInputs, compute_priority, negativity, rank
from bot.replies.settings import PriorityWeights, RepliesConfig

NOW = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
CONFIG = RepliesConfig()


def _inputs(**overrides) -> PriorityInputs:
    values = {"created_at": NOW - timedelta(minutes=5), "sentiment_label": "neu", "sentiment_score": 0.5}
    values.update(overrides)
    return PriorityInputs(**values)


def test_negative_risky_liked_comment_outranks_praise() -> None:
    crisis = _inputs(sentiment_label="neg", sentiment_score=0.05, risk_flags=2, like_count=3000,
                     author_followers=20000)
    praise = _inputs(sentiment_label="pos", sentiment_score=0.95, like_count=3)
    question = _inputs(sentiment_label="neu", sentiment_score=0.5, like_count=10)
    ranked = rank([("praise", praise), ("crisis", crisis), ("question", question)], NOW, CONFIG)
    assert [name for name, _ in ranked] == ["crisis", "question", "praise"]
    top = ranked[0][1]
    assert 0 <= top.score <= 100 and top.score > 70


def test_each_signal_raises_priority() -> None:
    base = compute_priority(_inputs(), NOW, CONFIG).score
    assert compute_priority(_inputs(sentiment_label="neg", sentiment_score=0.1), NOW, CONFIG).score > base
    assert compute_priority(_inputs(risk_flags=1), NOW, CONFIG).score > base
    assert compute_priority(_inputs(like_count=500), NOW, CONFIG).score > base
    assert compute_priority(_inputs(author_followers=100_000), NOW, CONFIG).score > base
    assert compute_priority(_inputs(created_at=NOW - timedelta(hours=3)), NOW, CONFIG).score > base


def test_sla_and_overdue() -> None:
    ordinary = compute_priority(_inputs(created_at=NOW - timedelta(minutes=100)), NOW, CONFIG)
    assert ordinary.sla == timedelta(minutes=120) and not ordinary.overdue
    negative = compute_priority(_inputs(created_at=NOW - timedelta(minutes=31), sentiment_label="neg"), NOW, CONFIG)
    assert negative.sla == timedelta(minutes=30) and negative.overdue
    risky = compute_priority(_inputs(created_at=NOW - timedelta(minutes=29), risk_flags=1), NOW, CONFIG)
    assert risky.sla == timedelta(minutes=30) and not risky.overdue
    assert risky.due_at == NOW - timedelta(minutes=29) + timedelta(minutes=30)


def test_age_part_grows_then_saturates() -> None:
    ages = [0, 60, 120, 240, 480, 2000]
    scores = [compute_priority(_inputs(created_at=NOW - timedelta(minutes=m)), NOW, CONFIG).parts["age"] for m in ages]
    assert scores == sorted(scores)
    assert scores[3] == scores[4] == scores[5] == CONFIG.weights.age  # 2 x SLA reached: full age weight


def test_weights_come_from_config() -> None:
    only_likes = RepliesConfig(weights=PriorityWeights(negativity=0, risk=0, likes=1, replies=0, followers=0, age=0,
                                                       likes_saturation=1000))
    liked = compute_priority(_inputs(like_count=1000, sentiment_label="neg"), NOW, only_likes)
    assert liked.score == 100.0
    assert compute_priority(_inputs(like_count=0, sentiment_label="neg"), NOW, only_likes).score == 0.0


def test_negativity_trusts_labels() -> None:
    assert negativity("neg", 0.5) >= 0.6
    assert negativity("pos", 0.5) <= 0.3
    assert negativity(None, None) == 0.4


def test_negativity_follows_p_neg_so_questions_do_not_rank_with_complaints() -> None:
    # a 3-class model gives a plain question a low P(pos) and a low P(neg): 1 - P(pos) made it a complaint
    question = negativity("neu", 0.02, neg=0.14)  # "请问敏感肌能用吗"
    complaint = negativity("neg", 0.001, neg=0.98)  # "质量太差了"
    assert question == 0.14 and complaint == 0.98
    assert negativity("neu", 0.2) == 0.4  # no P(neg) stored (older rows): the label's value, not 1 - P(pos)
    assert negativity("neg", 0.4, neg=0.35) >= 0.6 and negativity("pos", 0.9, neg=0.05) <= 0.3


def test_naive_datetimes_are_treated_as_utc() -> None:
    naive = _inputs(created_at=(NOW - timedelta(minutes=10)).replace(tzinfo=None))
    assert compute_priority(naive, NOW, CONFIG).age == timedelta(minutes=10)


def test_signals_fall_back_to_crisis_terms_only_for_the_placeholder_scorer() -> None:
    from bot.replies.priority import comment_signals

    placeholder = comment_signals("neu", 0.5, [], "neutral-placeholder", "用了过敏，要退款")
    assert placeholder.label == "neg" and placeholder.risk_terms == ("过敏", "退款") and not placeholder.scored
    assert comment_signals("neu", 0.5, [], "neutral-placeholder", "好看").label is None
    real = comment_signals("neu", 0.5, [{"term": "维权", "category": "rights"}], "jieba-linear", "用了过敏")
    assert real.label == "neu" and real.risk_terms == ("维权",) and real.scored


def test_reach_and_risk_outrank_age_and_backlog() -> None:
    """A fresh 12,000-like refund complaint and a fresh 12315 complaint lead 50 older ordinary items (up to
    a day old, up to 141 likes); the age part and negativity used to bury them (probe: the viral one ranked
    40th of 50, the 12315 one was not in the top 50)."""
    import random

    rng = random.Random(11)
    backlog = [(f"old{n}", _inputs(created_at=NOW - timedelta(minutes=rng.uniform(60, 1800)),
                                   sentiment_label=rng.choice(["neg", "neg", "neg", "neu", "pos"]),
                                   sentiment_score=0.05, like_count=rng.choice([0, 3, 20, 46, 90, 141]),
                                   author_followers=rng.choice([10, 2000, 20000])))
               for n in range(50)]
    viral = _inputs(created_at=NOW - timedelta(minutes=1), sentiment_label="neg", sentiment_score=0.05, risk_flags=1,
                    like_count=12_000, author_followers=800)
    regulator = _inputs(created_at=NOW - timedelta(minutes=1), sentiment_label="neg", sentiment_score=0.05,
                        risk_flags=1, like_count=2, author_followers=150)
    order = [name for name, _ in rank([*backlog, ("viral", viral), ("12315", regulator)], NOW, CONFIG)]
    assert order.index("viral") < 5 and order.index("12315") < 5, order[:8]
    # the same risk, far more reach: the fresh viral one beats day-old risk complaints with 46-141 likes
    old_risky = [(f"risky{n}", _inputs(created_at=NOW - timedelta(days=1), sentiment_label="neg", sentiment_score=0.05,
                                       risk_flags=1, like_count=likes, author_followers=20000))
                 for n, likes in enumerate([46, 60, 90, 141, 141])]
    assert rank([*old_risky, ("viral", viral)], NOW, CONFIG)[0][0] == "viral"


def test_an_item_near_its_deadline_outranks_a_fresh_neutral_one_and_reasons_name_the_parts() -> None:
    from bot.replies.priority import top_reasons

    waiting = _inputs(created_at=NOW - timedelta(minutes=110), like_count=0)
    fresh = _inputs(created_at=NOW - timedelta(seconds=30), like_count=0)
    assert [n for n, _ in rank([("fresh", fresh), ("waiting", waiting)], NOW, CONFIG)] == ["waiting", "fresh"]
    viral = compute_priority(_inputs(risk_flags=1, like_count=12_000, sentiment_label="neg"), NOW, CONFIG)
    assert top_reasons(viral.parts).startswith("风险词 risk +32、点赞 likes +24")
    assert compute_priority(_inputs(reply_count=500), NOW, CONFIG).score > compute_priority(_inputs(), NOW, CONFIG).score
