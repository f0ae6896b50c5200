"""The post-incident review (复盘报告) in Markdown, built from plain data (no database, no clock)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.render import SEVERITY_LABEL
from bot.durations import duration_en, duration_zh, duration_zh_en, overdue_zh_en, utc_offset, zone_note
from bot.i18n import platform_label
from bot.messages import inert
from bot.playbooks.machine import (
    RUN_STATUS_EN,
    RUN_STATUS_ZH,
    STEP_STATUS_EN,
    STEP_STATUS_ZH,
    RunState,
    StepStatus,
    TimelineEntry,
    answer_en,
    reopen_reason,
)
from bot.playbooks.people import person
from bot.reports.charts import SharePoint

KIND_ZH = {
    "start": "启动",
    "done": "完成",
    "answer": "判断",
    "skip": "跳过",
    "assign": "指派",
    "reopen": "重开",
    "note": "备注",
    "resolve": "解除",
    "cancel": "取消",
    "alert": "关联告警",
    "remind": "提醒",
    "exit_hint": "退出建议",
    "escalation": "升级",
    "severity": "严重程度",
}
KIND_EN = {
    "start": "started",
    "done": "done",
    "answer": "decided",
    "skip": "skipped",
    "assign": "assigned",
    "reopen": "reopened",
    "note": "note",
    "resolve": "resolved",
    "cancel": "cancelled",
    "alert": "linked alert",
    "remind": "reminder",
    "exit_hint": "exit suggestion",
    "escalation": "escalated",
    "severity": "severity",
}
SEVERITY_ZH = {1: "一级（最高）", 2: "二级", 3: "三级"}
SEVERITY_EN = {1: "SEV1 (highest)", 2: "SEV2", 3: "SEV3"}


def kind_word(kind: str, lang: str = "zh") -> str:
    """A timeline entry's kind as a line or a table names it (启动 / started)."""
    return (KIND_EN if lang == "en" else KIND_ZH).get(kind, kind)


def severity_word(severity: int, lang: str = "zh") -> str:
    """A run's severity as the card names it: 一级（最高） / SEV1 (highest)."""
    return (SEVERITY_EN if lang == "en" else SEVERITY_ZH).get(severity, str(severity))


def zone_line(zone: str | ZoneInfo, at: datetime, lang: str = "zh") -> str:
    """The line saying which zone shown times are in: `zone_note` in a Chinese channel, 'All times in
    Asia/Shanghai (UTC+08:00)' in an English one."""
    if lang != "en":
        return zone_note(zone, at)
    name = getattr(zone, "key", None) or str(zone)
    return f"All times in {name} ({utc_offset(zone, at)})"


def overdue_en(late: timedelta) -> str:
    """'12 min overdue', 'just overdue' under a minute (the English half of `overdue_zh_en`)."""
    return overdue_zh_en(late)[1]
