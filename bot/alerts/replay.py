"""Replay a comment feed through the whole bot (ingest, sentiment, alerts, outbox) on a simulated clock.

Used by `crisisbot backtest --comments FEED.jsonl` and by bench/alerts. The bot is built exactly as
`serve` builds it, on a throw-away SQLite database; time moves from event to event (comment batches and
bucket closes), so a three-day feed replays in seconds of CPU and every alert carries the simulated time
at which it entered the outbox.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

#: comments are ingested in batches of this much feed time (a poller's cadence)
BATCH = timedelta(seconds=15)
#: after this long without comments, simulated time jumps to shortly before the next one instead of
#: closing every empty bucket in between (a stray comment from years earlier would take hours). A day
#: covers the recovery, escalation and quiet-hours releases that follow the last comment.
IDLE_JUMP = timedelta(days=1)


@dataclass
class ReplayedMessage:
    at: datetime
    channel: str
    kind: str  # alert | update | escalation | raised | unmuted | risk_notice | notice_update
    key: str
    title: str
    text: str
    episode_key: str | None


@dataclass
class ReplayResult:
    messages: list[ReplayedMessage]
    episodes: list[dict[str, Any]]
    accepted: int
    rejected: int
    bucket: timedelta
    placeholder_sentiment: bool
    #: re-deliveries of a comment already replayed (the same platform and comment id), as ingest counts them
    duplicates: int = 0
    #: "path:line: reason" of the records the bot's ingestion refused during the replay
    problems: list[str] = field(default_factory=list)


class _DeliveredPort:
    """A chat platform that takes every message at once (the replay's stand-in for Slack, Feishu and the
    console). Messages must be delivered for the replay to show what a channel sees: an edit of an alert
    still waiting in the outbox rewrites it in place (the first post then showed the alert's final state,
    "已恢复", at the time it was first posted), and escalation counts from delivery (no reminder was ever
    replayed)."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self._ids = iter(range(1, 1 << 62))

    def _id(self) -> str:
        return f"replay-{next(self._ids)}"

    def post(self, channel_id, message, *, idempotency_key, maybe_sent_since=None) -> str:
        return self._id()

    def update(self, channel_id, message_id, message) -> None:
        return None

    def upload(self, channel_id, image, *, idempotency_key, maybe_sent_since=None) -> str:
        return self._id()

    def upload_file(self, channel_id, file, *, idempotency_key, maybe_sent_since=None) -> str:
        return self._id()


#: every platform a channel address can name (bot.scope): the replay delivers to all of them
REPLAY_PLATFORMS = ("console", "slack", "feishu")


