"""Neutral messages of the playbook feature (run card, status, lists, reminders), Chinese first. Pure.

Every message takes the channel's language (`lang`, 'zh' by default): a Chinese channel reads the bot's own
words Chinese first with English beside them, a channel set to English ('en') reads them in English alone;
step titles and roles then go by the playbook's English names (`title_en`, a role's `en`) where it has them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.alerts.render import account_label
from bot.durations import duration_en, duration_zh, overdue_zh_en, utc_offset, zone_note, zone_text
from bot.messages import Button, Field, Message, Section, inert
from bot.playbooks.machine import (
    RUN_STATUS_EN,
    RUN_STATUS_ZH,
    STEP_STATUS_EN,
    STEP_STATUS_ZH,
    RunState,
    RunStatus,
    StepState,
    StepStatus,
    TimelineEntry,
    answer_choices,
    answer_en,
)
from bot.playbooks.people import person
from bot.playbooks.review import (
    SEVERITY_EN,
    SEVERITY_ZH,
    EnglishNames,
    LinkedAlert,
    collapsed_timeline,
    kind_word,
    zone_line,
)
from bot.playbooks.schema import Playbook

ACTION_DONE = "crisis.done"
ACTION_SKIP = "crisis.skip"
ACTION_ASSIGN = "crisis.assign"
ACTION_ANSWER = "crisis.answer"
ACTION_SNOOZE = "crisis.snooze"
ACTION_RESOLVE = "crisis.resolve"


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as loaded from the database (plain data for rendering and reports)."""

    id: int
    channel: str
    title: str
    severity: int
    account: str | None
    playbook: Playbook
    state: RunState
    version: int
    started_by: str
    alert_id: str | None
    variables: dict[str, Any]
    normal_max: float | None
    baseline_share: float | None
    last_status_at: datetime
    exit_hint_at: datetime | None
    #: the alert that started the run as people read it (the service fills it in from the alert's row)
    alert: LinkedAlert | None = None
    #: the account's configured name (澜肌官方旗舰店), None when config gives it none (the service fills it in)
    account_name: str | None = None


