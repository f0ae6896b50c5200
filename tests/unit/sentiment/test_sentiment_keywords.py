"""Keyword extraction: window vs baseline, counts, representative comment, determinism."""

from __future__ import annotations

from bot.sentiment import extract_keywords

BASELINE = [
    "这款车的外观挺好看的",
    "价格还可以，内饰也不错",
    "续航怎么样？",
    "外观设计很大气",
    "内饰做工不错",
    "价格有点贵",
] * 5
WINDOW = [
    "刹车失灵太危险了，必须召回",
    "我的也是刹车失灵，差点出事",
    "刹车失灵还不召回？投诉！",
    "外观好看有什么用，刹车失灵",
    "要求厂家召回，刹车有问题",
    "价格有点贵",
]


def test_window_terms_beat_baseline_terms():
    keywords = extract_keywords(WINDOW, BASELINE, top_k=5)
    terms = [k.term for k in keywords]
    assert "刹车" in terms[:2] or "失灵" in terms[:2]
    assert "召回" in terms
    assert "价格" not in terms  # as common in the baseline as in the window
    top = keywords[0]
    assert top.count >= 4
    assert top.term in top.example or top.term in top.example.replace(" ", "")
    assert top.example in WINDOW


def test_without_baseline_and_edge_cases():
    keywords = extract_keywords(WINDOW, top_k=3)
    assert 0 < len(keywords) <= 3
    assert extract_keywords([], BASELINE) == []
    assert extract_keywords(["", "   ", "😀"], top_k=5) == []
    assert extract_keywords(WINDOW, top_k=0) == []


def test_stopwords_and_determinism():
    first = extract_keywords(WINDOW, BASELINE, top_k=10)
    assert first == extract_keywords(WINDOW, BASELINE, top_k=10)
    assert all(k.term not in {"的", "了", "我", "什么"} for k in first)


def test_comment_section_words_are_no_keywords():
    window = ["评论区都在说过敏", "评论里好多人过敏了", "看评论才知道过敏的人这么多", "过敏了，评论区见"]
    terms = [k.term for k in extract_keywords(window, BASELINE, top_k=5)]
    assert terms and terms[0] == "过敏"
    assert "评论" not in terms and "评论区" not in terms


def test_textrank_method():
    keywords = extract_keywords(WINDOW, BASELINE, top_k=5, method="textrank")
    assert keywords and all(k.count >= 1 for k in keywords)


def test_a_word_made_up_from_one_comment_of_a_small_window_is_no_keyword():
    # jieba's HMM glues "期" and "全" of 换季烂脸期全靠它续命 into 期全: a cutting accident, shown in a report
    texts = ["换季烂脸期全靠它续命", "赠品没收到", "客服回复好慢", "客服怎么不回"]
    terms = {k.term: k.count for k in extract_keywords(texts)}
    assert "期全" not in terms
    assert terms.get("续命") == 1 and terms.get("客服") == 2  # dictionary words from one comment still count


def test_tfidf_keywords_read_jiebas_idf_table_without_loading_jieba_analyse():
    """jieba.analyse also loads jieba.posseg's tables (~55 MiB the TF-IDF keywords never use): a serve's
    memory went up by ~100 MiB at its first alert. The table read instead is jieba's own, value for value."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from bot.sentiment.keywords import _idf, extract_keywords\n"
        "found = extract_keywords(['面霜过敏了退款', '过敏严重要退款', '用了过敏'] * 4, top_k=3)\n"
        "assert found and found[0].term == '过敏', found\n"
        "assert 'jieba.analyse' not in sys.modules and 'jieba.posseg' not in sys.modules, 'imported'\n"
        "import jieba.analyse\n"
        "table = jieba.analyse.default_tfidf.idf_loader\n"
        "assert _idf() == (table.idf_freq, table.median_idf)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_feature_hash_cache_stays_bounded():
    from bot.sentiment.features import HASH_CACHE_MAX, Featurizer

    featurizer = Featurizer()
    first = featurizer.hash_word("甲0")
    for n in range(HASH_CACHE_MAX + 10):
        featurizer.hash_word(f"甲{n}")
    assert len(featurizer._hash_cache) <= HASH_CACHE_MAX
    assert featurizer.hash_word("甲0") == first  # cleared, the same hash again


def test_complaint_fillers_are_no_keywords():
    """"我要" and "完全" were a report's top negative keywords beside 退款 and 过敏."""
    window = ["我要退款，完全没用", "我要投诉，今天又过敏了", "完全过敏，我要退款", "非常失望，我要退款", "根本没用，居然过敏"]
    terms = [k.term for k in extract_keywords(window, BASELINE, top_k=8)]
    assert "退款" in terms and "过敏" in terms
    assert not {"我要", "完全", "今天", "非常", "根本", "居然"} & set(terms), terms


def test_a_made_up_word_of_one_repeated_phrase_is_no_keyword_but_one_written_in_several_places_is():
    """jieba's HMM cuts "+1 涂完脸就刺痛" as 涂|完脸|就 in every copy of the phrase: "完脸" is no word, yet it
    topped the sample feed's alert keywords. A made-up word seen in more than one place ("同款") still counts."""
    copied = ["+1 涂完脸就刺痛，过敏了", "+1 涂完脸就刺痛，过敏了！！", "+1 涂完脸就刺痛，过敏了[流泪]"] * 3
    window = copied + ["同款过敏，下巴全是小红疹", "同款，脸上起了一片疹子", "我也是同款问题"] + WINDOW
    terms = [k.term for k in extract_keywords(window, BASELINE, top_k=20)]
    assert "完脸" not in terms and "刺痛" in terms
    assert "同款" in terms