#: who the bot's own timeline entries (reminders, nags, linked alerts) are by
AUTOMATIC_ACTOR = "crisisbot"
# An alert episode's key: "platform:account|content or *@start bucket (UTC, %Y%m%dT%H%M)".
_ALERT_KEY = re.compile(r"^(?P<platform>[^:|@]+):(?P<account>[^|@]+)\|(?P<content>[^@]*)@(?P<at>\d{8}T\d{4})$")
_ALERT_SEVERITY = re.compile(r"\bsev([123])\b")
# A span as bot/durations.py writes it ("35 分钟", "1 小时 5 分钟", "1 h 5 min"): one placeholder in the key
# that groups repeated reminders, whatever units the span has
_DURATION = re.compile(r"\d+ (?:天|小时|分钟|d|h|min)(?: \d+ (?:小时|分钟|h|min))*")


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
class LinkedAlert:
    """An alert linked to the run, as a reader wants it (the key stays for machines: the timeline's
    "关联告警 KEY" text is how the service finds links again)."""

    key: str
    account: str | None = None  # the account's display name, else platform:account_id
    platform: str | None = None
    video: str | None = None  # the video's title (or id) for a per-video alert
    severity: str | None = None  # sev1 .. sev3
    started_at: datetime | None = None

    @classmethod
    def from_key(cls, key: str, account_name: str | None = None) -> LinkedAlert:
        """What the key itself says (the alert's row may have been purged); any other key stays as is."""
        match = _ALERT_KEY.match(key.strip())
        if match is None:
            return cls(key)
        content = match["content"]
        return cls(
            key,
            account=account_name or f"{match['platform']}:{match['account']}",
            platform=match["platform"],
            video=None if content in ("", "*") else content,
            started_at=datetime.strptime(match["at"], "%Y%m%dT%H%M").replace(tzinfo=UTC),
        )

    def label(self, zone: ZoneInfo, *, severity: bool = True, lang: str = "zh") -> str:
        """"澜肌官方旗舰店（抖音）· 作品：标题 · 一级·爆发 · 2026-11-22 20:15 起" in the channel's zone
        ("澜肌官方旗舰店 (douyin) · video: 标题 · SEV1 explosive · from 2026-11-22 20:15" in English)."""
        if self.account is None:
            return self.key
        if lang == "en":
            parts = [self.account + (f" ({platform_label(self.platform, 'en')})"
                                     if self.platform and self.platform not in self.account else "")]
            if self.video:
                parts.append(f"video: {self.video}")
            if severity and self.severity in SEVERITY_LABEL:
                parts.append(SEVERITY_LABEL[self.severity][1])
            if self.started_at is not None:
                parts.append(f"from {self.started_at.astimezone(zone):%Y-%m-%d %H:%M}")
            return " · ".join(parts)
        # the platform as the alert itself and the reply queue name it (抖音, not douyin)
        parts = [self.account + (f"（{platform_label(self.platform)}）" if self.platform and self.platform not in self.account
                                 else "")]
        if self.video:
            parts.append(f"作品：{self.video}")
        if severity and self.severity in SEVERITY_LABEL:
            parts.append(SEVERITY_LABEL[self.severity][0])
        if self.started_at is not None:
            parts.append(f"{self.started_at.astimezone(zone):%Y-%m-%d %H:%M} 起")
        return " · ".join(parts)


def share_figures(points: Sequence[SharePoint], since: datetime) -> tuple[SharePoint | None, SharePoint | None]:
    """The peak and the latest bucket with scored comments from `since` on: both from the same buckets,
    so the peak is never below the latest (the latest once came from the hours before the run while
    the peak only looked at the run, and the review showed "峰值 —" next to "最新 50.0%")."""
    during = [p for p in points if p.start >= since and p.share is not None]
    if not during:
        return None, None
    return max(during, key=lambda p: p.share or 0.0), during[-1]


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
    alerts: Sequence[LinkedAlert | str] = ()
    #: the channel's language: "en" writes the review in English alone (step titles and roles in the
    #: playbook's English names where it has them)
    lang: str = "zh"
    titles_en: Mapping[str, str] = field(default_factory=dict)  # step id -> the playbook's title_en
    roles_en: Mapping[str, str] = field(default_factory=dict)  # role -> the playbook's English name


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip() or "—"


def _lateness(status: StepStatus, over: timedelta | None, lang: str = "zh") -> str:
    """超时 column: a step never finished is not "on time", whether or not its deadline had come. Worded as
    the run card words it ("刚刚超时" under a minute, whole minutes after: "超时 0分" read as a glitch)."""
    if lang == "en":
        if over is not None and over > timedelta(0):
            return overdue_en(over) + (" (not done)" if status is StepStatus.OPEN else "")
        if status is StepStatus.OPEN:
            return "not done"
        return "on time" if over is not None else "—"
    unfinished = "（未完成 / not done）" if status is StepStatus.OPEN else ""
    if over is not None and over > timedelta(0):
        zh, en = overdue_zh_en(over)
        return f"{zh} / {en}{unfinished}"
    if status is StepStatus.OPEN:
        return "未完成 / not done"
    return "按时" if over is not None else "—"


def _dur(delta: timedelta | None, lang: str = "zh") -> str:
    """A span as the run card and reminders word it ("1 小时 30 分钟", "不到 1 分钟")."""
    return "—" if delta is None else duration_en(delta) if lang == "en" else duration_zh(delta)


#: a stored text that only restates its kind ("启动：启动预案"): the line shows the kind alone
_KIND_ONLY = {"start": "启动预案 / run started", "resolve": "事件解除 / resolved"}