def local(moment: datetime | None, tz: str, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime(fmt) if moment else "—"


def run_zone_note(view: RunView, tz: str, now: datetime, lang: str = "zh") -> str:
    """'时间均为 Asia/Shanghai（UTC+08:00）/ all times in Asia/Shanghai': the zone of a run's shown times, said
    once per card or timeline in the review's words (with the offset at the run's start, as the review)."""
    return zone_line(tz, view.state.started_at or now, lang)


def playbook_name(playbook: Playbook, lang: str = "zh") -> str:
    """The playbook as the channel names it: its name, in an English channel its English title (if any)."""
    return (playbook.title_en or playbook.name) if lang == "en" else playbook.name


def step_title(view: RunView, step: StepState, lang: str = "zh") -> str:
    """A step's title as the channel reads it: in an English channel the playbook's `title_en` when it has
    one, else the title as written."""
    if lang != "en":
        return step.title
    try:
        return view.playbook.step(step.step_id).title_en or step.title
    except KeyError:
        return step.title


def role_name(view: RunView, role: str, lang: str = "zh") -> str:
    """A role as the channel reads it (指挥, in an English channel Commander when the playbook says so)."""
    if lang != "en":
        return role
    found = view.playbook.roles.get(role)
    return found.en if found and found.en else role


def english_names(view: RunView) -> EnglishNames:
    """The run's steps and roles by their English names, for the timeline and the review."""
    return EnglishNames(
        titles={s.id: s.title_en for s in view.playbook.steps if s.title_en},
        roles={name: r.en for name, r in view.playbook.roles.items() if r.en},
        state=view.state,
    )


def run_heading(view: RunView, lang: str = "zh") -> str:
    """'负面舆情爆发 12-06 15:20': the run's title, followed by its playbook's name only when the title does
    not say it already (the default title is the playbook's name and the start time)."""
    title = inert(view.title)
    if lang == "en":
        name = playbook_name(view.playbook, lang)
        said = name in view.title or view.playbook.name in view.title
        return title if said else f"{title} | {name}"
    return title if view.playbook.name in view.title else f"{title}｜{view.playbook.name}"


def account_text(view: RunView, lang: str = "zh") -> str:
    """'澜肌官方旗舰店（抖音）': the run's account as alerts name it; its id when config names it not."""
    platform, _, account_id = (view.account or "").partition(":")
    if not account_id:
        return view.account or ""
    return account_label(view.account_name or account_id, platform, lang)


def step_number(step: StepState) -> int:
    """The step's number as cards show it (第3步) and commands accept it: its place in the playbook."""
    return step.position + 1


def step_menu(state: RunState, lang: str = "zh", titles_en: dict[str, str] | None = None) -> str:
    """Every step as commands name it, one a line: '第1步 triage 确认事态并定级' ('Step 1 triage Confirm the
    situation' in English, `titles_en`: the playbook's English titles)."""
    if lang == "en":
        return "\n".join(f"Step {step_number(s)} {s.step_id} {(titles_en or {}).get(s.step_id) or s.title}"
                         for s in state.steps)
    return "\n".join(f"第{step_number(s)}步 {s.step_id} {s.title}" for s in state.steps)


def overdue_text(late: timedelta, lang: str = "zh") -> str:
    """'超时 12 分钟 / 12 min overdue', or '刚刚超时 / just overdue' under a minute."""
    zh, en = overdue_zh_en(late)
    return en if lang == "en" else f"{zh} / {en}"


def _overdue_by(state: RunState, step: StepState, now: datetime) -> timedelta | None:
    """How long an open step is past its due time (None when it is not, or waits behind a gate)."""
    if (step.status is StepStatus.OPEN and step.due_at is not None and step.due_at <= now
            and not state.is_gated_open(step)):
        return now - step.due_at
    return None


def step_line(view: RunView, step: StepState, now: datetime, tz: str, lang: str = "zh") -> str:
    state = view.state
    assignee = state.assignee_of(step)
    if lang == "en":
        return _step_line_en(view, step, now, tz)
    owner = f"{step.owner_role}" + (f"（{person(assignee)}）" if assignee else "（未指派 / unassigned）")
    due = local(step.due_at, tz)
    overdue = _overdue_by(state, step, now)
    late = f" ⚠️ {overdue_text(overdue)}" if overdue is not None else ""
    blocked = (
        " ⏳ 等待前置步骤 / waiting" if step.status is StepStatus.OPEN and state.is_blocked(step) else ""
    )
    status = "" if step.status is StepStatus.OPEN else f" · {STEP_STATUS_ZH[step.status]} / {STEP_STATUS_EN[step.status]}"
    return f"第{step_number(step)}步 **{step.step_id}** {step.title} · {owner} · 截止 / due {due}{late}{blocked}{status}"


def _step_line_en(view: RunView, step: StepState, now: datetime, tz: str) -> str:
    state = view.state
    assignee = state.assignee_of(step)
    owner = role_name(view, step.owner_role, "en") + (f" ({person(assignee)})" if assignee else " (unassigned)")
    overdue = _overdue_by(state, step, now)
    late = f" ⚠️ {overdue_text(overdue, 'en')}" if overdue is not None else ""
    blocked = " ⏳ waiting for earlier steps" if step.status is StepStatus.OPEN and state.is_blocked(step) else ""
    status = "" if step.status is StepStatus.OPEN else f" · {STEP_STATUS_EN[step.status]}"
    return (f"Step {step_number(step)} **{step.step_id}** {step_title(view, step, 'en')} · {owner} · "
            f"due {local(step.due_at, tz)}{late}{blocked}{status}")


def early_warning(view: RunView, step_id: str, lang: str = "zh") -> str:
    """A second line when the step was finished before a step it comes after (`after:`)."""
    state = view.state
    if not state.has_step(step_id):
        return ""
    waiting = state.open_prerequisites(state.step(step_id))
    if not waiting:
        return ""
    if lang == "en":
        named = ", ".join(f"{s.step_id} ({inert(step_title(view, s, lang))})" for s in waiting)
        return f"\n⚠️ Finished early: it comes after {named}, which is still open (noted on the timeline)"
    named = "、".join(f"{s.step_id}（{inert(s.title)}）" for s in waiting)
    ids = ", ".join(s.step_id for s in waiting)
    return (f"\n⚠️ 提前完成：它排在 {named}之后，前置步骤尚未完成（已记入时间线）"
            f" / finished before {ids}, which is still open (noted on the timeline)")


def finished_reply(view: RunView, step_id: str, who: str, remark: str = "", lang: str = "zh") -> str:
    """The answer to finishing a step, the same for a typed command and a button: who finished it, the
    decision's answer as stored (with its English word), the remark typed with it, and the early-finish
    warning."""
    step = view.state.step(step_id) if view.state.has_step(step_id) else None
    if lang == "en":
        note = f"; remark: {inert(remark)}" if remark else ""
        if step is not None and step.answer:
            # the stored answer is the playbook's own word (the card, status and review show it): said with
            # its English word
            word = answer_en(step, step.answer)
            answer = step.answer if word == step.answer else f"{step.answer} ({word})"
            return f"✅ {who} answered {step_id}: {answer}{note}{early_warning(view, step_id, lang)}"
        return f"✅ {who} finished {step_id}{note}{early_warning(view, step_id, lang)}"
    note_zh = f"，备注：{inert(remark)}" if remark else ""
    note_en = f"; remark: {inert(remark)}" if remark else ""
    if step is not None and step.answer:
        return (f"✅ {step_id}：{step.answer}（{who}）{note_zh} / {step_id}: {answer_en(step, step.answer)} "
                f"({who}){note_en}{early_warning(view, step_id)}")
    said = f"：{inert(remark)}" if remark else ""
    return f"✅ {who} 完成了 {step_id}{said} / done {step_id} ({who}){note_en}{early_warning(view, step_id)}"


def reopened_reply(view: RunView, step_id: str, who: str, reason: str, now: datetime, tz: str,
                   lang: str = "zh") -> str:
    """The answer to /crisis reopen: who took the step back and why, how to finish it again, and when its
    owner is reminded (past its due time: at the next reminder round)."""
    step = view.state.step(step_id)
    if lang == "en":
        lines = [f"↩️ {who} reopened {step_id}: {inert(reason)}"]
        if step.is_decision:
            lines.append(f"Answer it again: /crisis answer {step_id} ANSWER ({answer_choices(step).replace('、', ', ')})")
        else:
            lines.append(f"Finish it again with /crisis done {step_id}")
        if view.state.is_blocked(step):
            lines.append("⏳ It waits for the steps before it: not reminded yet")
        elif step.due_at is not None and step.due_at <= now:
            lines.append(f"⚠️ Past its due time {local(step.due_at, tz)}: its owner is reminded at the next round")
        return "\n".join(lines)
    lines = [f"↩️ {who} 重开了 {step_id}：{inert(reason)} / reopened {step_id}"]
    if step.is_decision:
        choices = answer_choices(step)
        lines.append(f"请重新回答：/crisis answer {step_id} 答案（{choices}）/ answer it again: "
                     f"/crisis answer {step_id} ANSWER ({choices.replace('、', ', ')})")
    else:
        lines.append(f"完成后再用 /crisis done {step_id} / finish it again with /crisis done {step_id}")
    if view.state.is_blocked(step):
        lines.append("⏳ 它还在等前置步骤或判断，暂不提醒 / it waits for the steps before it: not reminded yet")
    elif step.due_at is not None and step.due_at <= now:
        lines.append(f"⚠️ 已过截止时间 {local(step.due_at, tz)}，下一轮提醒会提醒负责人 / past its due time: its owner "
                     f"is reminded at the next round")
    return "\n".join(lines)


#: the run card's button labels: (Chinese, English)
_BUTTON = {"done": ("完成", "Done"), "skip": ("跳过", "Skip"), "assign": ("指派", "Assign")}


def step_buttons(view: RunView, step: StepState, lang: str = "zh") -> tuple[Button, ...]:
    value = f"{view.id}:{step.step_id}"
    word = {k: (en if lang == "en" else zh) for k, (zh, en) in _BUTTON.items()}
    if step.is_decision:
        # the value carries the stored answer; an English channel's label says its English word too
        answers = tuple(
            Button(a if lang != "en" or answer_en(step, a) == a else f"{a} ({answer_en(step, a)})",
                   ACTION_ANSWER, f"{value}:{a}", style="primary")
            for a in step.answers
        )
        return (*answers, Button(word["skip"], ACTION_SKIP, value), Button(word["assign"], ACTION_ASSIGN, value))
    return (
        Button(word["done"], ACTION_DONE, value, style="primary"),
        Button(word["skip"], ACTION_SKIP, value),
        Button(word["assign"], ACTION_ASSIGN, value),
    )


def run_card(view: RunView, now: datetime, tz: str, *, max_steps: int = 6, lang: str = "zh") -> Message:
    """The run card: progress, current steps with owners and due times, and buttons. Updated in place."""
    if lang == "en":
        return _run_card_en(view, now, tz, max_steps=max_steps)
    state = view.state
    done, total = state.progress()
    fields = [
        Field("状态 / Status", f"{RUN_STATUS_ZH[state.status]}"),
        Field("严重程度 / Severity", SEVERITY_ZH.get(view.severity, str(view.severity))),
        Field("进度 / Progress", f"{done}/{total}"),
        Field("启动 / Started", f"{local(state.started_at, tz)} · {person(view.started_by)}"),
    ]
    if view.account:
        fields.append(Field("账号 / Account", account_text(view)))
    if view.alert_id:
        # the key ("douyin:x|*@20261122T1215", a UTC time) is for machines: the account, video, severity
        # and start in the channel's zone, as the review names it
        alert = view.alert or LinkedAlert.from_key(view.alert_id)
        fields.append(Field("关联告警 / Alert", alert.label(ZoneInfo(tz))))
    sections: list[Section] = []
    if state.status is RunStatus.ACTIVE:
        current = [s for s in state.current_steps()]
        for step in current[:max_steps]:
            text = step_line(view, step, now, tz)
            if step.is_decision:
                question = view.playbook.step(step.step_id).question or ""
                text += f"\n❓ {question}"
            sections.append(Section(text=text, buttons=step_buttons(view, step)))
        if len(current) > max_steps:
            sections.append(
                Section(text=f"还有 {len(current) - max_steps} 个当前步骤，见 /crisis status #{view.id} / see /crisis status #{view.id}")
            )
        if not current:
            sections.append(Section(text="所有步骤已处理，可以 /crisis resolve 解除 / all steps handled"))
    else:
        reason = f"：{inert(state.close_reason)}" if state.close_reason else ""
        sections.append(
            Section(text=f"{RUN_STATUS_ZH[state.status]}{reason}（{local(state.closed_at, tz)}）")
        )
    return Message(
        title=f"预案 #{view.id} {run_heading(view)}",
        # the card's times (start, due, closed) carry no zone: say it once, as the review does
        text=f"{view.playbook.title_en} · 退出规则：{view.playbook.exit.rule}\n{run_zone_note(view, tz, now)}",
        fields=tuple(fields),
        sections=tuple(sections),
        severity=view.severity,
        meta={"crisis_run": view.id, "version": view.version},
    )


def _run_card_en(view: RunView, now: datetime, tz: str, *, max_steps: int) -> Message:
    """`run_card` for a channel set to English."""
    state = view.state
    done, total = state.progress()
    fields = [
        Field("Status", RUN_STATUS_EN[state.status]),
        Field("Severity", SEVERITY_EN.get(view.severity, str(view.severity))),
        Field("Progress", f"{done}/{total}"),
        Field("Started", f"{local(state.started_at, tz)} · {person(view.started_by)}"),
    ]
    if view.account:
        fields.append(Field("Account", account_text(view, "en")))
    if view.alert_id:
        alert = view.alert or LinkedAlert.from_key(view.alert_id)
        fields.append(Field("Alert", alert.label(ZoneInfo(tz), lang="en")))
    sections: list[Section] = []
    if state.status is RunStatus.ACTIVE:
        current = list(state.current_steps())
        for step in current[:max_steps]:
            text = step_line(view, step, now, tz, "en")
            if step.is_decision:
                text += f"\n❓ {view.playbook.step(step.step_id).question_in('en')}"
            sections.append(Section(text=text, buttons=step_buttons(view, step, "en")))
        if len(current) > max_steps:
            sections.append(Section(text=f"{len(current) - max_steps} more current steps: see /crisis status #{view.id}"))
        if not current:
            sections.append(Section(text="All steps handled: resolve with /crisis resolve"))
    else:
        reason = f": {inert(state.close_reason)}" if state.close_reason else ""
        sections.append(Section(text=f"{RUN_STATUS_EN[state.status].capitalize()}{reason} ({local(state.closed_at, tz)})"))
    return Message(
        title=f"Run #{view.id} {run_heading(view, 'en')}",
        text=f"{playbook_name(view.playbook, 'en')} · Exit rule: {view.playbook.exit.rule_in('en')}\n"
             f"{run_zone_note(view, tz, now, 'en')}",
        fields=tuple(fields),
        sections=tuple(sections),
        severity=view.severity,
        meta={"crisis_run": view.id, "version": view.version},
    )


# Chinese text: CJK ideographs and punctuation, full-width forms and the quotes Chinese text uses.
_WIDE = r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef“”‘’…—]"
# A space between Chinese and a word, a digit or a placeholder, on one line (a line break is the writer's).
_SPACE_BY_WIDE = re.compile(rf"(?<={_WIDE})[ \t]+(?=[\w{{}}“”])|(?<=[\w{{}}“”])[ \t]+(?={_WIDE})")
# A slash command and its arguments, up to the punctuation that ends it: typed as written, spaces and all.
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z][\w-]*(?: [^\s，。；、（）“”]+)*")


