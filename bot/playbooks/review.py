"""The post-incident review (复盘报告) in Markdown, built from plain data (no database, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.playbooks.machine import (
    RUN_STATUS_ZH,
    STEP_STATUS_ZH,
    RunState,
    StepStatus,
    TimelineEntry,
)

KIND_ZH = {
    "start": "启动",
    "done": "完成",
    "answer": "判断",
    "skip": "跳过",
    "assign": "指派",
    "note": "备注",
    "resolve": "解除",
    "cancel": "取消",
    "alert": "关联告警",
    "remind": "提醒",
    "exit_hint": "退出建议",
    "escalation": "升级",
    "severity": "严重程度",
}
SEVERITY_ZH = {1: "一级（最高）", 2: "二级", 3: "三级"}


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """Negative-share figures of the affected account around the run (shares are 0..1)."""

    before: float | None = None
    peak: float | None = None
    peak_at: datetime | None = None
    latest: float | None = None
    normal_max: float | None = None
    comments: int = 0


@dataclass(frozen=True, slots=True)
class ReviewInput:
    run_id: int
    title: str
    playbook_name: str
    playbook_title_en: str
    severity: int
    account: str | None
    started_by: str
    state: RunState
    timeline: Sequence[TimelineEntry]
    generated_at: datetime
    tz: str = "Asia/Shanghai"
    chart_filename: str | None = None
    metrics: MetricSummary = field(default_factory=MetricSummary)
    exit_rule: str = ""
    alerts: Sequence[str] = ()


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip() or "—"


def _lateness(status: StepStatus, over: timedelta | None) -> str:
    """超时 column: a step never finished is not "on time", whether or not its deadline had come."""
    unfinished = "（未完成 / not done）" if status is StepStatus.OPEN else ""
    if over is not None and over > timedelta(0):
        return f"超时 {_dur(over)}{unfinished}"
    if status is StepStatus.OPEN:
        return "未完成 / not done"
    return "按时" if over is not None else "—"


def _dur(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(round(abs(delta.total_seconds()) / 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [
        f"{days}天" if days else "",
        f"{hours}小时" if hours else "",
        f"{minutes}分" if minutes or not (days or hours) else "",
    ]
    return ("-" if delta.total_seconds() < 0 else "") + "".join(parts)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def render_review(data: ReviewInput) -> str:
    """Summary, timeline, steps against their SLA, the chart reference and follow-ups, in Markdown."""
    zone = ZoneInfo(data.tz)

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    state = data.state
    end = state.closed_at or data.generated_at
    done, applicable = state.progress()
    late = [
        s
        for s in state.steps
        if s.due_at is not None
        and s.status is not StepStatus.NA
        and ((s.finished_at or data.generated_at) > s.due_at)
        and s.status is not StepStatus.SKIPPED
    ]
    lines = [
        f"# 复盘报告：{data.title}",
        f"*Post-incident review — {data.playbook_title_en} · #{data.run_id}*",
        "",
        "## 概要 / Summary",
        "",
        f"- 预案 / Playbook：{data.playbook_name}（{data.playbook_title_en}）",
        f"- 严重程度 / Severity：{SEVERITY_ZH.get(data.severity, data.severity)}",
        f"- 账号 / Account：{data.account or '—'}",
        f"- 状态 / Status：{RUN_STATUS_ZH[state.status]}（{state.status.value}）",
        f"- 启动 / Started：{when(state.started_at)}，发起人 {data.started_by}",
        f"- 结束 / Closed：{when(state.closed_at)}" + (f"，{state.closed_by}" if state.closed_by else ""),
        f"- 持续 / Duration：{_dur(end - state.started_at) if state.started_at else '—'}",
        f"- 完成度 / Progress：{done}/{applicable} 步",
        f"- 超时步骤 / Late steps：{len(late)}",
    ]
    if state.close_reason:
        lines.append(f"- 结束说明 / Closing note：{state.close_reason}")
    if data.exit_rule:
        lines.append(f"- 退出规则 / Exit rule：{data.exit_rule}")
    if data.alerts:
        lines.append(f"- 关联告警 / Linked alerts：{'、'.join(data.alerts)}")
    lines += ["", "## 时间线 / Timeline", "", "| 时间 | 人员 | 动作 | 内容 |", "| --- | --- | --- | --- |"]
    for entry in data.timeline:
        lines.append(
            f"| {when(entry.at)} | {_cell(entry.actor)} | {KIND_ZH.get(entry.kind, entry.kind)} | "
            f"{_cell((entry.step_id + ' ' if entry.step_id else '') + entry.text)} |"
        )
    lines += [
        "",
        "## 步骤与时限 / Steps vs SLA",
        "",
        "| 步骤 | 负责 | 状态 | 时限 | 完成于 | 用时 | 超时 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for step in state.steps:
        owner = step.owner_role + (f"（{state.assignee_of(step)}）" if state.assignee_of(step) else "")
        used = (step.finished_at - state.started_at) if step.finished_at and state.started_at else None
        over = None
        if step.due_at is not None and step.status in (StepStatus.DONE, StepStatus.OPEN):
            over = (step.finished_at or data.generated_at) - step.due_at
        status = STEP_STATUS_ZH[step.status] + (f"：{step.answer}" if step.answer else "")
        if step.reason:
            status += f"（{step.reason}）"
        lines.append(
            f"| {_cell(step.step_id + ' ' + step.title)} | {_cell(owner)} | {_cell(status)} | "
            f"{_dur(step.due_after)}（{when(step.due_at)}） | {when(step.finished_at) if step.status is not StepStatus.NA else '—'} | "
            f"{_dur(used) if step.status is StepStatus.DONE else '—'} | "
            f"{_lateness(step.status, over)} |"
        )
    m = data.metrics
    lines += ["", "## 负面占比 / Negative share", ""]
    lines.append(
        f"- 启动前 / Before：{_pct(m.before)}；峰值 / Peak：{_pct(m.peak)}"
        + (f"（{when(m.peak_at)}）" if m.peak_at else "")
        + f"；最新 / Latest：{_pct(m.latest)}；常态上限 / Normal max：{_pct(m.normal_max)}；评论数 / Comments：{m.comments}"
    )
    if data.chart_filename:
        lines += ["", f"![负面占比 / negative share]({data.chart_filename})"]
    follow = [f"- {s.step_id} {s.title}：超时 / late" for s in late]
    follow += [
        f"- {s.step_id} {s.title}：跳过，原因 {s.reason}"
        for s in state.steps
        if s.status is StepStatus.SKIPPED
    ]
    follow += [
        f"- {s.step_id} {s.title}：未完成 / not done"
        for s in state.steps
        if s.status is StepStatus.OPEN and s not in late
    ]
    lines += ["", "## 待改进 / Follow-ups", "", *(follow or ["- 无 / none"]), ""]
    lines.append(f"*生成于 / generated {when(data.generated_at)}*")
    return "\n".join(lines) + "\n"
