"""The report as data, as text and as a chart (pure: no database, no clock)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.durations import duration_zh, utc_offset
from bot.i18n import num
from bot.messages import Field, Image, Message
from bot.playbooks.machine import RUN_STATUS_ZH
from bot.reports.charts import SharePoint

SEVERITY_ZH = {"sev1": "一级", "sev2": "二级", "sev3": "三级"}
# An alert episode's status. A playbook run's is the playbook's own word (RUN_STATUS_ZH: a resolved run
# is 已解除 on its card and review, and must read the same here), not an alert's (a recovered alert is 已恢复).
ALERT_STATUS_ZH = {
    "open": "待处理", "acknowledged": "已确认", "resolved": "已恢复", "false_positive": "误报", "muted": "已静默",
}


@dataclass
class Counts:
    """Comments in a period: all of them, those the sentiment engine scored, and the negative ones."""

    comments: int = 0
    scored: int = 0
    negative: int = 0

    def add(self, label: str | None, number: int = 1) -> None:
        """Count `number` comments labelled `label`."""
        self.comments += number
        if label in ("neg", "neu", "pos"):
            self.scored += number
            self.negative += number if label == "neg" else 0

    @property
    def share(self) -> float | None:
        return self.negative / self.scored if self.scored else None


@dataclass(frozen=True)
class AccountLine:
    key: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class KeywordLine:
    term: str
    count: int
    baseline_count: int
    example: str


@dataclass(frozen=True)
class CommentLine:
    account: str
    text: str
    likes: int
    url: str | None


@dataclass(frozen=True)
class RiskLine:
    term: str
    category: str
    count: int


@dataclass(frozen=True)
class AlertLine:
    severity: str
    status: str
    reason: str
    account: str
    detected_at: datetime


@dataclass(frozen=True)
class RunLine:
    title: str
    status: str
    started_at: datetime
    closed_at: datetime | None


@dataclass
class ReportData:
    channel: str
    audience: str
    period_name: str
    start: datetime
    end: datetime
    tz: str
    now: Counts
    before: Counts
    accounts: list[AccountLine] = field(default_factory=list)
    series: list[SharePoint] = field(default_factory=list)
    keywords: list[KeywordLine] = field(default_factory=list)
    top_negative: list[CommentLine] = field(default_factory=list)
    risk_terms: list[RiskLine] = field(default_factory=list)
    alerts: list[AlertLine] = field(default_factory=list)
    runs: list[RunLine] = field(default_factory=list)
    replies: Any = None  # bot.replies.service.ReplyStats, when the reply queue is on
    # Set when the previous period is only partly covered by stored comments: the time from which every
    # account of the report has them (an account's first stored comment came after the previous period
    # began: it was added, or its older comments purged). A change against such a period is not shown.
    previous_since: datetime | None = None


def period_name(period: timedelta) -> str:
    if period == timedelta(days=1):
        return "日报 / daily report"
    if period == timedelta(days=7):
        return "周报 / weekly report"
    if period == timedelta(days=30):
        return "月报 / monthly report"
    hours = period.total_seconds() / 3600
    if hours % 24:
        return f"{hours:g} 小时报告 / {hours:g}-hour report"
    return f"{hours / 24:g} 天报告 / {hours / 24:g}-day report"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _change(now: int, before: int, partial_since: str | None = None) -> str:
    """How the period's count compares with the previous one's; with nothing before, only that."""
    if before == 0:
        return "上期无数据 / no previous data"
    if partial_since is not None:
        # "+227%" against a period the data covers only part of reads as a surge that is not there
        return f"上期数据不完整（自 {partial_since} 起）/ previous period only partly covered (since {partial_since})"
    return change_text(now, before)


def change_text(now: int, before: int) -> str:
    """The period's count against the previous one's (`before` > 0), the one place the change is worded:
    whole percent, one decimal when that would read 0% for a count that did change (66,562 against 66,812
    is -0.4%, not "-0%"), and unchanged when the two are equal."""
    if now == before:
        return "较上期持平 / unchanged vs previous"
    delta = (now - before) / before * 100
    sign = "+" if delta > 0 else "-"
    size = abs(delta)
    if round(size) >= 1:
        shown = f"{size:.0f}%"
    elif round(size, 1) >= 0.1:
        shown = f"{size:.1f}%"
    else:  # 1 in more than 2,000: one decimal would still say 0.0%
        shown = "<0.1%"
    return f"{sign}{shown} 较上期 / vs previous"


def _local(moment: datetime, tz: str, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime(fmt)


def _cut(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def zone_label(tz: str, start: datetime, end: datetime) -> str:
    """The zone a report's times are in, as the post-incident review names it: 'Asia/Shanghai（UTC+08:00）';
    both offsets when the period spans a DST change: 'Europe/Berlin（UTC+01:00 → UTC+02:00）'. (Channels
    may be in different zones, and "09:00" alone does not say whose.)"""
    first, last = utc_offset(tz, start), utc_offset(tz, end)
    return f"{tz}（{first}）" if first == last else f"{tz}（{first} → {last}）"


def headline(data: ReportData) -> str:
    return (
        f"{data.period_name}｜{data.audience}｜{_local(data.start, data.tz)} – {_local(data.end, data.tz)} "
        f"{zone_label(data.tz, data.start, data.end)}"
    )


def fields(data: ReportData) -> tuple[Field, ...]:
    now, before = data.now, data.before
    since = None if data.previous_since is None else _local(data.previous_since, data.tz)
    partial = "，数据不完整 / partial" if since is not None and before.comments else ""
    items = [
        # "上期无数据，上期 0" said the same thing twice, the second time as if 0 were a figure
        Field("评论 / comments", f"{num(now.comments)}（{_change(now.comments, before.comments, since)}"
                                 + (f"，上期 {num(before.comments)}）" if before.comments else "）")),
        Field(
            "负面占比 / negative share",
            f"{_pct(now.share)}（负面 {num(now.negative)} / 已评分 {num(now.scored)}；上期 {_pct(before.share)}{partial}）",
        ),
    ]
    severities = {"sev1": 0, "sev2": 0, "sev3": 0}
    for alert in data.alerts:
        severities[alert.severity] = severities.get(alert.severity, 0) + 1
    false_alarms = sum(a.status == "false_positive" for a in data.alerts)
    items.append(Field(
        "告警 / alerts",
        f"{num(len(data.alerts))}（一级 {num(severities['sev1'])} · 二级 {num(severities['sev2'])} · "
        f"三级 {num(severities['sev3'])}" + (f" · 误报 {num(false_alarms)}" if false_alarms else "") + "）",
    ))
    started = sum(data.start <= r.started_at < data.end for r in data.runs)
    closed = sum(r.closed_at is not None and data.start <= r.closed_at < data.end for r in data.runs)
    items.append(Field("危机预案 / playbook runs", f"启动 {num(started)} · 结束 {num(closed)}"))
    stats = data.replies
    if stats is not None:
        compliance = stats.sla_compliance
        median = stats.median_first_response
        items.append(Field(
            "评论回复 / replies",
            f"已回复 {num(stats.responded)} · SLA 达成 {_pct(compliance)} · "
            f"首次回复中位 {'—' if median is None else _duration(median)} · "
            f"当前待回复 {num(stats.open)}（超时 {num(stats.overdue)}）",
        ))
    return tuple(items)


def _duration(value: timedelta) -> str:
    """A span in the words the cards, reminders and reviews use ("2 小时 5 分钟", not "2 小时 5 分")."""
    return duration_zh(value)


def markdown(data: ReportData, *, with_headline: bool = True) -> str:
    """The report's body (Markdown that reads fine as plain text too); a chat message carries the
    headline as its title instead."""
    lines = [f"**{headline(data)}**", ""] if with_headline else []
    lines += [f"- {f.label}：{f.value}" for f in fields(data)]
    if data.accounts:
        lines += ["", "**各账号 / by account**"]
        for line in data.accounts:
            counts = line.counts
            lines.append(f"- {line.name}：评论 {num(counts.comments)}，负面占比 {_pct(counts.share)}")
    if data.keywords:
        lines += ["", "**负面评论在说什么 / what the negative comments say**"]
        for keyword in data.keywords:
            lines.append(f"- {keyword.term} ×{num(keyword.count)}（上期 {num(keyword.baseline_count)}）"
                         f"例：「{_cut(keyword.example, 40)}」")
    if data.top_negative:
        lines += ["", "**点赞最多的负面评论 / most-liked negative comments**"]
        for comment in data.top_negative:
            link = f" {comment.url}" if comment.url else ""
            lines.append(f"- 👍{num(comment.likes)}「{_cut(comment.text)}」— {comment.account}{link}")
    if data.risk_terms:
        lines += ["", "**风险词 / risk terms**"]
        lines.append("- " + "，".join(f"{r.term}（{r.category or '—'}）×{num(r.count)}" for r in data.risk_terms))
    if data.alerts:
        lines += ["", "**告警 / alerts**"]
        for alert in data.alerts[:10]:
            lines.append(
                f"- {_local(alert.detected_at, data.tz)} {SEVERITY_ZH.get(alert.severity, alert.severity)} "
                f"{alert.account}（{ALERT_STATUS_ZH.get(alert.status, alert.status)}）"
            )
        if len(data.alerts) > 10:
            lines.append(f"- …另有 {num(len(data.alerts) - 10)} 条 / {num(len(data.alerts) - 10)} more")
    if data.runs:
        lines += ["", "**危机预案 / playbook runs**"]
        for run in data.runs[:10]:
            lines.append(f"- {_local(run.started_at, data.tz)} {run.title}（{RUN_STATUS_ZH.get(run.status, run.status)}）")
    if data.now.comments == 0:
        lines += ["", "本期没有新评论。/ No new comments in this period."]
    return "\n".join(lines)


def chart_png(data: ReportData) -> bytes:
    from bot.reports.charts import negative_share_png

    daily = data.end - data.start > timedelta(days=2)  # one bar a day: the hour would read 00:00 on each
    return negative_share_png(data.series, title=data.period_name.split(" / ")[0], account=data.audience, tz=data.tz,
                              time_format="%m-%d" if daily else "%m-%d %H:%M", span=(data.start, data.end))


def report_stem(data: ReportData) -> str:
    """File name (without suffix) naming channel, period and end: reports of two clients, or a daily and a
    weekly one, written in the same minute must not overwrite each other (`report --out`)."""
    channel = re.sub(r"[^A-Za-z0-9_.-]+", "-", data.channel).strip("-") or "channel"
    hours = round((data.end - data.start).total_seconds() / 3600)
    zone = ZoneInfo(data.tz)
    first, last = data.start.astimezone(zone), data.end.astimezone(zone)
    if first.time() == last.time() and last.date() > first.date():
        # whole days of the channel's calendar: a daily report across a DST change (23 or 25 hours) is "1d"
        span = f"{(last.date() - first.date()).days}d"
    else:
        span = f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"
    stamp = data.end.astimezone(ZoneInfo(data.tz)).strftime("%Y%m%d-%H%M")
    return f"report-{channel}-{span}-{stamp}"


def write_report_files(folder: Path, data: ReportData, text: str, png: bytes | None) -> Path:
    """Write `<stem>.md` (and `<stem>.png`) into `folder` and return the path without suffix. A report of the
    same channel and period ending in the same minute (`report --out` run twice) gets `-2`, `-3`, ... rather
    than replacing the first one's files; the .md is created exclusively, so two runs cannot take one name."""
    stem = report_stem(data)
    for number in range(1, 10_000):
        candidate = folder / (stem if number == 1 else f"{stem}-{number}")
        if candidate.with_name(candidate.name + ".png").exists():
            continue
        # the chart beside it, linked by its bare name: the folder can be moved, zipped or mailed
        body = text if not png else text.rstrip("\n") + f"\n\n![趋势 / trend]({candidate.name}.png)\n"
        try:
            with candidate.with_name(candidate.name + ".md").open("x", encoding="utf-8") as fh:
                fh.write(body)
        except FileExistsError:
            continue
        if png:
            candidate.with_name(candidate.name + ".png").write_bytes(png)
        return candidate
    raise FileExistsError(f"{folder / stem}: too many reports with this name")