def join_folded(text: str) -> str:
    """A playbook text without the spaces YAML's `>-` folding puts into Chinese: each line break of a folded
    text becomes a space, and "核实情况，\n将于24\n小时内" read "核实情况， 将于24 小时内". The house style
    (the reply templates join their folded lines the same way) is no space between Chinese and a word or
    digit; spaces between Latin words, line breaks and slash commands ("用 /crisis report 生成") stay."""
    pieces, at = [], 0
    for command in _COMMAND.finditer(text):
        pieces += [_SPACE_BY_WIDE.sub("", text[at : command.start()]), command.group()]
        at = command.end()
    pieces.append(_SPACE_BY_WIDE.sub("", text[at:]))
    return "".join(pieces)


def render_template(text: str, view: RunView, tz: str, lang: str = "zh", *, english: bool = False) -> str:
    """Fill a 回应口径 template; unknown values show as 【待填：name】 so nothing is silently blank. The
    playbook's own words lose their folding spaces; the values are put in as given. `english`: the text is
    the playbook's English version (`text_en`), whose variables take their English defaults (`default_en`)."""
    values: dict[str, str] = {}
    for name, variable in view.playbook.variables.items():
        if (default := variable.default_in("en" if english else "zh")) is not None:
            values[name] = default
    # a blank value (a run stored before empty --var values were refused) leaves the default in place
    values.update({k: str(v) for k, v in view.variables.items() if str(v).strip()})
    values.update(
        title=view.title,
        account=view.account or "",
        severity=str(view.severity),
        started_at=local(view.state.started_at, tz, "%Y-%m-%d %H:%M"),
        playbook=playbook_name(view.playbook, "en" if english else "zh"),
    )

    class Missing(dict):
        def __missing__(self, key: str) -> str:
            return f"[fill in: {key}]" if lang == "en" else f"【待填：{key}】"

    # a blank value (a playbook's `default: ""`, a run without an account) is as unset as a missing one
    filled = Missing({k: v for k, v in values.items() if v.strip()})
    if not english:
        return join_folded(text).format_map(filled)
    # an English sentence opens with a capital whatever value opens it ("{brand} has seen them" with the
    # default "our team")
    out = ""
    for literal, name, spec, conversion in string.Formatter().parse(join_folded(text)):
        out += literal
        if name is None:
            continue
        value = ("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
                 ).format_map(filled)
        opens = not out.rstrip() or out.rstrip()[-1] in ".!?"
        out += value[:1].upper() + value[1:] if opens else value
    return out


