"""The `snownlp` backend: the original `SnowNLP(text).sentiments`, kept for comparison.

Imported only when chosen (`get_scorer("snownlp")`, `--backend snownlp`): importing snownlp costs ~2 s
and ~400 MiB. Guarded against `SnowNLP('')` (ZeroDivisionError) and texts with nothing it can read.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.sentiment.base import SentimentResult
from bot.sentiment.risk import RiskLexicon


class SnowNLPScorer:
    """SnowNLP's Bayes model on its own segmenter. Label: neg below 0.5, pos above, neu at exactly 0.5
    (SnowNLP returns 0.5 when no token is known).

    SnowNLP's model is binary, so P(neg) is exactly 1 - P(pos): every result carries it as `neg_score`, as the
    default backend's do (`score --json` has the same keys whatever the backend). A text with nothing to read
    (empty, whitespace, or nothing SnowNLP can segment) gets neg_score 0.0, as the default backend gives an
    empty text: nothing in it is negative."""

    name = "snownlp"

    def __init__(self, risk: RiskLexicon | None = None) -> None:
        from snownlp import SnowNLP  # heavy: only when this backend is chosen

        self._snownlp = SnowNLP
        self.risk = risk or RiskLexicon.load()

    def score(self, text: str) -> SentimentResult:
        """Score one text with `SnowNLP(text).sentiments`."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        flags = self.risk.find(text)
        if not text.strip():
            return SentimentResult(label="neu", score=0.5, reasons=("空文本/empty text",), risk_flags=flags,
                                   neg_score=0.0)
        try:
            value = float(self._snownlp(text).sentiments)
        except (ZeroDivisionError, ValueError):  # nothing SnowNLP can segment (e.g. emoji or controls only)
            return SentimentResult(label="neu", score=0.5, reasons=("snownlp: 无法评分/unscorable",),
                                   risk_flags=flags, neg_score=0.0)
        label = "neu" if value == 0.5 else ("pos" if value > 0.5 else "neg")
        return SentimentResult(label=label, score=value, reasons=("snownlp",), risk_flags=flags,
                               neg_score=1.0 - value)

    def score_batch(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Score texts in order."""
        return [self.score(t) for t in texts]