def report_message(data: ReportData, png: bytes | None) -> Message:
    images = ()
    if png:
        images = (Image(title="负面占比与评论量 / negative share and volume", png=png,
                        filename=f"{report_stem(data)}.png", alt="负面占比与评论量"),)
    return Message(
        title=headline(data),
        text=markdown(data, with_headline=False),
        images=images,
        meta={"kind": "report", "channel": data.channel, "start": data.start.isoformat(),
              "end": data.end.isoformat(), "comments": data.now.comments, "negative": data.now.negative,
              # the comparison the text makes, and when it makes none because the previous period is
              # only partly covered: from when on it is (None when it is covered, or has no comments)
              "previous_comments": data.before.comments,
              "previous_partial_since": (data.previous_since.isoformat()
                                         if data.previous_since is not None and data.before.comments else None)},
    )


def failure_message(
    *,
    schedule_id: str,
    channel: str,
    audience: str,
    period_name: str,
    start: datetime,
    end: datetime,
    tz: str,
    attempts: int,
    reason: str,
    window: timedelta | None = None,
) -> Message:
    """The notice, for the default channel, that a scheduled report was given up: which report, which
    period, why, and that it will not come by itself. `window` is the catch-up window it left, when that
    (not the number of attempts) is why it was given up."""
    if window is None:
        why = (f"已尝试 {attempts} 次仍失败，不再自动重试，这一期报告没有发出。"
               f"\nStill failing after {attempts} attempts: it will not be retried, and this period's report "
               f"was not sent.")
    else:
        minutes = round(window.total_seconds() / 60)
        zh, en = (f"{minutes // 60} 小时", f"{minutes // 60} h") if minutes % 60 == 0 else (f"{minutes} 分钟", f"{minutes} min")
        why = (f"在补发时限（{zh}）内未能生成（已尝试 {attempts} 次），不再自动重试，这一期报告没有发出。"
               f"\nNot built within the catch-up window ({en}, {attempts} attempts): it will not be retried, "
               f"and this period's report was not sent.")
    return Message(
        title="⚠️ 定时报告未能生成 / Scheduled report could not be built",
        text=why,
        fields=(
            Field("报告 / report", f"{schedule_id}｜{period_name}｜{audience}（{channel}）"),
            Field("周期 / period", f"{_local(start, tz)} – {_local(end, tz)}（{tz}）"),
            Field("原因 / reason", reason),
        ),
        meta={"kind": "report_failed", "schedule": schedule_id, "channel": channel, "start": start.isoformat(),
              "end": end.isoformat(), "attempts": attempts},
    )