def status_message(view: RunView, now: datetime, tz: str, lang: str = "zh") -> Message:
    """Every step with its state, owner and due time."""
    lines = []
    for step in view.state.steps:
        mark = {StepStatus.DONE: "✅", StepStatus.SKIPPED: "⏭️", StepStatus.NA: "➖", StepStatus.OPEN: "⬜"}[
            step.status
        ]
        if lang == "en":
            extra = (f": {answer_en(step, step.answer)}" if step.answer
                     else (f" ({inert(step.reason)})" if step.reason else ""))
        else:
            extra = f"：{step.answer}" if step.answer else (f"（{inert(step.reason)}）" if step.reason else "")
        lines.append(f"{mark} {step_line(view, step, now, tz, lang)}{extra}")
    lines.append(run_zone_note(view, tz, now, lang))
    card = run_card(view, now, tz, lang=lang)
    return Message(title=card.title, fields=card.fields, text="\n".join(lines), severity=view.severity)


def next_message(view: RunView, now: datetime, tz: str, *, limit: int = 3, lang: str = "zh") -> Message:
    """The next steps in detail: instructions, checklist and filled response templates."""
    en = lang == "en"
    state = view.state
    if state.status in (RunStatus.RESOLVED, RunStatus.CANCELLED):
        # `/crisis next` with no active run shows the channel's latest: a closed run has no next step, and
        # its open steps with 完成/跳过 buttons read as work still to do (each press was then refused)
        where = f"/crisis status #{view.id}, /crisis report #{view.id}"
        if en:
            return Message(text=f"Run #{view.id} is {RUN_STATUS_EN[state.status]}: it has no next steps. Its steps "
                                f"and review: {where}")
        return Message(text=f"预案 #{view.id} {RUN_STATUS_ZH[state.status]}，没有下一步；步骤与复盘见 {where.replace(', ', '、')} / "
                            f"run #{view.id} is {RUN_STATUS_EN[state.status]}: it has no next steps")
    steps = state.current_steps()[:limit]
    if not steps:
        return Message(text="Nothing left: resolve with /crisis resolve when ready" if en
                       else "没有待办步骤，可以 /crisis resolve 解除 / nothing left: resolve when ready")
    sections = []
    for step in steps:
        spec = view.playbook.step(step.step_id)
        parts = [step_line(view, step, now, tz, lang)]
        if spec.question:
            choices = answer_choices(step)
            parts.append(f"❓ {spec.question_in(lang)} ({choices.replace('、', ', ')})" if en
                         else f"❓ {spec.question}（{choices}）")
        # the playbook's English words (`instructions_en`, `checklist_en`) fill in the variables' English defaults
        if spec.instructions:
            english = en and bool(spec.instructions_en.strip())
            parts.append(render_template(spec.instructions_in(lang).strip(), view, tz, lang, english=english))
        if spec.checklist:
            parts.append("\n".join(
                f"☐ {render_template(shown, view, tz, lang, english=en and shown != item)}"
                for item, shown in zip(spec.checklist, spec.checklist_in(lang), strict=True)
            ))
        for template in spec.templates:
            english = en and bool(template.text_en.strip())
            parts.append(f"📝 {template.name_in(lang)}{':' if en else '：'}\n"
                         f"> {render_template(template.text_in(lang), view, tz, lang, english=english)}")
        sections.append(Section(text="\n".join(parts), buttons=step_buttons(view, step, lang)))
    return Message(title=f"Run #{view.id} next steps" if en else f"预案 #{view.id} 下一步 / next steps",
                   sections=tuple(sections))