@dataclass(frozen=True, slots=True)
class EnglishNames:
    """What an English channel calls a run's steps and roles: the playbook's `title_en` and roles' `en`
    (a step or role without one keeps its name), and the run's steps (for the answers' English words)."""

    titles: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)
    state: RunState | None = None

    def title(self, step_id: str | None, fallback: str = "") -> str:
        return self.titles.get(step_id or "") or fallback

    def role(self, role: str) -> str:
        return self.roles.get(role) or role

    def answer(self, step_id: str | None, answer: str) -> str:
        state = self.state
        if state is not None and step_id and state.has_step(step_id):
            return answer_en(state.step(step_id), answer)
        return answer


# The stored (Chinese-worded) timeline texts, read back for an English channel. The stored form stays:
# the service finds its links in it ("关联告警 KEY") and the review its reopen reasons.
_EARLY = re.compile(r"（提前完成，前置步骤 .*? 尚未完成 / (finished early: .*? still open)）")
_SKIP = re.compile(r"^(?P<title>.*)（原因：(?P<reason>.*)）$", re.DOTALL)
_REOPEN = re.compile(r"^(?P<title>.*)（(?P<was>原为跳过|原为完成|原答案：.*?)；原因：(?P<reason>.*)）$", re.DOTALL)
_ROLE_ASSIGN = re.compile(r"^角色 (?P<role>.+?) → (?P<who>.*)$", re.DOTALL)
_FROM_ALERT = re.compile(r"^由告警 (?P<key>.+?) 启动 / from alert$")
_LINKED = re.compile(r"^关联告警 (?P<key>[^：]+?)(?:：(?P<detail>.*))?$", re.DOTALL)
_REMINDED = re.compile(r"^(?P<who>.+?)：(?P<ids>.+?) 已超时 / overdue$", re.DOTALL)
_UNASSIGNED_ROLE = re.compile(r"^角色 (?P<role>.+?)（未指派）$")
_SNOOZED = re.compile(r"^提醒推迟 (?P<minutes>\d+) 分钟：(?P<ids>.*)$", re.DOTALL)
_EXIT = re.compile(r"^负面占比 (?P<share>\S+) 已回到常态（≤ (?P<max>\S+)），建议解除$")
_EN_HALF = re.compile(r" ?/ (?=(?:raised|lowered) to SEV\d|status update requested|escalated comment)")


def _strip_title(text: str, title: str) -> tuple[bool, str]:
    return (True, text[len(title):]) if title and text.startswith(title) else (False, text)


def _alert_detail_en(detail: str) -> str:
    """'sev2，负面占比 35%' / 'sev1，alice 按下启动预案' (as the services store them) in English."""
    detail = _ALERT_SEVERITY.sub(lambda m: SEVERITY_LABEL[f"sev{m[1]}"][1], detail)
    detail = re.sub(r"，负面占比 ", ", negative share ", detail)
    detail = re.sub(r"，(.+?) 按下启动预案$", r", \1 pressed Start playbook", detail)
    return detail


