"""The report as data, as text and as a chart (pure: no database, no clock)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.durations import duration_en, duration_zh, utc_offset
from bot.i18n import num, platform_label
from bot.messages import Field, File, Image, Message, inert, outsider_text
from bot.playbooks.machine import RUN_STATUS_ZH
from bot.reports.charts import SharePoint

SEVERITY_ZH = {"sev1": "一级", "sev2": "二级", "sev3": "三级"}
# An alert episode's status. A playbook run's is the playbook's own word (RUN_STATUS_ZH: a resolved run
# is 已解除 on its card and review, and must read the same here), not an alert's (a recovered alert is 已恢复).
ALERT_STATUS_ZH = {
    "open": "待处理", "acknowledged": "已确认", "resolved": "已恢复", "false_positive": "误报", "muted": "已静默",
}
# English words of a channel set to `language: en` (the alert card's and the playbook's own English words)
SEVERITY_EN = {"sev1": "SEV1", "sev2": "SEV2", "sev3": "SEV3"}
ALERT_STATUS_EN = {
    "open": "open", "acknowledged": "acknowledged", "resolved": "resolved", "false_positive": "false alarm",
    "muted": "muted",
}
RUN_STATUS_EN = {"new": "not started", "active": "active", "resolved": "resolved", "cancelled": "cancelled"}


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
    # How many comments keywords are counted in at most (`reports.keyword_sample`: the period's most-liked
    # negative comments, the previous period's first comments), and whether (period, previous period) had
    # more than that: their counts are then counts in a sample, and the report says so. "退款 ×392" stood
    # beside "退款（refund）×11,067" among the risk terms of a 100,000-comment month, as if both were totals.
    keyword_sample: int | None = None
    keyword_sampled: tuple[bool, bool] = (False, False)
    # 'zh': Chinese first with English (as every report was); 'en': English only (a channel set to
    # `language: en`), the chart's labels included
    lang: str = "zh"
    # a calendar period in file names ("2026-11", "2026-W47"); "" for a period ending when it was made
    label: str = ""
    # the risk lexicon's English names of its categories (`category_names_en`, bot.sentiment.risk), for an
    # English report's risk terms: a team's own category "食安" reads "food safety" there
    category_names_en: dict[str, str] = field(default_factory=dict)


def _pick(zh: str, en: str, lang: str) -> str:
    """'评论 / comments' (Chinese first with English) or, for an English channel, 'comments'."""
    return en if lang == "en" else f"{zh} / {en}"


def _title(zh: str, en: str, lang: str) -> str:
    """A report's name: '日报 / daily report', or for an English channel 'Daily report' (a title, capitalised:
    "weekly report | 澜肌护肤 | …" headed an English report)."""
    return en[:1].upper() + en[1:] if lang == "en" else f"{zh} / {en}"


def period_name(period: timedelta, lang: str = "zh") -> str:
    if period == timedelta(days=1):
        return _title("日报", "daily report", lang)
    if period == timedelta(days=7):
        return _title("周报", "weekly report", lang)
    if period == timedelta(days=30):
        return _title("月报", "monthly report", lang)
    hours = period.total_seconds() / 3600
    if hours % 24:
        return _title(f"{hours:g} 小时报告", f"{hours:g}-hour report", lang)
    return _title(f"{hours / 24:g} 天报告", f"{hours / 24:g}-day report", lang)


def recent_period_name(period: timedelta, lang: str = "zh") -> str:
    """The name of a report over the span up to now that a person asked for (`/report 7d`, `report --period
    24h`): "近 7 天", not "周报", which `/report 周报` gives to the last whole week."""
    hours = period.total_seconds() / 3600
    if hours % 24 or hours <= 48:  # "近 24 小时", not "近 1 天"
        return _title(f"近 {hours:g} 小时报告", f"report for the last {hours:g} hours", lang)
    return _title(f"近 {hours / 24:g} 天报告", f"report for the last {hours / 24:g} days", lang)


def calendar_period_name(period, lang: str = "zh") -> str:
    """The name of a calendar period's report (a `bot.reports.periods.CalendarPeriod`)."""
    if period.kind == "month":
        return _title("月报", "monthly report", lang)
    if period.kind == "week":
        return _title("周报", "weekly report", lang)
    days = (period.last - period.first).days + 1
    if period.kind == "day" or days == 1:
        return _title("日报", "daily report", lang)
    return _title(f"{days} 天报告", f"{days}-day report", lang)