def timeline_message(
    view: RunView, entries: Sequence[TimelineEntry], tz: str, alerts: Sequence[LinkedAlert] = (),
    lang: str = "zh",
) -> Message:
    """The run's timeline, one line an entry, worded as the review's timeline (`alerts`: the linked alerts
    as the service names them, so their keys read as labels)."""
    zone = ZoneInfo(tz)
    known = {a.key: a for a in alerts}
    if view.alert is not None:
        known.setdefault(view.alert.key, view.alert)
    lines = []
    # the reminder job's repeats collapse into their first line, as in the review
    for e, text in collapsed_timeline(entries, list(known.values()), zone, lambda at: local(at, tz),
                                      lang=lang, names=english_names(view) if lang == "en" else None):
        kind = kind_word(e.kind, lang)
        lines.append(
            f"{local(e.at, tz)} {person(e.actor)} {kind}"
            + (f" {e.step_id}" if e.step_id else "")
            + ((f": {text}" if lang == "en" else f"：{text}") if text else "")
        )
    lines = newest_within(lines, TIMELINE_MAX_BYTES, lang)
    if lines:  # the lines' times carry no zone: said once, first, as the review says it
        lines.insert(0, run_zone_note(view, tz, entries[0].at, lang))
    title = f"Run #{view.id} timeline" if lang == "en" else f"预案 #{view.id} 时间线 / timeline"
    return Message(title=title, text="\n".join(lines) or "—")


