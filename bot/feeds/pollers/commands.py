"""`/sources` in chat and the shared text rendering of source status (also used by `crisisbot sources`)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.handlers.registry import CommandContext, CommandRegistry, ParsedCommand, UsageError
from bot.messages import Message, Section

HEALTH_LABELS = {
    "ok": "正常 ok",
    "new": "未轮询 new",
    "failing": "重试中 failing",
    "unhealthy": "异常 unhealthy",
    "reauth_required": "需重新授权 reauth",
    "warning": "记录被拒收 warning",
    "disabled": "已停用 disabled",
}


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%m-%d %H:%M:%S") if value else "-"


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def status_line(row, zone: ZoneInfo) -> str:
    """One source on one line: id, type, health, last poll, lag, counts, next attempt, last error."""
    notes = getattr(row, "notes", None) or []
    label = HEALTH_LABELS.get(row.health, row.health)
    if row.health == "warning" and not getattr(row, "warning", None):
        label = "警告 warning"  # a note below (e.g. replies not read), not rejected records
    parts = [
        f"{row.source_id} [{row.type}] {label}",
        f"上次轮询 last poll {_when(row.last_poll_at, zone)}",
        f"延迟 lag {_lag(row.lag_seconds)}",
        f"新增/重复/拒收 new/dup/rejected {row.accepted}/{row.duplicates}/{row.rejected}",
    ]
    if row.next_attempt_at:
        parts.append(f"下次重试 retry at {_when(row.next_attempt_at, zone)}")
    if row.last_error:
        parts.append(f"错误 error: {row.last_error}")
    if getattr(row, "warning", None):
        parts.append(f"警告 warning: {row.warning}")
    parts.extend(f"注意 note: {note}" for note in notes)
    if row.target_errors:
        parts.append(target_errors_text(row.target_errors))
    return " | ".join(parts)


def target_errors_text(errors: dict[str, str]) -> str:
    """The videos/posts that failed alone, e.g. `目标出错 target errors: 170002 (bilibili code -404: 啥都木有)`."""
    return "目标出错 target errors: " + "; ".join(f"{target} ({error})" for target, error in errors.items())


def handle_sources(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    if parsed.args or parsed.options:
        # `/sources bili` must not look like an answer about bili: it takes no arguments
        raise UsageError(f"/sources 不带参数 / takes no arguments: {parsed.source.strip()}",
                         en=f"Takes no arguments: {parsed.source.strip()}")
    service = ctx.services.sources
    scope = ctx.services.scope
    zone = ctx.services.config.zone()
    rows = []
    for row in service.status():
        source = service.config.source(row.source_id)
        # The default channel sees only accounts of no client (never "everything"): a client's source,
        # with its errors and counts, is that client's data. Announcement feeds belong to no account.
        if source.account is not None and not scope.can_see(
            ctx.channel, f"{source.account.platform}:{source.account.account_id}"
        ):
            continue
        rows.append(row)
    if not rows:
        return Message(text="没有可见的数据源 / no sources visible in this channel")
    return Message(
        title="数据源状态 / sources",
        sections=tuple(Section(text=status_line(row, zone)) for row in rows),
    )


def register(registry: CommandRegistry) -> None:
    if "sources" in registry.commands:
        return
    registry.add_command(
        "sources",
        handle_sources,
        summary_zh="查看评论数据源状态",
        summary_en="show the comment sources' health",
        usage="/sources  — 列出本频道可见的数据源：上次轮询、延迟、计数、健康状态 / list sources with last poll, lag, counts, health",
        usage_en="/sources  — list the sources visible in this channel: last poll, lag, counts, health",
    )
