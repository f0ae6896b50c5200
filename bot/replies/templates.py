"""Reply templates: choose by the comment's topic keywords and sentiment, then fill variables (pure).

Templates come from `config/reply_templates.yaml` plus the ones responders save in the bot (passed in
as `ReplyTemplate` objects). Nothing here touches the database or the network.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.replies.precheck import normalise_for_matching, read_yaml

# Variables every template may use without declaring them.
BUILTIN_VARIABLES = frozenset({"author_name", "brand", "content_title", "account_name", "warranty_note"})
_QUESTION = re.compile(r"[?？]|吗|怎么|多少|几点|哪里|哪个|能不能|可不可以|是否|请问|求问")
_SENTIMENTS = frozenset({"neg", "neu", "pos"})


class TemplateConfigError(ValueError):
    """The templates file is malformed; the message names the file and key path of every problem."""


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    id: str
    text: str
    name_zh: str = ""
    name_en: str = ""
    topics: tuple[str, ...] = ()
    sentiment: frozenset[str] = frozenset()  # empty: any
    question: bool = False
    fallback: bool = False
    accounts: frozenset[str] = frozenset()  # 'platform:account_id'; empty: any account
    saved_by: str | None = None  # set for templates saved by a responder in the bot

    def variables(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name}


@dataclass(frozen=True, slots=True)
class CommentFacts:
    """What template choice needs to know about a comment."""

    text: str
    account_key: str = ""
    sentiment_label: str | None = None
    author_name: str | None = None
    content_title: str | None = None
    account_name: str | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    template_id: str
    name_zh: str
    text: str
    score: float
    matched: tuple[str, ...] = ()
    name_en: str = ""  # the name an English channel shows (a template saved in the bot has its name alone)


@dataclass
class TemplateLibrary:
    templates: list[ReplyTemplate]
    default_variables: dict[str, str] = field(default_factory=dict)
    account_variables: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path) -> TemplateLibrary:
        return cls.from_mapping(read_yaml(path, TemplateConfigError), source=str(path))

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "templates") -> TemplateLibrary:
        problems: list[str] = []
        if not isinstance(data, Mapping) or not isinstance(data.get("templates"), list):
            raise TemplateConfigError(f"{source}: templates: a list is required")
        variables = data.get("variables") or {}
        defaults = {str(k): str(v) for k, v in (variables.get("defaults") or {}).items()}
        per_account = {
            str(account): {str(k): str(v) for k, v in (values or {}).items()}
            for account, values in (variables.get("accounts") or {}).items()
        }
        known = BUILTIN_VARIABLES | set(defaults) | {k for values in per_account.values() for k in values}
        templates: list[ReplyTemplate] = []
        seen: set[str] = set()
        for index, raw in enumerate(data["templates"]):
            where = f"{source}: templates[{index}]"
            if not isinstance(raw, Mapping) or not raw.get("id") or not raw.get("text"):
                problems.append(f"{where}: id and text are required")
                continue
            unknown_keys = set(raw) - {"id", "name_zh", "name_en", "topics", "sentiment", "question",
                                       "fallback", "accounts", "text"}
            if unknown_keys:
                problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown_keys))}")
            if raw["id"] in seen:
                problems.append(f"{where}.id: {raw['id']!r} is used twice")
            seen.add(str(raw["id"]))
            sentiments = frozenset(str(s) for s in raw.get("sentiment") or ())
            if sentiments - _SENTIMENTS:
                problems.append(f"{where}.sentiment: {sorted(sentiments - _SENTIMENTS)} not in neg/neu/pos")
            template = ReplyTemplate(
                id=str(raw["id"]), text=join_lines(str(raw["text"])), name_zh=str(raw.get("name_zh", raw["id"])),
                name_en=str(raw.get("name_en", "")), topics=tuple(str(t) for t in raw.get("topics") or ()),
                sentiment=sentiments, question=bool(raw.get("question", False)),
                fallback=bool(raw.get("fallback", False)),
                accounts=frozenset(str(a) for a in raw.get("accounts") or ()),
            )
            try:
                unknown_vars = template.variables() - known
            except ValueError as exc:
                problems.append(f"{where}.text: bad placeholder: {exc}")
                continue
            if unknown_vars:
                problems.append(f"{where}.text: unknown variable(s) {', '.join(sorted(unknown_vars))}")
            if not template.topics and not template.fallback:
                problems.append(f"{where}: needs topics, or fallback: true")
            templates.append(template)
        if problems:
            raise TemplateConfigError("\n".join(problems))
        return cls(templates, defaults, per_account)

    def with_saved(self, saved: Iterable[ReplyTemplate]) -> TemplateLibrary:
        """A library that also offers templates saved by responders (they come first on ties)."""
        return TemplateLibrary([*saved, *self.templates], self.default_variables, self.account_variables)

    def known_variables(self) -> set[str]:
        """The variable names a template may use: built in, and those the templates file defines."""
        return set(BUILTIN_VARIABLES) | set(self.default_variables) | {
            name for values in self.account_variables.values() for name in values}

    def variables_for(self, facts: CommentFacts) -> dict[str, str]:
        values = dict(self.default_variables)
        values.update(self.account_variables.get(facts.account_key, {}))
        brand = facts.account_name or values.get("brand") or "我们"
        values.setdefault("brand", brand)
        values["account_name"] = brand
        values["author_name"] = _addressable(facts.author_name)
        values["content_title"] = facts.content_title or ""
        warranty = values.get("warranty")
        values["warranty_note"] = f"（保修：{warranty}）" if warranty else ""
        return values

    def choose(self, facts: CommentFacts, *, limit: int = 3) -> list[Suggestion]:
        """The best templates for this comment, filled in, best first; fallbacks fill the remaining places."""
        folded = normalise_for_matching(facts.text)
        question = bool(_QUESTION.search(facts.text))
        variables = self.variables_for(facts)
        scored: list[tuple[float, int, ReplyTemplate, tuple[str, ...]]] = []
        for order, template in enumerate(self.templates):
            if template.accounts and facts.account_key not in template.accounts:
                continue
            try:
                template.variables()
            except ValueError:  # a saved text with stray braces (saved before they were refused): never offered
                continue
            if template.sentiment and facts.sentiment_label and facts.sentiment_label not in template.sentiment:
                continue
            matched = tuple(t for t in template.topics if normalise_for_matching(t) in folded)
            if template.fallback:
                if template.question and not question:
                    continue
                # Among fallbacks, one made for this sentiment (an apology for a complaint) comes first.
                score = 0.5 + (0.2 if template.question and question else 0.0)
                if template.sentiment and facts.sentiment_label in template.sentiment and facts.sentiment_label != "neu":
                    score += 0.3
            elif not matched:
                continue
            else:
                # Longer keywords are more specific (不给退 beats 退).
                score = 10.0 * len(matched) + 0.5 * sum(len(t) for t in matched)
                if template.question and question:
                    score += 3.0
                if template.saved_by:
                    score += 1.0
            scored.append((score, order, template, matched))
        scored.sort(key=lambda item: (-item[0], item[1]))
        suggestions: list[Suggestion] = []
        for score, _, template, matched in scored:
            if len(suggestions) >= limit:
                break
            suggestions.append(Suggestion(template.id, template.name_zh, fill(template.text, variables),
                                          score, matched, template.name_en))
        return suggestions


_SPACE_NEXT_TO_WIDE = re.compile(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])")


def join_lines(text: str) -> str:
    """Join a YAML-folded Chinese text: no spaces next to CJK characters, single spaces elsewhere."""
    return re.sub(r"\s+", " ", _SPACE_NEXT_TO_WIDE.sub("", text.strip()))


def placeholder_problem(text: str, known: Iterable[str], lang: str = "zh") -> str | None:
    """Why `text` cannot be a template ("中文 / English"; `lang` "en": English alone), or None. Only plain
    {name} placeholders of known variables: a stray brace made every suggestion of the account fail, and a
    format spec such as {author_name:>999999999} would build a huge string."""
    english = lang == "en"
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        en = "unbalanced braces: write variables as {author_name} and literal braces as {{ or }}"
        return en if english else f"花括号不成对：变量写成 {{author_name}}，普通的花括号写成 {{{{ 或 }}}} / {en}"
    known = set(known)
    unknown = sorted({name for _, name, _, _ in parsed if name is not None and name not in known})
    if unknown:
        en = f"unknown variable(s): {', '.join(unknown) or '{}'}"
        if english:
            return f"{en} (known: {', '.join(sorted(known))})"
        return f"未知变量：{'、'.join(unknown) or '{}'}（可用：{'、'.join(sorted(known))}）/ {en}"
    if any(name is not None and (spec or conversion) for _, name, spec, conversion in parsed):
        en = "variables are plain {name}, without a format"
        return en if english else f"变量只能写成 {{名称}}，不能带格式 / {en}"
    return None


def fill(text: str, variables: Mapping[str, str]) -> str:
    """Fill {name} placeholders; a missing variable becomes empty rather than failing a suggestion. A text
    that is no valid template (stray braces) comes back as written and a format spec is ignored: one bad
    saved template must not break every suggestion (`choose` leaves such texts out)."""
    formatter = string.Formatter()
    try:
        parsed = list(formatter.parse(text))
    except ValueError:
        return join_lines(text)
    pieces = []
    for literal, name, _spec, _conversion in parsed:
        pieces.append(literal)
        if name is not None:
            pieces.append(str(variables.get(name, "")))
    return join_lines("".join(pieces))


def _addressable(name: str | None) -> str:
    """How to address the commenter: '@name ' style is added by platforms; here just a polite form."""
    if not name:
        return "亲"
    name = name.strip()
    # Generated default names (用户12345678, bili_123) read badly in a reply.
    if re.fullmatch(r"(用户|bili_)\d+", name):
        return "亲"
    return name


def topics_from_text(text: str, *, limit: int = 5) -> tuple[str, ...]:
    """Keywords to file a saved template under, taken from the comment it answered (jieba TF-IDF)."""
    import jieba
    import jieba.analyse  # heavy: imported only when a template is saved

    jieba.setLogLevel(60)  # its "Building prefix dict..." lines would land in the console channel's output
    cleaned = re.sub(r"\[[^\]]{1,12}\]", " ", text)  # drop [表情] codes
    return tuple(jieba.analyse.extract_tags(cleaned, topK=limit))