# A timeline longer than this (UTF-8) shows its newest entries: a chat card holds about 30 KB (Feishu), and
# a long crisis's latest events matter most. The whole of it is in /crisis report.
TIMELINE_MAX_BYTES = 16 * 1024


def newest_within(lines: Sequence[str], max_bytes: int, lang: str = "zh") -> list[str]:
    """The last `lines` that fit in `max_bytes`, after a first line saying how many earlier ones are left out."""
    total = sum(len(line.encode()) + 1 for line in lines)
    if total <= max_bytes:
        return list(lines)
    used = 200  # room for the line saying what is left out
    start = len(lines)
    while start > 0 and used + len(lines[start - 1].encode()) + 1 <= max_bytes:
        start -= 1
        used += len(lines[start].encode()) + 1
    if lang == "en":
        return [f"… {start} earlier entries not shown: /crisis report has them all", *lines[start:]]
    return [f"…（更早的 {start} 条记录未显示，完整时间线见 /crisis report）/ {start} earlier entries not shown: "
            f"/crisis report has them all", *lines[start:]]


def list_message(playbooks: Sequence[Playbook], runs: Sequence[RunView], tz: str, lang: str = "zh") -> Message:
    if lang == "en":
        return _list_message_en(playbooks, runs, tz)
    book_lines = [
        f"**{p.id}** {p.name} / {p.title_en} · {len(p.steps)} 步 · 默认{SEVERITY_ZH.get(p.default_severity, '')}"
        for p in playbooks
    ]
    run_lines = [
        f"#{r.id} {run_heading(r)} · {SEVERITY_ZH.get(r.severity, r.severity)} · "
        f"{r.state.progress()[0]}/{r.state.progress()[1]} · 启动 {local(r.state.started_at, tz)}"
        for r in runs
    ]
    starts = [r.state.started_at for r in runs if r.state.started_at]
    if starts:  # the start times carry no zone: said once, as the card says it
        run_lines.append(zone_note(tz, starts[0]))
    return Message(
        title="预案 / Playbooks",
        sections=(
            Section(text="**可用预案 / available**\n" + ("\n".join(book_lines) or "—")),
            Section(text="**进行中 / active runs**\n" + ("\n".join(run_lines) or "无 / none")),
        ),
    )


