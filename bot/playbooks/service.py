"""The playbook run service: runs live in the database; every change goes through the pure state
machine and is written with an optimistic version check, together with its timeline entries and the
run-card update (outbox, same transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, or_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from bot.clock import Clock, ensure_aware
from bot.i18n import EnglishToo
from bot.messages import Image, Message, inert, is_blank, outsider_text
from bot.outbox import REWRITTEN
from bot.permissions import PermissionDenied, refusal
from bot.playbooks import render
from bot.playbooks.machine import (
    RUN_STATUS_ZH,
    STEP_STATUS_ZH,
    Answer,
    Cancel,
    Event,
    Outcome,
    Reopen,
    Resolve,
    RunState,
    RunStatus,
    Start,
    StepState,
    StepStatus,
    TimelineEntry,
    TransitionRejected,
    answer_aliases,
    apply,
    plan_run,
)
from bot.playbooks.metrics import check_exit, normal_max_for, overall_share, share_series
from bot.playbooks.models import CrisisRun, CrisisStep, CrisisTimelineEntry
from bot.playbooks.review import (
    LinkedAlert,
    MetricSummary,
    ReviewInput,
    render_review,
    review_summary,
    share_figures,
)
from bot.playbooks.schema import Playbook
from bot.playbooks.settings import RESTRICTED_ACTIONS, PlaybooksConfig
from bot.playbooks.validate import PlaybookSet
from bot.record_numbers import parse_record_number, record_digits
from bot.reports.charts import SharePoint
from bot.scope import unsupported_platform
from bot.storage.models import Comment

if TYPE_CHECKING:  # pragma: no cover
    from bot.config import AppConfig
    from bot.outbox import Outbox
    from bot.scope import ChannelScope
    from bot.storage.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


# The playbook a comment escalated from the reply queue starts when no run is active for its account.
ESCALATION_PLAYBOOK = "product-complaint"


def linked_alerts(entries: Sequence[TimelineEntry]) -> list[str]:
    """The alert keys linked on a timeline ("关联告警 KEY：…", as link_alert and the reminder job write them)."""
    keys = []
    for entry in entries:
        if entry.kind == "alert" and entry.text.startswith("关联告警 "):
            keys.append(entry.text.removeprefix("关联告警 ").split("：", 1)[0].strip())
    return keys


class RunNotFound(EnglishToo, LookupError):
    """No such run here, or the channel has none/several active runs; the message says which (`en`: in
    English alone, for a channel set to English)."""


class PlaybookNotFound(EnglishToo, LookupError):
    pass


class InvalidInput(EnglishToo, ValueError):
    """A value the command gave is not usable; `en` says so in English alone."""


#: the title of a run started from an alert (bot/handlers/watch.py's 启动预案 button), in Chinese and in English
ALERT_TITLE_ZH = "负面评论激增："
ALERT_TITLE_EN = "Negative comment spike: "


def alert_run_title(name: str, lang: str = "zh") -> str:
    """The title of a run started from an alert on account `name`, in the channel's language."""
    return f"{ALERT_TITLE_EN if lang == 'en' else ALERT_TITLE_ZH}{name}"


class _VersionConflict(Exception):
    pass


@dataclass(frozen=True, slots=True)
class AlertRunLink:
    """An active run that handles an alert, as `raise_for_alert` left it."""

    run_id: int
    channel: str
    title: str
    #: who answers for the run: the 指挥 (commander) role's assignee, else whoever started it
    commander: str
    severity_before: int
    severity: int

    @property
    def raised(self) -> bool:
        return self.severity < self.severity_before


#: the run's severity in a sentence ("升级为一级"); SEVERITY_ZH adds "（最高）" for the card
SEVERITY_SHORT_ZH = {1: "一级", 2: "二级", 3: "三级"}
COMMANDER_ROLE = "指挥"


@dataclass(frozen=True, slots=True)
class Report:
    markdown: str
    png: bytes
    filename: str
    title: str = ""  # the run's title
    summary: str = ""  # the review as a chat message's text (`review_summary`)
    lang: str = "zh"  # the language of the run's channel, which the review is written in


def review_filename(run_id: int) -> str:
    """The review's file name as the channel receives it."""
    return f"crisis-{run_id}-review.md"


def card_key(run_id: int) -> str:
    return f"crisis:{run_id}:card"


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _remind_key(run_id: int, who_key: str, at: datetime) -> str:
    """The outbox key of the reminder to `who_key` queued at `at` (the `reminded_at` of its steps)."""
    return f"crisis:{run_id}:remind:{who_key}:{_stamp(at)}"


def _nag_key(run_id: int, at: datetime) -> str:
    """The outbox key of the status nag queued at `at` (the run's `last_status_at` until the next update)."""
    return f"crisis:{run_id}:nag:{_stamp(at)}"