def entry_text_en(entry: TimelineEntry, alerts: Sequence[LinkedAlert], zone: ZoneInfo,
                  names: EnglishNames | None = None) -> str:
    """`entry_text` for an English channel: the stored text read back in English (step titles and roles by
    their English names, alerts as English labels); what people typed stays as typed. A text of a form this
    does not know is shown as stored."""
    names = names or EnglishNames()
    text, kind = entry.text.strip(), entry.kind
    step_title = ""
    if entry.step_id and names.state is not None and names.state.has_step(entry.step_id):
        step_title = names.state.step(entry.step_id).title
    title_en = names.title(entry.step_id, step_title)

    def label(key: str) -> str:
        found = next((a for a in alerts if a.key == key), None) or LinkedAlert.from_key(key)
        return found.label(zone, severity=False, lang="en")

    if text == _KIND_ONLY.get(kind):
        return ""
    if kind == "cancel":
        text = text.removeprefix("取消：").strip() or text
    elif kind in ("done", "answer", "note") and entry.step_id:
        had, rest = _strip_title(text, step_title)
        if had:
            rest = _EARLY.sub(lambda m: f" ({m[1]})", rest)
            if rest.startswith("："):
                value = rest[1:]
                if kind == "answer":
                    early = _EARLY.search(value)
                    answer = value[: early.start()] if early else value
                    value = names.answer(entry.step_id, answer.strip()) + (value[early.start():] if early else "")
                    value = _EARLY.sub(lambda m: f" ({m[1]})", value)
                rest = f": {value}"
            text = title_en + rest
    elif kind == "skip" and (m := _SKIP.match(text)):
        text = f"{title_en if m['title'] == step_title else m['title']} (reason: {m['reason']})"
    elif kind == "reopen" and (m := _REOPEN.match(text)):
        was = m["was"]
        was_en = ("was skipped" if was == "原为跳过" else "was done" if was == "原为完成"
                  else f"was answered {names.answer(entry.step_id, was.removeprefix('原答案：'))}")
        text = f"{title_en if m['title'] == step_title else m['title']} ({was_en}; reason: {m['reason']})"
    elif kind == "assign":
        if m := _ROLE_ASSIGN.match(text):
            text = f"role {names.role(m['role'])} → {person(m['who'])}"
        elif " → " in text:
            what, _, who = text.rpartition(" → ")
            text = f"{title_en if what == step_title else what} → {person(who)}"
    elif kind == "alert":
        if m := _FROM_ALERT.match(text):
            text = f"started from alert {label(m['key'])}"
        elif m := _LINKED.match(text):
            text = label(m["key"]) + (f": {_alert_detail_en(m['detail'])}" if m["detail"] else "")
    elif kind == "remind":
        if m := _REMINDED.match(text):
            who = m["who"]
            role = _UNASSIGNED_ROLE.match(who)
            who = f"role {names.role(role['role'])} (unassigned)" if role else person(who)
            text = f"{who}: {m['ids'].replace('、', ', ')} overdue"
        elif m := _SNOOZED.match(text):
            text = f"reminders snoozed for {m['minutes']} min: {m['ids'].replace('、', ', ')}"
        elif half := _EN_HALF.search(text):
            text = text[half.end():]
    elif kind == "exit_hint" and (m := _EXIT.match(text)):
        text = f"negative share {m['share']} back to normal (≤ {m['max']}): consider resolving"
    elif kind in ("severity", "escalation") and (half := _EN_HALF.search(text)):
        text = text[half.end():]
        if kind == "severity":
            for key in re.findall(r"关联告警 (\S+?) 升为", entry.text):
                text = text.replace("the linked alert rose", f"linked alert {label(key)} rose")
        else:
            text = text.replace("：「", ": 「", 1)
    for alert in alerts:
        if alert.key in text:
            text = text.replace(alert.key, alert.label(zone, severity=False, lang="en"))
    return inert(text)


def entry_text(entry: TimelineEntry, alerts: Sequence[LinkedAlert], zone: ZoneInfo) -> str:
    """A timeline entry's text for a line or row that already names its kind (the `/crisis timeline` and the
    review share it). Only the display changes: the stored text keeps alert keys and "关联告警 KEY", which
    is how the service finds its links again. Alerts read as their labels, the kind is not said twice
    ("关联告警：关联告警 …", "取消：取消：…", "启动：启动预案"), people by their names."""
    text = entry.text
    kind_zh = KIND_ZH.get(entry.kind, entry.kind)
    if text.strip() == _KIND_ONLY.get(entry.kind):
        return ""
    text = text.removeprefix(f"{kind_zh}：").strip() or text
    if entry.kind == "alert":  # "关联告警 KEY：sev2" as link_alert and the reminder job store it
        text = text.removeprefix(f"{kind_zh} ").strip() or text
    for alert in alerts:
        if alert.key in text:
            text = text.replace(alert.key, alert.label(zone, severity=False))
    if entry.kind == "alert":
        text = _ALERT_SEVERITY.sub(lambda m: SEVERITY_LABEL[f"sev{m[1]}"][0], text)
    if entry.kind == "assign" and " → " in text:
        what, arrow, who = text.rpartition(" → ")
        text = f"{what}{arrow}{person(who)}"
    if entry.kind == "remind":  # a reminder names whom it reminded: "console:alice：triage 已超时"
        who, colon, rest = text.partition("：")
        if colon and ":" in who and not any(c.isspace() for c in who):
            text = f"{person(who)}{colon}{rest}"
    # notes, reasons and remarks are the team's typed words: shown as typed, never as live links
    return inert(text)


