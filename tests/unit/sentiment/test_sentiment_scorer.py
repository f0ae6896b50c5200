"""The default scorer with the shipped model: robustness (property-based), rules, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sentiment import get_scorer
from bot.sentiment.base import SentimentResult
from bot.sentiment.model import LinearModel


@pytest.fixture(scope="module")
def scorer():
    return get_scorer()


def _sane(result: SentimentResult) -> None:
    assert result.label in ("neg", "neu", "pos")
    assert 0.0 <= result.score <= 1.0
    assert isinstance(result.reasons, tuple)


def test_get_scorer_is_cached(scorer):
    assert get_scorer() is scorer
    assert scorer.name == "default"


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown sentiment backend"):
        get_scorer("bert")


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \r\n"])
def test_empty_and_whitespace_are_neutral(scorer, text):
    result = scorer.score(text)
    assert result.label == "neu" and result.score == 0.5


def test_emoji_only_is_scored_by_its_emoji(scorer):
    for text in ("😀😀😀", "👍", "😡😡"):
        _sane(scorer.score(text))
    assert scorer.score("😡😡🤬").score < scorer.score("👍👍😍").score


def test_long_text_control_chars_surrogates_mixed_script(scorer):
    for text in ("好" * 100_000, "差评\x00\x01\x1b[31m", "坏\ud800了\udfff", "iPhone 15 太 good 了 但是 battery 不行",
                 "Это хорошо 很好 😊 مرحبا"):
        _sane(scorer.score(text))


def test_negation(scorer):
    assert scorer.score("不高兴").label == "neg"
    assert scorer.score("我今天很高兴").label == "pos"
    assert scorer.score("一点都不好用，太失望了").label == "neg"


def test_clear_cases(scorer):
    assert scorer.score("垃圾产品，骗子公司，退款！").label == "neg"
    assert scorer.score("太好看了，爱了爱了，支持！").label == "pos"


@pytest.mark.parametrize("text", ["已三连", "爷青回", "质地好清爽，一点都不闷", "用了一个月了，脸真的稳定了好多"])
def test_community_slang_and_product_praise_are_not_negative(scorer, text):
    # Bilibili slang and skin-care praise were called negative before the lexicon knew them (model v4)
    assert scorer.score(text).label != "neg"


def test_reasons_and_risk_flags_are_reported(scorer):
    result = scorer.score("虚假宣传，我要投诉维权")
    assert result.label == "neg"
    assert result.reasons
    assert {f.term for f in result.risk_flags} >= {"虚假宣传", "投诉", "维权"}


def test_batch_equals_single_and_is_deterministic(scorer):
    texts = ["不高兴", "", "太棒了👍", "呵呵，真是太好了🙂", "这车多少钱？"]
    batch = scorer.score_batch(texts)
    assert batch == [scorer.score(t) for t in texts]
    assert batch == scorer.score_batch(texts)


def test_bad_type_is_refused(scorer):
    with pytest.raises(TypeError):
        scorer.score_batch([None])  # type: ignore[list-item]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=300), max_size=5))
def test_property_never_crashes_and_batch_is_consistent(scorer, texts):
    results = scorer.score_batch(texts)
    assert len(results) == len(texts)
    for text, result in zip(texts, results, strict=True):
        _sane(result)
        assert result == scorer.score(text)


@pytest.mark.slow
def test_snownlp_backend_is_guarded_and_loaded_only_on_demand():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from bot.sentiment import get_scorer\n"
        "get_scorer().score('好')\n"
        "assert 'snownlp' not in sys.modules and 'sklearn' not in sys.modules\n"
        "s = get_scorer('snownlp')\n"
        "assert s.name == 'snownlp' and 'snownlp' in sys.modules\n"
        "assert s.score('').label == 'neu' and s.score('   ').score == 0.5\n"
        "r = s.score('这个东西很好用，喜欢')\n"
        "assert r.label in ('neg', 'neu', 'pos') and 0 <= r.score <= 1\n"
        # the backend itself gives P(neg) (ingestion stores it as `sentiment_neg`): the checks of
        # test_sentiment_cli_contract_consistency's "snownlp scorer results carry neg_score", in this child
        # process that loads snownlp anyway (a process of its own cost ~3 s of CPU)
        "rs = s.score_batch(['太差了', '', '很好', '\\x00\\x01'])\n"
        "assert all(r.neg_score is not None for r in rs), rs\n"
        "assert abs(rs[0].neg_score - (1 - rs[0].score)) < 1e-9 and rs[0].neg_score > 0.5, rs[0]\n"
        "assert rs[1].neg_score == 0.0, rs\n"
        "assert all(abs(r.neg_score - (1 - r.score)) < 1e-9 for r in rs if r.reasons == ('snownlp',)), rs\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


def _model_with(thresholds: dict) -> LinearModel:
    return LinearModel(weights=np.zeros((4, 2), np.float16), bias=np.zeros(2), meta={"thresholds": thresholds})


def test_neutral_gate_keeps_likely_neutral_texts_out_of_neg():
    gated = _model_with({"neg": 0.30, "pos": 0.40, "neg_over_neu": 1.25})
    legacy = _model_with({"neg": 0.30, "pos": 0.40})  # files without the key: no gate
    # P(neg)=.33 but the neutral detector is more sure (P(neu)=.40): gated -> neu, legacy -> neg
    coin_toss = [0.33, 0.40, 0.27]
    clearly_neg = [0.60, 0.30, 0.10]
    positive = [0.10, 0.30, 0.60]
    rows = np.array([coin_toss, clearly_neg, positive])
    assert gated.decide(rows) == ["neu", "neg", "pos"]
    assert legacy.decide(rows) == ["neg", "neg", "pos"]
    # the vectorised path (more than 8 rows) decides the same way as the per-row path
    many = np.repeat(rows, 5, axis=0)
    assert gated.decide(many) == [label for label in ("neu", "neg", "pos") for _ in range(5)]


def test_gated_model_splits_the_non_positive_mass_with_the_neutral_vs_negative_head():
    from bot.sentiment.features import BatchFeatures

    # feature 0: clearly negative and not neutral; feature 1: negative polarity, but the neutral-vs-negative
    # head is sure it is neutral (e.g. a question about a problem); feature 2: positive
    weights = np.array([[-4.0, -2.0, -4.0], [-4.0, -2.0, 4.0], [4.0, -2.0, 0.0]], dtype=np.float16)
    model = LinearModel(weights=weights, bias=np.zeros(3),
                        meta={"kind": "gated", "hash_bits": 2,
                              "thresholds": {"neg": 0.30, "pos": 0.40, "neg_over_neu": 1.0}})
    feats = BatchFeatures(indices=np.array([0, 1, 2]), text_ids=np.array([0, 1, 2]), counts=np.ones(3))
    proba = model.predict_proba(feats)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert model.decide(proba) == ["neg", "neu", "pos"]
    # reasons: the negative word pushes toward neg through the polarity and the neutral-vs-negative heads
    assert model.push(weights[:1].astype(np.float32), "neg")[0] > 0


def test_shipped_model_is_the_gated_kind():
    model = get_scorer().model
    assert model.kind == "gated" and model.weights.shape == (1 << model.hash_bits, 3)


def test_reasons_skip_function_words_and_punctuation_unless_nothing_else_weighed(scorer):
    reasons = scorer.score("用了一个月了，脸真的稳定了好多").reasons
    assert reasons and not {"了", "，", ",", "的"} & set(reasons)
    assert scorer.score("了").reasons == ("了",)  # nothing else: the honest answer is still given
    assert "呵呵" in scorer.score("呵呵，天气真热").reasons  # a sarcasm marker is no function word
    assert "呵呵" in scorer.score("呵呵，真是太好了🙂").reasons[0]  # ... and names the sarcasm rule it fired


def test_clause_rules_apply_only_when_the_model_file_lists_them():
    from bot.sentiment.features import BatchFeatures
    from bot.sentiment.rules import LITOTES, SARCASTIC_PRAISE, RuleHit

    weights = np.array([[4.0, -2.0, 0.0], [-4.0, -2.0, -4.0]], dtype=np.float16)  # praise, complaint
    meta = {"kind": "gated", "hash_bits": 1, "thresholds": {"neg": 0.30, "pos": 0.40, "neg_over_neu": 1.0}}
    feats = BatchFeatures(indices=np.array([0, 1, 0]), text_ids=np.array([0, 1, 2]), counts=np.ones(3),
                          rules=[RuleHit(SARCASTIC_PRAISE, "好+🙂"), RuleHit(LITOTES, "不难看"), None])
    older = LinearModel(weights=weights, bias=np.zeros(3), meta=dict(meta))  # files before v5: no rules
    ruled = LinearModel(weights=weights, bias=np.zeros(3), meta={**meta, "rules": [SARCASTIC_PRAISE, LITOTES]})
    assert older.decide(older.predict_proba(feats)) == ["pos", "neg", "pos"]
    proba = ruled.predict_proba(feats)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ruled.decide(proba) == ["neg", "pos", "pos"]
    assert proba[0, 2] == 0.0 and proba[1, 0] == 0.0
    assert np.allclose(proba[2], older.predict_proba(feats)[2])  # no rule: the model's own answer


@pytest.mark.parametrize("text", ["不难看", "一点也不差", "没有让我失望", "不麻烦", "没有想象中那么差"])
def test_negated_complaints_are_not_negative(scorer, text):
    # the model alone called all of these negative (v4); the litotes rule reads them
    result = scorer.score(text)
    assert result.label != "neg"
    assert "不算负面" in result.reasons[0]


@pytest.mark.parametrize("text", ["不是很好", "没那么好", "不太喜欢"])
def test_negated_praise_is_not_positive(scorer, text):
    assert scorer.score(text).label != "pos"


@pytest.mark.parametrize("text", ["真是太好了🙂", "真是太好了🙃", "呵呵，服务真好", "服务真好[微笑]", "谢谢你啊，客服真专业[微笑]"])
def test_sarcastic_praise_is_negative(scorer, text):
    result = scorer.score(text)
    assert result.label == "neg"
    assert "反讽" in result.reasons[0]
