"""The priority of an unanswered comment (pure): risk terms, reach (likes, replies, followers), negativity,
and age vs SLA.

Risk terms and reach weigh most (see `PriorityWeights`): a fresh comment with thousands of likes or naming
12315 must not wait behind a backlog of older ordinary ones. Age still raises an item as its deadline
comes near. The score is 0..100. Everything but age is fixed once a comment is stored (its `static` part, kept in
the queue table so the database can order by it); the age part grows until twice the SLA and is added
at query time. The weights come from the `replies.weights` config section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import ensure_aware
from bot.replies.settings import PriorityWeights, RepliesConfig

# How negative a label is when no score is known.
_LABEL_NEGATIVITY = {"neg": 0.85, "neu": 0.4, "pos": 0.1}
# Age counts fully once a comment has waited this many SLAs.
AGE_SATURATION = 2.0


# While only the placeholder scorer runs (every comment "neutral", no risk flags), these crisis terms
# stand in for the sentiment engine's risk lexicon so the queue still puts complaints first.
PLACEHOLDER_SCORERS = frozenset({"neutral-placeholder"})
FALLBACK_RISK_TERMS = ("过敏", "烂脸", "退款", "退货", "投诉", "维权", "12315", "315", "曝光", "起诉", "律师", "假货",
                       "消协", "黑猫", "骗子", "赔偿")


@dataclass(frozen=True, slots=True)
class CommentSignals:
    """Sentiment label/score and risk terms of a comment, as the queue should use them."""

    label: str | None
    score: float | None
    risk_terms: tuple[str, ...]
    scored: bool  # False when only the placeholder scorer (or none) looked at it
    neg_score: float | None = None  # P(negative) when the model gave it (3-class models)


def comment_signals(label: str | None, score: float | None, risk_flags: object, model: str | None,
                    text: str, neg_score: float | None = None) -> CommentSignals:
    """Use the sentiment engine's result; fall back to a small crisis lexicon when it was not really scored."""
    terms = tuple(
        str(flag.get("term", "")) for flag in (risk_flags or ()) if isinstance(flag, dict)  # type: ignore[union-attr]
    )
    if model is not None and model not in PLACEHOLDER_SCORERS:
        return CommentSignals(label, score, terms, True, neg_score)
    fallback = tuple(t for t in FALLBACK_RISK_TERMS if t in (text or ""))
    if fallback:
        return CommentSignals("neg", None, terms or fallback, False)
    return CommentSignals(None, None, terms, False)


@dataclass(frozen=True, slots=True)
class PriorityInputs:
    created_at: datetime
    sentiment_label: str | None = None
    sentiment_score: float | None = None  # P(positive), 0..1
    risk_flags: int = 0
    sentiment_neg: float | None = None  # P(negative), 0..1, from 3-class models
    like_count: int = 0
    author_followers: int | None = None
    reply_count: int = 0


@dataclass(frozen=True, slots=True)
class Priority:
    score: float  # 0..100
    static: float  # the part without age, 0..100
    overdue: bool
    due_at: datetime
    sla: timedelta
    age: timedelta
    parts: dict[str, float]  # each signal's contribution, for explanations


def negativity(label: str | None, score: float | None, neg: float | None = None) -> float:
    """0 (clearly positive) .. 1 (clearly negative): P(neg) when the model gave it, else 1 - P(pos).

    With a 3-class model 1 - P(pos) is P(neg) + P(neu), so a plain question ("这个多少钱", P(neu) .9)
    would rank with complaints; a neutral comment without P(neg) gets the label's value instead."""
    by_label = _LABEL_NEGATIVITY.get(label or "", 0.4)
    if neg is not None and not math.isnan(neg):
        value = min(1.0, max(0.0, neg))
    elif score is None or math.isnan(score) or label == "neu":
        return by_label
    else:
        value = 1.0 - min(1.0, max(0.0, score))
    # A negative label is trusted even when the score is lukewarm, and vice versa.
    if label == "neg":
        return max(value, 0.6)
    if label == "pos":
        return min(value, 0.3)
    return value


def is_urgent(inputs: PriorityInputs) -> bool:
    """Negative or risk-flagged comments get the shorter SLA."""
    return inputs.risk_flags > 0 or inputs.sentiment_label == "neg"


