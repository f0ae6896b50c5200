"""Text handling fixed in model v6 (audit of session 12): an @mention typed without a space no longer deletes
the comment after it, "不难吃" is read as 不 + 难吃 (jieba keeps 不难 whole), and a lone zero-width joiner is
no text."""

from __future__ import annotations

import pytest

from bot.sentiment import get_scorer
from bot.sentiment.features import Featurizer
from bot.sentiment.normalization import MENTION_TOKEN, prepare


@pytest.mark.parametrize("text, plain", [
    ("@商家你们虚假宣传我要投诉", "商家你们虚假宣传我要投诉"),  # no end in sight: kept as text
    ("@商家你们虚假宣传！", "商家你们虚假宣传 !"),
    ("@小王 你们的产品太差了", "你们的产品太差了"),  # a space ends the name: dropped
    ("//@王源曰有一次我和王俊凯睡觉:哇", "// :哇"),  # a colon too, however long the name
    ("@湖南科技大学团委学生会 @共青团湘潭市委 加油", "加油"),
    ("好用@闺蜜", "好用"),  # short names are dropped wherever they end
])
def test_a_mention_drops_its_name_only_where_the_name_visibly_ends(text, plain):
    prepared = prepare(text)
    assert prepared.plain == plain
    assert MENTION_TOKEN in prepared.signals


@pytest.fixture(scope="module")
def featurizer():
    return Featurizer()


@pytest.mark.parametrize("text, tokens", [
    ("不难吃", ["不", "难吃"]),
    ("味道不难吃", ["味道", "不", "难吃"]),
    ("不难用", ["不", "难用"]),
    ("不难", ["不难"]),  # nothing follows: left alone
    ("不难做", ["不难", "做"]),  # 难做 is no polarity word
])
def test_a_negator_glued_to_half_a_polarity_word_is_split_off(featurizer, text, tokens):
    assert featurizer.tokenize(prepare(text).plain) == tokens


def test_zero_width_joiners_alone_are_empty_text_and_emoji_sequences_keep_their_emoji():
    assert prepare("\u200b\u200d\ufeff").plain == ""
    assert get_scorer().score("\u200b\u200d\ufeff").reasons == ("空文本/empty text",)
    assert prepare("👨\u200d👩\u200d👧 好").signals == ("👨", "👩", "👧")


def test_the_shipped_model_reads_complaints_after_a_glued_mention_and_negated_complaints():
    texts = ["@商家你们虚假宣传我要投诉", "@抖音小助手这个主播是骗子", "不难吃", "一点也不难吃", "不难喝"]
    labels = [result.label for result in get_scorer().score_batch(texts)]
    assert labels[:2] == ["neg", "neg"]
    assert "neg" not in labels[2:]
