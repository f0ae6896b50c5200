"""The pollers' service: poll a source once (scheduled or by hand), keep health, tell the channel.

Politeness: a source is polled on its interval (plus jitter, by the scheduler); after a failure it waits
an exponential, jittered delay (Retry-After is a floor; Bilibili risk control is one long pause) before
the next attempt. After `unhealthy_after` consecutive failures it is marked unhealthy and ONE notice goes
to the channel; one more when it recovers. Credentials a human must renew (an expired Douyin refresh
token, an expired Weibo token, a JSON endpoint refusing its token) are their own state with their own single
notice, naming the env vars to change; polling stops until the credentials in the env change.

One process at a time: a poll first takes the source's lease in the database (see store.py), keeps it
renewed while it runs and gives it back at the end. A process that finds the source leased by another
(`crisisbot poll` while `serve` polls it, or the other way round) skips that round and says who holds it.
The lease only keeps polls apart; the pace is kept by the stored `last_poll_at`: a scheduled poll finding
the source polled less than its interval ago (by another replica, each of which runs its own interval job)
skips that round, so N replicas together poll at the configured interval, not N times as often (after a
failure the stored backoff, `next_attempt_at`, paces the retries instead).
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge

from bot.clock import ensure_aware
from bot.feeds.pollers.announcements import poll_announcements
from bot.feeds.pollers.base import (
    HEALTH_FAILING,
    HEALTH_OK,
    HEALTH_REAUTH,
    HEALTH_UNHEALTHY,
    HEALTH_WARNING,
    REAUTH_REQUIRED,
    RISK_CONTROL,
    TRANSIENT,
    IngestTally,
    Notice,
    PollContext,
    PollError,
    SourceState,
    backoff_delay,
    fingerprint,
    source_notes,
    token_env_vars,
)
from bot.feeds.pollers.bilibili import BilibiliAdapter
from bot.feeds.pollers.douyin import DouyinAdapter
from bot.feeds.pollers.engine import poll_comments
from bot.feeds.pollers.generic import GenericJsonAdapter
from bot.feeds.pollers.http import PoliteHttp
from bot.feeds.pollers.store import Lease, LeaseLost, StateStore, holder_name, process_holder, take_token
from bot.feeds.pollers.weibo import WeiboAdapter
from bot.feeds.settings import FeedsConfig

log = logging.getLogger(__name__)

ADAPTERS = {
    "bilibili": BilibiliAdapter(),
    "douyin": DouyinAdapter(),
    "weibo": WeiboAdapter(),
    "generic_json": GenericJsonAdapter(),
}

POLLS = Counter("crisisbot_feed_polls_total", "Source polls by outcome", ["source", "outcome"])
RECORDS = Counter("crisisbot_feed_records_total", "Platform records read by pollers", ["source"])
HEALTHY = Gauge("crisisbot_feed_source_healthy", "1 when the source's last poll succeeded or it is new", ["source"])
FAILURES = Gauge("crisisbot_feed_source_consecutive_failures", "Consecutive failed polls", ["source"])
LAST_SUCCESS = Gauge("crisisbot_feed_source_last_success_timestamp_seconds", "Last successful poll", ["source"])

IngestFn = Callable[[list[dict[str, Any]], str], IngestTally]
NotifyFn = Callable[[Notice, Any], None]

#: How long a poll's lease lasts without renewal: how long a process that died mid-poll keeps others from
#: polling the source. A running poll renews it after every saved page and every LEASE_RENEW_SECONDS.
LEASE_SECONDS = 120.0
LEASE_RENEW_SECONDS = 30.0

SKIPPED_LEASED = "leased"  # PollOutcome.reason_code: another process holds the source's lease
SKIPPED_LEASE_LOST = "lease_lost"  # the lease expired mid-poll and another process took it
WARNING_KEY = "warning"  # SourceState.extra: why the source's health is `warning`
SKIPPED_STOPPING = "stopping"  # the service is stopping (close()): no poll starts, a running one writes nothing
SKIPPED_RECENT = "recent"  # polled less than its interval ago (by another replica): this round is skipped
#: A scheduled poll is skipped when the source's last poll is more recent than its interval less this
#: share of it (or less its jitter, if larger): the scheduler's jitter and a late run move a process's own
#: rounds by about that much, and those must never be skipped.
RECENT_POLL_TOLERANCE = 0.2


@dataclass
class PollOutcome:
    source_id: str
    status: str  # ok | failed | skipped
    reason: str | None = None
    reason_code: str | None = None  # for a skip: SKIPPED_LEASED, SKIPPED_LEASE_LOST, ...
    leased_by: str | None = None  # the process holding the source ("host:pid") when SKIPPED_LEASED
    lease_until: datetime | None = None
    # an ok poll whose records were all rejected: why (the first reason), also in `reason`
    warning: str | None = None
    fetched: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    next_attempt_at: datetime | None = None


@dataclass
class SourceStatus:
    source_id: str
    type: str
    enabled: bool
    health: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    lag_seconds: float | None  # now - last successful poll
    newest_item_at: datetime | None
    polls: int
    fetched: int
    accepted: int
    duplicates: int
    rejected: int
    consecutive_failures: int
    next_attempt_at: datetime | None
    last_error: str | None
    # target id -> the platform's answer for a video/post that failed alone (deleted, comments closed,
    # a wrong id): the source is still "ok", so without this nobody would learn why it stays silent
    target_errors: dict[str, str] = field(default_factory=dict)
    # health `warning`: every record of the last poll that sent any was rejected (first reason named)
    warning: str | None = None
    # health `warning` too: what the source cannot read now although its polls work (e.g. a failing
    # Douyin reply list), Chinese first (bot.feeds.pollers.base.NOTES_KEY)
    notes: list[str] = field(default_factory=list)


class FeedsService:
    def __init__(
        self,
        config: FeedsConfig,
        *,
        store: StateStore,
        ingest: IngestFn,
        notify: NotifyFn,
        clock,
        env: Mapping[str, str] | None = None,
        http: PoliteHttp | None = None,
        rng: random.Random | None = None,
        lease_seconds: float = LEASE_SECONDS,
        lease_renew_seconds: float = LEASE_RENEW_SECONDS,
    ) -> None:
        self.config = config
        self.store = store
        self._ingest = ingest
        self._notify = notify
        self.clock = clock
        self.env = env if env is not None else os.environ
        self.http = http or PoliteHttp.create(
            user_agent=config.user_agent, max_connections=config.max_connections, now=clock.now, proxy=config.proxy
        )
        self.rng = rng or random.Random()
        self._locks: dict[str, threading.Lock] = {s.id: threading.Lock() for s in config.sources}
        self.lease_seconds = lease_seconds
        self.lease_renew_seconds = lease_renew_seconds
        # Names this service in the lease column; each take adds its own suffix (see store.py).
        self.holder = process_holder()
        # source id -> the lease token of the poll running now (given back by close() on a stop)
        self._held: dict[str, str] = {}
        self._held_lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """Stop: no new poll starts, and the leases of polls still running are given back, so a restarted
        serve or a `crisisbot poll` polls the sources at once instead of waiting for the leases to expire.
        A poll still running here can then write nothing (its saves are fenced by the lease it lost)."""
        with self._held_lock:
            self._closed = True
            held = dict(self._held)
            self._held.clear()
        for source_id, token in held.items():
            try:
                self.store.release_lease(source_id, token)
                log.info("released the poll lease of source %s on stop", source_id)
            except Exception:  # noqa: BLE001 - a dead holder on this host is taken over anyway
                log.warning("could not release the poll lease of source %s on stop", source_id, exc_info=True)
        self.http.close()

    # ------------------------------------------------------------------------------------- polling

    def poll(self, source_id: str, *, force: bool = False) -> PollOutcome:
        """Poll one source now. Without `force`, a disabled source, one backing off, or one waiting for
        re-authorisation is skipped. A source another process is polling is skipped, forced or not.
        Never raises for platform faults: they become health."""
        source = self.config.source(source_id)
        lock = self._locks.setdefault(source_id, threading.Lock())
        if not lock.acquire(blocking=force):
            return PollOutcome(source_id, "skipped", "a poll of this source is already running")
        try:
            token = take_token(self.holder)
            with self._held_lock:
                if self._closed:
                    return PollOutcome(source_id, "skipped", "正在停止 / stopping", reason_code=SKIPPED_STOPPING)
                self._held[source_id] = token  # before the take: close() gives back whatever was taken
            try:
                now = self.clock.now()
                other = self.store.take_lease(source_id, token, now, now + timedelta(seconds=self.lease_seconds))
                if other is not None:
                    return self._leased_elsewhere(source_id, other, force)
                keeper = _LeaseKeeper(self, source_id, token)
                try:
                    return self._poll_locked(source, force, keeper)
                except LeaseLost:
                    return self._lease_lost(source_id)
                finally:
                    keeper.stop()
                    try:
                        self.store.release_lease(source_id, token)
                    except Exception:  # noqa: BLE001 - the lease expires by itself
                        log.exception("could not release the poll lease of source %s", source_id)
            finally:
                with self._held_lock:
                    if self._held.get(source_id) == token:
                        del self._held[source_id]
        finally:
            lock.release()

    def _leased_elsewhere(self, source_id: str, other: Lease, force: bool) -> PollOutcome:
        who = holder_name(other.holder)
        if not force:
            # another process polls it: /metrics here should still show what it stores
            self._gauges(source_id, self.store.load(source_id))
        log.info("poll skipped: source=%s is being polled by %s (lease until %s)",
                 source_id, who, other.until.isoformat())
        return PollOutcome(
            source_id, "skipped",
            f"另一个进程（{who}）正在轮询此数据源，本轮跳过 / another process ({who}) is polling this source: "
            f"skipped this round",
            reason_code=SKIPPED_LEASED, leased_by=who, lease_until=other.until,
        )

    def _lease_lost(self, source_id: str) -> PollOutcome:
        if self._closed:
            log.info("poll stopped: source=%s (the service is stopping; its lease was given back)", source_id)
            return PollOutcome(source_id, "skipped", "正在停止 / stopping", reason_code=SKIPPED_STOPPING)
        log.warning("poll stopped: source=%s lost its lease to another process (the poll ran longer than the "
                    "lease without renewing it); that process carries on from the stored state", source_id)
        return PollOutcome(
            source_id, "skipped",
            "轮询租约已过期并被另一个进程接手，本次轮询已停止 / the poll lease expired and another process took "
            "the source over: this poll stopped",
            reason_code=SKIPPED_LEASE_LOST,
        )

    def _poll_locked(self, source, force: bool, keeper: _LeaseKeeper) -> PollOutcome:
        state = self.store.load(source.id)
        now = self.clock.now()
        if not force:
            # A skipped poll still refreshes the gauges from the stored state: another process (a
            # `crisisbot poll`, a replica) may have changed it, and /metrics must show what is stored.
            self._gauges(source.id, state)
            if not source.enabled:
                return PollOutcome(source.id, "skipped", "disabled")
            if (
                state.health == HEALTH_REAUTH
                and state.unhealthy_notified  # else poll again, which retries the notice
                and state.extra.get("reauth_fingerprint") == self._credential_fp(source)
            ):
                return PollOutcome(source.id, "skipped", "waiting for re-authorisation", next_attempt_at=None)
            if state.next_attempt_at is not None and now < state.next_attempt_at:
                return PollOutcome(source.id, "skipped", "backing off", next_attempt_at=state.next_attempt_at)
            polled_recently = self._polled_recently(source, state, now)
            if polled_recently is not None:
                return polled_recently
        state.last_poll_at = now
        state.polls += 1
        before = (state.accepted, state.duplicates, state.rejected)
        rejections: list[str] = []  # the first rejection reason of this poll, if any
        ctx = PollContext(
            source=source,
            state=state,
            http=self.http,
            now=self.clock.now,
            env=self.env,
            ingest=lambda records: self._ingest_noting(records, source.id, rejections),
            save=lambda: self.store.save(state, source.type, lease=keeper.lease()),
        )
        try:
            try:
                if source.type == "announcements":
                    fetched = poll_announcements(ctx)
                else:
                    fetched = poll_comments(ctx, ADAPTERS[source.type])
            except (PollError, LeaseLost):
                raise
            except Exception as exc:  # noqa: BLE001 - a database outage or a bug: count it, back off, go on
                log.exception("poll crashed: source=%s", source.id)
                raise PollError(TRANSIENT, f"internal error ({type(exc).__name__})") from None
        except PollError as exc:
            if self._closed:  # stopped mid-poll (e.g. its HTTP client closed): not the source's failure
                raise LeaseLost(source.id) from None
            self._on_failure(source, state, exc, now, ctx.notices)
            # Notices first: their keys are idempotent, so a crash before the save repeats none of them.
            self._emit(ctx.notices, source)
            try:
                self.store.save(state, source.type, lease=keeper.lease())
            except LeaseLost:
                raise
            except Exception:  # noqa: BLE001 - the database itself may be what failed
                log.exception("could not save the state of source %s", source.id)
            POLLS.labels(source.id, "failed").inc()
            self._gauges(source.id, state)
            log.warning(
                "poll failed: source=%s kind=%s detail=%s failures=%d next=%s",
                source.id, exc.kind, exc.detail, state.consecutive_failures,
                state.next_attempt_at.isoformat() if state.next_attempt_at else "-",
            )
            return PollOutcome(
                source.id, "failed", f"{exc.kind}: {exc.detail}", next_attempt_at=state.next_attempt_at,
                **self._delta(before, state),
            )
        delta = self._delta(before, state)
        self._note_rejections(state, delta, rejections)
        self._on_success(source, state, ctx, now)
        state.fetched += fetched
        self._emit(ctx.notices, source)
        self.store.save(state, source.type, lease=keeper.lease())
        POLLS.labels(source.id, "ok").inc()
        RECORDS.labels(source.id).inc(fetched)
        self._gauges(source.id, state)
        warning = state.extra.get(WARNING_KEY) if delta["rejected"] else None
        # a note (e.g. replies not read now) is said too, after the warning
        said = [f"警告 warning: {warning}"] if warning else []
        said += [f"注意 note: {note}" for note in source_notes(state)]
        return PollOutcome(source.id, "ok", " | ".join(said) or None, fetched=fetched, warning=warning,
                           **delta)

    @staticmethod
    def _polled_recently(source, state: SourceState, now: datetime) -> PollOutcome | None:
        """The skip of a scheduled round when the source was polled less than its interval ago (the stored
        `last_poll_at`, shared by every replica), else None."""
        if state.last_poll_at is None or state.consecutive_failures:
            return None  # after a failure the shared `next_attempt_at` (the backoff) paces the retries
        interval = float(source.interval)
        tolerance = max(interval * RECENT_POLL_TOLERANCE, float(getattr(source, "effective_jitter", 0.0) or 0.0))
        due_at = ensure_aware(state.last_poll_at) + timedelta(seconds=max(0.0, interval - tolerance))
        if now >= due_at:
            return None
        log.debug("poll skipped: source=%s was polled at %s (another process), less than its interval ago",
                  source.id, state.last_poll_at.isoformat())
        return PollOutcome(
            source.id, "skipped",
            "此数据源刚被轮询过（另一个进程），本轮跳过 / polled less than its interval ago (by another process): "
            "skipped this round",
            reason_code=SKIPPED_RECENT, next_attempt_at=due_at,
        )

    def _ingest_noting(self, records: list[dict[str, Any]], source_id: str, rejections: list[str]) -> IngestTally:
        """Ingest, keeping the first rejection reason of the poll (for the warning of a poll whose records
        were all rejected)."""
        tally = self._ingest(records, f"poller:{source_id}")
        if tally.first_rejection and not rejections:  # the reason ingestion gave: validating again cost a pass
            rejections.append(tally.first_rejection)
        return tally

    @staticmethod
    def _note_rejections(state: SourceState, delta: dict[str, int], rejections: list[str]) -> None:
        """A poll that sent records and had every one rejected leaves a warning (health `warning`) naming the
        first reason; a poll that stores (or finds already stored) any record clears it; a poll that sent
        nothing leaves it as it was (rejected records are not sent again, so the next polls send nothing)."""
        if delta["rejected"] and not delta["accepted"] and not delta["duplicates"]:
            reason = rejections[0] if rejections else "-"
            count = delta["rejected"]
            state.extra[WARNING_KEY] = (
                f"本次轮询读到的 {count} 条记录全部被拒收（已存入死信，见 crisisbot ingest --dead-letters），"
                f"首条原因：{reason} / all {count} records of the last poll were rejected (dead-lettered: "
                f"crisisbot ingest --dead-letters); first reason: {reason}"
            )
        elif delta["accepted"] or delta["duplicates"]:
            state.extra.pop(WARNING_KEY, None)

    @staticmethod
    def _delta(before: tuple[int, int, int], state: SourceState) -> dict[str, int]:
        return {
            "accepted": state.accepted - before[0],
            "duplicates": state.duplicates - before[1],
            "rejected": state.rejected - before[2],
        }

    def _credential_fp(self, source) -> str:
        return fingerprint(*(self.env.get(name) for _, name in sorted(source.credentials.items())))

    def _on_failure(
        self, source, state: SourceState, exc: PollError, now: datetime, notices: list[Notice]
    ) -> None:
        state.consecutive_failures += 1
        state.last_error = exc.detail
        state.last_error_kind = exc.kind
        state.extra.setdefault("failing_since", now.isoformat())
        backoff = source.backoff
        if exc.kind == REAUTH_REQUIRED:
            state.health = HEALTH_REAUTH
            credential_fp = self._credential_fp(source)
            state.extra["reauth_fingerprint"] = credential_fp
            state.next_attempt_at = now + timedelta(seconds=backoff.max)
            title, text = reauth_notice(source, exc)
            notices.append(
                Notice(
                    key=f"feeds:reauth:{source.id}:{credential_fp}",
                    title=title,
                    text=text,
                    severity="warning",
                    commit=lambda: setattr(state, "unhealthy_notified", True),
                ),
            )
            return
        if exc.kind == RISK_CONTROL:
            delay = max(backoff.risk_control, exc.retry_after or 0.0) * self.rng.uniform(1.0, 1.2)
        else:
            delay = backoff_delay(
                state.consecutive_failures, base=backoff.base, maximum=backoff.max,
                retry_after=exc.retry_after, rng=self.rng,
            )
        state.next_attempt_at = now + timedelta(seconds=delay)
        if state.consecutive_failures >= backoff.unhealthy_after:
            state.health = HEALTH_UNHEALTHY
            if not state.unhealthy_notified:
                # an announcements source reads a platform's rules page: what is late is its updates, not comments
                late_zh, late_en = (("平台规则/公告更新可能延迟", "rule and announcement updates may be late")
                                    if source.type == "announcements" else ("评论可能延迟", "comments may be late"))
                notices.append(
                    Notice(
                        key=f"feeds:unhealthy:{source.id}:{state.extra['failing_since']}",
                        title=f"数据源异常：{source.id}",
                        text=(
                            f"数据源 {source.id} 已连续失败 {state.consecutive_failures} 次，{late_zh}。"
                            f"最近错误：{exc.detail}\n"
                            f"Source {source.id} failed {state.consecutive_failures} times in a row; {late_en}. "
                            f"Last error: {exc.detail}. It keeps retrying with backoff."
                        ),
                        severity="warning",
                        commit=lambda: setattr(state, "unhealthy_notified", True),
                    ),
                )
        elif state.health != HEALTH_UNHEALTHY:
            state.health = HEALTH_FAILING

    def _on_success(self, source, state: SourceState, ctx: PollContext, now: datetime) -> None:
        if state.unhealthy_notified:
            ctx.notices.append(
                Notice(
                    key=f"feeds:recovered:{source.id}:{state.extra.get('failing_since')}",
                    title=f"数据源已恢复：{source.id}",
                    text=f"数据源 {source.id} 已恢复正常。\nSource {source.id} is polling normally again.",
                )
            )
        state.unhealthy_notified = False
        state.health = HEALTH_WARNING if state.extra.get(WARNING_KEY) or source_notes(state) else HEALTH_OK
        state.consecutive_failures = 0
        state.next_attempt_at = None
        state.last_success_at = now
        state.last_error = None
        state.last_error_kind = None
        state.extra.pop("failing_since", None)
        state.extra.pop("reauth_fingerprint", None)

    def _emit(self, notices: list[Notice], source) -> None:
        for notice in notices:
            try:
                self._notify(notice, source)
            except Exception:  # noqa: BLE001 - a notice failure must not break polling; retried next poll
                log.exception("could not queue a notice for source %s", source.id)
                continue
            if notice.commit is not None:
                notice.commit()

    def _gauges(self, source_id: str, state: SourceState) -> None:
        # a warning (every record of a poll rejected) is a data problem, not a polling one: the poll works
        HEALTHY.labels(source_id).set(1 if state.health in (HEALTH_OK, "new", HEALTH_FAILING, HEALTH_WARNING) else 0)
        FAILURES.labels(source_id).set(state.consecutive_failures)
        if state.last_success_at:
            LAST_SUCCESS.labels(source_id).set(state.last_success_at.timestamp())

    def publish_health(self) -> None:
        """Set the per-source gauges from the stored state of every enabled source. Run at start: after a
        restart a source backing off is not polled for up to `backoff.max`, and until then /metrics
        would not show it at all, an unhealthy one included."""
        states = self.store.load_all()
        for source in self.config.sources:
            if source.enabled:
                self._gauges(source.id, states.get(source.id) or SourceState(source_id=source.id))

    # -------------------------------------------------------------------------------------- status

    def status(self) -> list[SourceStatus]:
        """One line per configured source: last poll, lag, counts, health."""
        states = self.store.load_all()
        now = self.clock.now()
        rows = []
        for source in self.config.sources:
            state = states.get(source.id) or SourceState(source_id=source.id)
            lag = (now - state.last_success_at).total_seconds() if state.last_success_at else None
            rows.append(
                SourceStatus(
                    source_id=source.id,
                    type=source.type,
                    enabled=source.enabled,
                    health=state.health if source.enabled else "disabled",
                    last_poll_at=state.last_poll_at,
                    last_success_at=state.last_success_at,
                    lag_seconds=lag,
                    newest_item_at=state.newest_item_at,
                    polls=state.polls,
                    fetched=state.fetched,
                    accepted=state.accepted,
                    duplicates=state.duplicates,
                    rejected=state.rejected,
                    consecutive_failures=state.consecutive_failures,
                    next_attempt_at=state.next_attempt_at,
                    last_error=state.last_error,
                    target_errors=self._target_errors(source, state),
                    warning=state.extra.get(WARNING_KEY) if state.health == HEALTH_WARNING else None,
                    notes=source_notes(state) if source.enabled else [],
                )
            )
        return rows

    @staticmethod
    def _target_errors(source, state: SourceState) -> dict[str, str]:
        """Errors of the targets the source polls now (not of targets since removed from the config or
        gone from the account's recent posts)."""
        if source.type == "announcements":
            return {}
        if source.targets == "recent":
            current = (state.extra.get("recent_targets") or {}).get("ids") or list(state.targets)
        else:
            current = list(source.targets)
        return {t: state.targets[t].error for t in current if t in state.targets and state.targets[t].error}


def reauth_notice(source, exc: PollError) -> tuple[str, str]:
    """Title and text of the one notice sent when a source's credentials need a human: what happened on
    this platform (Weibo has no refresh token; Douyin's refresh token is what expired), which env vars
    to change, and that a running bot must be restarted to read them."""
    names = token_env_vars(source)
    zh_vars = "、".join(names) or "credentials 中配置的环境变量"
    en_vars = ", ".join(names) or "the env vars named under credentials"
    if source.type == "douyin":
        zh = (f"抖音的刷新令牌已过期或被撤销（或未配置刷新令牌），访问令牌无法再自动续期。请账号管理员在抖音开放平台"
              f"重新授权，把新的令牌对写入环境变量 {zh_vars}")
        en = (f"its Douyin refresh token expired or was revoked (or none is configured), so the access token can "
              f"no longer be renewed. An account admin must authorise the app again on the Douyin open platform and "
              f"put the new token pair into {en_vars}")
    elif source.type == "weibo":
        zh = (f"微博访问令牌已过期或被撤销（微博不提供刷新令牌，无法自动续期）。请账号管理员在微博开放平台重新授权，"
              f"把新的访问令牌写入环境变量 {zh_vars}")
        en = (f"its Weibo access token expired or was revoked (Weibo issues no refresh token, so it cannot renew "
              f"itself). An account admin must authorise the app again on the Weibo open platform and put the new "
              f"access token into {en_vars}")
    else:
        zh = f"接口拒绝了配置的凭据（令牌无效、过期或被撤销）。请取得新的令牌，写入环境变量 {zh_vars}"
        en = (f"the endpoint refused its credentials (the token is invalid, expired or revoked). Get a new token "
              f"and put it into {en_vars}")
    # The service reads the process environment (os.environ), which a running process never re-reads:
    # an exported value reaches `serve` only through a restart. `crisisbot poll` is a new process, so it
    # checks the new value at once.
    text = (
        f"数据源 {source.id} 需要重新授权：{zh}，然后重启 crisisbot serve（运行中的进程只在启动时读取环境变量）。"
        f"可先在设置了新变量的终端运行 crisisbot poll {source.id} 验证。在这些环境变量改变之前，该数据源暂停轮询。\n"
        f"Source {source.id} needs re-authorisation: {en}, then restart crisisbot serve (a running process reads "
        f"environment variables only at start). Run `crisisbot poll {source.id}` in a shell with the new value to "
        f"check it first. The source stays paused until these environment variables change.\n"
        f"原因 / reason: {exc.detail}"
    )
    return f"数据源需要重新授权：{source.id}", text


class _LeaseKeeper:
    """Renews one poll's lease every `lease_renew_seconds` (real time) until stopped, so a slow page does
    not let it expire; `lease()` is what each save of the state is fenced with (and renews)."""

    def __init__(self, service: FeedsService, source_id: str, holder: str) -> None:
        self._service = service
        self._source_id = source_id
        self._holder = holder
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{source_id}", daemon=True)
        self._thread.start()

    def lease(self) -> Lease:
        return Lease(self._holder, self._service.clock.now() + timedelta(seconds=self._service.lease_seconds))

    def _run(self) -> None:
        while not self._stopped.wait(self._service.lease_renew_seconds):
            lease = self.lease()
            try:
                if not self._service.store.renew_lease(self._source_id, lease.holder, lease.until):
                    return  # taken over: the poll's next save raises LeaseLost and writes nothing
            except Exception:  # noqa: BLE001 - a database hiccup: try again at the next beat
                log.warning("could not renew the poll lease of source %s", self._source_id, exc_info=True)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
