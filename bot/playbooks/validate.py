"""Load and check playbook files, reporting every problem at once (file, step and key named).

Rules: a playbook has steps; each step has an owner role and a due time; every role used is declared;
conditions, branches and dependencies point at existing steps; the step graph has no cycle; step ids
are unique; every template variable is declared (or built in); an English checklist (`checklist_en`) has
one item per checklist item. Checked when the bot starts and by `crisisbot playbooks validate`.
"""

from __future__ import annotations

import graphlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.config import pydantic_message
from bot.feeds.files import FileFormatError, decode
from bot.playbooks.schema import (
    BUILTIN_VARIABLES,
    Playbook,
    PlaybookHeader,
    Step,
    duration_range_problem,
    template_fields,
)
from bot.yaml_files import load_yaml


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a playbook file."""

    file: str
    key: str
    message: str
    step: str | None = None

    def __str__(self) -> str:
        where = f"步骤/step {self.step} · " if self.step else ""
        return f"{self.file}: {where}{self.key}: {self.message}"


@dataclass(slots=True)
class PlaybookSet:
    """The playbooks that loaded cleanly and the problems of those that did not."""

    playbooks: list[Playbook] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def find(self, name: str) -> Playbook | None:
        for playbook in self.playbooks:
            if playbook.matches(name):
                return playbook
        return None


def default_playbook_dir() -> Path:
    """`config/playbooks` of the repository (next to config/crisisbot.yaml), else of the working dir."""
    repo_dir = Path(__file__).resolve().parents[2] / "config" / "playbooks"
    if repo_dir.is_dir():
        return repo_dir
    return Path.cwd() / "config" / "playbooks"


def playbook_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand directories into their *.yaml / *.yml files, suffix in any case (sorted); keep files as
    given. `RUMOR.YAML` saved by a Windows tool must not be skipped without a word."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())
            )
        else:
            files.append(path)
    return files


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def check_playbook_data(data: Any, file: str) -> tuple[Playbook | None, list[Problem]]:
    """Validate one parsed YAML document; return the playbook (None when invalid) and all problems."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [Problem(file, "(root)", "文件应为一个映射（键: 值）/ the file must be a YAML mapping")]

    header: PlaybookHeader | None = None
    try:
        header = PlaybookHeader.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            problems.append(Problem(file, _loc(item["loc"]), pydantic_message(item)))

    raw_steps = data.get("steps")
    if not raw_steps:
        problems.append(Problem(file, "steps", "预案没有步骤 / the playbook has no steps"))
        raw_steps = []
    elif not isinstance(raw_steps, list):
        problems.append(Problem(file, "steps", "steps 应为列表 / steps must be a list"))
        raw_steps = []

    seen_ids: set[str] = set()
    for raw in raw_steps:
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(raw_id, str) and raw_id in seen_ids:
            problems.append(Problem(file, "id", f"步骤 id 重复 / duplicate step id {raw_id!r}", step=raw_id))
        if isinstance(raw_id, str):
            seen_ids.add(raw_id)

    steps: list[Step] = []
    for index, raw in enumerate(raw_steps):
        label = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else f"#{index + 1}"
        try:
            steps.append(Step.model_validate(raw))
        except ValidationError as error:
            for item in error.errors():
                problems.append(Problem(file, _loc(item["loc"]), pydantic_message(item), step=label))

    roles = (
        set(header.roles)
        if header
        else set((data.get("roles") or {}) if isinstance(data.get("roles"), dict) else ())
    )
    variables = set(BUILTIN_VARIABLES) | (set(header.variables) if header else set())
    problems.extend(_check_steps(steps, roles, variables, file))
    if header is not None:
        problems.extend(_check_text_vars(header.exit.rule, variables, file, "exit.rule", None))
        problems.extend(_check_text_vars(header.exit.rule_en, variables, file, "exit.rule_en", None))
        for key in ("hold", "baseline_window"):
            if (why := duration_range_problem(getattr(header.exit, key))) is not None:
                problems.append(Problem(file, f"exit.{key}", why))

    if problems or header is None:
        return None, problems
    playbook = Playbook(
        id=header.id,
        name=header.name,
        title_en=header.title_en or header.name,
        summary=header.summary,
        default_severity=header.default_severity,
        roles=header.roles,
        variables=header.variables,
        steps=steps,
        exit=header.exit,
        source=file,
    )
    return playbook, []