def collapsed_timeline(
    entries: Sequence[TimelineEntry], alerts: Sequence[LinkedAlert], zone: ZoneInfo,
    when: Callable[[datetime], str], *, lang: str = "zh", names: EnglishNames | None = None,
) -> list[tuple[TimelineEntry, str]]:
    """The entries to show, each with its text (`entry_text`), as the review and `/crisis timeline` both
    show them. The reminder job repeats itself (every remind_every_minutes per person, a status nag per
    severity's interval): one line for the first of each, with how often and until when (`when`) it came
    again."""
    shown: list[tuple[TimelineEntry, str]] = []
    repeats: dict[str, tuple[int, int, datetime]] = {}  # what it says -> (its line, repeats, last)
    for entry in entries:
        text = entry_text_en(entry, alerts, zone, names) if lang == "en" else entry_text(entry, alerts, zone)
        if entry.kind == "remind" and entry.actor == AUTOMATIC_ACTOR:
            key = re.sub(r"\d+", "#", _DURATION.sub("…", text))
            if key in repeats:
                line, count, _ = repeats[key]
                repeats[key] = (line, count + 1, entry.at)
                continue
            repeats[key] = (len(shown), 0, entry.at)
        shown.append((entry, text))
    for line, count, last in repeats.values():
        if count:
            entry, text = shown[line]
            shown[line] = (entry, f"{text} ({count} more, last at {when(last)})" if lang == "en" else
                           f"{text}（此后又 {count} 次，最后 {when(last)} / {count} more, last at {when(last)}）")
    return shown


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@dataclass(frozen=True)
class _ReviewParts:
    """What the review's Markdown and its chat summary (`review_summary`) both say, built once from the run."""

    zone: ZoneInfo
    alerts: list[LinkedAlert]
    zone_line: str
    summary: list[tuple[int, str]]  # (depth, text): the summary's bullets, linked alerts one level down
    share_figures: list[str]  # before, peak, latest, normal max, comments
    share_notes: list[str]  # why the chart shows no comments, when it shows none
    follow_ups: list[str]

    def when(self, moment: datetime | None) -> str:
        return _local_time(self.zone, moment)


def _local_time(zone: ZoneInfo, moment: datetime | None) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _run_end(data: ReviewInput) -> datetime:
    """Until when the run's open steps count as late: its close, else now. A review asked for days after a
    run was resolved or cancelled must not count steps that were not yet due when it closed as late, nor
    grow the lateness of the open ones with every day since."""
    return data.state.closed_at or data.generated_at


