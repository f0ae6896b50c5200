"""The playbook file format (`config/playbooks/*.yaml`) as pydantic models.

A playbook declares roles, template variables, ordered steps (owner role, due time relative to the
start of a run, instructions, checklist, response-statement templates, optional dependencies, decision
questions with branches, conditions) and an exit rule. Cross-references (roles, steps, variables,
cycles) are checked by `bot.playbooks.validate`, which reports every problem at once.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

# Variables every run provides itself, so templates may use them without declaring them.
BUILTIN_VARIABLES: dict[str, str] = {
    "title": "事件标题 / run title",
    "account": "受影响账号 / affected account",
    "severity": "严重程度 / severity (1-3)",
    "started_at": "启动时间 / start time",
    "playbook": "预案名称 / playbook name",
}


# Every duration in a playbook (step `due`, exit `hold` and `baseline_window`) must lie in this range:
# a run turns them into absolute times, and a value beyond what a datetime can hold (or infinity) would
# pass a looser check and then break `/crisis start` for everyone in the channel.
MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=365)


def parse_duration(value: Any) -> timedelta:
    """'15m', '2h', '1h30m', '1d', '45s' or a number of minutes -> timedelta. Raises ValueError, also
    for infinity, NaN and values too large for a timedelta (callers only turn ValueError into a problem)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("时长不能是布尔值 / a duration cannot be a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"时长必须是有限的数 / a duration must be a finite number; got {value!r}")
        if value < 0:
            raise ValueError("时长不能为负 / a duration cannot be negative")
        return _timedelta(value * 60, value)
    if not isinstance(value, str):
        raise ValueError(
            f"时长格式应如 30m、2h、1h30m / expected a duration like 30m, 2h, 1h30m; got {value!r}"
        )
    text = value.strip().replace(" ", "")
    if not text:
        raise ValueError("时长为空 / empty duration")
    position, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        position = match.end()
    if position != len(text):
        raise ValueError(
            f"时长格式应如 30m、2h、1h30m / expected a duration like 30m, 2h, 1h30m; got {value!r}"
        )
    return _timedelta(seconds, value)


def _timedelta(seconds: float, value: Any) -> timedelta:
    # A huge number ("99999999999d") parses as a float but overflows timedelta: say so instead of crashing.
    if not math.isfinite(seconds):
        raise ValueError(f"时长过大 / duration too large: {value!r}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"时长过大 / duration too large: {value!r}") from None


def duration_range_problem(delta: timedelta) -> str | None:
    """Why `delta` is outside MIN_DURATION .. MAX_DURATION, or None when it is inside."""
    if MIN_DURATION <= delta <= MAX_DURATION:
        return None
    return (
        "时长应在 1 分钟到 365 天之间 / a duration must be between 1 minute and 365 days; "
        f"got {format_duration(delta)}"
    )


def format_duration(delta: timedelta) -> str:
    """timedelta -> '1h30m' (the inverse of parse_duration for whole minutes)."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return sign + ("".join(parts) or "0m")


# The 1 minute .. 365 days range is checked by the validator (bot.playbooks.validate), not here: stored
# run snapshots are parsed with these models too, and a run started under older rules must still load.
Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration)]


def template_fields(text: str) -> list[str]:
    """The variable names used in a template ('{brand}' style). Raises ValueError on broken braces."""
    names: list[str] = []
    for _literal, field_name, _spec, _conv in string.Formatter().parse(text):
        if field_name is None:
            continue
        if not field_name or not field_name.isidentifier():
            raise ValueError(f"模板变量名无效 / invalid template variable {{{field_name}}}")
        names.append(field_name)
    return names


def _word_lists(value: Any) -> Any:
    """`answers_en` values may be one word or a list of words. YAML reads an unquoted yes/no/true/false
    (and y/n, on/off) as a boolean, which would lose the word: say so rather than "not a string"."""
    if isinstance(value, dict):
        value = {k: [v] if not isinstance(v, list) else v for k, v in value.items()}
        if any(isinstance(w, bool) for words in value.values() for w in words):
            raise ValueError("yes/no/true/false 等词要加引号，如 \"yes\" / quote yes, no, true, false: "
                             "YAML reads them unquoted as booleans")
    return value


def _in(lang: str, text: str, english: str) -> str:
    """A playbook's own words as a channel of language `lang` reads them: the English version (`*_en`) in an
    English channel when the playbook has one, else as written."""
    return english if lang == "en" and english.strip() else text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(_Strict):
    """A role people take in a run (指挥, 公关, 客服, 法务, 运营 ...)."""

    en: str = ""
    duty: str = ""


class Variable(_Strict):
    """A template variable; its value comes from `default` (in an English channel `default_en`, when set) or
    from `--var name=value` at start."""

    description: str = ""
    default: str | None = None
    default_en: str | None = None  # the default an English channel's statements take (optional: else `default`)

    def default_in(self, lang: str) -> str | None:
        return self.default_en if lang == "en" and (self.default_en or "").strip() else self.default


class Template(_Strict):
    """A response statement (回应口径) with `{variable}` placeholders; `name_en`/`text_en` (optional) are
    what an English channel reads instead."""

    name: str
    text: str
    name_en: str = ""
    text_en: str = ""

    def name_in(self, lang: str) -> str:
        return _in(lang, self.name, self.name_en)

    def text_in(self, lang: str) -> str:
        return _in(lang, self.text, self.text_en)


class Condition(_Strict):
    """This step applies only when decision step `step` was answered `answer`."""

    step: str
    answer: str


class Step(_Strict):
    """One step of a playbook. `owner` and `due` are optional here so that the validator can report a
    missing one together with every other problem instead of stopping at the first."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    title_en: str = ""
    owner: str | None = None
    due: Duration | None = None
    instructions: str = ""
    instructions_en: str = ""  # the instructions as an English channel reads them (optional: else instructions)
    checklist: list[str] = []
    # the checklist as an English channel reads it, item for item (optional; the validator asks for one
    # English item per item). A run keeps no ticks of its own: the checklist is only ever shown.
    checklist_en: list[str] = []
    templates: list[Template] = []
    after: list[str] = []
    question: str | None = None  # set -> a decision step, answered with one of `branches`' keys
    question_en: str = ""  # the question as an English channel reads it (optional: else the question)
    branches: dict[str, list[str]] = {}
    # English words a responder may type for an answer (属实: [true, yes]): accepted by /crisis done and
    # answer, while the run stores the playbook's own answer. One word or a list per answer.
    answers_en: Annotated[dict[str, list[str]], BeforeValidator(_word_lists)] = {}
    when: Condition | None = None

    @property
    def is_decision(self) -> bool:
        return bool(self.question or self.branches)

    def question_in(self, lang: str) -> str:
        """The decision's question in the channel's language ("" for a step without one)."""
        return _in(lang, self.question or "", self.question_en)

    def instructions_in(self, lang: str) -> str:
        return _in(lang, self.instructions, self.instructions_en)

    def checklist_in(self, lang: str) -> list[str]:
        """The checklist in the channel's language, item by item (a blank English item shows the Chinese one).
        An English list of another length is refused by the validator; should one reach here anyway (a
        snapshot), the Chinese list shows rather than items paired with the wrong English."""
        if len(self.checklist_en) != len(self.checklist):
            return list(self.checklist)
        return [_in(lang, item, english) for item, english in zip(self.checklist, self.checklist_en, strict=True)]


DEFAULT_EXIT_RULE = "负面占比回到常态并保持 2 小时 / negative share back to normal for 2 hours"


class ExitRule(_Strict):
    """When a run may end. `rule` is shown to people; the metric part drives the exit suggestion:
    the account's negative share must stay within its normal range for `hold`. The normal range is
    `negative_share_max` when set, else the share over `baseline_window` before the start plus
    `baseline_margin`."""

    rule: str
    rule_en: str = ""  # the rule as an English channel reads it (optional: else the rule)
    negative_share_max: float | None = Field(default=None, ge=0, le=1)
    baseline_window: Duration = timedelta(days=7)
    baseline_margin: float = Field(default=0.05, ge=0, le=1)
    hold: Duration = timedelta(hours=2)
    min_comments: int = Field(default=20, ge=1)

    def rule_in(self, lang: str) -> str:
        return _in(lang, self.rule, self.rule_en)


class PlaybookHeader(_Strict):
    """Everything of a playbook but its steps (steps are parsed one by one to report all errors)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    name: str
    # optional: the issue asks English titles of the shipped playbooks; a team's own may have none (the
    # name stands in for it)
    title_en: str = ""
    summary: str = ""
    default_severity: int = Field(default=2, ge=1, le=3)
    roles: dict[str, Role] = {}
    variables: dict[str, Variable] = {}
    # optional: without one, the default rule (negative share back to normal for 2 hours) applies
    exit: ExitRule = Field(default_factory=lambda: ExitRule(rule=DEFAULT_EXIT_RULE))
    steps: list[Any] = []


class Playbook(_Strict):
    """A validated playbook."""

    id: str
    name: str
    title_en: str
    summary: str = ""
    default_severity: int = 2
    roles: dict[str, Role]
    variables: dict[str, Variable]
    steps: list[Step]
    exit: ExitRule
    source: str = ""

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def matches(self, name: str) -> bool:
        """Whether a user-typed name refers to this playbook (id, Chinese name or English title)."""
        def fold(text: str) -> str:  # full-width forms ("ｒｕｍｏｒ", "产品／服务质量投诉") and case ignored
            return unicodedata.normalize("NFKC", text).strip().casefold()

        return fold(name) in {fold(self.id), fold(self.name), fold(self.title_en)}

    def snapshot(self) -> dict[str, Any]:
        """A JSON-safe copy stored with a run, so editing the file never changes a live run."""
        return self.model_dump(mode="json")

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Playbook:
        return cls.model_validate(data)