def _check_text_vars(text: str, variables: set[str], file: str, key: str, step: str | None) -> list[Problem]:
    try:
        used = template_fields(text)
    except ValueError as error:
        return [Problem(file, key, f"模板格式错误 / broken template: {error}", step=step)]
    return [
        Problem(
            file,
            key,
            f"模板变量 {{{name}}} 没有在 variables 中声明，运行时无值 / template variable {{{name}}} is never provided",
            step=step,
        )
        for name in used
        if name not in variables
    ]


def _check_answers_en(step: Step, file: str) -> list[Problem]:
    """English words for a decision's answers: only for answers the step has, never empty, and never one
    word for two answers (or the word of another answer), since `/crisis done` must know which one is meant."""
    if not step.answers_en:
        return []
    if not step.branches:
        return [Problem(file, "answers_en", "只有判断步骤（有 branches）才有答案 / only a decision step has answers",
                        step=step.id)]
    problems: list[Problem] = []
    owner: dict[str, str] = {_fold(a): a for a in step.branches}
    for answer, words in step.answers_en.items():
        key = f"answers_en.{answer}"
        if answer not in step.branches:
            problems.append(Problem(file, key, f"没有答案 {answer!r}（可选：{'、'.join(step.branches)}）/ no such answer",
                                    step=step.id))
            continue
        for word in words:
            folded = _fold(word)
            if not folded:
                problems.append(Problem(file, key, "不能为空 / an empty word", step=step.id))
            elif owner.setdefault(folded, answer) != answer:
                problems.append(Problem(
                    file, key, f"{word!r} 同时对应 {owner[folded]!r} 和 {answer!r}，无法区分 / "
                    f"{word!r} would mean two answers", step=step.id))
    return problems


def _check_step_english(step: Step, variables: set[str], file: str) -> list[Problem]:
    """`instructions_en` and `checklist_en`: English for words the step has, one English item per checklist
    item (an English channel pairs them by position, so a missing or extra one would shift every item after
    it), and only declared variables."""
    sid = step.id
    problems: list[Problem] = []
    if step.instructions_en.strip() and not step.instructions.strip():
        problems.append(Problem(file, "instructions_en", "只有写了 instructions 的步骤才有英文说明 / "
                                "instructions_en needs the step's instructions", step=sid))
    problems.extend(_check_text_vars(step.instructions_en, variables, file, "instructions_en", sid))
    if step.checklist_en and len(step.checklist_en) != len(step.checklist):
        problems.append(Problem(
            file, "checklist_en",
            f"checklist_en 有 {len(step.checklist_en)} 项，checklist 有 {len(step.checklist)} 项，应逐项对应 / "
            f"checklist_en has {len(step.checklist_en)} items but checklist has {len(step.checklist)}: "
            "give one English item for each item, in the same order", step=sid))
    for index, item in enumerate(step.checklist_en):
        problems.extend(_check_text_vars(item, variables, file, f"checklist_en[{index}]", sid))
    return problems