def _pct(value: float | None) -> str:
    """A share in whole percent, as the reply queue's statistics show it (17%, not 16.7% here and 17%
    there); a share that is not nothing never reads 0%, nor one short of everything 100%."""
    if value is None:
        return "—"
    if 0 < value < 0.005:
        return "<1%"
    if 0.995 <= value < 1:
        return ">99%"
    return f"{value * 100:.0f}%"


def _change(now: int, before: int, partial_since: str | None = None, lang: str = "zh") -> str:
    """How the period's count compares with the previous one's; with nothing before, only that."""
    if before == 0:
        return _pick("上期无数据", "no previous data", lang)
    if partial_since is not None:
        # "+227%" against a period the data covers only part of reads as a surge that is not there
        if lang == "en":
            return f"previous period only partly covered (since {partial_since})"
        return f"上期数据不完整（自 {partial_since} 起）/ previous period only partly covered (since {partial_since})"
    return change_text(now, before, lang)


def change_text(now: int, before: int, lang: str = "zh") -> str:
    """The period's count against the previous one's (`before` > 0), the one place the change is worded:
    whole percent, one decimal when that would read 0% for a count that did change (66,562 against 66,812
    is -0.4%, not "-0%"), and unchanged when the two are equal."""
    if now == before:
        return _pick("较上期持平", "unchanged vs previous", lang)
    delta = (now - before) / before * 100
    sign = "+" if delta > 0 else "-"
    size = abs(delta)
    if round(size) >= 1:
        shown = f"{size:.0f}%"
    elif round(size, 1) >= 0.1:
        shown = f"{size:.1f}%"
    else:  # 1 in more than 2,000: one decimal would still say 0.0%
        shown = "<0.1%"
    return f"{sign}{shown} vs previous" if lang == "en" else f"{sign}{shown} 较上期 / vs previous"