def _review_parts(data: ReviewInput) -> _ReviewParts:
    zone = ZoneInfo(data.tz)

    def when(moment: datetime | None) -> str:
        return _local_time(zone, moment)

    alerts = [a if isinstance(a, LinkedAlert) else LinkedAlert.from_key(a) for a in data.alerts]
    state = data.state
    end = _run_end(data)
    done, applicable = state.progress()
    late = [
        s
        for s in state.steps
        if s.due_at is not None
        and s.status is not StepStatus.NA
        and ((s.finished_at or end) > s.due_at)
        and s.status is not StepStatus.SKIPPED
    ]
    if data.lang == "en":
        return _review_parts_en(data, zone, alerts, end, done, applicable, late)
    summary = [
        (0, f"预案 / Playbook：{data.playbook_name}（{data.playbook_title_en}）"),
        (0, f"严重程度 / Severity：{SEVERITY_ZH.get(data.severity, data.severity)} / SEV{data.severity}"),
        (0, f"账号 / Account：{data.account or '—'}"),
        (0, f"状态 / Status：{RUN_STATUS_ZH[state.status]}（{state.status.value}）"),
        # the summary's values in both languages too, as its labels are ("持续 / Duration：45 分钟" read half Chinese)
        (0, f"启动 / Started：{when(state.started_at)}，发起人 {person(data.started_by)} / by {person(data.started_by)}"),
        (0, f"结束 / Closed：{when(state.closed_at)}" + (f"，{person(state.closed_by)}" if state.closed_by else "")),
        (0, f"持续 / Duration：{duration_zh_en(end - state.started_at) if state.started_at else '—'}"),
        (0, f"完成度 / Progress：{done}/{applicable} 步 / steps"),
        (0, f"超时步骤 / Late steps：{len(late)}"),
    ]
    if state.close_reason:
        summary.append((0, f"结束说明 / Closing note：{inert(state.close_reason)}"))
    if data.exit_rule:
        summary.append((0, f"退出规则 / Exit rule：{data.exit_rule}"))
    if alerts:
        summary.append((0, "关联告警 / Linked alerts："))
        summary += [(1, alert.label(zone)) for alert in alerts]
    m = data.metrics
    figures = [
        f"启动前 / Before：{_pct(m.before)}",
        f"峰值 / Peak：{_pct(m.peak)}" + (f"（{when(m.peak_at)}）" if m.peak_at else ""),
        f"最新 / Latest：{_pct(m.latest)}",
        f"常态上限 / Normal max：{_pct(m.normal_max)}",
        f"评论数 / Comments：{m.comments}",
    ]
    notes = []
    if not data.account:
        notes.append("未指定账号（启动时没有 --account），没有评论数据，图中只有本次运行的起止时间 / "
                     "no account given at the start: no comment data; the chart shows the run's span only")
    elif not m.comments:
        notes.append("图表时段内没有已评分评论 / no scored comments in the chart's period")
    elif m.peak is None:
        # peak and latest cover the run: the chart's earlier hours alone do not make a "latest"
        notes.append("已评分评论都在启动之前，运行期间没有 / scored comments only before the run started")
    follow = [f"{s.step_id} {s.title}：超时 / late" for s in late]
    follow += [f"{s.step_id} {s.title}：跳过，原因 {inert(s.reason or '')}" for s in state.steps if s.status is StepStatus.SKIPPED]
    follow += [f"{s.step_id} {s.title}：未完成 / not done" for s in state.steps
               if s.status is StepStatus.OPEN and s not in late]
    # a step finished by mistake and taken back: its earlier answer is on the timeline, the table shows the new
    titles = {s.step_id: s.title for s in state.steps}
    follow += [f"{e.step_id} {titles.get(e.step_id or '', '')}：{when(e.at)} 重开，原因 {inert(reopen_reason(e.text))} / "
               f"reopened at {when(e.at)}" for e in data.timeline if e.kind == "reopen"]
    # every time in the review is in the channel's zone: say which once, with its offset at the run's start
    return _ReviewParts(zone=zone, alerts=alerts,
                        zone_line=zone_note(data.tz, data.state.started_at or data.generated_at),
                        summary=summary, share_figures=figures, share_notes=notes, follow_ups=follow)


def _names(data: ReviewInput) -> EnglishNames:
    return EnglishNames(titles=data.titles_en, roles=data.roles_en, state=data.state)


def _review_parts_en(data: ReviewInput, zone: ZoneInfo, alerts: list[LinkedAlert], end: datetime, done: int,
                     applicable: int, late: list) -> _ReviewParts:
    """`_review_parts` in English, for a channel set to English."""
    state, names = data.state, _names(data)

    def when(moment: datetime | None) -> str:
        return _local_time(zone, moment)

    summary = [
        (0, f"Playbook: {data.playbook_title_en or data.playbook_name}"),
        (0, f"Severity: {severity_word(data.severity, 'en')}"),
        (0, f"Account: {data.account or '—'}"),
        (0, f"Status: {RUN_STATUS_EN[state.status]}"),
        (0, f"Started: {when(state.started_at)} by {person(data.started_by)}"),
        (0, f"Closed: {when(state.closed_at)}" + (f" by {person(state.closed_by)}" if state.closed_by else "")),
        (0, f"Duration: {duration_en(end - state.started_at) if state.started_at else '—'}"),
        (0, f"Progress: {done}/{applicable} steps"),
        (0, f"Late steps: {len(late)}"),
    ]
    if state.close_reason:
        summary.append((0, f"Closing note: {inert(state.close_reason)}"))
    if data.exit_rule:
        summary.append((0, f"Exit rule: {data.exit_rule}"))
    if alerts:
        summary.append((0, "Linked alerts:"))
        summary += [(1, alert.label(zone, lang="en")) for alert in alerts]
    m = data.metrics
    figures = [
        f"Before: {_pct(m.before)}",
        f"Peak: {_pct(m.peak)}" + (f" ({when(m.peak_at)})" if m.peak_at else ""),
        f"Latest: {_pct(m.latest)}",
        f"Normal max: {_pct(m.normal_max)}",
        f"Comments: {m.comments}",
    ]
    notes = []
    if not data.account:
        notes.append("No account given at the start: no comment data; the chart shows the run's span only")
    elif not m.comments:
        notes.append("No scored comments in the chart's period")
    elif m.peak is None:
        notes.append("Scored comments only before the run started")

    def title(step) -> str:
        return names.title(step.step_id, step.title)

    follow = [f"{s.step_id} {title(s)}: late" for s in late]
    follow += [f"{s.step_id} {title(s)}: skipped, reason: {inert(s.reason or '')}" for s in state.steps
               if s.status is StepStatus.SKIPPED]
    follow += [f"{s.step_id} {title(s)}: not done" for s in state.steps if s.status is StepStatus.OPEN and s not in late]
    steps = {s.step_id: s for s in state.steps}
    follow += [f"{e.step_id} {title(steps[e.step_id]) if e.step_id in steps else ''}: reopened at {when(e.at)}, "
               f"reason: {inert(reopen_reason(e.text))}" for e in data.timeline if e.kind == "reopen"]
    return _ReviewParts(zone=zone, alerts=alerts,
                        zone_line=zone_line(data.tz, data.state.started_at or data.generated_at, "en"),
                        summary=summary, share_figures=figures, share_notes=notes, follow_ups=follow)