def _fold(text: str) -> str:
    """As /crisis compares answers: width, case, spaces and a closing full stop do not matter."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).strip().strip("。.!！ ").casefold().split())


def _check_single_gate(steps: list[Step], by_id: dict[str, Step], file: str) -> list[Problem]:
    """A run gates a step on exactly one (decision, answer): the first branch listing it, or its `when`.
    A step listed under two answers (or two decisions, or a `when` naming another answer) would silently
    become 不适用 under the others, so it is refused; a step meant for every answer is simply left out of
    the branches."""
    gates: dict[str, list[tuple[str, str]]] = {}
    for step in steps:
        if step.when is not None and step.when.step in by_id:
            gates.setdefault(step.id, []).append((step.when.step, step.when.answer))
        for answer, targets in step.branches.items():
            for target in targets:
                if target in by_id and target != step.id:
                    gates.setdefault(target, []).append((step.id, answer))
    problems = []
    for sid, found in gates.items():
        distinct = list(dict.fromkeys(found))
        if len(distinct) > 1:
            listed = "、".join(f"{decision}={answer}" for decision, answer in distinct)
            problems.append(
                Problem(
                    file,
                    "when" if by_id[sid].when is not None else "branches",
                    f"步骤只能属于一个判断分支，现属于：{listed}；各答案都要做的步骤请不要列在分支里 / "
                    f"a step belongs to one answer of one decision, this one to {listed}; "
                    "leave a step every answer needs out of the branches",
                    step=sid,
                )
            )
    return problems


def _check_steps(steps: list[Step], roles: set[str], variables: set[str], file: str) -> list[Problem]:
    problems: list[Problem] = []
    by_id: dict[str, Step] = {}
    for step in steps:  # duplicates are reported from the raw data, where even invalid steps count
        by_id.setdefault(step.id, step)

    graph: dict[str, set[str]] = {step.id: set() for step in steps}  # step -> steps it comes after
    for step in steps:
        sid = step.id
        if not step.owner:
            problems.append(Problem(file, "owner", "缺少负责角色 / the step has no owner role", step=sid))
        elif step.owner not in roles:
            problems.append(
                Problem(file, "owner", f"角色 {step.owner!r} 未在 roles 中声明 / role not declared", step=sid)
            )
        if step.due is None:
            problems.append(
                Problem(file, "due", "缺少时限（如 30m、2h）/ the step has no due time", step=sid)
            )
        elif (why := duration_range_problem(step.due)) is not None:
            problems.append(Problem(file, "due", why, step=sid))
        for dep in step.after:
            if dep not in by_id:
                problems.append(Problem(file, "after", f"指向不存在的步骤 {dep!r} / unknown step", step=sid))
            else:
                graph[sid].add(dep)
        if step.when is not None:
            target = by_id.get(step.when.step)
            if target is None:
                problems.append(
                    Problem(
                        file, "when.step", f"条件指向不存在的步骤 {step.when.step!r} / unknown step", step=sid
                    )
                )
            elif not target.is_decision:
                problems.append(
                    Problem(
                        file, "when.step", f"{step.when.step!r} 不是判断步骤 / not a decision step", step=sid
                    )
                )
            else:
                if step.when.answer not in target.branches:
                    problems.append(
                        Problem(
                            file,
                            "when.answer",
                            f"{step.when.step!r} 没有选项 {step.when.answer!r}（可选：{'、'.join(target.branches)}）"
                            " / no such answer",
                            step=sid,
                        )
                    )
                graph[sid].add(target.id)
        if step.question and not step.branches:
            problems.append(
                Problem(file, "branches", "判断步骤需要至少两个分支 / a decision needs branches", step=sid)
            )
        elif step.branches and len(step.branches) < 2:
            problems.append(
                Problem(file, "branches", "判断步骤需要至少两个分支 / a decision needs two answers", step=sid)
            )
        for answer, targets in step.branches.items():
            for target_id in targets:
                if target_id not in by_id:
                    problems.append(
                        Problem(
                            file,
                            f"branches.{answer}",
                            f"分支指向不存在的步骤 {target_id!r} / branch points at an unknown step",
                            step=sid,
                        )
                    )
                elif target_id == sid:
                    problems.append(
                        Problem(
                            file, f"branches.{answer}", "分支指向自身 / branch points at itself", step=sid
                        )
                    )
                else:
                    graph[target_id].add(sid)
        problems.extend(_check_answers_en(step, file))
        if step.question_en.strip() and not step.question:
            problems.append(Problem(file, "question_en", "只有写了 question 的判断步骤才有英文问题 / "
                                    "question_en needs the step's question", step=sid))
        for index, template in enumerate(step.templates):
            problems.extend(_check_text_vars(template.text, variables, file, f"templates[{index}].text", sid))
            problems.extend(_check_text_vars(template.text_en, variables, file, f"templates[{index}].text_en", sid))
        for index, item in enumerate(step.checklist):
            problems.extend(_check_text_vars(item, variables, file, f"checklist[{index}]", sid))
        problems.extend(_check_text_vars(step.instructions, variables, file, "instructions", sid))
        problems.extend(_check_step_english(step, variables, file))

    problems.extend(_check_single_gate(steps, by_id, file))
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        cycle = error.args[1]
        problems.append(
            Problem(
                file,
                "after/branches/when",
                f"步骤之间存在循环 / the steps form a cycle: {' -> '.join(reversed(cycle))}",
                step=cycle[0],
            )
        )
    return problems


def load_playbook_file(path: Path | str) -> tuple[Playbook | None, list[Problem]]:
    """Read and validate one playbook file."""
    path = Path(path)
    file = path.name if path.parent == default_playbook_dir() else str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(file, "(file)", "文件不存在 / no such file")]
    except IsADirectoryError:
        return None, [Problem(file, "(file)", "这是文件夹，不是文件 / this is a folder, not a file")]
    except PermissionError:
        return None, [Problem(file, "(file)", "没有读取权限 / permission denied: cannot read it")]
    except OSError as error:
        return None, [Problem(file, "(file)", f"无法读取 / cannot read: {error.strerror or error}")]
    # Files saved by Chinese Windows editors are often GBK: read them the way `crisisbot ingest` reads
    # exports (UTF-8 with or without BOM, then GB18030) instead of failing on the first byte.
    try:
        text, _encoding = decode(raw)
    except FileFormatError:
        return None, [
            Problem(file, "(file)", "不是 UTF-8 或 GB18030 文本，请另存为 UTF-8 / not UTF-8 or GB18030 text: save it as UTF-8")
        ]
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return None, [Problem(file, "(yaml)", f"YAML 语法错误 / YAML syntax error{where}: {error}")]
    return check_playbook_data(data, file)


def load_playbooks(paths: Iterable[Path | str] | None = None) -> PlaybookSet:
    """Load every playbook under `paths` (default: the configured folder); duplicate ids are problems."""
    result = PlaybookSet()
    files = playbook_files(paths if paths is not None else [default_playbook_dir()])
    if not files:
        result.problems.append(
            Problem(", ".join(str(p) for p in paths) if paths else str(default_playbook_dir()), "(files)",
                    "没有找到预案文件（*.yaml、*.yml）/ no playbook files (*.yaml, *.yml)")
        )
    # `/crisis start NAME` takes the id, the Chinese name or the English title, case-insensitively
    # (Playbook.matches): any of them shared by two playbooks would make the name ambiguous.
    seen: dict[str, str] = {}
    for path in files:
        playbook, problems = load_playbook_file(path)
        result.problems.extend(problems)
        if playbook is None:
            continue
        names = {
            key: value
            for key, value in (("id", playbook.id), ("name", playbook.name), ("title_en", playbook.title_en))
            if value.strip()  # an empty title matches nothing typed
        }
        clashes = [
            (key, value) for key, value in names.items() if value.strip().casefold() in seen
        ]
        for key, value in clashes:
            result.problems.append(
                Problem(
                    playbook.source,
                    key,
                    f"预案名 {value!r} 与 {seen[value.strip().casefold()]} 重复，/crisis start 无法区分 / "
                    "duplicate playbook name: /crisis start could not tell them apart",
                )
            )
        if not clashes:
            for value in names.values():
                seen.setdefault(value.strip().casefold(), playbook.source)
            result.playbooks.append(playbook)
    return result


def suggested_playbook_warnings(suggested: dict[str, str], directory: Path) -> list[str]:
    """`alerts.playbooks` (the playbook an alert suggests, by severity) naming no playbook of `directory`:
    valid, but the alert's 启动预案 button then fails with "unknown playbook". For `config check`; a missing
    folder or a broken file is reported there as a problem of its own."""
    if not suggested or not directory.is_dir():
        return []
    playbooks = load_playbooks([directory])
    ids = [p.id for p in playbooks.playbooks]
    warnings = []
    for severity, name in suggested.items():
        if playbooks.find(name) is None:
            warnings.append(
                f"alerts.playbooks.{severity}: 预案 {name!r} 不存在（{directory} 中现有：{'、'.join(ids) or '无'}），"
                f"此级别告警的「启动预案」将无法启动 / no playbook {name!r} in {directory} (available: "
                f"{', '.join(ids) or 'none'}): 启动预案 (start playbook) on a {severity} alert would fail")
    return warnings