def sla_for(inputs: PriorityInputs, config: RepliesConfig) -> timedelta:
    minutes = config.sla_minutes_negative if is_urgent(inputs) else config.sla_minutes
    return timedelta(minutes=minutes)


def _saturating(value: int | None, saturation: int) -> float:
    if not value or value <= 0:
        return 0.0
    return min(1.0, math.log1p(value) / math.log1p(saturation))


def _total(weights: PriorityWeights) -> float:
    total = weights.negativity + weights.risk + weights.likes + weights.replies + weights.followers + weights.age
    return total or 1.0


def risk_level(flags: int) -> float:
    """0..1 from the number of distinct risk terms: one term (退款, 12315, 律师 ...) already counts for nearly
    all of the risk weight, a second one for the rest. (One term used to count half, so a fresh 12315
    complaint ranked below a day-old ordinary complaint.)"""
    if flags <= 0:
        return 0.0
    return 0.9 if flags == 1 else 1.0


def static_parts(inputs: PriorityInputs, weights: PriorityWeights) -> dict[str, float]:
    """Each signal's contribution except age, scaled so that all weights together make 100."""
    scale = 100.0 / _total(weights)
    return {
        "negativity": scale * weights.negativity * negativity(inputs.sentiment_label, inputs.sentiment_score,
                                                                  inputs.sentiment_neg),
        "risk": scale * weights.risk * risk_level(inputs.risk_flags),
        "likes": scale * weights.likes * _saturating(inputs.like_count, weights.likes_saturation),
        "replies": scale * weights.replies * _saturating(inputs.reply_count, weights.replies_saturation),
        "followers": scale * weights.followers * _saturating(inputs.author_followers, weights.followers_saturation),
    }


def age_weight(weights: PriorityWeights) -> float:
    """The most the age part can add (reached at AGE_SATURATION x SLA)."""
    return 100.0 * weights.age / _total(weights)


def age_part(age: timedelta, sla: timedelta, weights: PriorityWeights) -> float:
    ratio = max(0.0, age / sla) if sla > timedelta(0) else AGE_SATURATION
    return age_weight(weights) * min(ratio, AGE_SATURATION) / AGE_SATURATION


def compute_priority(inputs: PriorityInputs, now: datetime, config: RepliesConfig) -> Priority:
    """The full priority of one item at `now` (timezone-aware)."""
    created = ensure_aware(inputs.created_at)
    now = ensure_aware(now)
    sla = sla_for(inputs, config)
    age = max(timedelta(0), now - created)
    parts = static_parts(inputs, config.weights)
    static = sum(parts.values())
    parts["age"] = age_part(age, sla, config.weights)
    due_at = created + sla
    return Priority(
        score=round(static + parts["age"], 3), static=round(static, 3), overdue=now > due_at, due_at=due_at,
        sla=sla, age=age, parts=parts,
    )


def rank(items: list[tuple[object, PriorityInputs]], now: datetime, config: RepliesConfig,
         ) -> list[tuple[object, Priority]]:
    """Items ordered by priority, highest first; ties go to the older comment."""
    scored = [(item, compute_priority(inputs, now, config)) for item, inputs in items]
    scored.sort(key=lambda pair: (-pair[1].score, -pair[1].age.total_seconds()))
    return scored


# What each part of the score is called where the queue explains an item's rank.
PART_NAMES = {"risk": "风险词 risk", "likes": "点赞 likes", "replies": "回复数 replies", "followers": "粉丝 followers",
              "negativity": "负面 negative", "age": "等待 waiting"}


#: the same in a channel set to English
PART_NAMES_EN = {"risk": "risk", "likes": "likes", "replies": "replies", "followers": "followers",
                 "negativity": "negative", "age": "waiting"}


def top_reasons(parts: dict[str, float], limit: int = 3, lang: str = "zh") -> str:
    """The biggest contributions to a score, e.g. "风险词 risk +28、点赞 likes +20、负面 negative +14", so
    the queue says why an item ranks where it does ("" when nothing contributes); `lang` "en": English
    alone ("risk +28, likes +20, negative +14")."""
    shown = sorted(((value, name) for name, value in parts.items() if value >= 0.5), reverse=True)[:limit]
    if lang == "en":
        return ", ".join(f"{PART_NAMES_EN.get(name, name)} +{value:.0f}" for value, name in shown)
    return "、".join(f"{PART_NAMES.get(name, name)} +{value:.0f}" for value, name in shown)