class PlaybookService:
    """Starts runs, applies commands, reminds, suggests exits and writes reviews."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        outbox: Outbox,
        config: AppConfig,
        playbooks: PlaybookSet,
        settings: PlaybooksConfig | None = None,
        scope: ChannelScope | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.outbox = outbox
        self.config = config
        self.playbooks = playbooks
        self.settings = settings or config.playbooks
        self.scope = scope

    # ---- helpers -------------------------------------------------------------------------------
    @property
    def tz(self) -> str:
        return self.config.timezone

    def channel_tz(self, channel: str) -> str:
        return self.config.channel_timezone(channel)

    def channel_lang(self, channel: str) -> str:
        """'zh' or 'en': the language the channel's crisis messages are written in."""
        return self.config.channel_language(channel)

    def find_playbook(self, name: str) -> Playbook:
        playbook = self.playbooks.find(name)
        if playbook is None:
            books = self.playbooks.playbooks
            known = "、".join(f"{p.id}（{p.name}）" for p in books)
            raise PlaybookNotFound(
                f"没有预案 {name!r}，可用：{known}（/crisis list 查看详情）/ unknown playbook {name!r}; "
                f"available: {', '.join(p.id for p in books)}",
                en=f"Unknown playbook {name!r}. Available: "
                   f"{', '.join(f'{p.id} ({p.title_en or p.name})' for p in books)} (/crisis list has the details)",
            )
        return playbook

    def check_permission(self, action: str, user: str) -> None:
        """Raise PermissionDenied naming who may, when config restricts `action` to some roles."""
        refused = refusal(RESTRICTED_ACTIONS[action], getattr(self.settings.permissions, action), self.config.roles, user)
        if refused is not None:
            raise refused

    @staticmethod
    def _state(run: CrisisRun, steps: Sequence[CrisisStep]) -> RunState:
        # The English words for answers come from the run's copy of its playbook (no column of their own;
        # runs started before `answers_en` existed simply have none).
        snapshot_steps = (run.playbook or {}).get("steps") or [] if isinstance(run.playbook, dict) else []
        aliases = {str(s.get("id")): answer_aliases(s.get("answers_en")) for s in snapshot_steps if isinstance(s, dict)}
        return RunState(
            status=RunStatus(run.status),
            steps=tuple(
                StepState(
                    step_id=s.step_id,
                    position=s.position,
                    title=s.title,
                    owner_role=s.owner_role,
                    due_after=timedelta(seconds=s.due_after_s),
                    due_at=s.due_at,
                    status=StepStatus(s.status),
                    assignee=s.assignee,
                    answer=s.answer,
                    finished_at=s.finished_at,
                    finished_by=s.finished_by,
                    reason=s.reason,
                    after=tuple(s.after or ()),
                    gate=(s.gate[0], s.gate[1]) if s.gate else None,
                    answers=tuple(s.answers or ()),
                    aliases=aliases.get(s.step_id, ()),
                )
                for s in sorted(steps, key=lambda s: s.position)
            ),
            started_at=run.started_at,
            closed_at=run.closed_at,
            closed_by=run.closed_by,
            close_reason=run.close_reason,
            role_assignees=MappingProxyType(dict(run.role_assignees or {})),
        )

    def _view(self, session: Session, run: CrisisRun, steps: Sequence[CrisisStep]) -> render.RunView:
        assert run.id is not None
        return render.RunView(
            id=run.id,
            channel=run.channel,
            title=run.title,
            severity=run.severity,
            account=run.account,
            playbook=Playbook.from_snapshot(run.playbook),
            state=self._state(run, steps),
            version=run.version,
            started_by=run.started_by,
            alert_id=run.alert_id,
            variables=dict(run.variables or {}),
            normal_max=run.normal_max,
            baseline_share=run.baseline_share,
            last_status_at=run.last_status_at,
            exit_hint_at=run.exit_hint_at,
            alert=self._alerts_in(session, [run.alert_id])[0] if run.alert_id else None,
            account_name=next((a.name for a in self.config.accounts if a.key == run.account and a.name), None),
        )

    def _load(self, session: Session, run_id: int) -> tuple[CrisisRun, list[CrisisStep]]:
        run = session.get(CrisisRun, run_id)
        if run is None:
            raise RunNotFound(f"没有预案 #{run_id} / no run #{run_id}", en=f"No run #{run_id}.")
        steps = list(session.exec(select(CrisisStep).where(CrisisStep.run_id == run_id)).all())
        return run, steps

    def get(self, run_id: int) -> render.RunView:
        with self.db.session() as session:
            run, steps = self._load(session, run_id)
            return self._view(session, run, steps)

    def active_runs(self, channel: str | None = None) -> list[render.RunView]:
        with self.db.session() as session:
            query = select(CrisisRun).where(CrisisRun.status == RunStatus.ACTIVE.value)
            if channel is not None:
                query = query.where(CrisisRun.channel == channel)
            runs = list(session.exec(query.order_by(CrisisRun.id)).all())
            views = []
            for run in runs:
                steps = session.exec(select(CrisisStep).where(CrisisStep.run_id == run.id)).all()
                views.append(self._view(session, run, steps))
            return views

    def resolve_run_id(self, channel: str, ref: str | int | None, *, latest_if_none: bool = False) -> int:
        """The run a command means: the given id (must belong to this channel), else the channel's only
        active run; with `latest_if_none` (read-only commands) the channel's latest run when none is active."""
        if ref is not None and str(ref).strip():
            text = record_digits(ref)
            if text is None:
                raise RunNotFound(f"预案编号应为数字，例如 #12 / a run id is a number: {ref!r}",
                                  en=f"A run id is a number, e.g. #12: {ref!r}")
            run_id = parse_record_number(text)
            run = None
            if run_id is not None:  # a number past any stored id names no run
                with self.db.session() as session:
                    run = session.get(CrisisRun, run_id)
            if run is None or run.channel != channel:
                raise RunNotFound(f"本频道没有预案 #{text} / no run #{text} in this channel",
                                  en=f"No run #{text} in this channel.")
            return run_id
        with self.db.session() as session:
            ids = list(
                session.exec(
                    select(CrisisRun.id)
                    .where(CrisisRun.channel == channel, CrisisRun.status == RunStatus.ACTIVE.value)
                    .order_by(CrisisRun.id)
                ).all()
            )
        if not ids and latest_if_none:
            with self.db.session() as session:
                latest = session.exec(
                    select(CrisisRun.id).where(CrisisRun.channel == channel).order_by(CrisisRun.id.desc())
                ).first()
            if latest is not None:
                return int(latest)
        if not ids:
            raise RunNotFound("本频道没有进行中的预案，用 /crisis start 启动 / no active run in this channel",
                              en="No active run in this channel: start one with /crisis start.")
        if len(ids) > 1:
            listed = "、".join(f"#{i}" for i in ids)
            raise RunNotFound(
                f"本频道有多个进行中的预案（{listed}），请加 --run 编号 / several active runs: add --run N",
                en=f"Several active runs in this channel ({', '.join(f'#{i}' for i in ids)}): add --run N.",
            )
        return int(ids[0])

    def account_key(self, channel: str, account: str | None) -> str | None:
        """'platform:account_id', an account id or a configured name -> 'platform:account_id' the channel
        may see; raises ValueError otherwise."""
        if not account:
            return None
        text = account.strip()
        match = None
        for item in self.config.accounts:
            if text in (item.key, item.account_id, item.name):
                match = item.key
                break
        if match is None:
            if ":" not in text:
                raise InvalidInput(
                    f"未知账号 {text!r}，请用 平台:账号ID，例如 douyin:lanji_official / unknown account",
                    en=f"Unknown account {text!r}: write platform:account_id, e.g. douyin:lanji_official",
                )
            if (why := unsupported_platform(text)) is not None:
                raise ValueError(why)
            match = text
        if self.scope is not None and not self.scope.can_see(channel, match):
            raise PermissionDenied(f"本频道不能查看账号 {match} / this channel may not see {match}",
                                   en=f"This channel may not see {match}")
        return match

    # ---- starting ------------------------------------------------------------------------------
    def start_run(
        self,
        channel: str,
        playbook_id: str,
        title: str | None,
        severity: int | None,
        account: str | None,
        started_by: str,
        alert_id: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> render.RunView:
        """Start a run (steps copied, due times made absolute) and post its card. Starting again from
        the same alert returns the run already active for it."""
        self.check_permission("start", started_by)
        playbook = self.find_playbook(playbook_id)
        if severity is None:
            severity = playbook.default_severity
        if severity not in (1, 2, 3):
            raise InvalidInput("严重程度应为 1-3 / severity must be 1, 2 or 3", en="Severity must be 1, 2 or 3")
        unknown = sorted(set(variables or {}) - set(playbook.variables))
        if unknown:
            # a misspelt name would silently leave the default (or 【待填】) in a public statement
            known = "、".join(playbook.variables) or "（无 / none）"
            raise InvalidInput(
                f"预案 {playbook.id} 没有变量 {'、'.join(unknown)}，可用：{known} / "
                f"unknown variable {', '.join(unknown)}; this playbook has: {', '.join(playbook.variables) or 'none'}",
                en=f"Unknown variable {', '.join(unknown)}; this playbook has: {', '.join(playbook.variables) or 'none'}",
            )
        empty = sorted(name for name, value in (variables or {}).items() if not str(value).strip())
        if empty:
            # "nothing is silently blank": an empty value would print a blank into a public statement
            defaults = [f"{n}（默认：{playbook.variables[n].default}）" if playbook.variables[n].default else n
                        for n in empty]
            raise InvalidInput(
                f"变量 {'、'.join(defaults)} 的值为空，公开回应口径里会留下空白：请写 --var {empty[0]}=值，"
                f"或去掉它使用默认值 / --var {', '.join(empty)} has an empty value that would leave a blank in "
                f"the public statements: give {empty[0]}=VALUE, or leave it out to use the default",
                en=f"--var {', '.join(empty)} has an empty value that would leave a blank in the public statements: "
                   f"give {empty[0]}=VALUE, or leave it out to use the default",
            )
        account_key = self.account_key(channel, account)
        variables = dict(variables or {})
        if account_key and "brand" in playbook.variables and "brand" not in variables:
            # The statements speak as the account: its configured name reads right where the generic
            # default did not ("您好，我是我们的客服"). --var brand=... still wins.
            name = next((a.name for a in self.config.accounts if a.key == account_key and a.name), None)
            if name:
                variables["brand"] = name
        now = self.clock.now()
        if alert_id:
            existing_id = self._active_run_for_alert(alert_id)
            if existing_id is not None:
                return self.get(existing_id)
        outcome = apply(plan_run(playbook), Start(started_by), now)
        baseline_share, baseline_comments, normal_max = None, 0, playbook.exit.negative_share_max
        if account_key:
            platform, _, account_id = account_key.partition(":")
            negative, baseline_comments = self._share_counts(
                platform, account_id, now - playbook.exit.baseline_window, now
            )
            baseline_share = negative / baseline_comments if baseline_comments else None
            normal_max = normal_max_for(
                baseline_share,
                baseline_comments,
                absolute_max=playbook.exit.negative_share_max,
                margin=playbook.exit.baseline_margin,
                min_comments=playbook.exit.min_comments,
            )
        try:
            view = self._insert_run(
                channel=channel,
                playbook=playbook,
                outcome=outcome,
                title=title,
                severity=severity,
                account_key=account_key,
                variables=variables,
                alert_id=alert_id,
                now=now,
                started_by=started_by,
                baseline=(normal_max, baseline_share, baseline_comments),
            )
        except IntegrityError:
            # Another press for the same alert won the race (uq_crisis_run_active_alert).
            existing_id = self._active_run_for_alert(alert_id) if alert_id else None
            if existing_id is None:
                raise
            return self.get(existing_id)
        log.info("crisis run %s started: %s in %s by %s", view.id, playbook.id, channel, started_by)
        return view

    def _active_run_for_alert(self, alert_id: str) -> int | None:
        with self.db.session() as session:
            return session.exec(
                select(CrisisRun.id).where(
                    CrisisRun.alert_id == alert_id, CrisisRun.status == RunStatus.ACTIVE.value
                )
            ).first()

    def _insert_run(
        self,
        *,
        channel: str,
        playbook: Playbook,
        outcome: Outcome,
        title: str | None,
        severity: int,
        account_key: str | None,
        variables: dict[str, str] | None,
        alert_id: str | None,
        now: datetime,
        started_by: str,
        baseline: tuple[float | None, float | None, int],
    ) -> render.RunView:
        """Insert the run, its steps and timeline, and queue its card, in one transaction."""
        normal_max, baseline_share, baseline_comments = baseline
        with self.db.session() as session:
            run = CrisisRun(
                channel=channel,
                playbook_id=playbook.id,
                playbook_name=playbook.name,
                playbook=playbook.snapshot(),
                # a default title carries the start time as the channel reads it (like the card does)
                title=("" if is_blank(title) else (title or "").strip())
                or f"{render.playbook_name(playbook, self.channel_lang(channel))} "
                   f"{render.local(now, self.channel_tz(channel), '%m-%d %H:%M')}",
                severity=severity,
                account=account_key,
                status=outcome.state.status.value,
                variables=dict(variables or {}),
                role_assignees={},
                alert_id=alert_id,
                started_at=now,
                started_by=started_by,
                version=1,
                last_status_at=now,
                normal_max=normal_max,
                baseline_share=baseline_share,
                baseline_comments=baseline_comments,
            )
            session.add(run)
            session.flush()
            assert run.id is not None
            for step in outcome.state.steps:
                session.add(
                    CrisisStep(
                        run_id=run.id,
                        step_id=step.step_id,
                        position=step.position,
                        title=step.title,
                        owner_role=step.owner_role,
                        due_after_s=int(step.due_after.total_seconds()),
                        due_at=step.due_at,
                        status=step.status.value,
                        after=list(step.after),
                        gate=list(step.gate) if step.gate else None,
                        answers=list(step.answers),
                    )
                )
            entries = list(outcome.entries)
            if alert_id:
                entries.append(
                    TimelineEntry(now, started_by, "alert", f"由告警 {alert_id} 启动 / from alert", None)
                )
            self._add_entries(session, run.id, entries)
            session.flush()
            steps = list(session.exec(select(CrisisStep).where(CrisisStep.run_id == run.id)).all())
            view = self._view(session, run, steps)
            self.outbox.enqueue(
                session,
                channel=channel,
                message=render.run_card(
                    view, now, self.channel_tz(channel), max_steps=self.settings.card_steps,
                    lang=self.channel_lang(channel),
                ),
                key=card_key(run.id),
            )
        return view

    @staticmethod
    def _add_entries(session: Session, run_id: int, entries: Sequence[TimelineEntry]) -> None:
        for entry in entries:
            session.add(
                CrisisTimelineEntry(
                    run_id=run_id,
                    at=entry.at,
                    actor=entry.actor,
                    kind=entry.kind,
                    step_id=entry.step_id,
                    text=entry.text,
                )
            )

    # ---- transitions ---------------------------------------------------------------------------
    def transition(self, run_id: int, event: Event) -> tuple[render.RunView, tuple[TimelineEntry, ...]]:
        """Apply one command to a run exactly once, even when others change the run at the same time.

        Raises TransitionRejected (with a bilingual reason) when the command does not apply.
        """
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self._transition_once(run_id, event)
            except _VersionConflict:
                log.debug("crisis run %s changed concurrently (attempt %d); retrying", run_id, attempt + 1)
            except OperationalError as exc:  # SQLite "database is locked" under heavy contention
                if "locked" not in str(exc).lower():
                    raise
                log.debug("crisis run %s: database busy (attempt %d); retrying", run_id, attempt + 1)
        raise RuntimeError(f"crisis run {run_id}: too many concurrent changes; try again")

    def _transition_once(self, run_id: int, event: Event) -> tuple[render.RunView, tuple[TimelineEntry, ...]]:
        now = self.clock.now()
        with self.db.session() as session:
            run, steps = self._load(session, run_id)
            before = self._state(run, steps)
            outcome = apply(before, event, now)
            after = outcome.state
            values: dict[str, Any] = {
                "version": run.version + 1,
                "status": after.status.value,
                "closed_at": after.closed_at,
                "closed_by": after.closed_by,
                "close_reason": after.close_reason,
                "role_assignees": dict(after.role_assignees),
            }
            if event.kind == "note":
                values["last_status_at"] = now
            result = session.execute(
                update(CrisisRun)
                .where(CrisisRun.id == run_id, CrisisRun.version == run.version)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise _VersionConflict()
            rows = {s.step_id: s for s in steps}
            for old, new in zip(before.steps, after.steps, strict=True):
                if old == new:
                    continue
                reminders: dict[str, Any] = {}
                if old.status is not StepStatus.OPEN and new.status is StepStatus.OPEN:
                    # reopened (or back in a reopened decision's branch): reminded as a fresh open step is,
                    # not after the reminder or snooze of its earlier open time
                    reminders = {"reminded_at": None, "snoozed_until": None}
                session.execute(
                    update(CrisisStep)
                    .where(CrisisStep.id == rows[new.step_id].id)
                    .values(
                        status=new.status.value,
                        assignee=new.assignee,
                        answer=new.answer,
                        finished_at=new.finished_at,
                        finished_by=new.finished_by,
                        reason=new.reason,
                        **reminders,
                    )
                    .execution_options(synchronize_session=False)
                )
            self._add_entries(session, run_id, outcome.entries)
            session.expire_all()
            run, steps = self._load(session, run_id)
            view = self._view(session, run, steps)
            self._update_card(session, view, now)
            self._withdraw_stale_reminders(session, view, before, steps, now)
        return view, outcome.entries

    def _withdraw_stale_reminders(self, session: Session, view: render.RunView, before: RunState,
                                  rows: Sequence[CrisisStep], now: datetime) -> None:
        """Reminders and nags still waiting in the outbox (a chat outage) must not ping people about what
        is over by the time the chat is back: a run resolved or cancelled withdraws its reminders, status
        nags and exit suggestion; a step done, skipped or left out (a branch not taken) drops out of the
        waiting reminder that lists it, which is withdrawn when nothing overdue is left in it."""
        if view.state.status is not RunStatus.ACTIVE:
            if before.status is RunStatus.ACTIVE:
                for prefix in (f"crisis:{view.id}:remind:", f"crisis:{view.id}:nag:", f"crisis:{view.id}:exit-hint"):
                    self.outbox.withdraw(session, channel=view.channel, key_prefix=prefix)
            return
        reminded = {row.step_id: row.reminded_at for row in rows}
        # a step waiting again (a reopened step it comes after, its reopened decision) is no longer overdue
        waiting_again = ({s.step_id for s in before.overdue_steps(now)}
                         - {s.step_id for s in view.state.overdue_steps(now)})
        finished = {
            _stamp(reminded[new.step_id])
            for old, new in zip(before.steps, view.state.steps, strict=True)
            if ((old.status is StepStatus.OPEN and new.status is not StepStatus.OPEN) or new.step_id in waiting_again)
            and reminded.get(new.step_id)
        }
        if not finished:
            return
        prefix = f"crisis:{view.id}:remind:"
        originals = dict.fromkeys(
            update_of or key
            for key, update_of in self.outbox.pending_keys(session, channel=view.channel, key_prefix=prefix)
        )
        overdue = view.state.overdue_steps(now)
        tz = self.channel_tz(view.channel)
        for original in originals:
            # "<prefix><owner>:<stamp>": both have colons ("slack:U1", an ISO time), so match the known stamps
            stamp = next((t for t in finished if original.endswith(f":{t}")), None)
            if stamp is None:
                continue
            who_key = original[len(prefix) : -len(stamp) - 1]
            remaining = [
                s for s in overdue
                if reminded.get(s.step_id) is not None and _stamp(reminded[s.step_id]) == stamp
                and (view.state.assignee_of(s) or f"role:{s.owner_role}") == who_key
            ]
            if not remaining:
                self.outbox.withdraw(session, channel=view.channel, key_prefix=original)
                continue
            message = render.reminder_message(view, who_key, remaining, now, tz, self.channel_lang(view.channel))
            if self.outbox.rewrite(session, channel=view.channel, key=original, message=message) == REWRITTEN:
                self.outbox.withdraw(session, channel=view.channel, key_prefix=f"{original}:v")
            else:  # out already, being sent, or maybe shown by an earlier attempt: an edit shows what is left
                self.outbox.enqueue(session, channel=view.channel, message=message,
                                    key=f"{original}:v{_stamp(now)}", update_of=original, refresh=True)

    def _update_card(self, session: Session, view: render.RunView, now: datetime) -> None:
        """Queue the run card's new version (an update of the posted card, keyed by the run's version)."""
        self.outbox.enqueue(
            session,
            channel=view.channel,
            message=render.run_card(view, now, self.channel_tz(view.channel), max_steps=self.settings.card_steps,
                                    lang=self.channel_lang(view.channel)),
            key=f"{card_key(view.id)}:v{view.version}",
            update_of=card_key(view.id),
        )

    def resolve(self, run_id: int, actor: str, summary: str = "") -> render.RunView:
        """Resolve the run and post the review with the chart."""
        self.check_permission("resolve", actor)
        view, _ = self.transition(run_id, Resolve(actor, summary))
        self.post_report(run_id)
        return view

    def cancel(self, run_id: int, actor: str, reason: str) -> render.RunView:
        self.check_permission("cancel", actor)
        return self.transition(run_id, Cancel(actor, reason))[0]

    def set_severity(self, run_id: int, severity: int, actor: str, reason: str) -> tuple[render.RunView, int]:
        """Raise or lower an active run's severity by hand (/crisis severity), with a reason; recorded on the
        timeline as a "severity" entry (as an alert's rise is) and shown on the card. The status nag follows
        the new severity from the next reminder round (`status_nag_minutes`). Returns the run and its
        severity before. Raises TransitionRejected when the run is closed or already at that severity."""
        self.check_permission("severity", actor)
        if severity not in (1, 2, 3):
            raise InvalidInput("严重程度应为 1、2 或 3 / severity must be 1, 2 or 3", en="Severity must be 1, 2 or 3")
        if is_blank(reason):
            raise TransitionRejected("调整严重程度需要说明原因 / changing the severity needs a reason",
                                     code="needs_reason", en="Changing the severity needs a reason")
        for _attempt in range(MAX_ATTEMPTS):
            now = self.clock.now()
            with self.db.session() as session:
                run, _ = self._load(session, run_id)
                before = run.severity
                if run.status != RunStatus.ACTIVE.value:
                    raise TransitionRejected(
                        f"预案 #{run_id} {RUN_STATUS_ZH[RunStatus(run.status)]}，不能调整严重程度 / run #{run_id} "
                        f"is {run.status}: its severity no longer changes", code="run_state",
                        en=f"Run #{run_id} is {run.status}: its severity no longer changes")
                if before == severity:
                    raise TransitionRejected(
                        f"预案 #{run_id} 已是{SEVERITY_SHORT_ZH[severity]}，未改变 / run #{run_id} is already "
                        f"SEV{severity}: nothing changed", code="same_severity",
                        en=f"Run #{run_id} is already SEV{severity}: nothing changed")
                changed = session.execute(
                    update(CrisisRun)
                    .where(CrisisRun.id == run_id, CrisisRun.version == run.version,
                           CrisisRun.status == RunStatus.ACTIVE.value)
                    .values(severity=severity, version=run.version + 1)
                    .execution_options(synchronize_session=False)
                ).rowcount == 1
                if not changed:  # another change came first: read the run again
                    session.rollback()
                    continue
                word, was = SEVERITY_SHORT_ZH[severity], SEVERITY_SHORT_ZH.get(before, str(before))
                verb, verb_en = ("升级", "raised") if severity < before else ("降级", "lowered")
                self._add_entries(session, run_id, [TimelineEntry(
                    now, actor, "severity",
                    f"{verb}为{word}（{was} → {word}）：{reason.strip()} / {verb_en} to SEV{severity} "
                    f"(was SEV{before}): {reason.strip()}",
                )])
                session.flush()
                session.expire_all()
                run, steps = self._load(session, run_id)
                view = self._view(session, run, steps)
                self._update_card(session, view, now)
            log.info("crisis run %s severity %s -> %s by %s", run_id, before, severity, actor)
            return view, before
        raise RuntimeError(f"crisis run {run_id}: too many concurrent changes; try again")

    def reopen(self, run_id: int, step_id: str, actor: str, reason: str) -> render.RunView:
        """Take back a step done, answered or skipped by mistake (/crisis reopen): open again with its owner,
        its answer cleared, reminded again as a fresh open step (from its due time, which stays the
        playbook's). Restricted by `playbooks.permissions.reopen`. Raises TransitionRejected when the step is
        open, not applicable, unknown, or the run is closed."""
        self.check_permission("reopen", actor)
        return self.transition(run_id, Reopen(step_id, actor, reason))[0]

    def answer(self, run_id: int, step_id: str, answer: str, actor: str) -> render.RunView:
        return self.transition(run_id, Answer(step_id, answer, actor))[0]

    def escalate_comment(
        self,
        *,
        channel: str,
        account_key: str,
        platform: str,
        comment_id: str,
        text: str,
        user: str,
        user_name: str | None = None,
        note: str | None = None,
    ) -> str:
        """升级 from the reply queue: attach the comment to the channel's active run for that account (as
        a timeline note), or start the product-complaint playbook for it. Returns the answer to show."""
        # the commenter's words: inert (a link written in the comment shows as typed on the timeline and card)
        quoted = outsider_text(text if len(text) <= 120 else text[:119] + "…")
        entry = f"升级评论 / escalated comment {platform}:{comment_id}：「{quoted}」" + (f" — {note}" if note else "")
        runs = [r for r in self.active_runs(channel) if r.account in (None, account_key)]
        english = self.channel_lang(channel) == "en"
        if runs:
            run = runs[-1]
            self._add_escalation(run.id, entry, user)
            if english:
                return f"Added to the timeline of active run #{run.id} “{inert(run.title)}”"
            return f"已加入处置中的预案 #{run.id}「{inert(run.title)}」的时间线 / added to the timeline of active run #{run.id}"
        run = self.start_run(
            channel, ESCALATION_PLAYBOOK, f"{'Escalated comment: ' if english else '评论升级：'}{quoted[:30]}", None,
            account_key, user,
        )
        self._add_escalation(run.id, entry, user)
        if english:
            return f"Started run #{run.id} “{inert(run.title)}” for this comment"
        return f"已启动预案 #{run.id}「{inert(run.title)}」/ started run #{run.id} for this comment"

    def _add_escalation(self, run_id: int, text: str, actor: str) -> None:
        """An escalated comment goes on the timeline as its own kind, not as a /crisis note: a note is the
        commander's status update and restarts the status-nag clock, which a stream of escalated comments
        would otherwise keep silencing."""
        with self.db.session() as session:
            self._add_entries(session, run_id, [TimelineEntry(self.clock.now(), actor, "escalation", text)])

    def link_alert(self, run_id: int, alert_id: str, actor: str = "crisisbot", text: str = "") -> None:
        """Record an alert that fired during the run on its timeline (shown in the review), once: the
        reminder job links the account's new alerts too, and a 启动预案 press may come before or after it."""
        now = self.clock.now()
        with self.db.session() as session:
            run, _ = self._load(session, run_id)
            if alert_id in linked_alerts(self._timeline_in(session, run_id, kinds=("alert",))):
                return
            line = f"关联告警 {alert_id}" + (f"：{text}" if text else "")
            self._add_entries(session, run_id, [TimelineEntry(now, actor, "alert", line)])

    def raise_for_alert(
        self, session: Session, *, alert_key: str, account: str | None, severity: int, now: datetime,
        alert_label: str = "",
    ) -> list[AlertRunLink]:
        """An alert rose to `severity` (1 = most severe): the active runs handling it follow.

        Runs in the caller's transaction (the alert service's, so the rise, the run and the messages
        commit or roll back together; on SQLite a second session would wait for that transaction's
        write lock). A run handles the alert when it was started from it, has it on its timeline, or
        watches its account (a `/crisis start --account` run is the team's response to that account's
        crisis, whenever the alert came). A run's severity only ever goes up here: one started higher
        than the alert keeps its own. A rise is put on the timeline (the review's "升级为一级 at HH:MM")
        and the run card is re-rendered. Returns every handling run, raised or not, so the caller can
        address its commander."""
        runs = list(
            session.exec(
                select(CrisisRun)
                .where(CrisisRun.status == RunStatus.ACTIVE.value)
                .order_by(CrisisRun.id)
                .execution_options(populate_existing=True)
            ).all()
        )
        if not runs:
            return []
        linked: dict[int, set[str]] = {}
        for entry in session.exec(
            select(CrisisTimelineEntry).where(
                CrisisTimelineEntry.run_id.in_([r.id for r in runs]), CrisisTimelineEntry.kind == "alert"
            )
        ).all():
            linked.setdefault(entry.run_id, set()).update(
                linked_alerts([TimelineEntry(entry.at, entry.actor, entry.kind, entry.text)])
            )
        links = []
        for run in runs:
            assert run.id is not None
            on_timeline = alert_key in linked.get(run.id, set())
            if not (run.alert_id == alert_key or on_timeline or (account and run.account == account)):
                continue
            before = run.severity
            entries = []
            if run.alert_id != alert_key and not on_timeline:
                # the review's "Linked alerts" then names the alert that raised the run
                entries.append(TimelineEntry(now, "crisisbot", "alert", f"关联告警 {alert_key}：sev{severity}"))
            # One statement that can only raise (a smaller number is more severe): a concurrent rise or a
            # run started higher is never lowered. The version moves on like a transition's, so a
            # transition that read the run before this fails its compare-and-set and re-reads it.
            raised = session.execute(
                update(CrisisRun)
                .where(CrisisRun.id == run.id, CrisisRun.status == RunStatus.ACTIVE.value,
                       CrisisRun.severity > severity)
                .values(severity=severity, version=CrisisRun.version + 1)
                .execution_options(synchronize_session=False)
            ).rowcount == 1
            if raised:
                word = SEVERITY_SHORT_ZH.get(severity, str(severity))
                label = alert_label or f"sev{severity}"
                entries.append(TimelineEntry(
                    now, "crisisbot", "severity",
                    f"升级为{word}（{SEVERITY_SHORT_ZH.get(before, before)} → {word}），关联告警 {alert_key} 升为{label}"
                    f" / raised to SEV{severity} (was SEV{before}): the linked alert rose",
                ))
            self._add_entries(session, run.id, entries)
            session.flush()
            run, steps = self._load_fresh(session, run.id)
            view = self._view(session, run, steps)
            if raised:
                self._update_card(session, view, now)
                log.info("crisis run %s raised to severity %s by alert %s", run.id, severity, alert_key)
            commander = view.state.role_assignees.get(COMMANDER_ROLE) or run.started_by
            links.append(AlertRunLink(run.id, run.channel, run.title, commander, before, run.severity))
        return links

    @staticmethod
    def _load_fresh(session: Session, run_id: int) -> tuple[CrisisRun, list[CrisisStep]]:
        """The run as the database has it now, in a session that may hold other pending objects (the
        caller's): re-read in place instead of `expire_all`, which would drop the caller's pending state."""
        run = session.exec(
            select(CrisisRun).where(CrisisRun.id == run_id).execution_options(populate_existing=True)
        ).one()
        steps = list(session.exec(select(CrisisStep).where(CrisisStep.run_id == run_id)).all())
        return run, steps

    def timeline(self, run_id: int) -> list[TimelineEntry]:
        with self.db.session() as session:
            rows = session.exec(
                select(CrisisTimelineEntry)
                .where(CrisisTimelineEntry.run_id == run_id)
                .order_by(CrisisTimelineEntry.at, CrisisTimelineEntry.id)
            ).all()
            return [TimelineEntry(r.at, r.actor, r.kind, r.text, r.step_id) for r in rows]

    def snooze(
        self, run_id: int, step_ids: Sequence[str], actor: str, minutes: int | None = None
    ) -> datetime:
        """Postpone reminders of these steps; returns until when. Only an active run's open steps have
        reminders: a closed run, a step the run does not have, or a step already finished is refused
        (TransitionRejected) and nothing is recorded; of a reminder's group, the steps finished since it
        was sent are left out."""
        minutes = minutes or self.settings.snooze_minutes
        now = self.clock.now()
        until = now + timedelta(minutes=minutes)
        with self.db.session() as session:
            state = self._state(*self._load(session, run_id))
            if state.status is not RunStatus.ACTIVE:
                raise TransitionRejected(
                    f"预案 #{run_id} {RUN_STATUS_ZH[state.status]}，不再提醒，无需推迟 / run #{run_id} is "
                    f"{state.status.value}: it has no reminders to snooze",
                    code="run_state",
                    en=f"Run #{run_id} is {state.status.value}: it has no reminders to snooze",
                )
            if not step_ids:
                raise TransitionRejected("没有指定要推迟提醒的步骤 / no step to snooze", code="unknown_step",
                                         en="No step to snooze")
            unknown = [s for s in step_ids if not state.has_step(s)]
            if unknown:
                raise TransitionRejected(
                    f"预案 #{run_id} 没有步骤 {'、'.join(unknown)}，未推迟 / run #{run_id} has no step "
                    f"{', '.join(unknown)}: nothing snoozed",
                    code="unknown_step",
                    en=f"Run #{run_id} has no step {', '.join(unknown)}: nothing snoozed",
                )
            named = list(dict.fromkeys(step_ids))
            step_ids = [s for s in named if state.step(s).status is StepStatus.OPEN]
            if not step_ids:
                raise TransitionRejected(
                    f"步骤 {'、'.join(named)} 已{'、'.join(dict.fromkeys(STEP_STATUS_ZH[state.step(s).status] for s in named))}"
                    f"，不再提醒，无需推迟 / step {', '.join(named)} is already finished: no reminder to snooze",
                    code="step_state",
                    en=f"Step {', '.join(named)} is already finished: no reminder to snooze",
                )
            session.execute(
                update(CrisisStep)
                .where(CrisisStep.run_id == run_id, CrisisStep.step_id.in_(list(step_ids)))
                .values(snoozed_until=until)
                .execution_options(synchronize_session=False)
            )
            self._add_entries(
                session,
                run_id,
                # "remind", not "note": a snooze is no status update (the nag counts from the last note)
                [TimelineEntry(now, actor, "remind", f"提醒推迟 {minutes} 分钟：{'、'.join(step_ids)}")],
            )
        return until

    # ---- comments, reports ---------------------------------------------------------------------
    def _share_counts(
        self, platform: str, account_id: str, start: datetime, end: datetime
    ) -> tuple[int, int]:
        """(negative, scored) comment counts of an account in [start, end), counted by the database."""
        with self.db.session() as session:
            negative, total = session.exec(
                select(
                    func.coalesce(func.sum(case((Comment.sentiment_label == "neg", 1), else_=0)), 0),
                    func.count(Comment.id),
                ).where(
                    Comment.platform == platform,
                    Comment.account_id == account_id,
                    Comment.created_at >= start,
                    Comment.created_at < end,
                    Comment.is_from_account == False,  # noqa: E712 - SQL comparison
                    Comment.sentiment_label.in_(("neg", "neu", "pos")),
                )
            ).one()
        return int(negative or 0), int(total or 0)

    def _labelled_comments(
        self, platform: str, account_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, str | None]]:
        with self.db.session() as session:
            rows = session.exec(
                select(Comment.created_at, Comment.sentiment_label).where(
                    Comment.platform == platform,
                    Comment.account_id == account_id,
                    Comment.created_at >= start,
                    Comment.created_at < end,
                    Comment.is_from_account == False,  # noqa: E712 - SQL comparison
                )
            ).all()
        return [(created_at, label) for created_at, label in rows]

    @staticmethod
    def _bucket_for(span: timedelta) -> timedelta:
        for minutes in (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440):
            if span / timedelta(minutes=minutes) <= 60:
                return timedelta(minutes=minutes)
        return timedelta(days=1)

    def build_report(self, run_id: int) -> Report:
        """The review Markdown and the negative-share chart of the run's account."""
        from bot.reports.charts import negative_share_png

        view = self.get(run_id)
        now = self.clock.now()
        state = view.state
        assert state.started_at is not None
        end = state.closed_at or now
        lead = max(timedelta(hours=6), (end - state.started_at) / 4)
        chart_start = state.started_at - lead
        bucket = self._bucket_for(end - chart_start)
        metrics = MetricSummary(normal_max=view.normal_max)
        if view.account:
            platform, _, account_id = view.account.partition(":")
            labelled = self._labelled_comments(platform, account_id, chart_start, end + timedelta(seconds=1))
            points = share_series(labelled, chart_start, end, bucket)
            # the run's buckets (and the one before its start, where the spike that started it often is)
            peak, latest = share_figures(points, state.started_at - bucket)
            _, comments = overall_share(points)
            metrics = MetricSummary(
                before=view.baseline_share,
                peak=peak.share if peak else None,
                peak_at=peak.start if peak else None,
                latest=latest.share if latest else None,
                normal_max=view.normal_max,
                comments=comments,
            )
        else:
            # No account, no comments: empty buckets over the run itself give the chart its real time axis
            # (with no points at all it spanned years) and its "no scored comments" note.
            points = share_series((), state.started_at, end, self._bucket_for(end - state.started_at))
        filename = f"crisis-{run_id}-negative-share.png"
        lang = self.channel_lang(view.channel)
        cancelled = state.status is RunStatus.CANCELLED
        if lang == "en":
            no_account, end_label = "no account", ("cancelled" if cancelled else "resolved")
        else:
            no_account, end_label = "未指定账号", ("取消" if cancelled else "解除")
        chart_options: dict[str, Any] = {"lang": "en"} if lang == "en" else {}
        png = negative_share_png(
            points,
            title=view.title,
            account=view.account or no_account,
            tz=self.channel_tz(view.channel),
            normal_max=view.normal_max,
            run_start=state.started_at,
            run_end=state.closed_at,
            end_label=end_label,
            **chart_options,
        )
        names = render.english_names(view)
        review = ReviewInput(
            run_id=run_id,
            title=view.title,
            playbook_name=view.playbook.name,
            playbook_title_en=view.playbook.title_en,
            severity=view.severity,
            account=view.account,
            started_by=view.started_by,
            state=state,
            timeline=self.timeline(run_id),
            generated_at=now,
            tz=self.channel_tz(view.channel),
            chart_filename=filename,
            metrics=metrics,
            exit_rule=view.playbook.exit.rule_in(lang),
            # the alert that started the run and those linked to it since
            alerts=self.run_alerts(run_id),
            lang=lang,
            titles_en=dict(names.titles),
            roles_en=dict(names.roles),
        )
        return Report(markdown=render_review(review), png=png, filename=filename, title=view.title,
                      summary=review_summary(review, filename=review_filename(run_id)), lang=lang)

    def _alerts_in(self, session: Session, keys: Sequence[str]) -> tuple[LinkedAlert, ...]:
        """The linked alerts as people read them: account name, video, severity and start from the alert's
        row, else from its key (a purged alert); a key of another form stays as it is. Reads in the given
        session (the run card is rendered inside the alert service's transaction too)."""
        if not keys:
            return ()
        from bot.alerts.models import AlertEpisode

        rows = {
            e.episode_key: e
            for e in session.exec(select(AlertEpisode).where(AlertEpisode.episode_key.in_(list(keys)))).all()
        }
        names = {a.key: a.name for a in self.config.accounts if a.name}
        alerts = []
        for key in keys:
            episode = rows.get(key)
            if episode is None:
                # read from the key, whose account part is "platform:account_id" like the config's keys
                alerts.append(LinkedAlert.from_key(key, names.get(LinkedAlert.from_key(key).account or "")))
                continue
            stats = episode.stats or {}
            alerts.append(LinkedAlert(
                key,
                account=names.get(f"{episode.platform}:{episode.account_id}") or stats.get("account_name")
                or f"{episode.platform}:{episode.account_id}",
                platform=episode.platform,
                video=(stats.get("content_title") or episode.content_id) if episode.content_id else None,
                severity=episode.severity,
                started_at=ensure_aware(episode.started_at),
            ))
        return tuple(alerts)

    def run_alerts(self, run_id: int) -> tuple[LinkedAlert, ...]:
        """The alert that started the run and those linked to it since, as people read them."""
        view = self.get(run_id)
        keys = list(dict.fromkeys([*([view.alert_id] if view.alert_id else []), *linked_alerts(self.timeline(run_id))]))
        with self.db.session() as session:
            return self._alerts_in(session, keys)

    def report_message(self, report: Report, run_id: int) -> Message:
        """The review as a channel shows it: a short summary (status, duration, key figures) as the message,
        the whole Markdown review as the file crisis-N-review.md and the chart as an image beside it (the
        Markdown's tables and image line, sent as message text, showed raw or as a broken link)."""
        from bot.messages import File

        if report.lang == "en":
            name, chart, alt = f"Post-incident review #{run_id}", "Negative share", "negative share"
            title = f"{name}: {inert(report.title)}" if report.title else name
        else:
            name, chart, alt = f"复盘报告 #{run_id} / post-incident review", "负面占比 / negative share", "负面占比"
            title = f"复盘报告 #{run_id}：{inert(report.title)} / post-incident review" if report.title else name
        return Message(
            title=title,
            text=report.summary,
            images=(Image(title=chart, png=report.png, filename=report.filename, alt=alt),),
            files=(File(name=review_filename(run_id), content=report.markdown.encode("utf-8"),
                        mime="text/markdown; charset=utf-8", title=name),),
            meta={"crisis_run": run_id},
        )

    def post_report(self, run_id: int) -> Report:
        """Build the review and post it with the chart to the run's channel (once per run version)."""
        report = self.build_report(run_id)
        view = self.get(run_id)
        self.outbox.send(
            channel=view.channel,
            message=self.report_message(report, run_id),
            key=f"crisis:{run_id}:report:v{view.version}",
        )
        return report

    # ---- the reminder job ----------------------------------------------------------------------
    def tick(self) -> dict[str, int]:
        """One pass of the reminder job: overdue reminders (grouped per person, snoozable), status nags
        by severity, and the metric-based exit suggestion. Everything it needs is in the database, so a
        restart loses nothing."""
        counts = {"reminders": 0, "nags": 0, "exit_hints": 0, "alerts_linked": 0}
        now = self.clock.now()
        for view in self.active_runs():
            try:
                counts["alerts_linked"] += self._link_new_alerts(view)
                counts["reminders"] += self._remind(view, now)
                counts["nags"] += self._nag(view, now)
                counts["exit_hints"] += self._exit_hint(view, now)
            except Exception:  # noqa: BLE001 - one broken run must not stop the others' reminders
                log.exception("reminders failed for crisis run %s", view.id)
        return counts

    def _link_new_alerts(self, view: render.RunView) -> int:
        """Put spike alerts of the run's account detected since it started on its timeline (and so in the
        review): the responders see the crisis flare up again where they work. Read-only on the alerts'
        table; a video episode merged into another is that one's alert, not a new one."""
        if not view.account or view.state.started_at is None:
            return 0
        from bot.alerts.models import AlertEpisode

        platform, _, account_id = view.account.partition(":")
        with self.db.session() as session:
            episodes = session.exec(
                select(AlertEpisode)
                .where(
                    AlertEpisode.platform == platform,
                    AlertEpisode.account_id == account_id,
                    AlertEpisode.detected_at >= view.state.started_at,
                )
                .order_by(AlertEpisode.detected_at, AlertEpisode.id)
            ).all()
            known = set(linked_alerts(self._timeline_in(session, view.id, kinds=("alert",))))
            entries = []
            for episode in episodes:
                key = episode.episode_key
                if key == view.alert_id or key in known or (episode.stats or {}).get("merged_into"):
                    continue
                share = (episode.stats or {}).get("share")
                detail = f"{episode.severity}" + (f"，负面占比 {share:.0%}" if isinstance(share, float) else "")
                entries.append(TimelineEntry(episode.detected_at, "crisisbot", "alert", f"关联告警 {key}：{detail}"))
                known.add(key)
            if not entries:
                return 0
            # Compare-and-set on the run's version, as transitions do: a second bot process (console beside
            # serve) linking the same alerts at the same moment loses and finds them linked next time.
            claimed = session.execute(
                update(CrisisRun)
                .where(CrisisRun.id == view.id, CrisisRun.version == view.version)
                .values(version=view.version + 1)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                session.rollback()
                return 0
            self._add_entries(session, view.id, entries)
        return len(entries)

    @staticmethod
    def _timeline_in(session: Session, run_id: int, kinds: Sequence[str]) -> list[TimelineEntry]:
        rows = session.exec(
            select(CrisisTimelineEntry).where(CrisisTimelineEntry.run_id == run_id, CrisisTimelineEntry.kind.in_(kinds))
        ).all()
        return [TimelineEntry(r.at, r.actor, r.kind, r.text, r.step_id) for r in rows]

    def _remind(self, view: render.RunView, now: datetime) -> int:
        """Remind each owner (a person, or an unassigned role) of their overdue steps, one message each.

        A step is reminded again `remind_every_minutes` after its last reminder *reached the chat* (its
        delivery, or its queueing if that was later), never while that reminder still waits in the outbox
        (a chat outage, a restart during one): then the waiting reminder is refreshed instead, with the
        current overdue steps and times, so the owner gets one reminder with the current content when the chat
        comes back, not one per interval of the outage. Everything is read from the database (the step's
        `reminded_at` names its last reminder's outbox row: `_remind_key`), so this holds across restarts
        and for two bot processes (the compare-and-set on `reminded_at` decides who sends)."""
        repeat = timedelta(minutes=self.settings.remind_every_minutes)
        tz = self.channel_tz(view.channel)
        with self.db.session() as session:
            rows = {
                s.step_id: s
                for s in session.exec(select(CrisisStep).where(CrisisStep.run_id == view.id)).all()
            }
            groups: dict[str, list[tuple[StepState, datetime | None]]] = {}
            for step in view.state.overdue_steps(now):
                row = rows[step.step_id]
                if row.snoozed_until is not None and row.snoozed_until > now:
                    continue
                assignee = view.state.assignee_of(step)
                groups.setdefault(assignee or f"role:{step.owner_role}", []).append((step, row.reminded_at))
            sent = 0
            for who_key, members in groups.items():
                fresh, waiting, pending_at = self._reminder_plan(session, view.id, who_key, members, now, repeat)
                if not fresh and not waiting:
                    continue
                target = pending_at if waiting else now  # the reminder the steps end up in
                included = {s.step_id for s in fresh} | {s.step_id for s in waiting}
                steps = [s for s, _ in members if s.step_id in included]  # in the overdue order
                moved = [s for s, old in members if s.step_id in included and old != target]
                if moved and not self._claim_reminder(session, view.id, members, included, target):
                    session.rollback()  # another bot process changed these steps first
                    continue
                message = render.reminder_message(view, who_key, steps, now, tz, self.channel_lang(view.channel))
                if waiting:
                    # The owner's last reminder has not reached the chat yet: give it the current content
                    # instead of queueing a second reminder behind it. The outbox keeps one pending refresh
                    # per message (later ones replace it in place) and sends it as an edit right after the
                    # post, so the owner is notified once and reads the current steps and times.
                    original = _remind_key(view.id, who_key, target)
                    self.outbox.enqueue(session, channel=view.channel, message=message,
                                        key=f"{original}:v{_stamp(now)}", update_of=original, refresh=True)
                else:
                    self.outbox.enqueue(session, channel=view.channel, message=message,
                                        key=_remind_key(view.id, who_key, now))
                if fresh:
                    # one line per reminder sent (or steps added to a waiting one): the review shows when
                    # people were reminded of what
                    who = f"角色 {who_key[5:]}（未指派）" if who_key.startswith("role:") else who_key
                    ids = "、".join(s.step_id for s in steps)
                    self._add_entries(session, view.id, [
                        TimelineEntry(now, "crisisbot", "remind", f"{who}：{ids} 已超时 / overdue")
                    ])
                    sent += 1
                session.commit()
        return sent

    def _reminder_plan(
        self,
        session: Session,
        run_id: int,
        who_key: str,
        members: Sequence[tuple[StepState, datetime | None]],
        now: datetime,
        repeat: timedelta,
    ) -> tuple[list[StepState], list[StepState], datetime | None]:
        """Sort one owner's overdue steps: (steps to remind now, steps whose reminder to this owner still
        waits in the outbox, when the newest such waiting reminder was queued)."""
        states: dict[datetime, tuple[str, datetime | None] | None] = {}
        fresh: list[StepState] = []
        waiting: list[StepState] = []
        pending_at: datetime | None = None
        for step, reminded_at in members:
            if reminded_at is None:
                fresh.append(step)
                continue
            if reminded_at not in states:
                found = self.outbox.delivery(session, [_remind_key(run_id, who_key, reminded_at)])
                states[reminded_at] = found[0] if found else None
            state = states[reminded_at]
            if state is not None and state[0] == "pending":
                waiting.append(step)
                pending_at = reminded_at if pending_at is None else max(pending_at, reminded_at)
                continue
            # Delivered (or given up on): the interval counts from when it reached the chat. No row for this
            # owner (the step was reassigned since): from the reminder to its former owner, as before.
            since = max(reminded_at, state[1]) if state is not None and state[1] is not None else reminded_at
            if now - since >= repeat:
                fresh.append(step)
        return fresh, waiting, pending_at

    @staticmethod
    def _claim_reminder(
        session: Session,
        run_id: int,
        members: Sequence[tuple[StepState, datetime | None]],
        included: set[str],
        at: datetime,
    ) -> bool:
        """Compare-and-set: point the included steps' `reminded_at` at the reminder queued at `at`, if
        nobody (another bot process) changed them since they were read."""
        conditions = [
            and_(CrisisStep.step_id == step.step_id,
                 CrisisStep.reminded_at.is_(None) if old is None else CrisisStep.reminded_at == old)
            for step, old in members if step.step_id in included
        ]
        claimed = session.execute(
            update(CrisisStep)
            .where(CrisisStep.run_id == run_id, or_(*conditions))
            .values(reminded_at=at)
            .execution_options(synchronize_session=False)
        )
        return claimed.rowcount == len(conditions)

    def _nag(self, view: render.RunView, now: datetime) -> int:
        """Ask the commander for a status update `status_nag_minutes` after the last one (or the last nag).

        As with reminders, a nag still waiting in the outbox (a chat outage) is refreshed with the current
        idle time instead of a second nag queued behind it, and the next one counts from its delivery."""
        minutes = self.settings.status_nag_minutes.get(view.severity)
        if not minutes:
            return 0
        with self.db.session() as session:
            # last_status_at is the time of the last nag, if it was one: its key names its outbox row
            previous = _nag_key(view.id, view.last_status_at)
            found = self.outbox.delivery(session, [previous])
            status, delivered_at = found[0] if found else (None, None)
            if status == "pending":
                since = self._last_update(session, view)
                self.outbox.enqueue(session, channel=view.channel, message=render.nag_message(view, now - since, self.channel_lang(view.channel)),
                                    key=f"{previous}:v{_stamp(now)}", update_of=previous, refresh=True)
                return 0
            since_nag = max(view.last_status_at, delivered_at) if delivered_at else view.last_status_at
            if now - since_nag < timedelta(minutes=minutes):
                return 0
            result = session.execute(
                update(CrisisRun)
                .where(CrisisRun.id == view.id, CrisisRun.last_status_at == view.last_status_at)
                .values(last_status_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                return 0
            # last_status_at also moves at each nag (it times the next one); the message counts from the
            # last real update, else the second nag said "60 minutes" two hours after the last note.
            since = self._last_update(session, view)
            idle = now - since
            self.outbox.enqueue(
                session,
                channel=view.channel,
                message=render.nag_message(view, idle, self.channel_lang(view.channel)),
                key=_nag_key(view.id, now),
            )
            # on the timeline as "remind", not "note": the next nag still counts from the last real update
            idle_zh, idle_en = render.nag_text(idle)
            self._add_entries(session, view.id, [TimelineEntry(
                now, "crisisbot", "remind",
                f"请指挥更新进展（已 {idle_zh}没有进展）/ status update requested ({idle_en} without one)",
            )])
        return 1

    @staticmethod
    def _last_update(session: Session, view: render.RunView) -> datetime:
        """When the run last had a status update: its latest /crisis note, else its start."""
        latest = session.exec(
            select(CrisisTimelineEntry.at)
            .where(CrisisTimelineEntry.run_id == view.id, CrisisTimelineEntry.kind == "note")
            .order_by(CrisisTimelineEntry.at.desc())
        ).first()
        started = view.state.started_at or view.last_status_at
        return max(ensure_aware(latest), started) if latest is not None else started

    def exit_check(self, view: render.RunView, now: datetime):
        """The metric-based exit check of an active run (None without an account)."""
        if not view.account or view.state.started_at is None:
            return None
        rule = view.playbook.exit
        platform, _, account_id = view.account.partition(":")
        # Two aggregate queries (each half of the hold time) instead of fetching every comment.
        middle = now - rule.hold / 2
        points = [
            SharePoint(start, *self._share_counts(platform, account_id, start, end))
            for start, end in ((now - rule.hold, middle), (middle, now))
        ]
        return check_exit(
            points,
            normal_max=view.normal_max,
            hold=rule.hold,
            now=now,
            run_start=view.state.started_at,
            min_comments=rule.min_comments,
        )

    def _exit_hint(self, view: render.RunView, now: datetime) -> int:
        if not self.settings.exit_suggestions or view.exit_hint_at is not None:
            return 0
        check = self.exit_check(view, now)
        if check is None or not check.suggest or check.normal_max is None:
            return 0
        with self.db.session() as session:
            result = session.execute(
                update(CrisisRun)
                .where(CrisisRun.id == view.id, CrisisRun.exit_hint_at.is_(None))
                .values(exit_hint_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                return 0
            self.outbox.enqueue(
                session,
                channel=view.channel,
                message=render.exit_hint_message(
                    view, check.window_share, check.normal_max, view.playbook.exit.hold,
                    account_name=next((a.name for a in self.config.accounts if a.key == view.account and a.name),
                                      None),
                    lang=self.channel_lang(view.channel),
                ),
                key=f"crisis:{view.id}:exit-hint",
            )
            text = f"负面占比 {check.window_share:.1%} 已回到常态（≤ {check.normal_max:.1%}），建议解除"
            self._add_entries(session, view.id, [TimelineEntry(now, "crisisbot", "exit_hint", text)])
        return 1
