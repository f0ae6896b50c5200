"""The playbook run state machine: pure data and a transition table, no I/O.

A run is NEW (planned from a playbook), ACTIVE once started, and ends RESOLVED or CANCELLED. Each step
is OPEN until it is DONE, SKIPPED, or NA (not applicable: it belongs to a branch of a decision that was
answered otherwise, or whose decision was skipped). The service loads a `RunState`, calls `apply`, and
stores the new state and the timeline entries it returns; a rejected event raises `TransitionRejected`
and changes nothing.

Reopen: a finished step (done, answered or skipped by mistake) may be taken back with a reason: it is open
again with its owner, its answer or skip reason cleared (the timeline keeps them as history). What became
available because it finished is not undone: steps after it that are finished stay finished, open ones
wait for it again. A reopened decision's branches that were left out (not applicable) are open again, waiting
for its new answer, which leaves out the other branches' open steps as an answer always does.

Order: a step with `after: [other]` waits (not current, not reminded) while `other` is open (finished
means done, skipped or not applicable), but may still be finished: in a crisis work runs in parallel, and
refusing a responder mid-crisis costs more than it protects. Its timeline entry then says which steps it
came after were still open, so the review shows it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bot.i18n import EnglishToo
from bot.messages import is_blank

if TYPE_CHECKING:  # pragma: no cover
    from bot.playbooks.schema import Playbook


class RunStatus(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"
    NA = "na"


FINISHED = frozenset({StepStatus.DONE, StepStatus.SKIPPED, StepStatus.NA})

RUN_STATUS_ZH = {
    RunStatus.NEW: "未启动",
    RunStatus.ACTIVE: "进行中",
    RunStatus.RESOLVED: "已解除",
    RunStatus.CANCELLED: "已取消",
}
RUN_STATUS_EN = {
    RunStatus.NEW: "not started",
    RunStatus.ACTIVE: "active",
    RunStatus.RESOLVED: "resolved",
    RunStatus.CANCELLED: "cancelled",
}
STEP_STATUS_ZH = {
    StepStatus.OPEN: "待办",
    StepStatus.DONE: "完成",
    StepStatus.SKIPPED: "跳过",
    StepStatus.NA: "不适用",
}
STEP_STATUS_EN = {
    StepStatus.OPEN: "open",
    StepStatus.DONE: "done",
    StepStatus.SKIPPED: "skipped",
    StepStatus.NA: "not applicable",
}

# --- the transition tables -------------------------------------------------------------------------
# (run status, event kind) -> run status after the event. Missing pairs are rejected.
RUN_TRANSITIONS: dict[tuple[RunStatus, str], RunStatus] = {
    (RunStatus.NEW, "start"): RunStatus.ACTIVE,
    (RunStatus.NEW, "cancel"): RunStatus.CANCELLED,
    (RunStatus.ACTIVE, "done"): RunStatus.ACTIVE,
    (RunStatus.ACTIVE, "skip"): RunStatus.ACTIVE,
    (RunStatus.ACTIVE, "answer"): RunStatus.ACTIVE,
    (RunStatus.ACTIVE, "assign"): RunStatus.ACTIVE,
    (RunStatus.ACTIVE, "note"): RunStatus.ACTIVE,
    (RunStatus.ACTIVE, "reopen"): RunStatus.ACTIVE,
    (RunStatus.ACTIVE, "resolve"): RunStatus.RESOLVED,
    (RunStatus.ACTIVE, "cancel"): RunStatus.CANCELLED,
    # A closed run still takes notes (late findings for the review) and nothing else.
    (RunStatus.RESOLVED, "note"): RunStatus.RESOLVED,
    (RunStatus.CANCELLED, "note"): RunStatus.CANCELLED,
}

# (step status, event kind) -> step status after the event, for events aimed at one step.
STEP_TRANSITIONS: dict[tuple[StepStatus, str], StepStatus] = {
    (StepStatus.OPEN, "done"): StepStatus.DONE,
    (StepStatus.OPEN, "answer"): StepStatus.DONE,
    (StepStatus.OPEN, "skip"): StepStatus.SKIPPED,
    (StepStatus.OPEN, "assign"): StepStatus.OPEN,
    (StepStatus.DONE, "reopen"): StepStatus.OPEN,
    (StepStatus.SKIPPED, "reopen"): StepStatus.OPEN,
}


class TransitionRejected(EnglishToo, Exception):
    """The event does not apply to the run as it is; `str(error)` is a bilingual reason for the user, `en`
    the same in English alone (for a channel set to English; empty: `str(error)` stands for both)."""

    def __init__(self, message: str, *, code: str, en: str = "") -> None:
        super().__init__(message, en=en)
        self.code = code


# --- events ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Start:
    actor: str
    kind: str = field(default="start", init=False)


@dataclass(frozen=True, slots=True)
class Done:
    """Finish a step. `note` is what the responder typed after the step (`/crisis done STEP 文字`): on an
    ordinary step a remark kept on the timeline, on a decision step its answer, perhaps followed by a remark
    (`split_answer`)."""

    step_id: str
    actor: str
    note: str = ""
    kind: str = field(default="done", init=False)


@dataclass(frozen=True, slots=True)
class Skip:
    step_id: str
    actor: str
    reason: str
    kind: str = field(default="skip", init=False)


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer a decision step (its question); steps of the other branches become NA."""

    step_id: str
    answer: str
    actor: str
    kind: str = field(default="answer", init=False)


