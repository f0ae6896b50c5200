"""Clause rules (bot/sentiment/rules.py): litotes, negated praise, sarcastic praise."""

from __future__ import annotations

import pytest

from bot.sentiment.features import Featurizer
from bot.sentiment.normalization import prepare
from bot.sentiment.rules import LITOTES, NEGATED_PRAISE, SARCASTIC_PRAISE, apply_rule, clause_rule


@pytest.fixture(scope="module")
def featurizer():
    return Featurizer()


def rule_of(featurizer: Featurizer, text: str):
    prepared = prepare(text)
    return clause_rule(featurizer.tokenize(prepared.plain), prepared.signals, prepared.text, featurizer.lexicon)


@pytest.mark.parametrize(
    ("text", "rule", "trigger"),
    [
        ("不难看", LITOTES, "不难看"),
        ("一点也不差", LITOTES, "不差"),
        ("没有让我失望", LITOTES, "没有让我失望"),
        ("没有想象中那么差", LITOTES, "没有想象中那么差"),
        ("没毛病", LITOTES, "没毛病"),
        ("不是很好", NEGATED_PRAISE, "不是很好"),
        ("没那么好", NEGATED_PRAISE, "没那么好"),
        ("不太好吃", NEGATED_PRAISE, "不太好吃"),
        ("真是太好了🙂", SARCASTIC_PRAISE, "太好了+🙂"),
        ("服务真好[微笑]", SARCASTIC_PRAISE, "好+[微笑]"),
        ("呵呵，你们真棒", SARCASTIC_PRAISE, "呵呵"),
    ],
)
def test_rule_fires_on_its_pattern(featurizer, text, rule, trigger):
    hit = rule_of(featurizer, text)
    assert hit is not None and hit.rule == rule
    assert trigger in hit.trigger
    assert hit.trigger in hit.reason and "/" in hit.reason  # bilingual gloss


@pytest.mark.parametrize(
    "text",
    [
        "没有退款",  # a refund not given is still a complaint
        "别坑人了",  # imperatives are no litotes
        "不难看吗？",  # questions are the model's to weigh
        "好不好吃",  # A-not-A question
        "不难看但是太贵了",  # other complaint words: the model weighs the mix
        "不是很好，但是很便宜",  # other praise
        "不是不喜欢",  # double negation
        "今天天气不错",  # plain praise
        "呵呵",  # irony with nothing to be ironic about
        "",
    ],
)
def test_rule_stays_out_of_the_way(featurizer, text):
    assert rule_of(featurizer, text) is None


def test_apply_rule_moves_only_the_ruled_out_mass():
    assert apply_rule((0.7, 0.2, 0.1), SARCASTIC_PRAISE) == pytest.approx((0.8, 0.2, 0.0))
    assert apply_rule((0.1, 0.1, 0.8), SARCASTIC_PRAISE) == pytest.approx((0.9, 0.1, 0.0))
    assert apply_rule((0.8, 0.1, 0.1), LITOTES) == pytest.approx((0.0, 0.5, 0.5))
    assert apply_rule((0.1, 0.3, 0.6), NEGATED_PRAISE) == pytest.approx((0.25, 0.75, 0.0))
    assert apply_rule((1.0, 0.0, 0.0), LITOTES) == pytest.approx((0.0, 0.5, 0.5))  # no mass left to share
    for rule in (LITOTES, NEGATED_PRAISE, SARCASTIC_PRAISE):
        assert sum(apply_rule((0.2, 0.3, 0.5), rule)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown clause rule"):
        apply_rule((0.2, 0.3, 0.5), "bogus")