def _step_rows(data: ReviewInput, when: Callable[[datetime | None], str], names: EnglishNames,
               lang: str) -> list[str]:
    """The review's "steps vs SLA" rows: owner, status with answer and reason, SLA, finish, time taken and
    lateness of each step, in the channel's language (English names from `names`)."""
    en = lang == "en"
    state = data.state
    rows = []
    for step in state.steps:
        who = state.assignee_of(step)
        owner = (names.role(step.owner_role) if en else step.owner_role) + (
            (f" ({person(who)})" if en else f"（{person(who)}）") if who else "")
        used = (step.finished_at - state.started_at) if step.finished_at and state.started_at else None
        over = None
        if step.due_at is not None and step.status in (StepStatus.DONE, StepStatus.OPEN):
            over = (step.finished_at or _run_end(data)) - step.due_at
        status = (STEP_STATUS_EN if en else STEP_STATUS_ZH)[step.status]
        if step.answer:
            status += f": {names.answer(step.step_id, step.answer)}" if en else f"：{step.answer}"
        if step.reason:
            status += f" ({inert(step.reason)})" if en else f"（{inert(step.reason)}）"
        title = names.title(step.step_id, step.title) if en else step.title
        sla = f"{_dur(step.due_after, lang)} ({when(step.due_at)})" if en else f"{_dur(step.due_after)}（{when(step.due_at)}）"
        rows.append(
            f"| {_cell(step.step_id + ' ' + title)} | {_cell(owner)} | {_cell(status)} | {sla} | "
            f"{when(step.finished_at) if step.status is not StepStatus.NA else '—'} | "
            f"{_dur(used, lang) if step.status is StepStatus.DONE else '—'} | "
            f"{_lateness(step.status, over, lang)} |"
        )
    return rows