@dataclass(frozen=True, slots=True)
class Assign:
    """Give a step, or every step of a role (`target` is a step id or a role name), to `user`."""

    target: str
    user: str
    actor: str
    kind: str = field(default="assign", init=False)


@dataclass(frozen=True, slots=True)
class Reopen:
    """Take back a step finished by mistake (done, answered or skipped): it is open again, with a reason."""

    step_id: str
    actor: str
    reason: str
    kind: str = field(default="reopen", init=False)


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    actor: str
    kind: str = field(default="note", init=False)


@dataclass(frozen=True, slots=True)
class Resolve:
    actor: str
    summary: str = ""
    kind: str = field(default="resolve", init=False)


@dataclass(frozen=True, slots=True)
class Cancel:
    actor: str
    reason: str
    kind: str = field(default="cancel", init=False)


Event = Start | Done | Skip | Answer | Assign | Reopen | Note | Resolve | Cancel


# --- state -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StepState:
    """A step copied into a run. `gate` = (decision step id, answer) under which the step applies."""

    step_id: str
    position: int
    title: str
    owner_role: str
    due_after: timedelta
    due_at: datetime | None = None
    status: StepStatus = StepStatus.OPEN
    assignee: str | None = None
    answer: str | None = None
    finished_at: datetime | None = None
    finished_by: str | None = None
    reason: str | None = None
    after: tuple[str, ...] = ()
    gate: tuple[str, str] | None = None
    answers: tuple[str, ...] = ()  # the decision's possible answers; empty for an ordinary step
    # (word, answer) pairs a responder may type instead of an answer (the playbook's `answers_en`)
    aliases: tuple[tuple[str, str], ...] = ()

    @property
    def is_decision(self) -> bool:
        return bool(self.answers)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    actor: str
    kind: str
    text: str = ""
    step_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunState:
    status: RunStatus
    steps: tuple[StepState, ...]
    started_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    role_assignees: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def step(self, step_id: str) -> StepState:
        for step in self.steps:
            if step.step_id == step_id:
                return step
        raise KeyError(step_id)

    def has_step(self, step_id: str) -> bool:
        return any(step.step_id == step_id for step in self.steps)

    def assignee_of(self, step: StepState) -> str | None:
        """The person responsible: the step's own assignee, else whoever holds its owner role."""
        return step.assignee or self.role_assignees.get(step.owner_role)

    def is_blocked(self, step: StepState) -> bool:
        """An open step waits while its gate decision is unanswered or a step it comes after is open."""
        if step.gate is not None and not self.step(step.gate[0]).finished:
            return True
        return bool(self.open_prerequisites(step))

    def current_steps(self) -> list[StepState]:
        """Open, unblocked steps, soonest due first (the ones to work on now)."""
        ready = [s for s in self.steps if s.status is StepStatus.OPEN and not self.is_blocked(s)]
        return sorted(ready, key=lambda s: (s.due_after, s.position))

    def overdue_steps(self, now: datetime) -> list[StepState]:
        """Open steps past their due time that someone can work on: a step still waiting for its decision or
        for the steps it comes after is not reminded (its owner cannot act yet; the late step before it is)."""
        return [
            s
            for s in self.steps
            if s.status is StepStatus.OPEN
            and s.due_at is not None
            and s.due_at <= now
            and not self.is_blocked(s)
        ]

    def open_prerequisites(self, step: StepState) -> list[StepState]:
        """The steps `step` comes after (`after:`) that are not finished yet (skipped and not applicable
        ones count as finished), in playbook order."""
        return [self.step(dep) for dep in step.after if self.has_step(dep) and not self.step(dep).finished]

    def is_gated_open(self, step: StepState) -> bool:
        """Whether the step still waits for its decision (so it cannot be overdue yet)."""
        return step.gate is not None and not self.step(step.gate[0]).finished

    def progress(self) -> tuple[int, int]:
        """(finished applicable steps, applicable steps); NA steps do not count."""
        applicable = [s for s in self.steps if s.status is not StepStatus.NA]
        return sum(1 for s in applicable if s.finished), len(applicable)


