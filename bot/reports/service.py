"""Client reports: what a channel's accounts went through in a period, posted on a schedule or on demand.

Agencies owe their clients a daily or weekly account of the comment sections: volume, negative share
against the previous period, what the negative comments were about, alerts and crisis runs, and how fast
the team answered. A report covers exactly the accounts its channel may see (client isolation).

Scheduled reports are driven by the database, not by in-memory timers: each check finds the due times
of every schedule not yet queued and posts the report for each through the outbox under a key derived
from the schedule and that time. A restart, a second replica or a retry therefore never sends one twice, and every
report that fell due while the bot was down (each due time after the schedule's last queued report) is sent
when it comes back, oldest first (within `catch_up_hours`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlmodel import select

from bot.clock import Clock, ensure_aware
from bot.reports import render
from bot.reports.charts import local_share_series
from bot.reports.settings import ReportSchedule, ReportsConfig, cron_trigger, parse_period

if TYPE_CHECKING:  # pragma: no cover
    from bot.config import AppConfig
    from bot.outbox import Outbox
    from bot.scope import ChannelScope
    from bot.storage.db import Database

log = logging.getLogger(__name__)


def due_times(cron: str, zone: str, now: datetime, lookback: timedelta) -> list[datetime]:
    """Every time at or before `now` (and after `now - lookback`) at which the crontab fires, oldest first."""
    trigger = cron_trigger(cron, zone)
    cursor = now - lookback
    times = []
    fire = trigger.get_next_fire_time(None, cursor)
    while fire is not None and fire <= now:
        times.append(fire.astimezone(UTC))
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return times


def latest_due_time(cron: str, zone: str, now: datetime, lookback: timedelta) -> datetime | None:
    """The latest time at or before `now` (and after `now - lookback`) at which the crontab fires."""
    times = due_times(cron, zone, now, lookback)
    return times[-1] if times else None


_KEY_TIME = "%Y%m%dT%H%MZ"


def schedule_key(schedule_id: str, due: datetime) -> str:
    return f"report:{schedule_id}:{due.astimezone(UTC).strftime(_KEY_TIME)}"


def _key_time(key: str, prefix: str) -> datetime | None:
    """The due time in a scheduled report's key, or None for another key sharing the prefix."""
    if not key.startswith(prefix):
        return None
    try:
        return datetime.strptime(key[len(prefix):], _KEY_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass
class ReportRequest:
    channel: str
    start: datetime
    end: datetime
    period_name: str = ""


@dataclass
class ReportResult:
    data: render.ReportData
    png: bytes | None = None
    posted: bool = False
    key: str | None = None


class ReportService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        config: AppConfig,
        scope: ChannelScope,
        outbox: Outbox,
        replies=None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.settings: ReportsConfig = config.reports
        self.scope = scope
        self.outbox = outbox
        # A callable returning the reply-queue service, or None when that feature is off.
        self._replies = replies or (lambda: None)

    # ---- who and when --------------------------------------------------------------------------
    def channel_tz(self, channel: str) -> str:
        return self.config.channel_timezone(channel)

    def audience(self, channel: str) -> str:
        """Whom the channel reports on: its client's name, or a note for the default channel."""
        names = {c.id: c.name or c.id for c in self.config.clients}
        for item in self.config.channels:
            if item.id == channel:
                if item.client:
                    return names.get(item.client, item.client)
                if item.accounts:
                    return "、".join(self.account_name(k) for k in item.accounts)
        if self.scope.accounts_for(channel) == frozenset():  # an unmapped channel while clients are configured
            return "（本频道没有可见账号 / no accounts visible in this channel）"
        return "未归属客户的账号 / accounts of no client"

    def account_name(self, key: str) -> str:
        platform, _, account_id = key.partition(":")
        account = self.config.account(platform, account_id)
        return (account.name if account else "") or key

    def period_for(self, text: str | None) -> tuple[timedelta, str]:
        """'日报'/'today'/'1d' → 1 day; '周报'/'week'/'7d' → 7 days; else a period like '24h' or '30d'."""
        aliases = {
            None: "1d", "": "1d", "日报": "1d", "daily": "1d", "day": "1d", "今天": "1d", "today": "1d",
            "周报": "7d", "weekly": "7d", "week": "7d", "本周": "7d", "月报": "30d", "monthly": "30d",
            "month": "30d",
        }
        value = aliases.get(text.strip().lower() if text else text, text)
        period = parse_period(str(value))
        return period, render.period_name(period)

    # ---- building ------------------------------------------------------------------------------
    def build(self, request: ReportRequest) -> ReportResult:
        """Gather every figure of the report (read-only) and draw its chart."""
        from bot.alerts.models import AlertEpisode
        from bot.playbooks.models import CrisisRun
        from bot.storage.models import Comment, shows_as_negative

        channel, start, end = request.channel, request.start, request.end
        period = end - start
        previous_start = start - period
        visible = self.scope.sql_condition(channel, Comment.platform, Comment.account_id)
        not_ours = Comment.is_from_account.is_(False)
        with self.db.session() as session:
            rows = session.exec(
                select(Comment.platform, Comment.account_id, Comment.created_at, Comment.sentiment_label)
                .where(visible, not_ours, Comment.created_at >= previous_start, Comment.created_at < end)
            ).all()
            negatives = session.exec(
                select(Comment.text, Comment.like_count, Comment.content_url, Comment.platform, Comment.account_id,
                       Comment.sentiment_score, Comment.sentiment_neg)
                .where(visible, not_ours, Comment.sentiment_label == "neg",
                       Comment.created_at >= start, Comment.created_at < end)
                .order_by(Comment.like_count.desc(), Comment.id)
                .limit(self.settings.keyword_sample)
            ).all()
            # quoted and mined for keywords as negative talk: only comments that lean negative (the
            # negative share above still counts every `neg` label)
            negatives = [row for row in negatives if shows_as_negative("neg", row.sentiment_score, row.sentiment_neg)]
            baseline_texts = session.exec(
                select(Comment.text)
                .where(visible, not_ours, Comment.created_at >= previous_start, Comment.created_at < start)
                .order_by(Comment.id)
                .limit(self.settings.keyword_sample)
            ).all()
            flagged = session.exec(
                select(Comment.risk_flags)
                .where(visible, not_ours, Comment.created_at >= start, Comment.created_at < end,
                       Comment.risk_flags.is_not(None))
            ).all()
            episodes = session.exec(
                select(AlertEpisode)
                .where(self.scope.sql_condition(channel, AlertEpisode.platform, AlertEpisode.account_id),
                       AlertEpisode.detected_at >= start, AlertEpisode.detected_at < end)
                .order_by(AlertEpisode.detected_at)
            ).all()
            runs = session.exec(
                select(CrisisRun.title, CrisisRun.status, CrisisRun.started_at, CrisisRun.closed_at)
                .where(CrisisRun.channel == channel,
                       or_(and_(CrisisRun.started_at >= start, CrisisRun.started_at < end),
                           and_(CrisisRun.closed_at >= start, CrisisRun.closed_at < end)))
                .order_by(CrisisRun.started_at)
            ).all()

        current: list[tuple[datetime, str | None]] = []
        now_counts = render.Counts()
        before_counts = render.Counts()
        per_account: dict[str, render.Counts] = {}
        for platform, account_id, created_at, label in rows:
            created_at = ensure_aware(created_at)
            if created_at >= start:
                current.append((created_at, label))
                now_counts.add(label)
                per_account.setdefault(f"{platform}:{account_id}", render.Counts()).add(label)
            else:
                before_counts.add(label)

        risk_terms: Counter[tuple[str, str]] = Counter()
        for flags in flagged:
            for flag in flags or ():
                if isinstance(flag, dict) and flag.get("term"):
                    risk_terms[(str(flag["term"]), str(flag.get("category") or ""))] += 1

        keywords: list[render.KeywordLine] = []
        if negatives and self.settings.top_keywords:
            from bot.sentiment.keywords import extract_keywords

            found = extract_keywords(
                [n[0] or "" for n in negatives], [t or "" for t in baseline_texts], top_k=self.settings.top_keywords
            )
            keywords = [render.KeywordLine(k.term, k.count, k.baseline_count, k.example) for k in found]

        tz = self.channel_tz(channel)
        # hours or days of the channel's own calendar (a "day" is midnight to midnight where the client is)
        points = local_share_series(current, start, end, daily=period > timedelta(days=2), tz=tz) if period else []
        data = render.ReportData(
            channel=channel,
            audience=self.audience(channel),
            period_name=request.period_name or render.period_name(period),
            start=start,
            end=end,
            tz=tz,
            now=now_counts,
            before=before_counts,
            accounts=sorted(
                (render.AccountLine(key, self.account_name(key), counts) for key, counts in per_account.items()),
                key=lambda line: (-line.counts.comments, line.key),
            ),
            series=points,
            keywords=keywords,
            top_negative=[
                render.CommentLine(self.account_name(f"{p}:{a}"), text or "", int(likes or 0), url)
                for text, likes, url, p, a, _score, _neg in negatives[: self.settings.top_comments]
            ],
            risk_terms=[render.RiskLine(term, category, count) for (term, category), count in
                        sorted(risk_terms.items(), key=lambda item: (-item[1], item[0]))[:8]],
            alerts=[
                render.AlertLine(
                    severity=e.severity, status=e.status, reason=e.reason,
                    account=self.account_name(f"{e.platform}:{e.account_id}"),
                    detected_at=ensure_aware(e.detected_at),
                )
                for e in episodes
                # one incident, one alert: an episode merged into another one's message (the account-level
                # and a video's episode of the same crisis) follows that one and is not counted again
                if not (e.stats or {}).get("merged_into")
            ],
            runs=[
                render.RunLine(title, status, ensure_aware(started), ensure_aware(closed) if closed else None)
                for title, status, started, closed in runs
            ],
            replies=self._reply_stats(channel, start),
        )
        png = None
        try:
            png = render.chart_png(data)
        except Exception:  # noqa: BLE001 - a report without its chart beats no report; the log says why
            log.exception("report chart failed for %s", channel)
        return ReportResult(data=data, png=png)

    def _reply_stats(self, channel: str, since: datetime):
        replies = self._replies()
        if replies is None:
            return None
        try:
            return replies.stats(channel=channel, since=since)
        except Exception:  # noqa: BLE001 - the report goes out without the queue figures; logged
            log.exception("reply-queue figures failed for %s", channel)
            return None

    # ---- posting -------------------------------------------------------------------------------
    def post(self, request: ReportRequest, *, key: str) -> ReportResult:
        """Build the report and queue it for its channel under `key` (never sent twice)."""
        result = self.build(request)
        message = render.report_message(result.data, result.png)
        result.posted = self.outbox.send(channel=request.channel, message=message, key=key)
        result.key = key
        return result

    def due_schedules(self, now: datetime | None = None) -> list[tuple[ReportSchedule, datetime]]:
        """(schedule, due time) of every report due now and not yet queued."""
        now = now or self.clock.now()
        lookback = timedelta(
            seconds=max(self.settings.catch_up_hours * 3600, 2 * self.settings.check_every_seconds)
        )
        due = []
        for schedule in self.settings.schedules:
            last = self.last_queued(schedule.id, since=now - lookback)
            # Every due time after the last report queued for this schedule was missed (the bot was
            # down, or a check came late): each is sent, oldest first, within the catch-up window. A
            # schedule that never sent anything (a new one, a first start) sends only its latest.
            window = lookback if last is None else min(lookback, now - last)
            times = due_times(schedule.cron, self.channel_tz(schedule.channel), now, window)
            times = times[-1:] if last is None else [t for t in times if t > last]
            for when in times:
                if not self.outbox.has(schedule_key(schedule.id, when)):
                    due.append((schedule, when))
        return due

    def last_queued(self, schedule_id: str, *, since: datetime) -> datetime | None:
        """The due time of the latest report this schedule queued after `since` (the outbox keeps its keys);
        `since` itself when it queued reports only before that; None when it never queued one."""
        from bot.storage.models import OutboxMessage

        prefix = schedule_key(schedule_id, datetime(2000, 1, 1, tzinfo=UTC)).rsplit(":", 1)[0] + ":"
        with self.db.session() as session:
            # the keys' times sort as text (fixed width, UTC): a range on the unique key index, bounded by
            # the catch-up window, not every report the schedule ever sent; the exact form is checked below
            keys = session.exec(
                select(OutboxMessage.key).where(OutboxMessage.key >= prefix + since.astimezone(UTC).strftime(_KEY_TIME),
                                                OutboxMessage.key < prefix + "~")
            ).all()
            times = [t for t in (_key_time(key, prefix) for key in keys) if t is not None]
            if times:
                return max(times)
            # nothing in the window: a schedule that did send before it missed everything in it
            earlier = session.exec(select(OutboxMessage.key).where(
                OutboxMessage.key >= prefix, OutboxMessage.key < prefix + since.astimezone(UTC).strftime(_KEY_TIME))
                .limit(1)).first()
        return since if earlier is not None else None

    def run_schedules(self) -> int:
        """One check of the report schedules (the scheduler runs it every minute); returns reports queued."""
        queued = 0
        for schedule, when in self.due_schedules():
            period = schedule.period_delta
            request = ReportRequest(schedule.channel, when - period, when, render.period_name(period))
            try:
                result = self.post(request, key=schedule_key(schedule.id, when))
            except Exception:  # noqa: BLE001 - one broken report must not stop the others; retried next check
                log.exception("scheduled report %s failed", schedule.id)
                continue
            if result.posted:
                queued += 1
                local = when.astimezone(ZoneInfo(self.channel_tz(schedule.channel)))
                log.info("report %s queued for %s (due %s)", schedule.id, schedule.channel, local.isoformat())
        return queued
