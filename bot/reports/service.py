"""Client reports: what a channel's accounts went through in a period, posted on a schedule or on demand.

Agencies owe their clients a daily or weekly account of the comment sections: volume, negative share
against the previous period, what the negative comments were about, alerts and crisis runs, and how fast
the team answered. A report covers exactly the accounts its channel may see (client isolation).

Scheduled reports are driven by the database, not by in-memory timers: each check finds the due times
of every schedule not yet queued and posts the report for each through the outbox under a key derived
from the schedule and that time. A restart, a second replica or a retry therefore never sends one twice, and every
report that fell due while the bot was down (each due time after the schedule's last queued report) is sent
when it comes back, oldest first (within `catch_up_hours`).

A report that fails to build (the database briefly away, data the report cannot read) leaves no outbox
row, so the due times after the last queued one do not cover it once a newer report went out. Its due time
is stored (`report_attempt`) and tried again a minute, then 5, 15 and 30 minutes later, oldest first,
within the catch-up window; after MAX_ATTEMPTS, or once it leaves the window, it is given up: logged, and
said once in the default channel (which report, which period, why). A failure that could not even be stored
holds back the schedule's later due times until the next check, so none of them is queued past it.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, Text, and_, cast, delete, func, literal_column, or_
from sqlalchemy.exc import StatementError
from sqlmodel import Session, select

from bot.clock import Clock, ensure_aware
from bot.reports import render
from bot.reports.charts import counted_share_series, steady_span
from bot.reports.models import ReportAttempt
from bot.reports.periods import CalendarPeriod, calendar_kind, last_whole
from bot.reports.settings import ReportSchedule, ReportsConfig, cron_schedule, parse_period

if TYPE_CHECKING:  # pragma: no cover
    from bot.config import AppConfig
    from bot.outbox import Outbox
    from bot.scope import ChannelScope
    from bot.storage.db import Database

log = logging.getLogger(__name__)


# The longest span due_times looks back over: the catch-up window is at most 7 days. A net: the walk
# below is over calendar days, so it ends anyway; a span beyond this is a caller's mistake.
MAX_LOOKBACK = timedelta(days=31)


def resolve_local(naive: datetime, zone: ZoneInfo, *, wildcard: bool = False) -> list[datetime]:
    """The UTC instants of a wall-clock time in `zone`, as cron treats them across a DST change.

    A time the clocks skip (02:30 when they jump from 02:00 to 03:00) is the moment of the change (03:00
    local), as Vixie cron runs a job of the skipped hour right after it; a time that occurs twice (02:30
    when they go back from 03:00 to 02:00) is its first occurrence. A `wildcard` line (`*` in its minute or
    hour) simply runs by the new time, as in Vixie cron: a skipped time is no time at all (an extra,
    off-grid "30 * * * *" report at 03:00 otherwise), and a repeated one is both occurrences.
    """
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) != naive:
        if wildcard:
            return []
        # Skipped: zoneinfo reads it with the offset before the change (fold=0, later in UTC) and after it
        # (fold=1, earlier); the change lies between the two. Find it (to the second: offsets are whole
        # minutes, changes happen on whole seconds).
        low, high = second, first
        after = first.astimezone(zone).utcoffset()
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(zone).utcoffset() == after:
                high = middle
            else:
                low = middle
        return [high.replace(microsecond=0)]
    if first == second or not wildcard:
        return [first]
    return sorted({first, second})


def due_times(cron: str, zone: str, now: datetime, lookback: timedelta) -> list[datetime]:
    """Every time at or before `now` (and at or after `now - lookback`) at which the crontab fires in `zone`,
    in UTC, oldest first.

    As standard (Vixie) cron: when both day fields are restricted a day matching either one fires; a time
    the clocks skip in spring fires once, at the change (a daily "30 2 * * *" in Berlin fires at 03:00 on
    that day); a time that occurs twice in autumn fires once, the first time. A line whose minute or hour is
    a wildcard (`*`, `*/15`) runs by the new time: "0 * * * *" fires in each real hour, both 02:00s included,
    and nothing for the skipped hour. Times are
    stepped in UTC: APScheduler's own stepping kept returning the second 02:00 and never ended.
    """
    if lookback > MAX_LOOKBACK:
        raise ValueError(f"lookback {lookback} is longer than {MAX_LOOKBACK}")
    schedule = cron_schedule(cron)
    local = ZoneInfo(zone)
    now = now.astimezone(UTC)
    since = now - lookback
    # one day either side: a skipped time moves forward, and a day's times lie up to a day from UTC
    first_day = since.astimezone(local).date() - timedelta(days=1)
    days = (now.astimezone(local).date() - first_day).days + 2
    times: set[datetime] = set()
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if not schedule.fires_on(day):
            continue
        for hour in schedule.hours:
            for minute in schedule.minutes:
                naive = datetime(day.year, day.month, day.day, hour, minute)
                times.update(t for t in resolve_local(naive, local, wildcard=schedule.wildcard) if since <= t <= now)
    return sorted(times)


def wall_time(cron: str, zone: str, when: datetime) -> datetime:
    """The wall-clock time (naive, in `zone`) at which the crontab named its due time `when`: `when`'s local
    time, but for a time the clocks skipped, which fired at the change (see `due_times`), the skipped
    time itself (02:30, not 03:00)."""
    local = ZoneInfo(zone)
    shown = when.astimezone(local).replace(tzinfo=None)
    schedule = cron_schedule(cron)
    if schedule.fires_on(shown.date()):
        for hour in schedule.hours:
            for minute in schedule.minutes:
                naive = datetime(shown.year, shown.month, shown.day, hour, minute)
                if naive >= shown:
                    return shown
                if resolve_local(naive, local) == [when]:
                    return naive
    return shown


def period_start(end: datetime, period: str, zone: str, cron: str | None = None) -> datetime:
    """Where a scheduled report's `period` ending at `end` (a due time of `cron`, when given) starts.

    Days and weeks (`1d`, `7d`, `2w`) are the channel's calendar: a daily report due at 09:00 covers from
    the previous day's 09:00 where the channel is, 23 or 25 hours across a DST change, so consecutive
    reports tile without overlap or gap. Hours (`24h`) are absolute. A start the clocks skipped is the
    moment of the change, as its due time was."""
    delta = parse_period(period)
    if not period.strip().lower().endswith(("d", "w", "天", "周")):
        return end - delta
    local = ZoneInfo(zone)
    naive = wall_time(cron, zone, end) if cron else end.astimezone(local).replace(tzinfo=None)
    return resolve_local(naive - delta, local)[0]


_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>")


def without_markup(text: str) -> str:
    """A comment's words without Markdown or HTML markup, for keywords: an image goes, a link leaves its
    label, tags and bold marks go."""
    if "[" in text:
        text = _LINK.sub(r" \1 ", _IMAGE.sub(" ", text))
    if "<" in text:
        text = _TAG.sub(" ", text)
    return text.replace("**", " ").replace("__", " ")


def latest_due_time(cron: str, zone: str, now: datetime, lookback: timedelta) -> datetime | None:
    """The latest time at or before `now` (and after `now - lookback`) at which the crontab fires."""
    times = due_times(cron, zone, now, lookback)
    return times[-1] if times else None


_KEY_TIME = "%Y%m%dT%H%MZ"


def schedule_key(schedule_id: str, due: datetime) -> str:
    return f"report:{schedule_id}:{due.astimezone(UTC).strftime(_KEY_TIME)}"


def _key_prefix(schedule_id: str) -> str:
    """What every report key of the schedule starts with ("report:<id>:")."""
    return schedule_key(schedule_id, datetime(2000, 1, 1, tzinfo=UTC)).rsplit(":", 1)[0] + ":"


def _key_time(key: str, prefix: str) -> datetime | None:
    """The due time in a scheduled report's key, or None for another key sharing the prefix."""
    if not key.startswith(prefix):
        return None
    try:
        return datetime.strptime(key[len(prefix):], _KEY_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


# A due time whose report failed is built again this long after its 1st, 2nd, 3rd and 4th failure (a
# database blip is over within a minute; data the report cannot read needs a person) and given up after
# the MAX_ATTEMPTS-th, or earlier when the next try would fall outside the catch-up window.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Given-up due times are remembered this long (the longest catch-up window, `catch_up_hours` <= 7 days,
# and a day): until then they could be picked up as due again and must not be tried again.
KEEP_FAILURES = timedelta(days=8)
_REASON_CHARS = 200


def retry_at(attempts: int, due: datetime, failed_at: datetime, window: timedelta) -> datetime | None:
    """When to build the report of `due` again after its `attempts`-th failure at `failed_at`; None to give
    up: after MAX_ATTEMPTS, or when that time would fall outside the catch-up window (`due + window`)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    at = failed_at + RETRY_DELAYS[max(attempts, 1) - 1]
    return at if at <= due + window else None


def failure_reason(error: BaseException) -> str:
    """An exception as one short line fit for a chat channel: its type and first line. A database error
    gives its driver's message, without the SQL statement and parameters (they may quote stored data)."""
    inner = error.orig if isinstance(error, StatementError) and error.orig is not None else error
    first = next((line.strip() for line in str(inner).splitlines() if line.strip()), "")
    text = f"{type(inner).__name__}: {first}" if first else type(inner).__name__
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


# How far before the catch-up window a schedule's missed due times are looked for (see `_tell_missed`):
# within KEEP_FAILURES, so a due time whose report was given up (and said so) is still known as such.
MISSED_HORIZON = timedelta(days=7)


def missed_key(schedule_id: str, last: datetime) -> str:
    """The outbox key of the notice that the due times after the report queued for `last` were missed."""
    return f"report-missed:{schedule_id}:{last.astimezone(UTC).strftime(_KEY_TIME)}"


def failure_key(schedule_id: str, due: datetime) -> str:
    """The outbox key of the notice that a scheduled report was given up (said once, across restarts)."""
    return f"report-failed:{schedule_id}:{due.astimezone(UTC).strftime(_KEY_TIME)}"


@dataclass
class ReportRequest:
    channel: str
    start: datetime
    end: datetime
    period_name: str = ""
    # where the previous period (the comparison) starts; None: as long before `start` as the period is
    previous_start: datetime | None = None
    # the period in file names when it is a calendar one ("2026-11", "2026-W47"); "" for a rolling one
    label: str = ""


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
        # (schedule id, due time of its last report before the catch-up window) already looked at for
        # missed due times: looked at once per process, not every minute
        self._missed_checked: set[tuple[str, datetime]] = set()

    # ---- who and when --------------------------------------------------------------------------
    def channel_tz(self, channel: str) -> str:
        return self.config.channel_timezone(channel)

    def audience(self, channel: str) -> str:
        """Whom the channel reports on: its client's name, or a note for the default channel."""
        names = {c.id: c.name or c.id for c in self.config.clients}
        en = self.channel_language(channel) == "en"
        for item in self.config.channels:
            if item.id == channel:
                if item.client:
                    return names.get(item.client, item.client)
                if item.accounts:
                    # "、" is a Chinese list mark: an English report's title read "Shop A、Shop B"
                    return (", " if en else "、").join(self.account_name(k) for k in item.accounts)
        if self.scope.accounts_for(channel) == frozenset():  # an unmapped channel while clients are configured
            return "(no accounts visible in this channel)" if en else "（本频道没有可见账号 / no accounts visible in this channel）"
        # capitalised as the other names in an English title are ("Daily report | Accounts of no client | …")
        return "Accounts of no client" if en else "未归属客户的账号 / accounts of no client"

    def account_name(self, key: str) -> str:
        platform, _, account_id = key.partition(":")
        account = self.config.account(platform, account_id)
        return (account.name if account else "") or key

    def channel_language(self, channel: str) -> str:
        """'zh' or 'en': the channel's `language`, else the configured one (as alerts pick it)."""
        return self.config.channel_language(channel)

    def calendar_request(self, channel: str, period: CalendarPeriod) -> ReportRequest:
        """The report of a calendar period (a month, an ISO week, a day, whole days) of the channel."""
        lang = self.channel_language(channel)
        return ReportRequest(channel, period.start, period.end, render.calendar_period_name(period, lang),
                             previous_start=period.previous_start, label=period.label)

    def request_for(self, channel: str, text: str | None, now: datetime) -> ReportRequest:
        """The report `/report <text>` and `report --period <text>` ask for: 日报/周报/月报 (daily, weekly,
        monthly) are the last whole day, ISO week or calendar month in the channel's zone, as schedules
        with those words; nothing, 今天/today, 本周 or a length (24h, 7d, 7天) the span up to `now`."""
        kind = calendar_kind(text)
        if kind is not None:
            return self.calendar_request(channel, last_whole(kind, now, self.channel_tz(channel)))
        span, _ = self.period_for(text)
        return ReportRequest(channel, now - span, now, render.recent_period_name(span, self.channel_language(channel)))

    def schedule_request(self, schedule: ReportSchedule, when: datetime) -> ReportRequest:
        """The report a schedule owes at its due time `when`: a calendar period (月报) is the last whole one
        before `when` in the channel's zone; a length (7d) ends at `when` and tiles the channel's days."""
        tz = self.channel_tz(schedule.channel)
        if schedule.calendar is not None:
            return self.calendar_request(schedule.channel, last_whole(schedule.calendar, when, tz))
        start = period_start(when, schedule.period, tz, schedule.cron)
        return ReportRequest(schedule.channel, start, when,
                             render.period_name(schedule.period_delta, self.channel_language(schedule.channel)),
                             previous_start=period_start(start, schedule.period, tz, schedule.cron))

    def period_for(self, text: str | None) -> tuple[timedelta, str]:
        """The length of a period up to now: nothing, '今天'/'today' or '1d' → 1 day; '本周' or '7d' → 7 days;
        else a period like '24h', '30d' or '7天'. (日报/周报/月报 reach it only from callers that want their
        old rolling meaning: `request_for` makes them calendar periods.)"""
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
        previous_start = request.previous_start or start - period
        visible = self.scope.sql_condition(channel, Comment.platform, Comment.account_id)
        not_ours = Comment.is_from_account.is_(False)
        tz = self.channel_tz(channel)
        daily = period > timedelta(days=2)
        # The comments are counted in the database (per account and label, and per span of time and label
        # for the chart), not loaded: a report over half a million comments read every one into Python
        # (seconds, and hundreds of MB). Only what needs the text is read row by row, at most
        # `keyword_sample` rows: the most-liked negative comments and the baseline for keywords.
        with self.db.session() as session:
            counted = self._label_counts(session, visible, start, end)
            counted_before = self._label_counts(session, visible, previous_start, start)
            spans = self._span_counts(session, visible, start, end, steady_span(tz, start, end)) if period else []
            negatives = session.exec(
                select(Comment.text, Comment.like_count, Comment.content_url, Comment.platform, Comment.account_id,
                       Comment.sentiment_score, Comment.sentiment_neg)
                .where(visible, not_ours, Comment.sentiment_label == "neg",
                       Comment.created_at >= start, Comment.created_at < end)
                .order_by(Comment.like_count.desc(), Comment.id)
                .limit(self.settings.keyword_sample)
            ).all()
            # keyword counts are then counts within the sample, which the report says (see ReportData)
            window_sampled = len(negatives) >= self.settings.keyword_sample
            # quoted and mined for keywords as negative talk: only comments that lean negative (the
            # negative share above still counts every `neg` label)
            negatives = [row for row in negatives if shows_as_negative("neg", row.sentiment_score, row.sentiment_neg)]
            baseline_texts = session.exec(
                select(Comment.text)
                .where(visible, not_ours, Comment.created_at >= previous_start, Comment.created_at < start)
                .order_by(Comment.id)
                .limit(self.settings.keyword_sample)
            ).all()
            # each distinct list of flags once, with how many comments carry it (a JSON column cannot be
            # grouped by on PostgreSQL: its text can)
            flags_text = cast(Comment.risk_flags, Text)
            flagged = session.exec(
                select(flags_text, func.count())
                .where(visible, not_ours, Comment.created_at >= start, Comment.created_at < end,
                       Comment.risk_flags.is_not(None))
                .group_by(flags_text)
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
            keys = {(platform, account_id) for platform, account_id, _label, _n in counted + counted_before}
            previous_since = self._covered_since(session, keys, previous_start)

        now_counts = render.Counts()
        before_counts = render.Counts()
        per_account: dict[str, render.Counts] = {}
        for platform, account_id, label, number in counted:
            now_counts.add(label, number)
            per_account.setdefault(f"{platform}:{account_id}", render.Counts()).add(label, number)
        for platform, account_id, label, number in counted_before:
            before_counts.add(label, number)
            # an account that had comments last period and none now is listed with 0: left out, a client's
            # account gone quiet (or whose feed stopped) vanished from its report without a word
            per_account.setdefault(f"{platform}:{account_id}", render.Counts())
        # and so is every configured account the channel sees: the report covers all the client's accounts
        for key in self.scope.accounts_for(channel) or ():
            per_account.setdefault(key, render.Counts())

        risk_terms: Counter[tuple[str, str]] = Counter()
        for text, number in flagged:
            for flag in json.loads(text) or ():
                if isinstance(flag, dict) and flag.get("term"):
                    risk_terms[(str(flag["term"]), str(flag.get("category") or ""))] += number

        keywords: list[render.KeywordLine] = []
        if negatives and self.settings.top_keywords:
            from bot.sentiment.keywords import EXAMPLE_MAX_CHARS, extract_keywords

            # mined from the words people wrote, not their markup: a link's label counts, its address,
            # an image's and HTML tags do not ("http", "png" are no keywords); the example is the comment
            # as written (quoted inert)
            found = extract_keywords(
                [without_markup(n[0] or "") for n in negatives], [without_markup(t or "") for t in baseline_texts],
                top_k=self.settings.top_keywords,
            )
            examples = {without_markup(n[0] or "")[:EXAMPLE_MAX_CHARS]: n[0] or "" for n in negatives}
            keywords = [render.KeywordLine(k.term, k.count, k.baseline_count, examples.get(k.example, k.example))
                        for k in found]

        # hours or days of the channel's own calendar (a "day" is midnight to midnight where the client is)
        points = counted_share_series(spans, start, end, daily=daily, tz=tz) if period else []
        lang = self.channel_language(channel)
        data = render.ReportData(
            channel=channel,
            audience=self.audience(channel),
            period_name=request.period_name or render.period_name(period, lang),
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
            replies=self._reply_stats(channel, start, end),
            previous_since=previous_since if before_counts.comments else None,
            keyword_sample=self.settings.keyword_sample if keywords else None,
            keyword_sampled=(window_sampled, len(baseline_texts) >= self.settings.keyword_sample),
            lang=lang,
            label=request.label,
            category_names_en=self._category_names_en() if lang == "en" and risk_terms else {},
        )
        png = None
        try:
            png = render.chart_png(data)
        except Exception:  # noqa: BLE001 - a report without its chart beats no report; the log says why
            log.exception("report chart failed for %s", channel)
        return ReportResult(data=data, png=png)

    @staticmethod
    def _category_names_en() -> dict[str, str]:
        """The risk lexicon's English category names (`category_names_en` in sentiment/risk_terms.yaml), read
        from the file both sentiment backends load their lexicon from (not the scorer: a report must not
        load the model for a few names). A lexicon that cannot be read gives none: the categories are then
        named as `category_words` names them without it."""
        from bot.sentiment.risk import RiskLexicon

        try:
            return dict(RiskLexicon.load().names_en)
        except (OSError, ValueError):
            log.warning("risk lexicon unreadable: an English report names risk categories without its "
                        "category_names_en", exc_info=True)
            return {}

    @staticmethod
    def _label_counts(session: Session, visible, since: datetime, until: datetime) -> list[tuple[str, str, str | None, int]]:
        """(platform, account_id, label, comments) of the visible comments (not the accounts' own) from
        `since` to `until`: a few rows per account however many comments there are."""
        from bot.storage.models import Comment

        return [tuple(row) for row in session.exec(
            select(Comment.platform, Comment.account_id, Comment.sentiment_label, func.count())
            .where(visible, Comment.is_from_account.is_(False), Comment.created_at >= since, Comment.created_at < until)
            .group_by(Comment.platform, Comment.account_id, Comment.sentiment_label)
        ).all()]

    def _span_counts(self, session: Session, visible, since: datetime, until: datetime,
                     span: int) -> list[tuple[datetime, str, int]]:
        """(moment, label, comments) of the scored visible comments from `since` to `until`, counted per
        `span` seconds of UTC time from the Unix epoch (see `steady_span`: all of a span's comments fall
        in one bucket of the chart); `moment` is the span's first moment from `since` on."""
        from bot.storage.models import Comment

        # whole numbers written into the statement, not parameters: PostgreSQL takes the selected bucket
        # for the grouped one only when their text is the same
        base = math.floor(since.timestamp()) // span * span
        origin, width = literal_column(str(base), Integer), literal_column(str(span), Integer)
        if self.db.dialect == "sqlite":
            # stored as UTC text; strftime('%s') gives whole seconds (never before `base`), and / of two
            # whole numbers is whole
            bucket = (cast(func.strftime(literal_column("'%s'"), Comment.created_at), Integer) - origin) // width
        else:
            bucket = cast(func.floor((func.extract("epoch", Comment.created_at) - origin) / width), BigInteger)
        rows = session.exec(
            select(bucket, Comment.sentiment_label, func.count())
            .where(visible, Comment.is_from_account.is_(False), Comment.created_at >= since, Comment.created_at < until,
                   Comment.sentiment_label.in_(("neg", "neu", "pos")))
            .group_by(bucket, Comment.sentiment_label)
        ).all()
        return [(max(since, datetime.fromtimestamp(base + int(index) * span, UTC)), label, number)
                for index, label, number in rows]

    @staticmethod
    def _covered_since(session: Session, accounts: set[tuple[str, str]], previous_start: datetime) -> datetime | None:
        """When the previous period is only partly covered by stored comments, the time from which every
        one of `accounts` (those with comments in either period) has them: the latest first stored comment
        among them, when that comes after `previous_start`. None when the whole previous period is covered.

        An account added (or whose older comments were purged) partway through the previous period has
        fewer comments there than it really got, and "+227% 较上期" against it is no trend. A first stored
        comment is the best sign of when the data starts: a quiet account's first comment may come after
        its monitoring began, and is then flagged too (a missing comparison misleads less than a false one).
        """
        from sqlalchemy import func

        from bot.storage.models import Comment

        latest: datetime | None = None
        for platform, account_id in sorted(accounts):
            # one index seek per account (ix_comment_account_created), not a scan of its history; the
            # account's own replies count too: they were collected as well
            first = session.exec(select(func.min(Comment.created_at)).where(
                Comment.platform == platform, Comment.account_id == account_id)).one()
            if first is not None:
                first = ensure_aware(first)
                latest = first if latest is None else max(latest, first)
        return latest if latest is not None and latest > previous_start else None

    def _reply_stats(self, channel: str, since: datetime, until: datetime):
        replies = self._replies()
        if replies is None:
            return None
        try:
            # up to the period's end: a report built late (after a restart, a retry) counts nothing later
            return replies.stats(channel=channel, since=since, until=until)
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

    def catch_up_window(self) -> timedelta:
        """How far back a due time is still sent (or its failed report tried again): `catch_up_hours`,
        and at least two checks, so a check that comes late skips nothing."""
        return timedelta(seconds=max(self.settings.catch_up_hours * 3600, 2 * self.settings.check_every_seconds))

    def due_schedules(self, now: datetime | None = None) -> list[tuple[ReportSchedule, datetime]]:
        """(schedule, due time) of every report due now and not yet queued, oldest first per schedule: the
        due times after the schedule's last queued report, and those whose report failed and whose next
        try has come (see `run_schedules`)."""
        now = now or self.clock.now()
        lookback = self.catch_up_window()
        due = []
        for schedule in self.settings.schedules:
            failed = self._failed_times(schedule.id)
            last = self.last_queued(schedule.id, since=now - lookback)
            # Every due time after the last report queued for this schedule was missed (the bot was
            # down, or a check came late): each is sent, oldest first, within the catch-up window. A
            # schedule that never sent anything (a new one, a first start) sends only its latest.
            window = lookback if last is None else min(lookback, now - last)
            times = due_times(schedule.cron, self.channel_tz(schedule.channel), now, window)
            times = times[-1:] if last is None else [t for t in times if t > last]
            # A due time whose report failed may lie before the last queued one (a newer report went out
            # meanwhile): it is looked at again until it is queued or given up.
            retries = [t for t, row in failed.items() if row.gave_up_at is None and now - lookback <= t <= now]
            for when in sorted(set(times) | set(retries)):
                row = failed.get(when)
                if row is not None and (row.gave_up_at is not None or row.next_attempt_at > now):
                    continue  # given up (said so once), or its next try has not come yet
                if not self.outbox.has(schedule_key(schedule.id, when)):
                    due.append((schedule, when))
        return due

    def _failed_times(self, schedule_id: str) -> dict[datetime, ReportAttempt]:
        """due time -> ReportAttempt of the schedule's due times whose report failed (few: a row goes when
        its report is queued, and a given-up one after KEEP_FAILURES)."""
        with self.db.session() as session:
            rows = session.exec(select(ReportAttempt).where(ReportAttempt.schedule_id == schedule_id)).all()
        return {ensure_aware(row.due_at): row for row in rows}

    def last_queued(self, schedule_id: str, *, since: datetime) -> datetime | None:
        """The due time of the latest report this schedule queued after `since` (the outbox keeps its keys);
        `since` itself when it queued reports only before that; None when it never queued one."""
        from bot.storage.models import OutboxMessage

        prefix = _key_prefix(schedule_id)
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
        """One check of the report schedules (the scheduler runs it every minute); returns reports queued.

        A report that fails to build is stored as failed and tried again later (`retry_at`), oldest first,
        however many newer reports went out meanwhile; never twice once queued (the outbox key)."""
        now = self.clock.now()
        self._expire_failures(now)
        for schedule in self.settings.schedules:
            try:
                self._tell_missed(schedule, now)
            except Exception:  # noqa: BLE001 - the reports themselves still go out
                log.exception("scheduled report %s: could not look for reports missed while down", schedule.id)
        queued = 0
        held_back: set[str] = set()
        for schedule, when in self.due_schedules(now):
            if schedule.id in held_back:
                continue
            try:
                posted = self._post_scheduled(schedule, when)
            except Exception as error:  # noqa: BLE001 - one broken report must not stop the others
                log.exception("scheduled report %s (due %s) failed", schedule.id, when.isoformat())
                try:
                    self._record_failure(schedule, when, failure_reason(error), now)
                except Exception:  # noqa: BLE001 - e.g. the database is away altogether
                    # Unrecorded, this due time is found again only while no later one is queued: the
                    # schedule's later due times wait for the next check (which tries this one first).
                    log.exception("scheduled report %s: could not store the failure of %s; its later due times "
                                  "wait for the next check", schedule.id, when.isoformat())
                    held_back.add(schedule.id)
                continue
            if posted:
                queued += 1
                local = when.astimezone(ZoneInfo(self.channel_tz(schedule.channel)))
                log.info("report %s queued for %s (due %s)", schedule.id, schedule.channel, local.isoformat())
        return queued

    def _tell_missed(self, schedule: ReportSchedule, now: datetime) -> None:
        """Say once, in the default channel, which of the schedule's reports fell due while the bot was down
        and are past the catch-up window: they are skipped (not sent late), and a client's report that never
        came went unnoticed. Those are the due times after the last report the schedule queued before the
        window (a schedule that never queued one misses nothing), within MISSED_HORIZON, but for those whose
        report failed (they have their own notice)."""
        window = self.catch_up_window()
        edge = now - window  # a due time from here on is still sent (see due_schedules)
        last = self._last_queued_before(schedule.id, edge)
        if last is None or (schedule.id, last) in self._missed_checked:
            return
        key = missed_key(schedule.id, last)
        since = max(last, now - MISSED_HORIZON)
        # Run before the check queues anything: a report already queued in the window means the bot was up
        # then (a gap before it comes from an edited cron, not from downtime).
        if since < edge and not self._queued_since(schedule.id, edge) and not self.outbox.has(key):
            tz = self.channel_tz(schedule.channel)
            failed = self._failed_times(schedule.id)
            missed = [t for t in due_times(schedule.cron, tz, edge, edge - since)
                      if last < t < edge and t not in failed]
            if missed:
                requests = [self.schedule_request(schedule, when) for when in missed]
                message = render.missed_message(
                    schedule_id=schedule.id, channel=schedule.channel, audience=self.audience(schedule.channel),
                    period_name=requests[0].period_name, periods=[(r.start, r.end) for r in requests], tz=tz,
                    window=window, lang=self.channel_language(self.config.default_channel),
                )
                self.outbox.send(channel=self.config.default_channel, message=message, key=key)
                log.warning("scheduled report %s for %s: %d report(s) due from %s to %s fell due while the bot was "
                            "down and are past the catch-up window: not sent; told %s", schedule.id,
                            schedule.channel, len(missed), missed[0].isoformat(), missed[-1].isoformat(),
                            self.config.default_channel)
        self._missed_checked.add((schedule.id, last))

    def _queued_since(self, schedule_id: str, since: datetime) -> bool:
        """Whether the schedule queued a report due at or after `since`."""
        from bot.storage.models import OutboxMessage

        prefix = _key_prefix(schedule_id)
        with self.db.session() as session:
            keys = session.exec(select(OutboxMessage.key).where(
                OutboxMessage.key >= prefix + since.astimezone(UTC).strftime(_KEY_TIME), OutboxMessage.key < prefix + "~")
            ).all()
        return any(t is not None and t >= since for t in (_key_time(key, prefix) for key in keys))

    def _last_queued_before(self, schedule_id: str, before: datetime) -> datetime | None:
        """The due time of the latest report the schedule queued before `before`, or None."""
        from bot.storage.models import OutboxMessage

        prefix = _key_prefix(schedule_id)
        with self.db.session() as session:
            keys = session.exec(
                select(OutboxMessage.key).where(OutboxMessage.key >= prefix,
                                                OutboxMessage.key < prefix + before.astimezone(UTC).strftime(_KEY_TIME))
                .order_by(OutboxMessage.key.desc()).limit(20)
            ).all()
        # the keys' times sort as text; another key sharing the prefix is passed over
        return next((t for t in (_key_time(key, prefix) for key in keys) if t is not None), None)

    def _post_scheduled(self, schedule: ReportSchedule, when: datetime) -> bool:
        """Build the report due at `when` and queue it, forgetting its failures (if any) in the same
        transaction. False when another check or replica queued it first."""
        result = self.build(self.schedule_request(schedule, when))
        message = render.report_message(result.data, result.png)
        with self.db.session() as session:
            posted = self.outbox.enqueue(session, channel=schedule.channel, message=message,
                                         key=schedule_key(schedule.id, when))
            session.execute(delete(ReportAttempt).where(ReportAttempt.schedule_id == schedule.id,
                                                        ReportAttempt.due_at == when))
        return posted

    def _record_failure(self, schedule: ReportSchedule, when: datetime, reason: str, now: datetime) -> None:
        """Count a failed build of the report due at `when`: set its next try, or give it up (with its
        notice, in the same transaction) when `retry_at` says so."""
        window = self.catch_up_window()
        with self.db.session() as session:
            row = session.exec(select(ReportAttempt).where(ReportAttempt.schedule_id == schedule.id,
                                                           ReportAttempt.due_at == when)).first()
            if row is None:
                row = ReportAttempt(schedule_id=schedule.id, due_at=when, first_failed_at=now, next_attempt_at=now)
            row.attempts += 1
            row.last_error = reason
            next_try = retry_at(row.attempts, when, now, window)
            if next_try is None:
                self._give_up(session, schedule, row, now, window=None if row.attempts >= MAX_ATTEMPTS else window)
            else:
                row.next_attempt_at = next_try
                log.warning("scheduled report %s (due %s): attempt %d failed (%s); next try at %s",
                            schedule.id, when.isoformat(), row.attempts, reason, next_try.isoformat())
            session.add(row)

    def _expire_failures(self, now: datetime) -> None:
        """Give up the failed due times that left the catch-up window untried (the bot was down when their
        next try came); forget the ones queued meanwhile, those of removed schedules, and given-up ones past
        KEEP_FAILURES."""
        from bot.storage.models import OutboxMessage

        window = self.catch_up_window()
        schedules = {schedule.id: schedule for schedule in self.settings.schedules}
        with self.db.session() as session:
            session.execute(delete(ReportAttempt).where(ReportAttempt.due_at < now - KEEP_FAILURES))
            stale = session.exec(select(ReportAttempt).where(ReportAttempt.gave_up_at.is_(None),
                                                             ReportAttempt.due_at < now - window)).all()
            for row in stale:
                schedule = schedules.get(row.schedule_id)
                key = schedule_key(row.schedule_id, ensure_aware(row.due_at))
                if schedule is None or session.exec(select(OutboxMessage.id).where(OutboxMessage.key == key)).first():
                    session.delete(row)
                    continue
                self._give_up(session, schedule, row, now, window=window)
                session.add(row)

    def _give_up(self, session: Session, schedule: ReportSchedule, row: ReportAttempt, now: datetime, *,
                 window: timedelta | None) -> None:
        """Stop trying the report due at `row.due_at`: log it and queue one notice in the default channel
        (`window`: the catch-up window it left, when that is why)."""
        due = ensure_aware(row.due_at)
        tz = self.channel_tz(schedule.channel)
        request = self.schedule_request(schedule, due)
        start, end = request.start, request.end
        row.gave_up_at = now
        reason = row.last_error or "?"
        message = render.failure_message(
            schedule_id=schedule.id, channel=schedule.channel, audience=self.audience(schedule.channel),
            period_name=request.period_name, start=start, end=end, tz=tz, attempts=row.attempts,
            reason=reason, window=window, lang=self.channel_language(self.config.default_channel),
        )
        self.outbox.enqueue(session, channel=self.config.default_channel, message=message,
                            key=failure_key(schedule.id, due))
        local = ZoneInfo(tz)
        log.error(
            "定时报告 %s（%s – %s）未能生成，已放弃，并通知 %s / scheduled report %s for %s, period %s – %s, could "
            "not be built (%d attempts%s): given up, told %s. Last error: %s",
            schedule.id, start.astimezone(local).isoformat(), end.astimezone(local).isoformat(),
            self.config.default_channel, schedule.id, schedule.channel, start.astimezone(local).isoformat(),
            end.astimezone(local).isoformat(), row.attempts, "" if window is None else ", catch-up window passed",
            self.config.default_channel, reason,
        )