def plan_run(playbook: Playbook) -> RunState:
    """A NEW run holding a copy of the playbook's steps (due times still relative)."""
    gates: dict[str, tuple[str, str]] = {}
    for step in playbook.steps:
        for answer, targets in step.branches.items():
            for target in targets:
                gates.setdefault(target, (step.id, answer))
    steps = []
    for position, step in enumerate(playbook.steps):
        gate = (step.when.step, step.when.answer) if step.when else gates.get(step.id)
        assert step.owner is not None and step.due is not None, (
            "validated playbooks have owners and due times"
        )
        steps.append(
            StepState(
                step_id=step.id,
                position=position,
                title=step.title,
                owner_role=step.owner,
                due_after=step.due,
                after=tuple(step.after),
                gate=gate,
                answers=tuple(step.branches),
                aliases=answer_aliases(step.answers_en),
            )
        )
    return RunState(status=RunStatus.NEW, steps=tuple(steps))


@dataclass(frozen=True, slots=True)
class Outcome:
    state: RunState
    entries: tuple[TimelineEntry, ...]


def apply(state: RunState, event: Event, now: datetime) -> Outcome:
    """Apply one event; return the new state and what to add to the timeline, or raise TransitionRejected."""
    if now.tzinfo is None:
        raise ValueError("apply needs a timezone-aware time")
    if not event.actor.strip():
        raise TransitionRejected("不知道是谁执行的操作 / the acting user is unknown", code="no_actor",
                                 en="The acting user is unknown.")
    next_status = RUN_TRANSITIONS.get((state.status, event.kind))
    if next_status is None:
        action = _ACTION_ZH.get(event.kind, f"执行 {event.kind}")
        raise TransitionRejected(
            f"预案处于「{RUN_STATUS_ZH[state.status]}」状态，不能{action} / "
            f"the run is {state.status.value}; {event.kind} is not allowed",
            code="run_state",
            en=f"Run is {RUN_STATUS_EN[state.status]}: {_ACTION_EN.get(event.kind, event.kind)} is not allowed.",
        )
    handler = _HANDLERS[event.kind]
    new_state, entries = handler(state, event, now)
    return Outcome(replace(new_state, status=next_status), tuple(entries))


#: events named in words in the refusal on a run that does not take them (the others by their kind)
_ACTION_ZH = {"reopen": "重开步骤"}
_ACTION_EN = {"reopen": "reopening a step", "done": "finishing a step", "answer": "answering a decision",
              "skip": "skipping a step", "assign": "assigning", "note": "a note", "resolve": "resolving",
              "cancel": "cancelling", "start": "starting"}


def _step_for(state: RunState, step_id: str, kind: str) -> StepState:
    if not state.has_step(step_id):
        raise TransitionRejected(f"没有步骤 {step_id} / no step {step_id!r}", code="unknown_step",
                                 en=f"No step {step_id!r}.")
    step = state.step(step_id)
    if (step.status, kind) not in STEP_TRANSITIONS:
        raise TransitionRejected(
            f"步骤 {step_id} 已是「{STEP_STATUS_ZH[step.status]}」/ step {step_id} is already {STEP_STATUS_EN[step.status]}",
            code="step_state",
            en=f"Step {step_id} is already {STEP_STATUS_EN[step.status]}.",
        )
    # a finished step whose decision was reopened since may still be reopened (it then waits for the answer)
    if kind not in ("assign", "reopen") and state.is_gated_open(step):
        decision = step.gate[0] if step.gate else ""
        raise TransitionRejected(
            f"步骤 {step_id} 取决于判断 {decision} 的结果，请先回答 / answer decision {decision} first",
            code="gated",
            en=f"Step {step_id} depends on decision {decision}: answer it first.",
        )
    return step