def _list_message_en(playbooks: Sequence[Playbook], runs: Sequence[RunView], tz: str) -> Message:
    book_lines = [
        f"**{p.id}** {playbook_name(p, 'en')} · {len(p.steps)} steps · default {SEVERITY_EN.get(p.default_severity, '')}"
        for p in playbooks
    ]
    run_lines = [
        f"#{r.id} {run_heading(r, 'en')} · {SEVERITY_EN.get(r.severity, r.severity)} · "
        f"{r.state.progress()[0]}/{r.state.progress()[1]} · started {local(r.state.started_at, tz)}"
        for r in runs
    ]
    starts = [r.state.started_at for r in runs if r.state.started_at]
    if starts:
        run_lines.append(zone_line(tz, starts[0], "en"))
    return Message(
        title="Playbooks",
        sections=(
            Section(text="**Available**\n" + ("\n".join(book_lines) or "—")),
            Section(text="**Active runs**\n" + ("\n".join(run_lines) or "none")),
        ),
    )


def snoozed_reply(until: datetime, tz: str, lang: str = "zh") -> str:
    """The answer to a snooze: until when, in the channel's zone, named as the card names it."""
    at = local(until, tz)
    if lang == "en":
        return f"⏰ Snoozed until {at} ({tz}, {utc_offset(tz, until)})"
    return f"⏰ 提醒已推迟到 {at}（{zone_text(tz, until)}）/ snoozed until {at} ({tz}, {utc_offset(tz, until)})"


def mention_id(user: str, channel: str) -> str | None:
    """A chat user id for Message.mentions when the user is on the channel's platform."""
    platform, sep, user_id = user.partition(":")
    if sep and platform == channel.partition(":")[0] and user_id:
        return user_id
    return None


def reminder_message(
    view: RunView, who_key: str, steps: Sequence[StepState], now: datetime, tz: str, lang: str = "zh"
) -> Message:
    """One grouped reminder for everything overdue of one person (or one unassigned role)."""
    if lang == "en":
        return _reminder_message_en(view, who_key, steps, now, tz)
    lines = [step_line(view, s, now, tz) for s in steps]
    if who_key.startswith("role:"):
        # nobody is mentioned, so say how to make someone responsible
        role = who_key[5:]
        # the English half names the role as English readers type it (/crisis assign takes either name; a
        # name of several words would be read as the role and a person, so that one stays as it is)
        found = view.playbook.roles.get(role)
        role_en = found.en if found and found.en and not any(c.isspace() for c in found.en) else role
        head = (f"角色 {role} 尚未指派，以下步骤已超时；用 /crisis assign {role} @人 指派 / "
                f"overdue, role {role_en} unassigned: /crisis assign {role_en} @user")
        mentions: tuple[str, ...] = ()
    else:
        head = f"{person(who_key)}：以下步骤已超时 / overdue steps"
        mention = mention_id(who_key, view.channel)
        mentions = (mention,) if mention else ()
    value = f"{view.id}:" + ",".join(s.step_id for s in steps)
    return Message(
        title=f"⏰ 预案 #{view.id} 超时提醒 / reminder",
        # the due times carry no zone: said once, as the card says it
        text=head + "\n" + "\n".join(lines) + "\n" + run_zone_note(view, tz, now),
        buttons=(Button("稍后提醒 / snooze", ACTION_SNOOZE, value),),
        mentions=mentions,
        severity=view.severity,
    )