def load_feed(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Records sorted by created_at, read as `crisisbot ingest` reads a file (JSONL or CSV; UTF-8, BOM
    or GB18030) and checked as it checks them (`validate_record`): a bad line is reported with every
    reason ingest gives, Chinese first (path:line: reason), and skipped. Each record carries `_t` (its
    created_at, the replay's clock) and `_pos` (path:line, for a refusal during the replay). An object
    wrapping the comments (`{"comments": [...]}`, an API response saved as it came) is refused saying how to
    give the list, in the words ingest uses."""
    from bot.feeds.files import FileFormatError, read_items
    from bot.feeds.records import validate_record
    from bot.importer import wrapped_list_reason  # ingest's own words for it, not a second copy

    try:
        items, _encoding = read_items(path)
    except FileFormatError as exc:
        raise ValueError(f"{path}: 无法读取 / cannot read: {exc}") from None
    records, problems = [], []
    for item in items:
        if item.record is None:
            problems.append(f"{item.position}: {item.error}")
            continue
        wrapped = wrapped_list_reason(item.record)
        if wrapped is not None:
            problems.append(f"{item.position}: {wrapped}")
            continue
        # Without `now`: the future check is against the ingest clock, the replay's simulated one
        checked = validate_record(item.record)
        if isinstance(checked, list):
            problems.append(f"{item.position}: {'; '.join(checked)}")
            continue
        item.record["_t"] = checked.created_at
        item.record["_pos"] = item.position
        records.append(item.record)
    records.sort(key=lambda r: r["_t"])
    return records, problems


def replay_feed(records: list[dict[str, Any]], *, config=None, bucket_minutes: int | None = None,
                workdir: Path | None = None) -> ReplayResult:
    """Run the records through a freshly built bot; returns what entered the outbox and when."""
    from bot.app import build_app
    from bot.clock import FakeClock
    from bot.config import Settings, load_all
    from bot.storage.db import Database
    from bot.storage.models import OutboxMessage

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    if config is None:
        _, config, _ = load_all(settings)
    if bucket_minutes is not None:
        config = config.model_copy(update={"alerts": config.alerts.model_copy(update={"bucket_minutes": bucket_minutes})})
    # The replay reports alerts and notices only: the config's scheduled client reports would be built (with
    # charts) for every simulated day and never shown, a large share of a replay's time.
    config = config.model_copy(update={"reports": config.reports.model_copy(update={"schedules": []})})
    if not records:
        raise ValueError("文件中没有可回放的评论 / the feed has no comments")
    own_dir = tempfile.TemporaryDirectory() if workdir is None else None
    base = Path(own_dir.name) if own_dir else workdir
    db = Database(f"sqlite:///{base / 'replay.db'}")
    first = records[0]["_t"]
    clock = FakeClock(first - timedelta(minutes=1))
    app = build_app(settings, config, clock=clock, db=db)
    alerts = app.services.extra.get("alerts")
    if alerts is None:
        raise RuntimeError("alerts are not wired into the bot")
    outbox = app.services.outbox
    for platform in REPLAY_PLATFORMS:
        outbox.register_port(_DeliveredPort(platform))
    bucket = alerts.bucket
    grace = alerts.grace
    accepted = rejected = duplicates = 0
    problems: list[str] = []
    try:
        position = 0
        now = clock.now()
        last = records[-1]["_t"] + 3 * bucket + grace
        next_close = _next_boundary(now, bucket) + grace
        last_comment = now
        while now < last:
            if position < len(records) and now - last_comment >= IDLE_JUMP \
                    and records[position]["_t"] - now > IDLE_JUMP:
                # a long silence: nothing is left to decide until the next comment comes near
                next_close = _next_boundary(records[position]["_t"] - 2 * bucket, bucket) + grace
            next_batch = records[position]["_t"] + BATCH if position < len(records) else last
            now = min(next_batch, next_close, last)
            clock.set(now)
            batch, positions = [], []
            while position < len(records) and records[position]["_t"] <= now:
                batch.append({k: v for k, v in records[position].items() if k not in ("_t", "_pos")})
                positions.append(records[position].get("_pos") or str(position))
                position += 1
            if batch:
                last_comment = now
                report = app.services.ingest.ingest_records(batch, source="replay", positions=positions)
                accepted += report.accepted
                rejected += report.rejected
                duplicates += report.duplicates
                problems.extend(f"{r.position}: {r.reason}" for r in report.results if r.status == "rejected")
            for tick in app.wiring.ticks:
                tick()
            outbox.drain()  # delivered at once, as serve's worker does within a second
            if now >= next_close:
                next_close += bucket
        with db.session() as session:
            rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            messages = [_replayed(row) for row in rows]
        episodes = [
            {"key": e.episode_key, "severity": e.severity, "status": e.status, "started_at": e.started_at,
             "detected_at": e.detected_at, "recovered_at": e.recovered_at, "stats": e.stats}
            for e in alerts.episodes()
        ]
        placeholder = alerts._uses_placeholder_sentiment()
    finally:
        app.close()
        if own_dir:
            own_dir.cleanup()
    return ReplayResult([m for m in messages if m is not None], episodes, accepted, rejected, bucket, placeholder,
                        duplicates, problems)


def _next_boundary(ts: datetime, bucket: timedelta) -> datetime:
    from bot.alerts.service import floor_bucket

    return floor_bucket(ts, bucket) + bucket


def _replayed(row) -> ReplayedMessage | None:
    from bot.clock import ensure_aware

    meta = (row.payload or {}).get("meta") or {}
    kind = meta.get("kind")
    if kind not in ("alert", "escalation", "raised", "unmuted", "risk_notice"):
        return None
    if row.update_of:  # an edit of a message already posted (an alert's figures, a notice's count)
        kind = "update" if kind == "alert" else "notice_update"
    return ReplayedMessage(ensure_aware(row.created_at), row.channel, kind, row.key,
                           (row.payload or {}).get("title") or "", (row.payload or {}).get("text") or "",
                           meta.get("alert_episode"))


def replay_comment_feed(path: Path, *, bucket: str | None = None) -> list[str]:
    """CLI body of `crisisbot backtest --comments`: lines describing the alerts that would be posted.

    Raises ValueError (Chinese first, with English) for a bad --bucket, an unreadable feed or one without a
    single good comment."""
    from bot.alerts.backtest import parse_bucket
    from bot.alerts.render import SEVERITY_LABEL, STATUS_LABEL

    bucket_minutes = None
    if bucket:
        try:
            seconds = parse_bucket(bucket)
        except ValueError as exc:
            raise ValueError(f"--bucket: {exc}") from None
        if seconds % 60 or not 1 <= seconds // 60 <= 60:
            # the service's own range (alerts.bucket_minutes): a replay on a bucket the bot refuses to run
            # with would show what no configuration can do
            raise ValueError("--bucket 回放评论时应为 1m 到 60m 的整分钟数（alerts.bucket_minutes）/ --bucket must "
                             "be whole minutes from 1m to 60m for a comment feed (alerts.bucket_minutes)")
        bucket_minutes = int(seconds // 60)
    records, problems = load_feed(path)
    if not records:
        # say why: every line was refused (each with its reason), or the file holds no line at all
        raise ValueError("\n".join([f"{path}: 文件中没有可回放的评论（{len(problems)} 行被拒收）/ the feed has no "
                                    f"comments to replay ({len(problems)} lines rejected)",
                                    *(f"跳过 / skipped: {p}" for p in problems)]))
    result = replay_feed(records, bucket_minutes=bucket_minutes)
    from bot.config import Settings, load_all

    _, config, _ = load_all(Settings(_env_file=None))  # type: ignore[call-arg]
    zone = config.zone()
    problems = problems + result.problems
    lines = [f"跳过 / skipped: {p}" for p in problems]
    # every line of the feed is in one of the counts, as `crisisbot ingest` reports a file
    lines.append(f"回放 / replayed {result.accepted} 条评论 comments, 重复更新 duplicates {result.duplicates}, "
                 f"拒收 rejected {len(problems)}, 桶 bucket {int(result.bucket.total_seconds() // 60)} 分钟 min")
    if result.placeholder_sentiment:
        lines.append("注意 / note: 未安装情感模型，按全部评论量判断 / no sentiment model: judged on all comments")
    shown = 0
    titles: dict[str | None, str] = {}
    for m in result.messages:
        if m.kind == "notice_update":
            continue  # the same notice with a higher count: nothing new is posted
        if m.kind == "update":
            # an edit in place; shown only when its title changes (a new severity, recovered, false alarm)
            if m.episode_key not in titles or titles[m.episode_key] == m.title:
                continue
        if m.kind in ("alert", "update"):
            titles[m.episode_key] = m.title
        label = {"alert": "告警 ALERT", "update": "更新 UPDATE", "escalation": "升级 ESCALATE",
                 "raised": "升为一级 RAISED", "unmuted": "静默结束 UNMUTED", "risk_notice": "通知 NOTICE"}[m.kind]
        first_line = m.text.splitlines()[0] if m.text else ""
        lines.append(f"{m.at.astimezone(zone):%Y-%m-%d %H:%M:%S%z}  {m.channel}  {label}  {m.title}  {first_line}")
        shown += 1
    for e in result.episodes:
        recovered = e["recovered_at"].astimezone(zone).strftime("%m-%d %H:%M") if e["recovered_at"] else "-"
        severity = SEVERITY_LABEL.get(e["severity"], (e["severity"], e["severity"]))
        status = STATUS_LABEL.get(e["status"], (e["status"], e["status"]))
        lines.append(f"事件 / episode {e['key']}: {severity[0]} {severity[1]}, {status[0]} {status[1]}, "
                     f"可检测桶 detectable bucket {e['started_at'].astimezone(zone):%m-%d %H:%M}, "
                     f"恢复 recovered {recovered}")
    if not shown:
        lines.append("没有会发出的告警 / no alert would have been posted")
    return lines
