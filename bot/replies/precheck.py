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

from bot.sentiment.normalization import MAX_CHARS, fold
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
    # What the automatic rewording puts in the match's place ("" drops the words); None: no safe rewrite,
    # so no rewording is offered for a text with this finding (it is only flagged).
    replace: str | None = None
    # The rewording drops the whole clause the match is in ("我们是行业第一，" goes, where dropping the word
    # left "我们是行业，"): for claims with no safe equivalent whose words cannot simply be left out.
    drop_clause: bool = False


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


# A rank written with an Arabic digit is the same claim: 第1名 / 排名第1 read as 第一 (第1次 stays excepted
# like 第一次, through the rule's own exceptions). One character for one, so positions stay aligned.
_RANK_DIGIT = re.compile(r"(?<=第)1(?![\d.])")


def normalise_for_matching(text: str) -> str:
    """Fold full-width/half-width, traditional -> simplified (the sentiment code's `fold()` table) and case,
    character by character, so positions stay aligned with the text as written."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        lowered = (folded if len(folded) == 1 else ch).lower()
        # one character out for every one in: "İ".lower() is two ("i" + a combining dot), which shifted every
        # later position (a finding's clause was then not found and the check raised)
        out.append(lowered if len(lowered) == 1 else ch)
    joined = "".join(out)
    # 絕對 / 全網最好 are the same claims as 绝对 / 全网最好. fold() is one str.translate pass; it drops
    # zero-width characters and stops at MAX_CHARS, so where that would move a position the characters are
    # folded one by one (each kept as it was where fold gives nothing).
    simplified = fold(joined) if len(joined) <= MAX_CHARS else ""
    if len(simplified) != len(joined):
        simplified = "".join(f if len(f := fold(ch)) == 1 else ch for ch in joined)
    if "第1" in simplified:
        simplified = _RANK_DIGIT.sub("一", simplified)
    return simplified


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
        """Every finding in `text`, in reading order, and an automatic rewording where one is configured.

        The rewording is offered only when it is itself publishable (no blocking finding left in it)."""
        kept = self._findings(text)
        findings = tuple(f for f, _ in kept)
        suggested = _reword(text, kept)
        if suggested is not None and any(f.blocks for f, _ in self._findings(suggested)):
            suggested = None
        return PrecheckResult(text=text, findings=findings, suggested_text=suggested)

    def _findings(self, text: str) -> list[tuple[Finding, PrecheckRule]]:
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
        return _drop_nested(found)


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
    unknown = set(entry) - {"term", "pattern", "except", "suggest", "replace", "rewrite"}
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
    rewrite = entry.get("rewrite")
    if rewrite not in (None, "clause"):
        problems.append(f"{where}.rewrite: the only value is 'clause' (drop the clause in the rewording)")
        return None
    if rewrite is not None and replace is not None:
        problems.append(f"{where}: give replace or rewrite: clause, not both")
        return None
    return PrecheckRule(
        category=category, label=label, pattern=pattern,
        exceptions=tuple(normalise_for_matching(str(e)) for e in exceptions),
        suggest=str(entry.get("suggest", "")), replace=None if replace is None else str(replace),
        drop_clause=rewrite == "clause",
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
# Where a rewording may cut a text into clauses: a claim with no safe equivalent goes with its clause.
# (An ASCII full stop only before a space or the end: "No.1" and addresses keep theirs.)
_CLAUSE_END = re.compile(r"[，,。！!？?；;、\n]+|\.(?=\s|$)")
_COMMAS = "，,、；;"
_STOPS = "。！？!?"


def _clauses(text: str) -> list[tuple[int, int]]:
    """(start, end) of each clause, the end including the punctuation after it."""
    spans, start = [], 0
    for match in _CLAUSE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _reword(text: str, kept: list[tuple[Finding, PrecheckRule]]) -> str | None:
    """The text with each blocking finding replaced by its safe equivalent (or its clause dropped), tidied
    so no sentence is left broken; None when a blocking finding has no safe rewrite, or nothing is left.

    Advice-only findings are not rewritten: they need a person's judgement, not a word swap."""
    blocking = [(f, r) for f, r in kept if f.blocks]
    if not blocking or any(r.replace is None and not r.drop_clause for _, r in blocking):
        return None
    clauses = _clauses(text)

    def clause_of(position: int) -> int:
        return next((i for i, (start, end) in enumerate(clauses) if start <= position < end), len(clauses) - 1)

    dropped = {clause_of(f.start) for f, r in blocking if r.drop_clause}
    edits: list[tuple[int, int, str]] = []
    last_category = ""
    for finding, rule in sorted(blocking, key=lambda item: item[0].start):
        if rule.drop_clause or clause_of(finding.start) in dropped:
            continue
        if edits and finding.start < edits[-1][1]:  # overlaps an earlier replacement of another category
            continue
        if (edits and finding.category == last_category == "off_platform"
                and _CONTACT_JOIN.fullmatch(text, edits[-1][1], finding.start)):
            # "vx: abc，微 信也行" / "加我vx: abc123 或打138…": one way to reach us, written once ("私信我们"),
            # not "私信，私信也行" / "私信我们 或私信"
            edits[-1] = (edits[-1][0], finding.end, edits[-1][2])
            continue
        edits.append((finding.start, finding.end, rule.replace or ""))
        last_category = finding.category
    out = ""
    cursor = 0
    for index, (start, end) in enumerate(clauses):
        if index in dropped:
            # a dropped clause that ended the sentence hands its full stop to the clause before it
            stop = text[start:end].rstrip()[-1:]
            if stop and stop in _STOPS and out.rstrip() and out.rstrip()[-1] in _COMMAS:
                out = out.rstrip()[:-1] + stop
            continue
        cursor = max(cursor, start)  # a joined contact edit may reach into the next clause
        for edit_start, edit_end, replacement in edits:
            if start <= edit_start < end:
                out += text[cursor:edit_start] + replacement
                cursor = edit_end + _seam_overlap(replacement, text, edit_end)
        out += text[cursor:max(cursor, end)]
    reworded = _tidy(out)
    if not reworded or reworded == text or not re.search(r"[\w\u4e00-\u9fff]", reworded):
        return None
    return reworded