def _reminder_message_en(view: RunView, who_key: str, steps: Sequence[StepState], now: datetime,
                         tz: str) -> Message:
    lines = [step_line(view, s, now, tz, "en") for s in steps]
    if who_key.startswith("role:"):
        role = who_key[5:]
        found = view.playbook.roles.get(role)
        # typed as one word: /crisis assign takes the English name when it has no space
        role_en = found.en if found and found.en and not any(c.isspace() for c in found.en) else role
        head = f"Overdue, role {role_en} unassigned: /crisis assign {role_en} @user"
        mentions: tuple[str, ...] = ()
    else:
        head = f"{person(who_key)}: overdue steps"
        mention = mention_id(who_key, view.channel)
        mentions = (mention,) if mention else ()
    value = f"{view.id}:" + ",".join(s.step_id for s in steps)
    return Message(
        title=f"⏰ Run #{view.id} reminder",
        text=head + "\n" + "\n".join(lines) + "\n" + run_zone_note(view, tz, now, "en"),
        buttons=(Button("Snooze", ACTION_SNOOZE, value),),
        mentions=mentions,
        severity=view.severity,
    )


def nag_text(idle: timedelta) -> tuple[str, str]:
    """How long a run has gone without a status update, in the card's words: ('3 小时 40 分钟', '3 h 40 min')
    (a raw "220 分钟" used to stand beside the card's "1 小时 30 分钟")."""
    return duration_zh(idle), duration_en(idle)


def nag_message(view: RunView, idle: timedelta, lang: str = "zh") -> Message:
    """Ask for a status update; `idle`: the time since the last note (or the start)."""
    commander = view.state.role_assignees.get("指挥")
    mention = mention_id(commander, view.channel) if commander else None
    zh, en = nag_text(idle)
    if lang == "en":
        return Message(
            title=f"📣 Run #{view.id} status update due",
            text=f"No status update for {en}: post one with /crisis note.",
            mentions=(mention,) if mention else (),
            severity=view.severity,
        )
    return Message(
        title=f"📣 预案 #{view.id} 请更新进展 / status update due",
        text=(
            f"已有 {zh}没有进展更新，请指挥用 /crisis note 同步现状。\n"
            f"No status update for {en}: post one with /crisis note."
        ),
        mentions=(mention,) if mention else (),
        severity=view.severity,
    )


def exit_hint_message(view: RunView, share: float | None, normal_max: float, hold: timedelta,
                      account_name: str | None = None, lang: str = "zh") -> Message:
    """`account_name`: the account's configured name (its key when it has none)."""
    share_text = "—" if share is None else f"{share * 100:.1f}%"
    account = account_name or view.account
    if lang == "en":
        return Message(
            title=f"✅ Run #{view.id}: consider resolving",
            text=(
                f"The negative share of {account} has been {share_text} for {duration_en(hold)}, back within its "
                f"normal range (≤ {normal_max * 100:.1f}%): consider resolving.\n"
                f"Exit rule: {view.playbook.exit.rule_in('en')}"
            ),
            buttons=(Button("Resolve", ACTION_RESOLVE, str(view.id), style="primary"),),
            severity=view.severity,
        )
    return Message(
        title=f"✅ 预案 #{view.id} 可以考虑解除 / consider resolving",
        text=(
            f"{account} 近 {duration_zh(hold)} 负面占比 {share_text}，已回到常态（≤ {normal_max * 100:.1f}%）。"
            f"\n退出规则：{view.playbook.exit.rule}\n"
            f"The negative share of {account} has been {share_text} for {duration_en(hold)}, back within its "
            f"normal range (≤ {normal_max * 100:.1f}%): consider resolving."
        ),
        buttons=(Button("解除 / resolve", ACTION_RESOLVE, str(view.id), style="primary"),),
        severity=view.severity,
    )
