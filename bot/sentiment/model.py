"""The default scorer: linear models over hashed features (gated: polarity + neutral + neutral-vs-negative;
older files: two-stage or softmax), numpy only.

No scikit-learn and no snownlp here: this module is what ingestion imports on every batch.
"""

from __future__ import annotations

import json
import threading
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bot.sentiment.base import SentimentResult
from bot.sentiment.features import BatchFeatures, Featurizer
from bot.sentiment.risk import RiskLexicon
from bot.sentiment.rules import RuleHit, apply_rule

CLASSES = ("neg", "neu", "pos")
MODEL_FILENAME = "model.npz"
FORMAT_VERSION = 1

# Reasons show readable features; these internal names get a short bilingual gloss.
_RULE_GLOSS = {
    "POS": "正面词/positive word",
    "NEG": "负面词/negative word",
    "¬POS": "否定+正面词/negated positive",
    "¬NEG": "否定+负面词/negated negative",
    "DEG+POS": "程度词+正面/intensified positive",
    "DEG+NEG": "程度词+负面/intensified negative",
    "DEG+¬POS": "程度词+否定正面/intensified negated positive",
    "DEG+¬NEG": "程度词+否定负面/intensified negated negative",
    "SARC": "反讽标记/sarcasm marker",
    "SARC&POS": "反讽+夸奖/sarcastic praise",
    "SARC!": "强反讽标记/strong sarcasm marker",
    "SARC!&POS": "强反讽+夸奖/praise with a strong sarcasm marker",
    "POS&NEG": "褒贬混合/mixed praise and blame",
    "Q": "疑问/question",
    "QR": "反问/rhetorical question",
    "MIX": "中英混合/mixed zh-en",
    "<rep>": "重复字/repeated characters",
    "<!>": "连续感叹/!!",
    "<?>": "连续问号/??",
    "<url>": "链接/URL",
    "<@>": "@提及/mention",
}


def default_model_path() -> Path:
    """The shipped model file (package data)."""
    return Path(str(resources.files("bot.sentiment").joinpath(f"data/{MODEL_FILENAME}")))


class ModelFileError(ValueError):
    """A file that is not a model this version can read; the message is for the user, Chinese first."""


