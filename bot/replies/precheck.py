"""Pre-publication self-review of a draft reply, caption or statement (pure: no I/O after loading).

The lists live in `config/precheck.yaml`: Advertising-Law absolute terms, medical and financial claims,
off-platform contact, inducing follows/likes, blaming tone and the risk lexicon. Each finding says what
matched, which category, why it matters (Chinese first), a suggested rewording, and whether it blocks
a public reply until the text is edited.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.yaml_files import load_yaml


def read_yaml(path: str | Path, error: type[ValueError]) -> Any:
    """Parse a YAML file of this feature's lists; a missing or malformed file raises `error` naming it."""
    path = Path(path)
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc


class PrecheckConfigError(ValueError):
    """The precheck lists are malformed; the message names the file and the key path of every problem."""


@dataclass(frozen=True, slots=True)
class PrecheckRule:
    """One configured term (a literal or a regular expression) of a category."""

    category: str
    label: str  # how the rule is shown: the literal term, or the pattern
    pattern: re.Pattern[str]
    exceptions: tuple[str, ...] = ()
    suggest: str = ""
    replace: str | None = None


@dataclass(frozen=True, slots=True)
class PrecheckCategory:
    key: str
    label_zh: str
    label_en: str
    why_zh: str
    why_en: str
    blocks: bool
    rules: tuple[PrecheckRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """A term found in the draft, with the reason and what to write instead."""

    term: str  # the text as it appears in the draft
    rule: str  # the configured term or pattern that matched
    category: str
    label_zh: str
    label_en: str
    why_zh: str
    why_en: str
    suggestion: str
    blocks: bool
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term, "rule": self.rule, "category": self.category, "label_zh": self.label_zh,
            "label_en": self.label_en, "why_zh": self.why_zh, "why_en": self.why_en,
            "suggestion": self.suggestion, "blocks": self.blocks, "start": self.start, "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class PrecheckResult:
    text: str
    findings: tuple[Finding, ...] = ()
    suggested_text: str | None = None  # an automatic rewording of the blocking findings, if any

    @property
    def blocked(self) -> bool:
        """True when at least one finding is of a blocking category: the text must be edited first."""
        return any(f.blocks for f in self.findings)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocks)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "blocked": self.blocked, "suggested_text": self.suggested_text,
            "findings": [f.to_dict() for f in self.findings],
        }


