"""Risk flags: crisis terms (维权, 投诉, 律师函 ...) found in a comment, reported apart from sentiment.

The lexicon is `sentiment/risk_terms.yaml` (term -> category) of the config folder the bot uses, editable
without retraining; an install without one uses the default copy shipped in bot/sentiment/data/.
Matching runs on folded text (half-width, simplified, lower case) with one compiled alternation, longest
term first, so "虚假宣传" wins over a shorter overlapping term. The whole text is searched, however long.

The lexicon may also name categories in English, for channels set to English (`/sentiment score`), under the
one key whose value is a mapping rather than a category: `category_names_en: {食安: food safety}`. Optional:
a category it leaves out is named by bot.sentiment.explain (its id, already English for the shipped ones).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.sentiment.base import RiskFlag
from bot.sentiment.normalization import MAX_CHARS, fold

_ASCII_TERM_RE = re.compile(r"^[0-9a-z]+$")
#: the lexicon's optional table of English category names (see the module docstring)
ENGLISH_NAMES_KEY = "category_names_en"
PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"
REPO_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def config_dirs() -> list[Path]:
    """The config folders the bot reads, in order: that of the config file CRISISBOT_CONFIG names, then
    ./config (where ./config/crisisbot.yaml is found), then the repository's config/ (a source checkout).
    As `bot.config.resolve_config_path` finds the config file, without importing the settings machinery
    (this is on the scorer's cold-start path)."""
    dirs: list[Path] = []
    named = os.environ.get("CRISISBOT_CONFIG", "").strip()
    if named:
        dirs.append(Path(named).expanduser().parent)
    try:
        dirs.append(Path.cwd() / "config")
    except OSError:  # the working directory was deleted under the process
        pass
    dirs.append(REPO_CONFIG_DIR)
    return dirs


def sentiment_config_file(name: str) -> Path | None:
    """`sentiment/<name>` from the first config folder that has it (`config_dirs`), else the default copy
    shipped inside the package (bot/sentiment/data/<name>), so an install without the repository's config/
    still has the defaults; None when neither exists.

    Before, only `<repository>/config/sentiment/<name>` was read: in a normal (non-editable) install, or for
    a bot run from its own folder with its own config/, the risk terms and the user dictionary were silently
    missing or ignored."""
    for folder in config_dirs():
        path = folder / "sentiment" / name
        if path.is_file():
            return path
    packaged = PACKAGE_DATA_DIR / name
    return packaged if packaged.is_file() else None


def default_risk_terms_path() -> Path | None:
    """sentiment/risk_terms.yaml of the config folder in use (next to CRISISBOT_CONFIG's file, ./config, the
    repository's config/), else the default copy in the package; None if there is none at all."""
    return sentiment_config_file("risk_terms.yaml")


def _fold_whole(text: str) -> str:
    """`fold` of the whole text: fold() keeps only the first MAX_CHARS characters (what the model reads),
    and a crisis term further on in a long post was never flagged. Folded piece by piece, each piece within
    the limit; folding is per character, so the pieces joined are the whole text folded. Linear in length."""
    if len(text) <= MAX_CHARS:
        return fold(text)
    return "".join(fold(text[start : start + MAX_CHARS]) for start in range(0, len(text), MAX_CHARS))


@dataclass(frozen=True)
class RiskLexicon:
    """Compiled term -> category table, and the categories' English names the lexicon gives (`names_en`)."""

    categories: dict[str, str]
    pattern: re.Pattern[str] | None
    names_en: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: dict[str, str], names_en: dict[str, str] | None = None) -> RiskLexicon:
        names = dict(names_en or {})
        categories: dict[str, str] = {}
        for term, category in mapping.items():
            key = fold(str(term)).strip()
            if not key:
                continue
            if not category or not isinstance(category, str):
                raise ValueError(f"risk term {term!r}: category must be a non-empty string")
            categories[key] = category
        if not categories:
            return cls(categories, None, names)
        parts = []
        for term in sorted(categories, key=lambda t: (-len(t), t)):
            escaped = re.escape(term)
            # latin/digit terms only as whole tokens: "315" must not hit inside "13151234"
            if _ASCII_TERM_RE.match(term):
                escaped = rf"(?<![0-9a-z]){escaped}(?![0-9a-z])"
            parts.append(escaped)
        return cls(categories, re.compile("|".join(parts)), names)

    @classmethod
    def load(cls, path: Path | None = None) -> RiskLexicon:
        """Load the YAML lexicon (default: `default_risk_terms_path()`). Bad files raise ValueError."""
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
        names = data.pop(ENGLISH_NAMES_KEY) if isinstance(data.get(ENGLISH_NAMES_KEY), dict) else {}
        bad = [k for k, v in names.items() if not (isinstance(v, str) and v.strip() and str(k).strip())]
        if bad:
            raise ValueError(f"{path}: {ENGLISH_NAMES_KEY}: expected category -> English name, not {bad[0]!r}")
        return cls.from_mapping({str(k): v for k, v in data.items()},
                                {str(k).strip(): v.strip() for k, v in names.items()})

    def find(self, text: str) -> tuple[RiskFlag, ...]:
        """Each distinct term found, in order of first appearance."""
        if self.pattern is None or not text:
            return ()
        folded = _fold_whole(text)
        seen: dict[str, RiskFlag] = {}
        for match in self.pattern.finditer(folded):
            term = match.group(0)
            if term not in seen:
                seen[term] = RiskFlag(term=term, category=self.categories[term])
        return tuple(seen.values())
