"""How a scored text reads in a channel set to English (bot.sentiment.explain, `lang="en"`), and the risk
lexicon's optional English category names (`category_names_en` in risk_terms.yaml, bot.sentiment.risk).

Before, explain_lines had only the bilingual form, and a lexicon with a names table failed to load (its value
is a mapping, not a category)."""

from __future__ import annotations

import pytest

from bot.sentiment.base import RiskFlag, SentimentResult
from bot.sentiment.explain import category_words, explain_lines, label_words, reason_words
from bot.sentiment.risk import RiskLexicon


def test_explain_lines_in_english_alone():
    result = SentimentResult(label="neg", score=0.032, neg_score=0.902,
                             reasons=("NEG (负面词/negative word)", "投诉", "空文本/empty text"),
                             risk_flags=(RiskFlag("投诉", "complaint"), RiskFlag("变质", "食安"),
                                         RiskFlag("封号", "account")))
    assert explain_lines("我要投诉", result, lang="en", category_names_en={"食安": "food safety"}) == [
        "> 我要投诉",
        "negative (neg) · P(pos) 0.032 · P(neg) 0.902",
        "Reasons: NEG (negative word); 投诉; empty text",
        "Risk terms: 投诉 (complaint), 变质 (food safety), 封号 (account action)",
    ]
    # Chinese first, as the CLI and Chinese channels have it (the names table is the English channel's only)
    assert explain_lines("我要投诉", result, category_names_en={"食安": "food safety"}) == [
        "> 我要投诉",
        "负面 neg · P(正面 pos) 0.032 · P(负面 neg) 0.902",
        "理由 / reasons：NEG (负面词/negative word)；投诉；空文本/empty text",
        "风险词 / risk terms：投诉（投诉举报 complaint）、变质（食安 食安）、封号（账号处置 account）",
    ]
    assert explain_lines("  ", SentimentResult(label="neu", score=0.5), lang="en") == [
        "> (empty)", "neutral (neu) · P(pos) 0.500"]


@pytest.mark.parametrize(("reason", "english"), [
    ("snownlp: 无法评分/unscorable", "snownlp: unscorable"),
    ("<!> (连续感叹/!!)", "<!> (!!)"),
    ("EMO:狗头 (表情类/emoticon class)", "EMO:doge (emoticon class)"),
    ("EMO:新表情 (表情类/emoticon class)", "EMO:新表情 (emoticon class)"),  # a class we have no name for
    ("好/坏", "好/坏"),  # a word with a slash, no English in it: as written
    ("placeholder scorer", "placeholder scorer"),
])
def test_a_reason_keeps_its_english_gloss_alone(reason, english):
    assert reason_words(reason, "en") == english
    assert reason_words(reason) == reason


def test_labels_and_categories_by_language():
    assert [label_words(x, "en") for x in ("neg", "neu", "pos", None)] == [
        "negative (neg)", "neutral (neu)", "positive (pos)", "unscored"]
    assert [label_words(x) for x in ("neu", None)] == ["中性 neu", "未打分 -"]
    assert category_words("exposure", "en") == "public exposure"
    assert category_words("exposure", "en", {"exposure": "media exposure"}) == "media exposure"
    assert category_words("刑事", "en") == "刑事"  # a team's own category without an English name: as written
    assert category_words("exposure") == "曝光/舆情 exposure"


def test_the_lexicon_reads_its_optional_english_names_and_no_term_from_them(tmp_path):
    path = tmp_path / "risk_terms.yaml"
    path.write_text("变质: 食安\n投诉: complaint\ncategory_names_en:\n  食安: ' food safety '\n", encoding="utf-8")
    lexicon = RiskLexicon.load(path)
    assert lexicon.names_en == {"食安": "food safety"}
    assert lexicon.find("category_names_en 变质") == (RiskFlag("变质", "食安"),)
    # without the table (the shipped file): no names, the defaults of bot.sentiment.explain apply
    assert RiskLexicon.load().names_en == {}


def test_a_bad_english_names_table_is_refused_with_its_file(tmp_path):
    path = tmp_path / "risk_terms.yaml"
    path.write_text("投诉: complaint\ncategory_names_en:\n  complaint: ''\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"risk_terms\.yaml: category_names_en: expected category -> English"):
        RiskLexicon.load(path)