def _replace_steps(state: RunState, changed: Iterable[StepState]) -> RunState:
    by_id = {s.step_id: s for s in changed}
    return replace(state, steps=tuple(by_id.get(s.step_id, s) for s in state.steps))


def _cascade_na(state: RunState, decision_id: str, chosen: str | None, now: datetime) -> RunState:
    """Mark steps gated on `decision_id` with another answer than `chosen` (all when None) as NA,
    and recursively the steps gated on decisions that became NA."""
    pending = [(decision_id, chosen)]
    while pending:
        current, answer = pending.pop()
        changed = []
        for step in state.steps:
            if (
                step.gate
                and step.gate[0] == current
                and step.gate[1] != answer
                and step.status is StepStatus.OPEN
            ):
                changed.append(replace(step, status=StepStatus.NA, finished_at=now))
                if step.is_decision:
                    pending.append((step.step_id, None))
        state = _replace_steps(state, changed)
    return state


def _on_start(state: RunState, event: Start, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    steps = tuple(replace(s, due_at=now + s.due_after) for s in state.steps)
    return replace(state, steps=steps, started_at=now), [
        TimelineEntry(now, event.actor, "start", "启动预案 / run started")
    ]


def early_note(state: RunState, step: StepState) -> str:
    """For the timeline: which steps `step` comes after were still open when it was finished ("" if none)."""
    waiting = state.open_prerequisites(step)
    if not waiting:
        return ""
    ids = "、".join(s.step_id for s in waiting)
    return f"（提前完成，前置步骤 {ids} 尚未完成 / finished early: {ids.replace('、', ', ')} still open）"


def _on_done(state: RunState, event: Done, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    step = _step_for(state, event.step_id, "done")
    note = "" if is_blank(event.note) else event.note.strip()
    if step.is_decision:
        if note:  # `/crisis done verify 属实`: what follows a decision step is its answer (and a remark)
            answer, remark = split_answer(step, note) or (note, "")
            state, entries = _on_answer(state, Answer(step.step_id, answer, event.actor), now)
            if remark:
                entries.append(TimelineEntry(now, event.actor, "note", f"{step.title}：{remark}", step.step_id))
            return state, entries
        raise TransitionRejected(
            f"{step.step_id} 是判断步骤，请选择：{answer_choices(step)} / a decision: answer one of "
            f"{answer_choices(step).replace('、', ', ')}",
            code="needs_answer",
            en=f"{step.step_id} is a decision: answer one of {answer_choices(step).replace('、', ', ')}.",
        )
    early = early_note(state, step)
    new = replace(step, status=StepStatus.DONE, finished_at=now, finished_by=event.actor)
    entries = [TimelineEntry(now, event.actor, "done", step.title + early, step.step_id)]
    if note:  # people type a remark when they finish a step: keep it, as a note of that step
        entries.append(TimelineEntry(now, event.actor, "note", f"{step.title}：{note}", step.step_id))
    return _replace_steps(state, [new]), entries


def _on_answer(state: RunState, event: Answer, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    step = _step_for(state, event.step_id, "answer")
    if not step.is_decision:
        raise TransitionRejected(f"{step.step_id} 不是判断步骤 / not a decision step", code="not_decision",
                                 en=f"{step.step_id} is not a decision step.")
    answer = _canonical_answer(step.answers, event.answer, step.aliases)
    if answer is None:
        raise TransitionRejected(
            f"可选答案：{answer_choices(step)} / answer one of {answer_choices(step).replace('、', ', ')}",
            code="bad_answer",
            en=f"Answer one of {answer_choices(step).replace('、', ', ')}.",
        )
    early = early_note(state, step)
    new = replace(step, status=StepStatus.DONE, answer=answer, finished_at=now, finished_by=event.actor)
    state = _cascade_na(_replace_steps(state, [new]), step.step_id, answer, now)
    text = f"{step.title}：{answer}{early}"
    return state, [TimelineEntry(now, event.actor, "answer", text, step.step_id)]


# where an answer may end and a remark begin: a space or a punctuation mark after the answer
_ANSWER_END = re.compile(r"\s+|\s*[，,：:；;。]\s*")


def split_answer(step: StepState, typed: str) -> tuple[str, str] | None:
    """(answer, remark) of what was typed after a decision step: all of it as its answer ("属实", "partly
    true"), else the longest beginning that is an answer and the rest as a remark ("不实 因为证据充分",
    "不实，证据充分"). None when no beginning of it is an answer."""
    text = typed.strip()
    answer = _canonical_answer(step.answers, text, step.aliases)
    if answer is not None:
        return answer, ""
    for cut in reversed(list(_ANSWER_END.finditer(text))):
        remark = text[cut.end():].strip()
        answer = _canonical_answer(step.answers, text[: cut.start()], step.aliases) if cut.start() else None
        if answer is not None and remark:
            return answer, remark
    return None


def answer_en(step: StepState, answer: str) -> str:
    """The answer in English as the playbook words it (`answers_en`: 属实 -> "true"), else as it is."""
    return next((w for w, a in step.aliases if a == answer), answer)


def answer_aliases(answers_en: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """(word, answer) pairs from a step's `answers_en` (a playbook step, or the dict in a run's snapshot)."""
    pairs = []
    for answer, words in (answers_en or {}).items():
        for word in [words] if isinstance(words, str) else list(words or ()):
            if str(word).strip():
                pairs.append((str(word), str(answer)))
    return tuple(pairs)


def answer_choices(step: StepState) -> str:
    """The answers as offered to people: 属实 (true/yes)、不属实 (false/no)."""
    def one(answer: str) -> str:
        words = [w for w, a in step.aliases if a == answer]
        return f"{answer} ({'/'.join(words)})" if words else answer

    return "、".join(one(a) for a in step.answers)


def _fold_answer(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().strip("。.!！ ").casefold()


def _canonical_answer(answers: tuple[str, ...], typed: str,
                      aliases: tuple[tuple[str, str], ...] = ()) -> str | None:
    """The decision's answer the responder meant: exact, else ignoring case, full-width forms and a closing
    full stop ("属实。" and "YES" typed in a hurry), else one of the playbook's English words for an answer
    ("yes" for 是, "true" for 属实). The stored answer is always one of `answers`."""
    if typed in answers:
        return typed
    folded = _fold_answer(typed)
    matches = [a for a in answers if _fold_answer(a) == folded]
    if not matches:
        folded = " ".join(folded.split())  # "partly  true" as typed in a hurry
        # 是/否 mean what yes/no mean where the playbook takes yes/no (a decision without them, such as
        # "is the rumour false?", takes neither)
        folded = _ZH_YES_NO.get(folded, folded)
        matches = list(dict.fromkeys(a for word, a in aliases
                                     if " ".join(_fold_answer(word).split()) == folded and a in answers))
    if not matches:
        # "不 属实", "部分 属实": a space typed inside a Chinese answer, which has none (an IME space, a slip);
        # it was read as the answer "不"/"部分" plus a remark, no answer at all, and refused
        bare = "".join(_fold_answer(typed).split())
        matches = [a for a in answers if "".join(_fold_answer(a).split()) == bare]
    return matches[0] if len(matches) == 1 else None


_ZH_YES_NO = {"是": "yes", "是的": "yes", "否": "no", "不是": "no"}


def _on_skip(state: RunState, event: Skip, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    if is_blank(event.reason):
        raise TransitionRejected("跳过需要说明原因 / skipping needs a reason", code="needs_reason",
                                 en="Skipping needs a reason.")
    step = _step_for(state, event.step_id, "skip")
    new = replace(
        step, status=StepStatus.SKIPPED, finished_at=now, finished_by=event.actor, reason=event.reason
    )
    state = _replace_steps(state, [new])
    if step.is_decision:
        state = _cascade_na(state, step.step_id, None, now)
    return state, [
        TimelineEntry(now, event.actor, "skip", f"{step.title}（原因：{event.reason}）", step.step_id)
    ]


def _on_assign(state: RunState, event: Assign, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    if not event.user.strip():
        raise TransitionRejected("请指定负责人 / name the person", code="needs_user", en="Name the person.")
    if state.has_step(event.target):
        step = _step_for(state, event.target, "assign")
        new = replace(step, assignee=event.user)
        text = f"{step.title} → {event.user}"
        return _replace_steps(state, [new]), [TimelineEntry(now, event.actor, "assign", text, step.step_id)]
    roles = {s.owner_role for s in state.steps}
    if event.target in roles:
        assignees = dict(state.role_assignees)
        assignees[event.target] = event.user
        text = f"角色 {event.target} → {event.user}"
        return replace(state, role_assignees=MappingProxyType(assignees)), [
            TimelineEntry(now, event.actor, "assign", text)
        ]
    raise TransitionRejected(
        f"没有步骤或角色 {event.target}（角色：{'、'.join(sorted(roles))}）/ no such step or role",
        code="unknown_target",
        en=f"No step or role {event.target!r} (roles: {', '.join(sorted(roles))}).",
    )


#: how a reopen entry's text says the reason (`reopen_reason` reads it back for the review)
_REOPEN_REASON = "；原因："


def _on_reopen(state: RunState, event: Reopen, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    # the step first: a reopen refused anyway (an open step) says so, not that a reason is missing
    if state.has_step(event.step_id):
        step = state.step(event.step_id)
        if step.status is StepStatus.OPEN:
            raise TransitionRejected(
                f"步骤 {step.step_id} 尚未完成（待办），无需重开 / step {step.step_id} is still open: nothing to reopen",
                code="step_state",
                en=f"Step {step.step_id} is still open: nothing to reopen.",
            )
        if step.status is StepStatus.NA:
            decision = step.gate[0] if step.gate else ""
            raise TransitionRejected(
                f"步骤 {step.step_id} 不适用（判断 {decision} 没有选它所在的分支），不能重开；要改判断请重开 {decision} / "
                f"step {step.step_id} is not applicable (decision {decision} left its branch out): reopen "
                f"{decision} to change that answer",
                code="not_applicable",
                en=f"Step {step.step_id} is not applicable (decision {decision} left its branch out): reopen "
                   f"{decision} to change that answer.",
            )
    step = _step_for(state, event.step_id, "reopen")
    if step.gate is not None:
        decision = state.step(step.gate[0])
        if decision.finished and not (decision.status is StepStatus.DONE and decision.answer == step.gate[1]):
            # open again it would be work in a branch the run no longer takes
            raise TransitionRejected(
                f"步骤 {step.step_id} 所在的分支已不适用（判断 {decision.step_id} 为「{decision.answer or STEP_STATUS_ZH[decision.status]}」），"
                f"不能重开 / step {step.step_id} is in a branch decision {decision.step_id} no longer takes: not reopened",
                code="branch_left_out",
                en=f"Step {step.step_id} is in a branch decision {decision.step_id} no longer takes: not reopened.",
            )
    if is_blank(event.reason):
        raise TransitionRejected("重开需要说明原因 / reopening needs a reason", code="needs_reason",
                                 en="Reopening needs a reason.")
    reason = event.reason.strip()
    if step.status is StepStatus.SKIPPED:
        was = "原为跳过"
    elif step.answer is not None:
        was = f"原答案：{step.answer}"
    else:
        was = "原为完成"
    # the owner (assignee) stays; what finished the step goes (the timeline keeps it)
    reopened = replace(step, status=StepStatus.OPEN, answer=None, finished_at=None, finished_by=None, reason=None)
    state = _replace_steps(state, [reopened])
    if step.is_decision:
        state = _restore_left_out(state, step.step_id)
    return state, [
        TimelineEntry(now, event.actor, "reopen", f"{step.title}（{was}{_REOPEN_REASON}{reason}）", step.step_id)
    ]


def reopen_reason(text: str) -> str:
    """The reason of a reopen entry's text, as typed."""
    return text.partition(_REOPEN_REASON)[2].removesuffix("）")


def _restore_left_out(state: RunState, decision_id: str) -> RunState:
    """Open again the steps a reopened decision left out (not applicable), and recursively those of the
    decisions among them: they wait for its new answer. Finished steps of its branches stay finished."""
    pending = [decision_id]
    while pending:
        current = pending.pop()
        changed = []
        for step in state.steps:
            if step.gate and step.gate[0] == current and step.status is StepStatus.NA:
                changed.append(replace(step, status=StepStatus.OPEN, finished_at=None))
                if step.is_decision:
                    pending.append(step.step_id)
        state = _replace_steps(state, changed)
    return state


def _on_note(state: RunState, event: Note, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    if is_blank(event.text):
        raise TransitionRejected("备注为空 / empty note", code="empty_note", en="The note is empty.")
    return state, [TimelineEntry(now, event.actor, "note", event.text)]


def _on_resolve(state: RunState, event: Resolve, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    summary = "" if is_blank(event.summary) else event.summary.strip()
    new = replace(state, closed_at=now, closed_by=event.actor, close_reason=summary or None)
    return new, [TimelineEntry(now, event.actor, "resolve", summary or "事件解除 / resolved")]


def _on_cancel(state: RunState, event: Cancel, now: datetime) -> tuple[RunState, list[TimelineEntry]]:
    if is_blank(event.reason):
        raise TransitionRejected("取消需要说明原因 / cancelling needs a reason", code="needs_reason",
                                 en="Cancelling needs a reason.")
    new = replace(state, closed_at=now, closed_by=event.actor, close_reason=event.reason)
    return new, [TimelineEntry(now, event.actor, "cancel", f"取消：{event.reason}")]


_HANDLERS = {
    "start": _on_start,
    "done": _on_done,
    "answer": _on_answer,
    "skip": _on_skip,
    "assign": _on_assign,
    "reopen": _on_reopen,
    "note": _on_note,
    "resolve": _on_resolve,
    "cancel": _on_cancel,
}


def invariant_violations(state: RunState) -> list[str]:
    """Everything wrong with a state; an empty list for every state `apply` can produce."""
    problems: list[str] = []
    ids = [s.step_id for s in state.steps]
    if len(ids) != len(set(ids)):
        problems.append("duplicate step ids")
    if state.status is RunStatus.NEW:
        if state.started_at is not None or any(s.due_at is not None for s in state.steps):
            problems.append("a new run has a start or due time")
        if any(s.status is not StepStatus.OPEN for s in state.steps):
            problems.append("a new run has finished steps")
    else:
        if state.started_at is None and state.status is not RunStatus.CANCELLED:
            problems.append("a started run has no start time")
        if state.started_at is not None and any(
            s.due_at != state.started_at + s.due_after for s in state.steps
        ):
            problems.append("a due time is not start + relative due")
    closed = state.status in (RunStatus.RESOLVED, RunStatus.CANCELLED)
    if closed != (state.closed_at is not None):
        problems.append("closed_at does not match the run status")
    if state.status is RunStatus.CANCELLED and not state.close_reason:
        problems.append("a cancelled run has no reason")
    for step in state.steps:
        sid = step.step_id
        if step.status in (StepStatus.DONE, StepStatus.SKIPPED):
            if step.finished_at is None or not step.finished_by:
                problems.append(f"{sid}: finished without time or actor")
        if step.status is StepStatus.OPEN and (
            step.finished_at or step.finished_by or step.answer or step.reason
        ):
            problems.append(f"{sid}: open but carries a finish record")
        if step.status is StepStatus.SKIPPED and not step.reason:
            problems.append(f"{sid}: skipped without a reason")
        if step.is_decision:
            if step.status is StepStatus.DONE and step.answer not in step.answers:
                problems.append(f"{sid}: decision done without a valid answer")
            if step.status is not StepStatus.DONE and step.answer is not None:
                problems.append(f"{sid}: answer on an unfinished decision")
        elif step.answer is not None:
            problems.append(f"{sid}: an ordinary step has an answer")
        if step.gate is not None:
            decision = state.step(step.gate[0])
            ruled_out = decision.status in (StepStatus.SKIPPED, StepStatus.NA) or (
                decision.status is StepStatus.DONE and decision.answer != step.gate[1]
            )
            if step.status is StepStatus.NA and not ruled_out:
                problems.append(f"{sid}: not applicable although its branch applies or is undecided")
            if ruled_out and step.status is StepStatus.OPEN:
                problems.append(f"{sid}: open although its branch was ruled out")
            # A step finished while its decision is undecided is no fault: its decision was reopened after it
            # was finished (a reopen undoes nothing that followed). `_step_for` refuses finishing one before.
        elif step.status is StepStatus.NA:
            problems.append(f"{sid}: not applicable without a gate")
    return problems