def _render_review_en(data: ReviewInput, parts: _ReviewParts) -> str:
    """`render_review` in English."""
    zone, alerts, when, names = parts.zone, parts.alerts, parts.when, _names(data)
    lines = [
        f"# Post-incident review: {inert(data.title)}",
        f"*{data.playbook_title_en or data.playbook_name} · run #{data.run_id}*",
        "",
        parts.zone_line,
        "",
        "## Summary",
        "",
        *(f"{'  ' * depth}- {text}" for depth, text in parts.summary),
    ]
    lines += ["", "## Timeline", "", "| Time | Who | Action | Details |", "| --- | --- | --- | --- |"]
    for entry, text in collapsed_timeline(data.timeline, alerts, zone, when, lang="en", names=names):
        text = (entry.step_id + " " if entry.step_id else "") + text
        lines.append(f"| {when(entry.at)} | {_cell(person(entry.actor))} | {kind_word(entry.kind, 'en')} | "
                     f"{_cell(text)} |")
    lines += [
        "",
        "## Steps vs SLA",
        "",
        "| Step | Owner | Status | SLA | Finished | Took | Late |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += _step_rows(data, when, names, 'en')
    lines += ["", "## Negative share", "", "- " + "; ".join(parts.share_figures)]
    lines += [f"- {note}" for note in parts.share_notes]
    if data.chart_filename:
        lines += ["", f"![negative share]({data.chart_filename})"]
    follow = [f"- {text}" for text in parts.follow_ups]
    lines += ["", "## Follow-ups", "", *(follow or ["- none"]), ""]
    lines.append(f"*generated {when(data.generated_at)}*")
    return "\n".join(lines) + "\n"


def render_review(data: ReviewInput) -> str:
    """Summary, timeline, steps against their SLA, the chart reference and follow-ups, in Markdown."""
    parts = _review_parts(data)
    if data.lang == "en":
        return _render_review_en(data, parts)
    zone, alerts, when = parts.zone, parts.alerts, parts.when
    lines = [
        f"# 复盘报告：{inert(data.title)}",
        f"*Post-incident review — {data.playbook_title_en} · #{data.run_id}*",
        "",
        parts.zone_line,
        "",
        "## 概要 / Summary",
        "",
        *(f"{'  ' * depth}- {text}" for depth, text in parts.summary),
    ]
    lines += ["", "## 时间线 / Timeline", "", "| 时间 / Time | 人员 / Who | 动作 / Action | 内容 / Details |", "| --- | --- | --- | --- |"]
    for entry, text in collapsed_timeline(data.timeline, alerts, zone, when):
        text = (entry.step_id + " " if entry.step_id else "") + text
        lines.append(f"| {when(entry.at)} | {_cell(person(entry.actor))} | {KIND_ZH.get(entry.kind, entry.kind)} | "
                     f"{_cell(text)} |")
    lines += [
        "",
        "## 步骤与时限 / Steps vs SLA",
        "",
        "| 步骤 / Step | 负责 / Owner | 状态 / Status | 时限 / SLA | 完成于 / Finished | 用时 / Took | 超时 / Late |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += _step_rows(data, when, EnglishNames(), 'zh')
    lines += ["", "## 负面占比 / Negative share", "", "- " + "；".join(parts.share_figures)]
    lines += [f"- {note}" for note in parts.share_notes]
    if data.chart_filename:
        lines += ["", f"![负面占比 / negative share]({data.chart_filename})"]
    follow = [f"- {text}" for text in parts.follow_ups]
    lines += ["", "## 待改进 / Follow-ups", "", *(follow or ["- 无 / none"]), ""]
    lines.append(f"*生成于 / generated {when(data.generated_at)}*")
    return "\n".join(lines) + "\n"


def review_summary(data: ReviewInput, *, filename: str) -> str:
    """The review as a chat message's text: its summary and negative-share figures, how many follow-ups it
    lists, and where the whole review is (`filename`, posted beside it).

    No Markdown table, heading or image line, which Slack and Feishu show as raw text or a broken link; the
    timeline and the steps against their SLA are in the file."""
    parts = _review_parts(data)
    out = [("    ◦ " if depth else "• ") + text for depth, text in parts.summary]
    if data.lang == "en":
        out.append("• Negative share:")
        out += [f"    ◦ {figure}" for figure in parts.share_figures]
        out += [f"• {note}" for note in parts.share_notes]
        count = len(parts.follow_ups)
        out.append(f"• Follow-ups: {count} item{'s' if count != 1 else ''}" if count else "• Follow-ups: none")
        out.append(parts.zone_line)
        out.append(f"📄 The full review (timeline, steps vs SLA) is in the file {filename}")
        return "\n".join(out)
    out.append("• 负面占比 / Negative share：")
    out += [f"    ◦ {figure}" for figure in parts.share_figures]
    out += [f"• {note}" for note in parts.share_notes]
    count = len(parts.follow_ups)
    out.append(f"• 待改进 / Follow-ups：{count} 项 / {count} items" if count else "• 待改进 / Follow-ups：无 / none")
    out.append(parts.zone_line)
    out.append(f"📄 完整复盘（时间线、步骤与时限）见文件 {filename} / the full review (timeline, steps vs SLA) "
               f"is in the file {filename}")
    return "\n".join(out)
