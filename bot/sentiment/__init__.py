"""Chinese sentiment for social comments: scorer backends, normalisation, risk flags, keywords.

Importing this package is cheap: jieba, numpy and the model load on first use.

    from bot.sentiment import get_scorer
    results = get_scorer().score_batch(["不高兴", "太好用了！！"])   # SentimentResult per text

Backends: "default" (jieba + rules + hashed char n-grams, softmax-linear, numpy; the shipped model) and
"snownlp" (the original `SnowNLP(text).sentiments`, for comparison; heavy, imported only when chosen).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.sentiment.base import NeutralScorer, RiskFlag, Scorer, SentimentResult

if TYPE_CHECKING:  # pragma: no cover
    from bot.sentiment.keywords import Keyword
    from bot.sentiment.risk import RiskLexicon

__all__ = [
    "BACKENDS",
    "NeutralScorer",
    "RiskFlag",
    "Scorer",
    "SentimentResult",
    "extract_keywords",
    "find_risk_flags",
    "get_scorer",
    "normalize",
]

BACKENDS = ("default", "snownlp")
_LOCK = threading.RLock()  # re-entrant: building a scorer may load the shared risk lexicon
_SCORERS: dict[tuple[str, str | None], Scorer] = {}
_RISK: list[RiskLexicon] = []


def get_scorer(backend: str = "default", *, model_path: str | Path | None = None) -> Scorer:
    """The scorer for `backend` ("default" or "snownlp"), created once per process and cached.

    `model_path` picks another model file for the default backend (e.g. one trained with corrections).
    The returned object has `name`, `score(text)` and `score_batch(texts)` returning SentimentResult.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown sentiment backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    key = (backend, str(model_path) if model_path else None)
    scorer = _SCORERS.get(key)
    if scorer is not None:
        return scorer
    with _LOCK:
        scorer = _SCORERS.get(key)
        if scorer is None:
            if backend == "snownlp":
                from bot.sentiment.snownlp_backend import SnowNLPScorer

                scorer = SnowNLPScorer(risk=_risk_lexicon())
            else:
                from bot.sentiment.model import DefaultScorer

                scorer = DefaultScorer(Path(model_path) if model_path else None)
            _SCORERS[key] = scorer
    return scorer


def normalize(text: str) -> str:
    """Normalised comment text: half-width, simplified Chinese, repeats squeezed, URL/@ placeholders."""
    from bot.sentiment.normalization import normalize as _normalize

    return _normalize(text)


def _risk_lexicon() -> RiskLexicon:
    if not _RISK:
        from bot.sentiment.risk import RiskLexicon

        with _LOCK:
            if not _RISK:
                _RISK.append(RiskLexicon.load())
    return _RISK[0]


def find_risk_flags(text: str) -> tuple[RiskFlag, ...]:
    """Crisis terms in `text` (term and category), from config/sentiment/risk_terms.yaml."""
    return _risk_lexicon().find(text)


def extract_keywords(
    texts: Sequence[str], baseline_texts: Iterable[str] = (), top_k: int = 10, **options
) -> list[Keyword]:
    """Top terms of `texts` against `baseline_texts`: items with term, count, example, score."""
    from bot.sentiment.keywords import extract_keywords as _extract

    return _extract(texts, baseline_texts, top_k, **options)