def _local(moment: datetime, tz: str, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime(fmt)


def _cut(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str, limit: int = 80) -> str:
    """A commenter's words as the report quotes them: on one line, cut short, and inert (a link or bold
    written in a comment shows as typed in Slack and Feishu, never as a disguised link; a typed chat
    address pings nobody; bidi controls cannot reorder the rest of the line)."""
    return outsider_text(_cut(text or "", limit))


def zone_label(tz: str, start: datetime, end: datetime) -> str:
    """The zone a report's times are in, as the post-incident review names it: 'Asia/Shanghai（UTC+08:00）';
    both offsets when the period spans a DST change: 'Europe/Berlin（UTC+01:00 → UTC+02:00）'. (Channels
    may be in different zones, and "09:00" alone does not say whose.)"""
    first, last = utc_offset(tz, start), utc_offset(tz, end)
    return f"{tz}（{first}）" if first == last else f"{tz}（{first} → {last}）"


def whole_days(data: ReportData) -> bool:
    """Whether the period runs from one of the channel's midnights to another (a month, a week, days)."""
    zone = ZoneInfo(data.tz)
    first, last = data.start.astimezone(zone), data.end.astimezone(zone)
    return first.time() == last.time() == datetime.min.time() and last.date() > first.date()


def period_text(data: ReportData) -> str:
    """The period with its year: '2026-11-01 – 2026-11-30' for whole days (the last day included), else
    '2026-11-22 09:00 – 11-23 09:00' (the end's year too when it differs)."""
    zone = ZoneInfo(data.tz)
    first, last = data.start.astimezone(zone), data.end.astimezone(zone)
    if whole_days(data):
        final = last.date() - timedelta(days=1)
        return f"{first:%Y-%m-%d}" if final == first.date() else f"{first:%Y-%m-%d} – {final:%Y-%m-%d}"
    end_format = "%m-%d %H:%M" if first.year == last.year else "%Y-%m-%d %H:%M"
    return f"{first:%Y-%m-%d %H:%M} – {last.strftime(end_format)}"


def headline(data: ReportData) -> str:
    zone = zone_label(data.tz, data.start, data.end)
    if data.lang == "en":
        # ASCII punctuation in English, as the chart's title has it: "｜" and "（" are Chinese marks
        zone = zone.replace("（", " (").replace("）", ")")
        return f"{data.period_name} | {data.audience} | {period_text(data)} {zone}"
    return f"{data.period_name}｜{data.audience}｜{period_text(data)} {zone}"


def fields(data: ReportData) -> tuple[Field, ...]:
    en = data.lang == "en"
    now, before = data.now, data.before
    # with its year: the data may start in another year than the report's ("自 12-15 15:17" in January)
    since = None if data.previous_since is None else _local(data.previous_since, data.tz, "%Y-%m-%d %H:%M")
    change = _change(now.comments, before.comments, since, data.lang)
    if en:
        partial = ", partial" if since is not None and before.comments else ""
        items = [
            Field("Comments", f"{num(now.comments)} ({change}"
                              + (f", previous {num(before.comments)})" if before.comments else ")")),
            Field("Negative share", f"{_pct(now.share)} (negative {num(now.negative)} / scored {num(now.scored)}; "
                                    f"previous {_pct(before.share)}{partial})"),
        ]
    else:
        partial = "，数据不完整 / partial" if since is not None and before.comments else ""
        items = [
            # "上期无数据，上期 0" said the same thing twice, the second time as if 0 were a figure
            Field("评论 / comments", f"{num(now.comments)}（{change}"
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
    if en:
        items.append(Field(
            "Alerts", f"{num(len(data.alerts))} (SEV1 {num(severities['sev1'])} · SEV2 {num(severities['sev2'])} · "
                      f"SEV3 {num(severities['sev3'])}" + (f" · false alarms {num(false_alarms)}" if false_alarms else "")
                      + ")"))
    else:
        items.append(Field(
            "告警 / alerts",
            f"{num(len(data.alerts))}（一级 {num(severities['sev1'])} · 二级 {num(severities['sev2'])} · "
            f"三级 {num(severities['sev3'])}" + (f" · 误报 {num(false_alarms)}" if false_alarms else "") + "）",
        ))
    started = sum(data.start <= r.started_at < data.end for r in data.runs)
    closed = sum(r.closed_at is not None and data.start <= r.closed_at < data.end for r in data.runs)
    items.append(Field("Playbook runs", f"started {num(started)} · closed {num(closed)}") if en
                 else Field("危机预案 / playbook runs", f"启动 {num(started)} · 结束 {num(closed)}"))
    stats = data.replies
    if stats is not None:
        # open and overdue are the queue as it stood at the period's end (`ReplyQueueService.stats(until=)`):
        # "当前待回复" in yesterday's report, read at 09:00, claimed as open what the team had cleared since
        compliance = stats.sla_compliance
        median = stats.median_first_response
        if en:
            items.append(Field(
                "Replies",
                f"replied {num(stats.responded)} · SLA met {_pct(compliance)} · median first reply "
                f"{'—' if median is None else duration_en(median)} · open at period end {num(stats.open)} "
                f"(overdue {num(stats.overdue)})",
            ))
        else:
            items.append(Field(
                "评论回复 / replies",
                f"已回复 {num(stats.responded)} · SLA 达成 {_pct(compliance)} · "
                f"首次回复中位 {'—' if median is None else _duration(median)} · "
                f"期末待回复 {num(stats.open)}（超时 {num(stats.overdue)}）",
            ))
    return tuple(items)


def _duration(value: timedelta) -> str:
    """A span in the words the cards, reminders and reviews use ("2 小时 5 分钟", not "2 小时 5 分")."""
    return duration_zh(value)


@dataclass(frozen=True)
class _Line:
    """One line of a report section: text (already inert where it quotes outsiders) and a link after it."""

    text: str
    url: str | None = None

    def markdown(self) -> str:
        return f"{self.text} {self.url}" if self.url else self.text


def sorted_keywords(data: ReportData) -> list[KeywordLine]:
    """The keywords by how many negative comments carry them, most first (ties as extracted: by weight)."""
    return sorted(data.keywords, key=lambda keyword: -keyword.count)


def _account_name(line: AccountLine, lang: str) -> str:
    """'澜肌官方（抖音）' / '澜肌官方 (Douyin)', as the alerts name accounts: a brand's accounts often share one
    name on every platform, and "澜肌官方：评论 300" and "澜肌官方：评论 50" could not be told apart. The platform
    as the channel's language names it (`platform_label`): an English report said "(douyin)", the raw id."""
    platform = platform_label(line.key.partition(":")[0], lang)
    return f"{line.name} ({platform})" if lang == "en" else f"{line.name}（{platform}）"


def _account_lines(data: ReportData) -> list[_Line]:
    en = data.lang == "en"
    # "1 comment", not "1 comments"
    return [_Line(f"{_account_name(line, 'en')}: {num(line.counts.comments)} "
                  f"comment{'' if line.counts.comments == 1 else 's'}, negative share "
                  f"{_pct(line.counts.share)}" if en
                  else f"{_account_name(line, 'zh')}：评论 {num(line.counts.comments)}，负面占比 {_pct(line.counts.share)}")
            for line in data.accounts]


def sections(data: ReportData) -> list[tuple[str, list[_Line]]]:
    """The report's sections after its figures: (heading, lines), each in the channel's language."""
    en = data.lang == "en"
    # an English heading is capitalised ("By account"), as the report's title
    pick = (lambda zh, english: english[:1].upper() + english[1:]) if en else (lambda zh, english: f"{zh} / {english}")
    out: list[tuple[str, list[_Line]]] = []
    if data.accounts:
        out.append((pick("各账号", "by account"), _account_lines(data)))
    if data.keywords:
        # with no previous comments, "（上期 0）" on every keyword read as a figure, under "上期无数据"
        compared = data.before.comments > 0
        out.append((pick("负面评论在说什么", "what the negative comments say"), [
            _Line(f"{k.term} ×{num(k.count)}" + (f" (previous {num(k.baseline_count)})" if compared else "")
                  + f" e.g. “{_quote(k.example, 40)}”" if en
                  else f"{k.term} ×{num(k.count)}" + (f"（上期 {num(k.baseline_count)}）" if compared else " ")
                  + f"例：「{_quote(k.example, 40)}」")
            for k in sorted_keywords(data)] + _keyword_sample_note(data)))
    if data.top_negative:
        out.append((pick("点赞最多的负面评论", "most-liked negative comments"), [
            _Line(f"👍{num(c.likes)} “{_quote(c.text)}” — {inert(c.account)}" if en
                  else f"👍{num(c.likes)}「{_quote(c.text)}」— {inert(c.account)}", c.url or None)
            for c in data.top_negative]))
    if data.risk_terms:
        out.append((pick("风险词", "risk terms"), [_Line(("; " if en else "，").join(
            f"{r.term} ({_category_en(r.category, data.category_names_en)}) ×{num(r.count)}" if en
            else f"{r.term}（{_category_zh(r.category)}）×{num(r.count)}"
            for r in data.risk_terms))]))
    if data.alerts:
        lines = [
            _Line(f"{_local(a.detected_at, data.tz)} {SEVERITY_EN.get(a.severity, a.severity)} {a.account} "
                  f"({ALERT_STATUS_EN.get(a.status, a.status)})" if en
                  else f"{_local(a.detected_at, data.tz)} {SEVERITY_ZH.get(a.severity, a.severity)} "
                       f"{a.account}（{ALERT_STATUS_ZH.get(a.status, a.status)}）")
            for a in data.alerts[:10]]
        if len(data.alerts) > 10:
            more = num(len(data.alerts) - 10)
            lines.append(_Line(f"… {more} more" if en else f"…另有 {more} 条 / {more} more"))
        out.append((pick("告警", "alerts"), lines))
    if data.runs:
        out.append((pick("危机预案", "playbook runs"), [
            _Line(f"{_local(r.started_at, data.tz)} {inert(r.title)} ("
                  f"{RUN_STATUS_EN.get(r.status, r.status)})" if en
                  else f"{_local(r.started_at, data.tz)} {inert(r.title)}（{RUN_STATUS_ZH.get(r.status, r.status)}）")
            for r in data.runs[:10]]))
    return out


def _keyword_sample_note(data: ReportData) -> list[_Line]:
    """The line saying that keyword counts were counted in a sample (`keyword_sample`), when they were."""
    window, previous = data.keyword_sampled
    size = num(data.keyword_sample or 0)
    if not data.keyword_sample or not (window or (previous and data.before.comments)):
        return []
    if data.lang == "en":
        parts = ([f"counts are within the {size} most-liked of the {num(data.now.negative)} negative comments"]
                 if window else []) + ([f"previous counts within its first {size} comments"] if previous else [])
        return [_Line("Note: " + "; ".join(parts))]
    zh = ([f"条数只统计点赞最多的 {size} 条负面评论（共 {num(data.now.negative)} 条）"] if window else []) + (
        [f"上期只统计其最早的 {size} 条评论"] if previous else [])
    return [_Line("注：" + "；".join(zh) + f" / counted in a sample of {size} comments")]


def _category_zh(category: str) -> str:
    """A risk term's category as a Chinese report names it, "投诉举报 complaint" (as `/sentiment score` does):
    "12315（complaint）" gave a client the lexicon's machine word. A team's own category shows as written."""
    from bot.sentiment.explain import RISK_CATEGORY_ZH

    if not category:
        return "—"
    return f"{RISK_CATEGORY_ZH[category]} {category}" if category in RISK_CATEGORY_ZH else category


def _category_en(category: str, names_en: dict[str, str]) -> str:
    """A risk term's category as an English report names it, as `/sentiment score` does (`category_words`:
    the lexicon's English name, else "rights defence" for rights ...): a team's Chinese category "食安" was
    the one Chinese label left in an English report."""
    from bot.sentiment.explain import category_words

    return category_words(category, "en", names_en) if category else "—"


def _no_comments(data: ReportData) -> str:
    return "No new comments in this period." if data.lang == "en" else "本期没有新评论。/ No new comments in this period."


def markdown(data: ReportData, *, with_headline: bool = True) -> str:
    """The report's body (Markdown that reads fine as plain text too), the headline as its title; a chat
    message carries the headline as its title instead. Comment text is quoted inert (see `_quote`)."""
    lines = [f"# {headline(data)}", ""] if with_headline else []
    lines += [f"- {f.label}{': ' if data.lang == 'en' else '：'}{f.value}" for f in fields(data)]
    for heading, items in sections(data):
        lines += ["", f"## {heading}"]
        lines += [f"- {_no_html(item.markdown())}" for item in items]
    if data.now.comments == 0:
        lines += ["", _no_comments(data)]
    return "\n".join(lines)


def _no_html(text: str) -> str:
    """A report line with "<" escaped as Markdown allows ("\\<"): a comment's "<img src=x onerror=…>" or
    "<a href=…>官方客服</a>" was raw HTML in the .md file, which many Markdown viewers render (the .html file
    escapes it, and chat renderers escape their own way)."""
    return text.replace("<", "\\<")


def report_filename(data: ReportData) -> str:
    """The report file posted with a chat report: `<stem>.html` (see `html_report`)."""
    return f"{report_stem(data)}.html"


def summary(data: ReportData) -> str:
    """The chat message's text: the figures, the accounts, the main keywords and the most-liked negative
    comment; the whole report is the attached file (named at the end)."""
    en = data.lang == "en"
    lines = [f"- {f.label}{': ' if en else '：'}{f.value}" for f in fields(data)]
    lines += [f"- {line.markdown()}" for line in _account_lines(data)[:5]]
    top = sorted_keywords(data)[:5]
    if top:
        words = ("、" if not en else ", ").join(f"{k.term} ×{num(k.count)}" for k in top)
        if data.keyword_sample and data.keyword_sampled[0]:  # counts in a sample, not of all (see ReportData)
            size = num(data.keyword_sample)
            words += (f" (in the {size} most-liked negative comments)" if en
                      else f"（点赞最多的 {size} 条负面评论中 / in the {size} most-liked）")
        lines.append(f"- {'Keywords' if en else '负面关键词 / keywords'}{': ' if en else '：'}{words}")
    if data.top_negative:
        first = data.top_negative[0]
        # English quotes are not brackets: "👍0“…”" ran the count into the quote (the HTML file has the space)
        quoted = f" “{_quote(first.text)}”" if en else f"「{_quote(first.text)}」"
        lines.append(f"- {'Most-liked negative' if en else '点赞最多的负面评论 / most-liked negative'}"
                     f"{': ' if en else '：'}👍{num(first.likes)}{quoted} — {inert(first.account)}")
    if data.now.comments == 0:
        lines += ["", _no_comments(data)]
    name = report_filename(data)
    lines += ["", f"Full report with the chart: {name} (attached, opens in any browser)" if en
              else f"完整报告（含图表）见附件 {name}，可直接转发客户，用浏览器打开 / full report attached"]
    return "\n".join(lines)


_HTML_STYLE = (
    "body{font-family:-apple-system,'PingFang SC','Noto Sans SC','Microsoft YaHei',sans-serif;max-width:960px;"
    "margin:2em auto;padding:0 1em;color:#222;line-height:1.6}h1{font-size:1.4em}h2{font-size:1.15em;"
    "margin-top:1.6em;border-bottom:1px solid #ddd}img{max-width:100%;height:auto}li{margin:.2em 0}"
    "a{color:#1f5fa8;word-break:break-all}"
)
# An English report's text in a Latin font first: with the CJK fonts first, Windows drew its English words
# and digits with Microsoft YaHei's Latin glyphs. The CJK fonts stay after them, for the names and quoted
# comments written in Chinese.
_HTML_STYLE_EN = _HTML_STYLE.replace(
    "font-family:-apple-system,",
    "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',Arial,'Noto Sans',", 1)


def html_report(data: ReportData, png: bytes | None) -> str:
    """The report as one self-contained HTML page (the chart embedded as a data: image): the file an agency
    forwards to its client, who opens it in any browser or phone without the .png beside it. Everything
    shown is escaped; a comment's link is only a link when it is an http(s) address."""
    esc = html.escape
    lang = "en" if data.lang == "en" else "zh-CN"
    parts = [
        "<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(headline(data))}</title>",
        f"<style>{_HTML_STYLE_EN if data.lang == 'en' else _HTML_STYLE}</style>", "</head>", "<body>",
        f"<h1>{esc(headline(data))}</h1>", "<ul>",
    ]
    colon = ": " if data.lang == "en" else "："
    parts += [f"<li><strong>{esc(f.label)}</strong>{colon}{esc(f.value)}</li>" for f in fields(data)]
    parts.append("</ul>")
    if png:
        alt = "negative share and volume" if data.lang == "en" else "负面占比与评论量"
        parts.append(f'<p><img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></p>')
    for heading, items in sections(data):
        parts += [f"<h2>{esc(heading)}</h2>", "<ul>"]
        for item in items:
            link = ""
            if item.url and re.match(r"^https?://", item.url, re.IGNORECASE):
                link = f' <a href="{esc(item.url, quote=True)}" rel="noopener noreferrer">{esc(item.url)}</a>'
            elif item.url:
                link = f" {esc(item.url)}"
            parts.append(f"<li>{esc(item.text)}{link}</li>")
        parts.append("</ul>")
    if data.now.comments == 0:
        parts.append(f"<p>{esc(_no_comments(data))}</p>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def chart_title(data: ReportData) -> str:
    """The chart's title before the account: the report's name and its period with the year."""
    name = data.period_name.split(" / ")[0]
    return f"{name} | {period_text(data)}" if data.lang == "en" else f"{name}｜{period_text(data)}"


def chart_png(data: ReportData) -> bytes:
    from bot.reports.charts import negative_share_png

    daily = data.end - data.start > timedelta(days=2)  # one bar a day: the hour would read 00:00 on each
    return negative_share_png(data.series, title=chart_title(data), account=data.audience, tz=data.tz,
                              time_format="%m-%d" if daily else "%m-%d %H:%M", span=(data.start, data.end),
                              lang=data.lang)


def report_stem(data: ReportData) -> str:
    """File name (without suffix) naming channel, period and end: reports of two clients, or a daily and a
    weekly one, written in the same minute must not overwrite each other (`report --out`). A calendar
    period is named by itself: report-console-lanji-2026-11, report-console-lanji-2026-W47."""
    channel = re.sub(r"[^A-Za-z0-9_.-]+", "-", data.channel).strip("-") or "channel"
    if data.label:
        return f"report-{channel}-{data.label}"
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
    """Write `<stem>.md` (and `<stem>.png`, and the self-contained `<stem>.html`) into `folder` and return the
    path without suffix. A report of the same channel and period ending in the same minute (`report --out`
    run twice) gets `-2`, `-3`, ... rather than replacing the first one's files; the .md is created
    exclusively, so two runs cannot take one name."""
    stem = report_stem(data)
    for number in range(1, 10_000):
        candidate = folder / (stem if number == 1 else f"{stem}-{number}")
        if candidate.with_name(candidate.name + ".png").exists():
            continue
        # the chart beside it, linked by its bare name: the folder can be moved, zipped or mailed
        alt = "trend" if data.lang == "en" else "趋势 / trend"
        body = text if not png else text.rstrip("\n") + f"\n\n![{alt}]({candidate.name}.png)\n"
        try:
            with candidate.with_name(candidate.name + ".md").open("x", encoding="utf-8") as fh:
                fh.write(body)
        except FileExistsError:
            continue
        if png:
            candidate.with_name(candidate.name + ".png").write_bytes(png)
        candidate.with_name(candidate.name + ".html").write_text(html_report(data, png), encoding="utf-8")
        return candidate
    raise FileExistsError(f"{folder / stem}: too many reports with this name")


def report_message(data: ReportData, png: bytes | None) -> Message:
    """The report as a channel gets it: a short summary as text, the chart as an image, and the whole
    report as a file (`report_filename`, one HTML page with the chart in it) to forward to the client."""
    en = data.lang == "en"
    images = ()
    if png:
        title = "Negative share and volume" if en else "负面占比与评论量 / negative share and volume"
        images = (Image(title=title, png=png, filename=f"{report_stem(data)}.png",
                        alt="negative share and volume" if en else "负面占比与评论量"),)
    report_file = File(name=report_filename(data), content=html_report(data, png).encode("utf-8"),
                       mime="text/html; charset=utf-8", title=headline(data))
    return Message(
        title=headline(data),
        text=summary(data),
        images=images,
        files=(report_file,),
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
    lang: str = "zh",
) -> Message:
    """The notice, for the default channel, that a scheduled report was given up: which report, which
    period, why, and that it will not come by itself. `window` is the catch-up window it left, when that
    (not the number of attempts) is why it was given up. `lang` is the default channel's: English alone
    there when it is set to English (it got the Chinese-first notice)."""
    meta = {"kind": "report_failed", "schedule": schedule_id, "channel": channel, "start": start.isoformat(),
            "end": end.isoformat(), "attempts": attempts}
    en = lang == "en"
    if window is None:
        why_zh = f"已尝试 {attempts} 次仍失败，不再自动重试，这一期报告没有发出。"
        why_en = f"Still failing after {attempts} attempts: it will not be retried, and this period's report was not sent."
    else:
        minutes = round(window.total_seconds() / 60)
        zh, in_en = (f"{minutes // 60} 小时", f"{minutes // 60} h") if minutes % 60 == 0 else (f"{minutes} 分钟", f"{minutes} min")
        why_zh = f"在补发时限（{zh}）内未能生成（已尝试 {attempts} 次），不再自动重试，这一期报告没有发出。"
        why_en = (f"Not built within the catch-up window ({in_en}, {attempts} attempts): it will not be retried, "
                  f"and this period's report was not sent.")
    report = (f"{schedule_id} | {period_name} | {audience} ({channel})" if en
              else f"{schedule_id}｜{period_name}｜{audience}（{channel}）")
    period = f"{_local(start, tz)} – {_local(end, tz)}" + (f" ({tz})" if en else f"（{tz}）")
    return Message(
        title="⚠️ " + _title("定时报告未能生成", "Scheduled report could not be built", lang),
        text=why_en if en else f"{why_zh}\n{why_en}",
        fields=(
            Field(_title("报告", "report", lang), report),
            Field(_title("周期", "period", lang), period),
            Field(_title("原因", "reason", lang), reason),
        ),
        meta=meta,
    )


def missed_message(
    *,
    schedule_id: str,
    channel: str,
    audience: str,
    period_name: str,
    periods: list[tuple[datetime, datetime]],
    tz: str,
    window: timedelta,
    lang: str = "zh",
) -> Message:
    """The notice, for the default channel, that a schedule's reports fell due while the bot was down and
    are past the catch-up window: they are not sent late, and without this nobody learnt that a client's
    report never came. `periods` are their (start, end), oldest first; `lang` is the default channel's."""
    meta = {"kind": "report_missed", "schedule": schedule_id, "channel": channel,
            "periods": [[start.isoformat(), end.isoformat()] for start, end in periods]}
    en = lang == "en"
    hours = window.total_seconds() / 3600
    shown_hours = f"{hours:g}"
    count = len(periods)
    why_zh = (f"机器人停机期间有 {count} 期报告到期，已超过补发时限（{shown_hours} 小时，catch_up_hours），不会补发。"
              f"需要时可用 crisisbot report --channel {channel} --from/--to 或 --month 重新生成。")
    why_en = (f"{count} report{'' if count == 1 else 's'} fell due while the bot was down and "
              f"{'is' if count == 1 else 'are'} past the catch-up window ({shown_hours} h, catch_up_hours): "
              f"not sent late. Build one again with `crisisbot report --channel {channel} --from/--to` or "
              f"`--month` if needed.")
    report = (f"{schedule_id} | {period_name} | {audience} ({channel})" if en
              else f"{schedule_id}｜{period_name}｜{audience}（{channel}）")
    shown = [f"{_local(start, tz)} – {_local(end, tz)}" for start, end in periods[:5]]
    if count > 5:
        shown.append(f"… (+{count - 5})" if en else f"…（另 {count - 5} 期）")
    zone = f" ({tz})" if en else f"（{tz}）"
    return Message(
        title="⚠️ " + _title("定时报告未发送", "Scheduled reports not sent", lang),
        text=why_en if en else f"{why_zh}\n{why_en}",
        fields=(
            Field(_title("报告", "report", lang), report),
            Field(_title("周期", "periods", lang), "\n".join(shown) + zone),
        ),
        meta=meta,
    )
