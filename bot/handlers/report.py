"""`/report`: the channel's client report now, and the schedules that post it by themselves."""

from __future__ import annotations

from bot.handlers.registry import CommandContext, CommandRegistry, ParsedCommand, UsageError
from bot.messages import Message

USAGE = """\
  /report [日报|周报|月报|24h|7d|30d] — 本频道客户的报告（截至现在），含图表 / the channel's client report up to now, with a chart
  /report schedules — 本频道的定时报告 / this channel's scheduled reports"""


def _service(ctx: CommandContext):
    service = ctx.services.extra.get("reports")
    if service is None:
        raise UsageError("报告功能未启用 / reports are not enabled")
    return service


def handle_report(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    from bot.reports.render import report_message
    from bot.reports.service import ReportRequest

    service = _service(ctx)
    if parsed.sub in ("schedules", "schedule", "定时"):
        mine = [s for s in service.settings.schedules if s.channel == ctx.channel]
        if not mine:
            return Message(text="本频道没有定时报告（在配置 reports.schedules 里添加）。\n"
                                "No scheduled reports for this channel (add them under reports.schedules).")
        lines = [f"- {s.id}：cron `{s.cron}`（{service.channel_tz(s.channel)}），覆盖 {s.period}" for s in mine]
        return Message(title="定时报告 / scheduled reports", text="\n".join(lines))
    period_text = parsed.sub
    given = parsed.opt("period")
    if given is not None:  # `/report --period 7d`, as `crisisbot report` takes it, is `/report 7d` here
        if given is True or not str(given).strip():
            raise UsageError("--period 后要写周期，例如 /report 7d / --period needs a period, e.g. /report 7d")
        if parsed.args:
            raise UsageError("周期只写一次：/report 7d / give the period once: /report 7d")
        period_text = str(given)
    elif len(parsed.args) > 1:
        raise UsageError("最多一个周期参数，例如 /report 7d / at most one period, e.g. /report 7d")
    try:
        period, name = service.period_for(period_text)
    except ValueError as exc:
        raise UsageError(f"周期无效 / bad period: {exc}") from None
    end = service.clock.now()
    result = service.build(ReportRequest(ctx.channel, end - period, end, name))
    return report_message(result.data, result.png)


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "report",
        handle_report,
        summary_zh="客户报告：评论量、负面占比、关键词、告警、回复（含图表）",
        summary_en="client report: volume, negative share, keywords, alerts, replies (with a chart)",
        usage=USAGE,
        options={"period"},
    )