@dataclass
class LinearModel:
    """Linear weights over hashed features plus the decision thresholds and training meta."""

    weights: np.ndarray  # (2**hash_bits, k) float16/float32, see `kind`
    bias: np.ndarray  # (k,) float64
    meta: dict[str, Any]

    @property
    def hash_bits(self) -> int:
        return int(self.meta["hash_bits"])

    @property
    def neg_threshold(self) -> float:
        return float(self.meta["thresholds"]["neg"])

    @property
    def pos_threshold(self) -> float:
        return float(self.meta["thresholds"]["pos"])

    @property
    def neg_over_neutral(self) -> float:
        """neg also needs P(neg) >= this x P(neu); 0 (older files) disables the neutral gate."""
        return float(self.meta["thresholds"].get("neg_over_neu", 0.0))

    @property
    def rules(self) -> frozenset[str]:
        """Clause rules this model applies (bot/sentiment/rules.py); older files have none."""
        return frozenset(self.meta.get("rules", ()))

    def save(self, path: Path) -> None:
        """Write the model as a compressed .npz (weights as float16: half the size, same decisions)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps(self.meta, ensure_ascii=False, sort_keys=True)
        arrays = {
            "weights": self.weights.astype(np.float16),
            "bias": self.bias.astype(np.float64),
            "meta": np.frombuffer(meta.encode("utf-8"), dtype=np.uint8),
        }
        # Written by hand (not np.savez) so entries carry a fixed timestamp: same model, same bytes.
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w") as fh:
                    np.lib.format.write_array(fh, np.ascontiguousarray(array), allow_pickle=False)

    @classmethod
    def load(cls, path: Path | None = None) -> LinearModel:
        path = Path(path) if path is not None else default_model_path()
        if not path.is_file():
            raise FileNotFoundError(
                f"sentiment model not found: {path} (train one with `crisisbot sentiment train`)"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
                    found = meta.get("format") if isinstance(meta, dict) else None
                    raise ModelFileError(f"不支持的模型格式 {found!r} / unsupported sentiment model format "
                                         f"{found!r}: {path}")
                weights = data["weights"]  # float16 in memory too: half the RSS; rows are widened on use
                bias = data["bias"].astype(np.float64)
        except ModelFileError:
            raise
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            # numpy's own text for a CSV or a pickle advises loading it "unsafely" (allow_pickle): never shown
            raise ModelFileError(
                f"不是有效的 crisisbot 情感模型文件（应为 `crisisbot sentiment train` 生成的 .npz）/ not a crisisbot "
                f"sentiment model file (expected a .npz written by `crisisbot sentiment train`): {path}"
            ) from exc
        return cls(weights=weights, bias=bias, meta=meta)

    def featurizer_options(self) -> dict[str, Any]:
        opts = self.meta.get("featurizer", {})
        return {
            "hash_bits": self.hash_bits,
            "hmm": bool(opts.get("hmm", False)),
            "char_ngrams": tuple(opts.get("char_ngrams", (1, 2, 3))),
            "word_bigrams": bool(opts.get("word_bigrams", True)),
        }

    @property
    def kind(self) -> str:
        """"gated": column 0 = polarity logit (pos vs neg), column 1 = neutral logit (neu vs rest), column 2 =
        neutral-vs-negative logit (neu vs neg); "two_stage": columns 0 and 1 only (older files);
        "softmax": three logits in CLASSES order."""
        return str(self.meta.get("kind", "softmax"))

    def logits(self, feats: BatchFeatures) -> np.ndarray:
        """(n, k) linear outputs; each feature occurrence weighs 1/sqrt(features in its text)."""
        n = len(feats.counts)
        k = self.weights.shape[1]
        out = np.tile(self.bias, (n, 1))
        if len(feats.indices):
            scale = 1.0 / np.sqrt(np.maximum(feats.counts, 1.0))
            rows = self.weights[feats.indices].astype(np.float32)  # (occurrences, k)
            occ_scale = scale[feats.text_ids]
            for c in range(k):
                out[:, c] += np.bincount(feats.text_ids, weights=rows[:, c] * occ_scale, minlength=n)
        return out

    def predict_proba(self, feats: BatchFeatures) -> np.ndarray:
        """(n, 3) probabilities of neg, neu, pos, after the clause rules this model applies."""
        proba = self._model_proba(feats)
        for i, hit in enumerate(self.applied_rules(feats)):
            if hit is not None:
                proba[i] = apply_rule(proba[i], hit.rule)
        return proba

    def applied_rules(self, feats: BatchFeatures) -> list[RuleHit | None]:
        """Per text, the clause rule this model applies to it (None: the model's own answer stands)."""
        rules = self.rules
        if not rules or not feats.rules:
            return [None] * len(feats.counts)
        return [hit if hit is not None and hit.rule in rules else None for hit in feats.rules]

    def _model_proba(self, feats: BatchFeatures) -> np.ndarray:
        z = self.logits(feats)
        if self.kind == "gated":
            # P(pos) as in the two-stage model; the rest is split between neg and neu by the
            # neutral-vs-negative model, which was trained on exactly that boundary
            p_pos_polar = 1.0 / (1.0 + np.exp(-np.clip(z[:, 0], -50, 50)))
            p_neu = 1.0 / (1.0 + np.exp(-np.clip(z[:, 1], -50, 50)))
            p_neu_not_neg = 1.0 / (1.0 + np.exp(-np.clip(z[:, 2], -50, 50)))
            p_pos = (1 - p_neu) * p_pos_polar
            rest = 1 - p_pos
            return np.column_stack([rest * (1 - p_neu_not_neg), rest * p_neu_not_neg, p_pos])
        if self.kind == "two_stage":
            p_pos_polar = 1.0 / (1.0 + np.exp(-np.clip(z[:, 0], -50, 50)))
            p_neu = 1.0 / (1.0 + np.exp(-np.clip(z[:, 1], -50, 50)))
            return np.column_stack([(1 - p_neu) * (1 - p_pos_polar), p_neu, (1 - p_neu) * p_pos_polar])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def push(self, rows: np.ndarray, label: str) -> np.ndarray:
        """How much each feature row pushes toward `label` (for reasons)."""
        if self.kind == "gated":
            if label == "neg":
                return -rows[:, 0] - rows[:, 2]
            if label == "pos":
                return rows[:, 0]
            return rows[:, 1] + rows[:, 2]
        if self.kind == "two_stage":
            if label == "neg":
                return -rows[:, 0]
            if label == "pos":
                return rows[:, 0]
            return rows[:, 1]
        if label == "neg":
            return rows[:, 0] - np.maximum(rows[:, 1], rows[:, 2])
        if label == "pos":
            return rows[:, 2] - np.maximum(rows[:, 0], rows[:, 1])
        return rows[:, 1] - np.maximum(rows[:, 0], rows[:, 2])

    def decide(self, proba: np.ndarray) -> list[str]:
        """neg if P(neg) >= neg threshold AND P(neg) >= neg_over_neu x P(neu); else pos if P(pos) >= pos
        threshold; else neu.

        The neutral gate keeps a text that the neutral detector finds more likely neutral than negative
        out of `neg`: with the neg threshold alone, a text whose polarity is a coin toss was called negative
        whenever P(neu) was below ~0.4, which made ordinary comments fire negative-share alerts.
        """
        neg_t, pos_t, ratio = self.neg_threshold, self.pos_threshold, self.neg_over_neutral
        if len(proba) <= 8:  # plain Python beats numpy's per-call overhead for a handful of texts
            return [
                "neg" if row[0] >= neg_t and row[0] >= ratio * row[1] else "pos" if row[2] >= pos_t else "neu"
                for row in proba.tolist()
            ]
        labels = np.full(len(proba), "neu", dtype=object)
        is_pos = proba[:, 2] >= pos_t
        is_neg = (proba[:, 0] >= neg_t) & (proba[:, 0] >= ratio * proba[:, 1])
        labels[is_pos] = "pos"
        labels[is_neg] = "neg"
        return labels.tolist()


def _gloss(feature: str) -> str:
    if feature in _RULE_GLOSS:
        return f"{feature} ({_RULE_GLOSS[feature]})"
    if feature.startswith("EMO:"):
        return f"{feature} (表情类/emoticon class)"
    return feature


class DefaultScorer:
    """The default backend: jieba + rules + hashed char n-grams into the gated linear model (see MODEL_CARD.md)."""

    name = "default"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        risk_terms: Path | None = None,
        userdict: Path | None = None,
        lexicon_path: Path | None = None,
        max_reasons: int = 3,
    ) -> None:
        self.model = LinearModel.load(model_path)
        self.featurizer = Featurizer(lexicon_path=lexicon_path, userdict=userdict, **self.model.featurizer_options())
        self.risk = RiskLexicon.load(risk_terms)
        self.max_reasons = max_reasons
        from bot.sentiment.keywords import load_stopwords

        self._function_words = load_stopwords()
        self._lock = threading.Lock()  # jieba's Tokenizer is not documented as thread-safe

    def score(self, text: str) -> SentimentResult:
        """Score one text."""
        return self.score_batch([text])[0]

    def score_batch(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Score texts in order; every text goes through the model (no cache keyed on text)."""
        texts = [t if isinstance(t, str) else _bad_type(t) for t in texts]
        if not texts:
            return []
        with self._lock:
            feats = self.featurizer.featurize(texts)
        proba = self.model.predict_proba(feats)
        labels = self.model.decide(proba)
        applied = self.model.applied_rules(feats)
        n_words = sum(end - start for start, end in feats.word_slices)
        word_rows = self.model.weights[feats.indices[:n_words]].astype(np.float32)
        results: list[SentimentResult] = []
        for i, text in enumerate(texts):
            words = feats.words[i]
            if words == ["<empty>"] or not words and feats.counts[i] == 0:
                results.append(
                    SentimentResult(
                        label="neu",
                        score=0.5,
                        reasons=("空文本/empty text",),
                        risk_flags=self.risk.find(text),
                        neg_score=0.0,  # nothing in it is negative; every result carries P(neg) alike
                    )
                )
                continue
            label = labels[i]
            start, end = feats.word_slices[i]
            reasons = self._reasons(words, word_rows[start:end], label)
            if applied[i] is not None:
                reasons = (applied[i].reason, *reasons)[: self.max_reasons]
            results.append(
                SentimentResult(
                    label=label,
                    score=round(float(proba[i, 2]), 6),
                    reasons=reasons,
                    risk_flags=self.risk.find(text),
                    neg_score=round(float(proba[i, 0]), 6),
                )
            )
        return results

    def _reasons(self, words: list[str], rows: np.ndarray, label: str) -> tuple[str, ...]:
        """The word/rule features that pushed most toward the chosen label."""
        if not len(words):
            return ()
        push = self.model.push(rows, label)
        order = np.argsort(-push, kind="stable")
        candidates: list[str] = []
        for j in order[: self.max_reasons * 4]:
            if push[j] <= 0:
                break
            word = words[j]
            if word not in candidates and "|" not in word:
                candidates.append(word)
        # Function words (了, 的, 都 ...) can weigh a little and still explain nothing to a reader: they
        # are shown only when nothing else pushed toward the label. Rule-lexicon words always count.
        telling = [w for w in candidates
                   if not _is_punctuation(w) and (w not in self._function_words or w in self.featurizer._special)]
        return tuple(_gloss(w) for w in (telling or candidates)[: self.max_reasons])


def _is_punctuation(token: str) -> bool:
    return all(unicodedata.category(ch).startswith("P") for ch in token)


def _bad_type(value: object) -> str:
    raise TypeError(f"texts must be str, got {type(value).__name__}")
