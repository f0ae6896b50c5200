"""Clause rules: three readings of a short comment that the linear model cannot learn from our data.

Pure logic over jieba tokens and normalisation signals (no I/O). A rule fires only when its pattern is
the text's ONLY polarity evidence (no other praise or complaint word, emoji or code) and the text is no
question; then it overrides what the word weights say:

- litotes ("不难看", "一点也不差", "没有让我失望", "没毛病"): a complaint word taken back by 不/没 is not a
  complaint. In the training sources "不 + complaint word" mostly comes from unhappy comments ("没有解决
  问题"), so the model calls even "不难看" negative; when the negated word stands alone the rule wins.
- negated praise ("不是很好", "没那么好", "不太喜欢"): praise taken back is not praise.
- sarcastic praise ("服务真好[微笑]", "真是太好了🙂", "呵呵，你们真棒"): praise next to a strong irony marker
  reads as blame (issue #4). In Weibo comments praise + [微笑]/呵呵 is negative 3 times in 4.

`apply_rule` moves the probability mass the rule rules out; the model still decides between the rest.
How often each rule fires and how right it is on the labelled sources: MODEL_CARD.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.sentiment.features import Lexicon

LITOTES = "litotes"
NEGATED_PRAISE = "negated_praise"
SARCASTIC_PRAISE = "sarcastic_praise"
ALL_RULES = (LITOTES, NEGATED_PRAISE, SARCASTIC_PRAISE)

RULE_GLOSS = {
    LITOTES: "否定负面词→不算负面/negated complaint: not negative",
    NEGATED_PRAISE: "否定夸奖→不算正面/negated praise: not positive",
    SARCASTIC_PRAISE: "反讽夸奖→负面/sarcastic praise: negative",
}
# 呢/嘛/么 end statements as often as questions ("质量真好呢[微笑]"): they do not make a question here
_STATEMENT_PARTICLES = frozenset({"呢", "嘛", "么"})
MAX_FILLERS = 4  # "没有 想象 中 那么 差": at most this many filler words between negator and word


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    trigger: str  # the words that fired it, e.g. "不难看" or "好+[微笑]"

    @property
    def reason(self) -> str:
        return f"{self.trigger} ({RULE_GLOSS[self.rule]})"


def clause_rule(tokens: Sequence[str], signals: Sequence[str], text: str, lex: Lexicon) -> RuleHit | None:
    """The rule that decides this text, if any (see module docstring)."""
    litotes: list[str] = []
    negated_praise: list[str] = []
    other_pos: list[str] = []
    other_neg = False
    question = False
    taken: set[int] = set()
    n = len(tokens)
    for i, token in enumerate(tokens):
        if (token in lex.question_words and token not in _STATEMENT_PARTICLES) or token in ("?", "？"):
            question = True
        if i in taken:
            continue
        if token in lex.negators:
            j = i + 1
            while j < n and j - i - 1 < MAX_FILLERS and tokens[j] in lex.negation_fillers:
                j += 1
            if j >= n:
                continue
            target = tokens[j]
            if target in lex.negators:
                return None  # "不是不喜欢": a double negation is the model's to weigh
            if i > 0 and target.startswith(tokens[i - 1]):
                continue  # "好不好吃", "行不行": an A-not-A question, not a negation
            phrase = _join_words(tokens[i : j + 1])
            if target in lex.negative and token in lex.litotes_negators and target not in lex.litotes_exclude:
                litotes.append(phrase)
                taken.add(j)
            elif target in lex.positive:
                negated_praise.append(phrase)
                taken.add(j)
            continue
        if token in lex.positive:
            other_pos.append(token)
        elif token in lex.negative:
            other_neg = True
    strong = [s for s in signals if s in lex.sarcasm_strong]
    strong += [t for t in tokens if t in lex.sarcasm_strong]
    if lex.sarcasm_strong_patterns is not None:
        match = lex.sarcasm_strong_patterns.search(text)
        if match:
            strong.append(match.group(0))
            other_pos.append(match.group(0))
    cheerful = False  # 👍, [赞], [心] ...: next to these, [微笑] is the old sincere smile
    for signal in signals:
        if signal in lex.positive:
            cheerful = True
        elif signal in lex.negative:
            other_neg = True
    if question or other_neg:
        return None
    if strong and other_pos and not negated_praise and not cheerful:
        return RuleHit(SARCASTIC_PRAISE, "+".join(dict.fromkeys([other_pos[0], *strong])))
    if other_pos or strong or cheerful:
        return None
    if litotes and not negated_praise:
        return RuleHit(LITOTES, litotes[0])
    if negated_praise and not litotes:
        return RuleHit(NEGATED_PRAISE, negated_praise[0])
    return None


def _join_words(words: Sequence[str]) -> str:
    """Words as the text had them: Chinese ones together, Latin ones apart ("不太好用", "don't like")."""
    out = words[0] if words else ""
    for word in words[1:]:
        out += " " + word if out[-1:].isascii() and out[-1:].isalnum() and word[:1].isascii() else word
    return out


def apply_rule(proba: Sequence[float], rule: str) -> tuple[float, float, float]:
    """(P(neg), P(neu), P(pos)) with the mass the rule rules out moved to where it belongs."""
    neg, neu, pos = (float(p) for p in proba)
    if rule == SARCASTIC_PRAISE:
        return neg + pos, neu, 0.0
    if rule == LITOTES:
        rest = neu + pos
        return (0.0, neu / rest, pos / rest) if rest > 1e-9 else (0.0, 0.5, 0.5)
    if rule == NEGATED_PRAISE:
        rest = neg + neu
        return (neg / rest, neu / rest, 0.0) if rest > 1e-9 else (0.5, 0.5, 0.0)
    raise ValueError(f"unknown clause rule {rule!r}")
