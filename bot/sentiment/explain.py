"""How one scored text reads to a person: label in words, both probabilities, reasons, risk terms.

Pure (no I/O). Shared by `crisisbot sentiment score` in a narrow terminal (a six-column table there cuts
every text to a few characters) and by `/sentiment score` in chat. Chinese first with English; a channel set
to English (`lang="en"`) reads English alone, the quoted text and the words taken from it as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.sentiment.base import SentimentResult

LABEL_ZH = {"neg": "负面", "neu": "中性", "pos": "正面", None: "未打分"}
LABEL_EN = {"neg": "negative", "neu": "neutral", "pos": "positive", None: "unscored"}
# The categories of config/sentiment/risk_terms.yaml; a team's own category is shown as written.
RISK_CATEGORY_ZH = {
    "rights": "维权", "complaint": "投诉举报", "legal": "法律", "refund": "退款", "fraud": "欺诈",
    "safety": "安全", "exposure": "曝光/舆情", "account": "账号处置", "quality": "质量",
}
# The same in an English channel where the id alone says too little (rights: 维权 is rights defence; account:
# 封号/限流 are actions on an account). The lexicon's optional `category_names_en` (bot.sentiment.risk) wins.
RISK_CATEGORY_EN = {"rights": "rights defence", "exposure": "public exposure", "account": "account action"}
# The model's emoticon classes (bot/sentiment/data/lexicon.yaml `emoticon_classes`): an English channel reads
# "EMO:哈哈" as a laughing emoticon; a class not named here stays as the model calls it.
EMOTICON_CLASS_EN = {
    "微笑": "smile", "倒脸": "upside-down face", "笑哭": "tears of joy", "捂脸": "facepalm", "狗头": "doge",
    "哭": "crying", "赞": "thumbs up", "心": "heart", "喜爱": "adoring", "哈哈": "laughing", "怒": "angry",
    "鄙视": "eye roll", "吐": "vomiting", "汗": "sweat", "吃瓜": "watching the drama", "思考": "thinking",
    "拜托": "pleading", "加油": "cheering on", "花": "flowers", "失望": "disappointed", "惊恐": "scared",
    "抠鼻": "nose picking", "再见": "bye", "小丑": "clown",
}
_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
# A reason's gloss is "中文/English" (bot.sentiment.model, bot.sentiment.rules): "负面词/negative word",
# "snownlp: 无法评分/unscorable". Only a gloss with Chinese before its first "/" and none after it is cut.
_GLOSS_RE = re.compile(rf"(?P<lead>[^/{_CJK}]*)[{_CJK}][^/]*/(?P<en>[^/{_CJK}]+)")
_FEATURE_RE = re.compile(r"(?P<feature>.*) \((?P<gloss>[^()]*)\)")


def label_words(label: str | None, lang: str = "zh") -> str:
    """"负面 neg": the label as people read it, then as machines and the docs write it ("negative (neg)" in
    English; "unscored" for none)."""
    if lang == "en":
        word = LABEL_EN.get(label, label)
        return f"{word} ({label})" if label in ("neg", "neu", "pos") else word
    return f"{LABEL_ZH.get(label, label)} {label or '-'}"


def category_words(category: str, lang: str = "zh", names_en: Mapping[str, str] | None = None) -> str:
    """A risk category as a channel names it: "投诉举报 complaint", or in English the lexicon's own English
    name, else ours, else the category as written (the shipped ids are English words already)."""
    if lang == "en":
        return (names_en or {}).get(category) or RISK_CATEGORY_EN.get(category, category)
    return f"{RISK_CATEGORY_ZH.get(category, category)} {category}"


def risk_words(result: SentimentResult, lang: str = "zh", names_en: Mapping[str, str] | None = None) -> str:
    """"投诉（投诉举报 complaint）、退款（退款 refund）", "投诉 (complaint), 退款 (refund)" in English, or ""
    without risk terms. The terms are the text's own words, shown as found."""
    if lang == "en":
        return ", ".join(f"{flag.term} ({category_words(flag.category, lang, names_en)})"
                         for flag in result.risk_flags)
    return "、".join(f"{flag.term}（{category_words(flag.category)}）" for flag in result.risk_flags)


def reason_words(reason: str, lang: str = "zh") -> str:
    """A reason as a channel reads it: as the model gave it ("NEG (负面词/negative word)"), or its gloss in
    English alone ("NEG (negative word)", "EMO:哈哈" as "EMO:laughing (emoticon class)"). The feature itself
    (a word of the text, "不难看") stays as written."""
    if lang != "en":
        return reason
    found = _FEATURE_RE.fullmatch(reason)
    if found is None:
        return _english_gloss(reason)
    feature = found["feature"]
    if feature.startswith("EMO:"):
        feature = "EMO:" + EMOTICON_CLASS_EN.get(feature[4:], feature[4:])
    return f"{feature} ({_english_gloss(found['gloss'])})"


def _english_gloss(gloss: str) -> str:
    bilingual = _GLOSS_RE.fullmatch(gloss)
    return f"{bilingual['lead']}{bilingual['en']}" if bilingual else gloss


def explain_lines(text: str, result: SentimentResult, *, preview_chars: int = 200, lang: str = "zh",
                  category_names_en: Mapping[str, str] | None = None) -> list[str]:
    """The lines that explain one result, Chinese first (English alone for `lang="en"`, with the risk
    lexicon's `category_names_en`); the text is quoted (cut after `preview_chars`)."""
    shown = " ".join(text.split())
    if len(shown) > preview_chars:
        shown = shown[: preview_chars - 1] + "…"
    en = lang == "en"
    probabilities = f"P(pos) {result.score:.3f}" if en else f"P(正面 pos) {result.score:.3f}"
    if result.neg_score is not None:
        probabilities += f" · P(neg) {result.neg_score:.3f}" if en else f" · P(负面 neg) {result.neg_score:.3f}"
    empty = "(empty)" if en else "（空 / empty）"
    lines = [f"> {shown or empty}", f"{label_words(result.label, lang)} · {probabilities}"]
    if result.reasons:
        reasons = [reason_words(r, lang) for r in result.reasons]
        lines.append("Reasons: " + "; ".join(reasons) if en else "理由 / reasons：" + "；".join(reasons))
    risks = risk_words(result, lang, category_names_en)
    if risks:
        lines.append(("Risk terms: " if en else "风险词 / risk terms：") + risks)
    return lines
