"""The sentiment engine's interface: what ingestion, alerts and the reply queue rely on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Label = Literal["neg", "neu", "pos"]


@dataclass(frozen=True, slots=True)
class RiskFlag:
    """A crisis term found in a text (e.g. 维权 / rights-defence), reported separately from sentiment."""

    term: str
    category: str


@dataclass(frozen=True, slots=True)
class SentimentResult:
    label: Label
    score: float  # probability that the text is positive, 0..1
    reasons: tuple[str, ...] = ()
    risk_flags: tuple[RiskFlag, ...] = field(default=())
    neg_score: float | None = None  # probability that the text is negative, when the backend knows it


class Scorer(Protocol):
    name: str

    def score(self, text: str) -> SentimentResult: ...

    def score_batch(self, texts: Sequence[str]) -> list[SentimentResult]: ...


class NeutralScorer:
    """Placeholder scorer that calls every text neutral: used only until a real model is configured."""

    name = "neutral-placeholder"

    def score(self, text: str) -> SentimentResult:
        return SentimentResult(label="neu", score=0.5, reasons=("placeholder scorer",))

    def score_batch(self, texts: Sequence[str]) -> list[SentimentResult]:
        return [self.score(t) for t in texts]
