"""`/report`: the channel's client report now, and the schedules that post it by themselves."""

from __future__ import annotations

from bot.handlers.registry import CommandContext, CommandRegistry, ParsedCommand, UsageError, asks_for_help
from bot.i18n import in_language
from bot.messages import Message

USAGE = """\
  /report [24h|7d|7天|30d] — 本频道客户截至现在的报告，含图表 / the channel's client report up to now, with a chart
  /report 日报|周报|月报 — 上一个完整的日、周（周一至周日）、自然月（频道时区）/ the last whole day, ISO week or calendar month
  /report --month 2026-11 — 某个自然月 / a calendar month
  /report --from 2026-11-01 --to 2026-11-15 — 整天，含首尾两天 / whole days, both included
  /report schedules — 本频道的定时报告 / this channel's scheduled reports
  报告全文（含图表）作为 HTML 文件附在消息后，可直接转发客户 / the whole report comes as an HTML file to forward"""

# The usage in a channel set to English (the Chinese period words still work there).
USAGE_EN = """\
  /report [24h|7d|30d] — the channel's client report up to now, with a chart
  /report daily|weekly|monthly — the last whole day, ISO week (Monday to Sunday) or calendar month (channel time zone)
  /report --month 2026-11 — a calendar month
  /report --from 2026-11-01 --to 2026-11-15 — whole days, both included
  /report schedules — this channel's scheduled reports
  The whole report (with its chart) comes as an HTML file attached to the message, ready to forward"""

_PERIOD_OPTIONS = ("month", "from", "to")


def _service(ctx: CommandContext):
    service = ctx.services.extra.get("reports")
    if service is None:
        raise UsageError("报告功能未启用 / reports are not enabled", en="reports are not enabled")
    return service


def _usage(zh: str, en: str, *, brief: bool = False) -> UsageError:
    """A usage error reading "zh / en", with `en` alone for a channel set to English (the dispatcher shows
    it there): an English channel's `/report 3x` was answered in Chinese first. `brief`: it names the form
    to type, so the dispatcher points to the usage instead of adding it (`UsageError`)."""
    return UsageError(f"{zh} / {en}", en=en, brief=brief)


def _bad_period(exc: ValueError) -> UsageError:
    """A period the reports refuse (`bot.reports.settings.PeriodError`: its English alone in `en`)."""
    return UsageError(f"周期无效 / bad period: {exc}", en=f"bad period: {in_language(exc, 'en')}")


def _option(parsed: ParsedCommand, name: str) -> str | None:
    value = parsed.opt(name)
    if value is None:
        return None
    if value is True or not str(value).strip():
        raise _usage(f"--{name} 后要写值，例如 /report --month 2026-11",
                     f"--{name} needs a value, e.g. /report --month 2026-11")
    return str(value).strip()


def _calendar_request(ctx: CommandContext, service, parsed: ParsedCommand):
    """The request of `--month` or `--from/--to`, or None when neither is given."""
    from bot.reports.periods import OptionConflict, check_over, fixed_period

    month, first, last = (_option(parsed, name) for name in _PERIOD_OPTIONS)
    if (month, first, last) == (None, None, None):
        return None
    if parsed.args or parsed.opt("period") is not None:
        raise _usage("周期只写一种：/report 7d、--month 或 --from/--to",
                     "give one period: /report 7d, --month or --from/--to")
    try:
        fixed = fixed_period(month, first, last)
        period = fixed.in_zone(service.channel_tz(ctx.channel))
        check_over(period, service.clock.now())
    except OptionConflict as exc:
        raise UsageError(str(exc), en=in_language(exc, "en")) from None
    except ValueError as exc:
        raise _bad_period(exc) from None
    return service.calendar_request(ctx.channel, period)


def handle_report(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    from bot.reports.render import report_message

    service = _service(ctx)
    if parsed.sub in ("schedules", "schedule", "定时"):
        mine = [s for s in service.settings.schedules if s.channel == ctx.channel]
        en = service.channel_language(ctx.channel) == "en"  # an English channel reads English alone
        if not mine:
            if en:
                return Message(text="No scheduled reports for this channel (add them under reports.schedules).")
            return Message(text="本频道没有定时报告（在配置 reports.schedules 里添加）。\n"
                                "No scheduled reports for this channel (add them under reports.schedules).")
        if en:
            lines = [f"- {s.id}: cron `{s.cron}` ({service.channel_tz(s.channel)}), covers {s.period}" for s in mine]
            return Message(title="Scheduled reports", text="\n".join(lines))
        lines = [f"- {s.id}：cron `{s.cron}`（{service.channel_tz(s.channel)}），覆盖 {s.period}" for s in mine]
        return Message(title="定时报告 / scheduled reports", text="\n".join(lines))
    # "/report --help" alone the dispatcher answers; beside a period too it is the usage, not a bad period
    if any(asks_for_help(word) for word in parsed.args) or parsed.opt("help") is not None:
        return ctx.services.registry.commands["report"].help(ctx.lang)
    request = _calendar_request(ctx, service, parsed)
    if request is None:
        period_text = parsed.sub
        given = parsed.opt("period")
        if given is not None:  # `/report --period 7d`, as `crisisbot report` takes it, is `/report 7d` here
            if given is True or not str(given).strip():
                raise _usage("--period 后要写周期，例如 /report 7d", "--period needs a period, e.g. /report 7d",
                             brief=True)
            if parsed.args:
                raise _usage("周期只写一次：/report 7d", "give the period once: /report 7d", brief=True)
            period_text = str(given)
        elif len(parsed.args) > 1:
            raise _usage("最多一个周期参数，例如 /report 7d", "at most one period, e.g. /report 7d", brief=True)
        try:
            request = service.request_for(ctx.channel, period_text, service.clock.now())
        except ValueError as exc:
            raise _bad_period(exc) from None
    unconfigured = ctx.services.scope.not_configured(ctx.channel, service.channel_language(ctx.channel))
    if unconfigured:  # (after the period is checked: a typo is said wherever it is typed)
        # an empty report ("评论 0") here hid that the chat is simply not set up
        return Message(text=f"⚠️ {unconfigured}", ephemeral=True)
    result = service.build(request)
    return report_message(result.data, result.png)


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "report",
        handle_report,
        summary_zh="客户报告：评论量、负面占比、关键词、告警、回复（含图表）",
        summary_en="client report: volume, negative share, keywords, alerts, replies (with a chart)",
        usage=USAGE,
        usage_en=USAGE_EN,
        options={"period", *_PERIOD_OPTIONS},
        flags={"help"},
    )
    registry.add_alias("报告", "report")
