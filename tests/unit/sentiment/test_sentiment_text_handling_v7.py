"""Text handling fixed after v6 (helper audit h1): words jieba glues or splits wrongly around polarity words,
clause boundaries a negation crossed (whitespace, closing brackets/quotes, "//"), Bilibili series codes,
emoji modifiers, typographic apostrophes and digit slang. Featurizer/normalisation level only: no model."""

from __future__ import annotations

import pytest

from bot.sentiment.features import Featurizer
from bot.sentiment.normalization import prepare


@pytest.fixture(scope="module")
def featurizer():
    return Featurizer()


def _features(featurizer, text):
    batch = featurizer.featurize([text])
    return batch.words[0], batch.rules[0]


@pytest.mark.parametrize("text, tokens", [
    ("服务很棒", ["服务", "很", "棒"]),  # jieba: 很棒 as one word
    ("外观太丑了", ["外观", "太", "丑", "了"]),
    ("真不错", ["真", "不错"]),
    ("不太好", ["不太", "好"]),
    ("不太好用", ["不太", "好用"]),  # jieba: 不太好|用
    ("很好用", ["很", "好用"]),  # jieba: 很|好|用
    ("真的很难用", ["真的", "很", "难用"]),
    ("不难吃", ["不", "难吃"]),  # the v6 split still holds
    ("好不好", ["好不好"]),  # A-not-A question: left alone
    ("最好别买", ["最好", "别", "买"]),  # 好 stays a degree word after a degree word
    ("死神来了", ["死神", "来", "了"]),
    ("太差了", ["太", "差", "了"]),  # already two polarity-bearing words: not joined
])
def test_glued_and_split_polarity_words_are_cut_where_the_word_lists_can_read_them(featurizer, text, tokens):
    assert featurizer.tokenize(prepare(text).plain) == tokens


@pytest.mark.parametrize("text, feature", [
    ("质量很烂", "NEG"),
    ("这车很棒", "POS"),
    ("非常好用", "DEG+POS"),
])
def test_glued_polarity_words_fire_their_rule_features(featurizer, text, feature):
    assert feature in _features(featurizer, text)[0]


@pytest.mark.parametrize("text, rule", [
    ("不是很棒", "negated_praise"),
    ("不太好", "negated_praise"),
    ("不太好用", "negated_praise"),
    ("服务很棒[微笑]", "sarcastic_praise"),
    ("没啥问题", "litotes"),
])
def test_clause_rules_see_through_glued_words(featurizer, text, rule):
    hit = _features(featurizer, text)[1]
    assert hit is not None and hit.rule == rule


def test_whitespace_between_chinese_clauses_ends_a_negation_but_not_between_english_words(featurizer):
    words = _features(featurizer, "我不是黑 哈哈哈哈")[0]
    assert "¬哈哈" not in words and "¬POS" not in words
    assert "¬good" in _features(featurizer, "not good")[0]


@pytest.mark.parametrize("text, outside", [
    ("它不是M5（我也不喜欢）M7真的好看", "¬m7"),
    ("（我不说）大家", "¬大家"),
    ("“我不说”大家", "¬大家"),
    ("不//大家", "¬大家"),
])
def test_closing_brackets_quotes_and_repost_slashes_end_a_negation(featurizer, text, outside):
    assert outside not in _features(featurizer, text)[0]


def test_bilibili_series_codes_are_read_with_the_face_they_show(featurizer):
    prepared = prepare("[2022拜年纪_捂脸][崩坏3·光辉矢愿_吃西瓜冰]")
    assert prepared.plain == ""
    assert "[捂脸]" in prepared.signals and "[崩坏3·光辉矢愿_吃西瓜冰]" in prepared.signals
    assert "EMO:捂脸" in _features(featurizer, "[tv_捂脸]")[0]
    assert prepare("[2020-01-23]").signals == ()  # a bracketed date is no code


def test_skin_tones_and_variation_selectors_are_part_of_their_emoji():
    assert prepare("👍🏻👍🏽").signals == ("👍", "👍")
    assert prepare("1️⃣号").plain == "1⃣号"


def test_english_negators_with_apostrophes_are_negators(featurizer):
    assert "¬POS" in _features(featurizer, "I don’t like it")[0]
    assert "can't" in featurizer.tokenize(prepare("can't stop").plain)


@pytest.mark.parametrize("text, plain", [
    ("666666", "666"), ("主播6666", "主播666"), ("23333", "233"), ("555555", "555"),
    ("10666", "10666"), ("6666.5", "6666.5"), ("2000", "2000"),
])
def test_digit_slang_is_squeezed_but_numbers_stay(text, plain):
    assert prepare(text).plain == plain


def test_heart_emoji_of_every_colour_share_the_heart_class(featurizer):
    assert "EMO:心" in _features(featurizer, "请你喝可乐💙")[0]


def test_a_rule_names_english_words_with_their_spaces(featurizer):
    assert _features(featurizer, "not good")[1].trigger == "not good"
    assert _features(featurizer, "不太好用")[1].trigger == "不太好用"
