"""Risk flags: crisis terms (维权, 投诉, 律师函 ...) found in a comment, reported apart from sentiment.

The lexicon is `config/sentiment/risk_terms.yaml` (term -> category), editable without retraining.
Matching runs on folded text (half-width, simplified, lower case) with one compiled alternation, longest
term first, so "虚假宣传" wins over a shorter overlapping term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.sentiment.base import RiskFlag
from bot.sentiment.normalization import fold

_ASCII_TERM_RE = re.compile(r"^[0-9a-z]+$")


def default_risk_terms_path() -> Path | None:
    """config/sentiment/risk_terms.yaml of the repository, if present."""
    path = Path(__file__).resolve().parents[2] / "config" / "sentiment" / "risk_terms.yaml"
    return path if path.is_file() else None


@dataclass(frozen=True)
class RiskLexicon:
    """Compiled term -> category table."""

    categories: dict[str, str]
    pattern: re.Pattern[str] | None

    @classmethod
    def from_mapping(cls, mapping: dict[str, str]) -> RiskLexicon:
        categories: dict[str, str] = {}
        for term, category in mapping.items():
            key = fold(str(term)).strip()
            if not key:
                continue
            if not category or not isinstance(category, str):
                raise ValueError(f"risk term {term!r}: category must be a non-empty string")
            categories[key] = category
        if not categories:
            return cls(categories, None)
        parts = []
        for term in sorted(categories, key=lambda t: (-len(t), t)):
            escaped = re.escape(term)
            # latin/digit terms only as whole tokens: "315" must not hit inside "13151234"
            if _ASCII_TERM_RE.match(term):
                escaped = rf"(?<![0-9a-z]){escaped}(?![0-9a-z])"
            parts.append(escaped)
        return cls(categories, re.compile("|".join(parts)))

    @classmethod
    def load(cls, path: Path | None = None) -> RiskLexicon:
        """Load the YAML lexicon (default: config/sentiment/risk_terms.yaml). Bad files raise ValueError."""
        import yaml

        from bot.yaml_files import load_yaml

        path = Path(path) if path is not None else default_risk_terms_path()
        if path is None:
            return cls({}, None)
        try:
            data = load_yaml(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of term -> category")
        return cls.from_mapping({str(k): v for k, v in data.items()})

    def find(self, text: str) -> tuple[RiskFlag, ...]:
        """Each distinct term found, in order of first appearance."""
        if self.pattern is None or not text:
            return ()
        folded = fold(text)
        seen: dict[str, RiskFlag] = {}
        for match in self.pattern.finditer(folded):
            term = match.group(0)
            if term not in seen:
                seen[term] = RiskFlag(term=term, category=self.categories[term])
        return tuple(seen.values())