# What may stand between two contact details that are one offer: commas, spaces, "或/或者/也可以", "打".
_CONTACT_JOIN = re.compile(r"[\s，,、/]*(?:或者?|或是|也可以|还可以|or)?[\s，,、/]*")
_CJK = re.compile(r"[\u4e00-\u9fff]{2,}")


def _seam_overlap(replacement: str, text: str, position: int) -> int:
    """How many characters after a replacement repeat its ending (2 or more CJK): 顶级品质 -> 高品质, not
    高品质品质. They are skipped."""
    for size in range(len(replacement), 1, -1):
        tail = replacement[-size:]
        if _CJK.fullmatch(tail) and text.startswith(tail, position):
            return size
    return 0


def _tidy(text: str) -> str:
    """Punctuation a removal left dangling: doubled, leading, trailing commas, a comma before a full stop,
    empty brackets, runs of spaces."""
    text = re.sub(r"[（(]\s*[）)]", "", text)
    text = re.sub(rf"[{_COMMAS}]+\s*([{_STOPS}])", r"\1", text)  # "，。" -> "。"
    text = re.sub(rf"([{_COMMAS}])(?:\s*[{_COMMAS}])+", r"\1", text)  # "，，" -> "，"
    text = re.sub(rf"([{_STOPS}])\s*[{_COMMAS}]+", r"\1", text)  # "。，" -> "。"
    text = _DOUBLED_PUNCTUATION.sub(r"\1", text)
    text = re.sub(rf"(^|\n)[\s{_COMMAS}{_STOPS}]+", r"\1", text)  # a clause that now starts with a comma
    text = re.sub(rf"[\s{_COMMAS}]+$", "", text)  # and one left ending on a comma
    text = re.sub(r"[ \t]+([，。！？、；：])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip()