def normalise_for_matching(text: str) -> str:
    """Fold full-width/half-width and case character by character, so positions stay aligned."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded.lower() if len(folded) == 1 else ch.lower())
    return "".join(out)


class Prechecker:
    """Checks texts against the configured categories. Build it with `from_file` or `from_mapping`."""

    def __init__(self, categories: Iterable[PrecheckCategory]) -> None:
        self.categories: dict[str, PrecheckCategory] = {c.key: c for c in categories}

    @classmethod
    def from_file(cls, path: str | Path) -> Prechecker:
        return cls.from_mapping(read_yaml(path, PrecheckConfigError), source=str(path))

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "precheck") -> Prechecker:
        """Build from the parsed YAML; every problem is collected and reported in one error."""
        problems: list[str] = []
        categories: list[PrecheckCategory] = []
        if not isinstance(data, Mapping) or not isinstance(data.get("categories"), Mapping):
            raise PrecheckConfigError(f"{source}: categories: a mapping of category name to lists is required")
        for key, raw in data["categories"].items():
            where = f"{source}: categories.{key}"
            if not isinstance(raw, Mapping):
                problems.append(f"{where}: must be a mapping")
                continue
            missing = [k for k in ("label_zh", "why_zh", "terms") if k not in raw]
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
                continue
            rules: list[PrecheckRule] = []
            terms = raw["terms"]
            if not isinstance(terms, list) or not terms:
                problems.append(f"{where}.terms: a non-empty list is required")
                continue
            for index, entry in enumerate(terms):
                rule = _parse_rule(str(key), entry, f"{where}.terms[{index}]", problems)
                if rule is not None:
                    rules.append(rule)
            categories.append(PrecheckCategory(
                key=str(key), label_zh=str(raw["label_zh"]), label_en=str(raw.get("label_en", key)),
                why_zh=str(raw["why_zh"]), why_en=str(raw.get("why_en", "")),
                blocks=bool(raw.get("blocks", False)), rules=tuple(rules),
            ))
        if problems:
            raise PrecheckConfigError("\n".join(problems))
        return cls(categories)

    def with_extra_terms(self, category: str, terms: Iterable[str]) -> Prechecker:
        """A copy with more literal terms in a category (e.g. the sentiment engine's risk lexicon)."""
        base = self.categories[category]
        known = {r.label for r in base.rules}
        extra = tuple(
            PrecheckRule(category, t, re.compile(re.escape(normalise_for_matching(t))),
                         suggest="与危机口径确认后再发 / check against the agreed line")
            for t in dict.fromkeys(terms) if t and t not in known
        )
        updated = PrecheckCategory(base.key, base.label_zh, base.label_en, base.why_zh, base.why_en,
                                   base.blocks, base.rules + extra)
        return Prechecker([updated if c.key == category else c for c in self.categories.values()])

    def check(self, text: str) -> PrecheckResult:
        """Every finding in `text`, in reading order, and an automatic rewording where one is configured."""
        folded = normalise_for_matching(text)
        found: list[tuple[Finding, PrecheckRule]] = []
        for category in self.categories.values():
            for rule in category.rules:
                for match in rule.pattern.finditer(folded):
                    start, end = match.span()
                    if start == end or _excepted(folded, start, end, rule.exceptions):
                        continue
                    found.append((Finding(
                        term=text[start:end], rule=rule.label, category=category.key,
                        label_zh=category.label_zh, label_en=category.label_en, why_zh=category.why_zh,
                        why_en=category.why_en, suggestion=rule.suggest, blocks=category.blocks,
                        start=start, end=end,
                    ), rule))
        kept = _drop_nested(found)
        findings = tuple(f for f, _ in kept)
        return PrecheckResult(text=text, findings=findings, suggested_text=_reword(text, kept))


def _parse_rule(category: str, entry: Any, where: str, problems: list[str]) -> PrecheckRule | None:
    if isinstance(entry, str):
        entry = {"term": entry}
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: must be a term string or a mapping with term/pattern")
        return None
    has_term, has_pattern = "term" in entry, "pattern" in entry
    if has_term == has_pattern:
        problems.append(f"{where}: give exactly one of term or pattern")
        return None
    unknown = set(entry) - {"term", "pattern", "except", "suggest", "replace"}
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        return None
    if has_term:
        label = str(entry["term"])
        if not label:
            problems.append(f"{where}.term: must not be empty")
            return None
        source = re.escape(normalise_for_matching(label))
    else:
        label = str(entry["pattern"])
        source = label
    try:
        pattern = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        problems.append(f"{where}.pattern: not a valid regular expression: {exc}")
        return None
    exceptions = entry.get("except", []) or []
    if not isinstance(exceptions, list):
        problems.append(f"{where}.except: must be a list")
        return None
    replace = entry.get("replace")
    return PrecheckRule(
        category=category, label=label, pattern=pattern,
        exceptions=tuple(normalise_for_matching(str(e)) for e in exceptions),
        suggest=str(entry.get("suggest", "")), replace=None if replace is None else str(replace),
    )


def _excepted(folded: str, start: int, end: int, exceptions: tuple[str, ...]) -> bool:
    """True when the match lies inside an allowed longer word (最 inside 最近)."""
    # An occurrence covering [start, end) begins between end - len(word) and start.
    return any(
        len(word) >= end - start and folded.find(word, max(0, end - len(word)), start + len(word)) != -1
        for word in exceptions
    )


def _drop_nested(found: list[tuple[Finding, PrecheckRule]]) -> list[tuple[Finding, PrecheckRule]]:
    """Where matches of one category overlap, keep the earliest and longest (稳赚不赔 over 稳赚)."""
    found.sort(key=lambda item: (item[0].start, -(item[0].end - item[0].start)))
    kept: list[tuple[Finding, PrecheckRule]] = []
    for finding, rule in found:
        if any(k.category == finding.category and finding.start < k.end and k.start < finding.end
               for k, _ in kept):
            continue
        kept.append((finding, rule))
    return kept


_DOUBLED_PUNCTUATION = re.compile(r"([，。！？、,.!?])\1+")


def _reword(text: str, kept: list[tuple[Finding, PrecheckRule]]) -> str | None:
    # Only blocking findings are rewritten: advice-only ones need a person's judgement, not a word swap.
    replaceable = [(f, r) for f, r in kept if r.replace is not None and f.blocks]
    if not replaceable:
        return None
    pieces: list[str] = []
    cursor = 0
    for finding, rule in sorted(replaceable, key=lambda item: item[0].start):
        if finding.start < cursor:  # overlaps an earlier replacement of another category
            continue
        pieces.append(text[cursor:finding.start])
        pieces.append(rule.replace or "")
        cursor = finding.end
    pieces.append(text[cursor:])
    reworded = _DOUBLED_PUNCTUATION.sub(r"\1", "".join(pieces))
    reworded = re.sub(r"[ \t]{2,}", " ", reworded).strip()
    return reworded if reworded != text else None
