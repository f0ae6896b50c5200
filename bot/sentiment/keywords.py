"""Keyword extraction for "what are people saying": a window of comments against a baseline.

Terms are jieba tokens of the normalised comments (user dictionary included) minus stopwords
(config/sentiment/stopwords.txt), punctuation, numbers and single characters. Each term is weighed
TF-IDF style: the number of window comments containing it times jieba's IDF (`jieba.analyse` table).
With a baseline, the weight is multiplied by the lift (how much more often the term appears in the window
than in the baseline, smoothed and capped) and terms that are not more frequent than in the baseline are
dropped, so everyday words ("价格", "视频") do not crowd out what is new. `method="textrank"` ranks the
candidates with jieba's TextRank over the window instead of IDF.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.sentiment.normalization import prepare

EXAMPLE_MAX_CHARS = 200
#: a baseline of fewer comments says nothing about what is usual: with one comment, the smoothed rate of a
#: term it lacks was 25%, so only terms in over a quarter of the window survived (a client's first report
#: listed one keyword where an empty baseline listed eight)
MIN_BASELINE = 10
_RANK_POS = ("n", "nz", "ns", "nr", "nt", "vn", "v", "a", "an", "ad", "l", "i", "eng")
_TERM_RE = re.compile(r"^[\u4e00-\u9fffa-z][\u4e00-\u9fffa-z0-9]*$")


@dataclass(frozen=True, slots=True)
class Keyword:
    term: str
    count: int  # window comments containing the term
    example: str  # a representative window comment (original text, cut to 200 chars)
    score: float
    baseline_count: int = 0


def default_stopwords_path() -> Path | None:
    path = Path(__file__).resolve().parents[2] / "config" / "sentiment" / "stopwords.txt"
    return path if path.is_file() else None


@lru_cache(maxsize=4)
def load_stopwords(path: Path | None = None) -> frozenset[str]:
    """Stopwords, one a line (`#` comments allowed)."""
    path = path or default_stopwords_path()
    if path is None:
        return frozenset()
    words = (line.strip().lower() for line in Path(path).read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    """jieba's IDF table (`jieba/analyse/idf.txt`) and its median, read as jieba.analyse reads it, without
    importing jieba.analyse: that also loads jieba.posseg's tables (~55 MiB the keywords never use) and
    took a serve's memory up by ~100 MiB at its first alert (bench/soak)."""
    from importlib.resources import files

    freq: dict[str, float] = {}
    for line in files("jieba").joinpath("analyse", "idf.txt").read_text(encoding="utf-8").splitlines():
        word, value = line.strip().split(" ")
        freq[word] = float(value)
    return freq, sorted(freq.values())[len(freq) // 2]


def _terms(tokenizer, text: str, stopwords: frozenset[str],
           contexts: dict[str, set[tuple[str, str]]] | None = None) -> set[str]:
    """The text's candidate terms. `contexts`: for each term jieba's HMM made up (not in its dictionary),
    the (character before, character after) pairs it was seen between, collected across texts."""
    tokens = tokenizer.lcut(prepare(text).plain, HMM=True)
    terms = set()
    for i, token in enumerate(tokens):
        if len(token) < 2 or token in stopwords or not _TERM_RE.match(token):
            continue
        terms.add(token)
        if contexts is not None and not tokenizer.FREQ.get(token):
            before = tokens[i - 1][-1:] if i else "^"
            after = tokens[i + 1][:1] if i + 1 < len(tokens) else "$"
            contexts.setdefault(token, set()).add((before, after))
    return terms


def extract_keywords(
    texts: Sequence[str],
    baseline_texts: Iterable[str] = (),
    top_k: int = 10,
    *,
    method: str = "tfidf",
    stopwords: frozenset[str] | None = None,
) -> list[Keyword]:
    """Top terms of `texts` (e.g. a window's negative comments), compared with `baseline_texts`.

    Returns up to `top_k` Keyword(term, count, example, score, baseline_count), best first; ties are
    broken by term so the answer is deterministic.
    """
    from bot.sentiment.features import shared_tokenizer

    if method not in ("tfidf", "textrank"):
        raise ValueError("method must be 'tfidf' or 'textrank'")
    if top_k <= 0 or not texts:
        return []
    tokenizer = shared_tokenizer()
    stopwords = load_stopwords() if stopwords is None else stopwords
    contexts: dict[str, set[tuple[str, str]]] = {}
    window_terms = [_terms(tokenizer, t, stopwords, contexts) for t in texts]
    df = Counter(term for terms in window_terms for term in terms)
    baseline = list(baseline_texts)
    base_df: Counter[str] = Counter()
    for text in baseline:
        base_df.update(_terms(tokenizer, text, stopwords))
    n_window, n_base = len(texts), len(baseline)

    if method == "textrank":
        import jieba.analyse
        import jieba.posseg

        ranker = jieba.analyse.TextRank()
        ranker.tokenizer = ranker.postokenizer = jieba.posseg.POSTokenizer(tokenizer)
        joined = "\n".join(prepare(t).plain for t in texts)
        ranks = dict(ranker.textrank(joined, topK=max(top_k * 5, 50), withWeight=True, allowPOS=_RANK_POS))
        weight = {term: ranks.get(term, 0.0) for term in df}
    else:
        idf, median = _idf()
        weight = {term: idf.get(term, median) for term in df}

    scored: list[tuple[float, str]] = []
    for term, count in df.items():
        if count < 2 and (n_window >= 10 or not tokenizer.FREQ.get(term)):
            # one comment is not a trend; and in a small window a word jieba's HMM made up from one comment
            # ("换季烂脸期全靠它" -> 期全) is a cutting accident, not a word (one it made up across several
            # comments, new slang or a product name, still counts)
            continue
        if len(contexts.get(term, ())) == 1 and count < n_window:
            # a made-up word always between the same two characters is a cutting accident of one phrase
            # many comments repeat ("+1 涂完脸就刺痛" -> 涂|完脸|就 in every copy): the phrase's real words
            # carry it; new slang or a product name is written in more than one place
            continue
        score = count * weight[term]
        if n_base >= MIN_BASELINE:
            lift = ((count + 0.5) / (n_window + 1)) / ((base_df[term] + 0.5) / (n_base + 1))
            if lift <= 1.0:
                continue
            score *= min(lift, 20.0)
        if score > 0:
            scored.append((score, term))
    scored.sort(key=lambda item: (-item[0], item[1]))
    top = [term for _, term in scored[:top_k]]
    top_set = set(top)
    keywords = []
    for score, term in scored[:top_k]:
        # representative comment: covers the most top terms, then the shortest, then the earliest
        best = min(
            (i for i, terms in enumerate(window_terms) if term in terms),
            key=lambda i: (-len(window_terms[i] & top_set), len(texts[i]), i),
        )
        keywords.append(Keyword(term=term, count=df[term], example=texts[best][:EXAMPLE_MAX_CHARS],
                                score=round(score, 4), baseline_count=base_df[term]))
    return keywords
