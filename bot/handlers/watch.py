"""`/watch`: planned surges and watched risk terms; and the alert buttons (启动预案/确认/静默/误报).

Handlers parse and call the alert service; the rules live in bot.alerts.service.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.render import account_label
from bot.clock import ensure_aware
from bot.handlers.registry import CommandContext, CommandRegistry, ParsedCommand, UsageError
from bot.messages import Action, Message
from bot.playbooks.service import alert_run_title
from bot.scope import unsupported_platform

USAGE = """\
  /watch surge 账号 --from 时间 --until 时间 [--factor 3] — 声明预期流量高峰（直播、大促），不按量告警 / declare a planned surge
  /watch add 关键词 [--account 账号] — 监控风险词，命中即通知 / watch a risk term
  /watch remove 关键词|编号 [--account 账号] — 取消监控 / stop watching
  /watch list — 查看监控与高峰 / list watches and surges
  时间格式 / time: 2026-11-11T20:00 或 "2026-11-11 20:00"（默认本频道时区 / the channel's time zone）"""

# The usage in a channel set to English.
USAGE_EN = """\
  /watch surge ACCOUNT --from TIME --until TIME [--factor 3] — declare a planned surge (a livestream, a sale): no volume alerts
  /watch add TERM [--account ACCOUNT] — watch a risk term: each match is announced
  /watch remove TERM|ID [--account ACCOUNT] — stop watching
  /watch list — list watches and surges
  Time: 2026-11-11T20:00 or "2026-11-11 20:00" (in the channel's time zone)"""


# a watch without --account covers the accounts of the channel that added it (AlertService.watch_covers)
_CHANNEL_ACCOUNTS_EN = "all of this channel's accounts"
_CHANNEL_ACCOUNTS = f"本频道的全部账号 / {_CHANNEL_ACCOUNTS_EN}"

#: The longest planned surge `/watch surge` accepts. A surge raises the volume baseline by its factor for
#: the whole window, so a typo in the year (`--until 2027-…` for 2026) silenced volume alerts for a year.
#: Two weeks covers what the command is for (a livestream, a launch week, the main days of 618/双11,
#: including their presale peaks) and ends on its own within a fortnight if it was a mistake; a longer
#: campaign is declared in parts, each shown by `/watch list`.
MAX_SURGE = timedelta(days=14)


def _service(ctx: CommandContext):
    svc = ctx.services.extra.get("alerts")
    if svc is None:
        raise UsageError("告警功能未启用 / alerts are not enabled", en="Alerts are not enabled")
    return svc


def _account_option(parsed, usage: str) -> str | None:
    """--account's value, None without the option. "--account" with no value is refused: it used to add a
    watch for every account of the channel (or remove the channel-wide one) as if it had not been typed."""
    account = parsed.opt("account")
    if account is None:
        return None
    if not isinstance(account, str) or not account.strip():
        raise UsageError(f"--account 需要账号，例如 --account douyin:lanji_official / --account needs an account: "
                         f"{usage} --account 账号",
                         en="--account needs an account, e.g. --account douyin:lanji_official")
    return account


def _resolve_account(ctx: CommandContext, text: str) -> str:
    """'platform:account_id', a bare account id or the account's name -> a key this channel may see."""
    config = ctx.services.config
    candidates = []
    for account in config.accounts:
        if text in (account.key, account.account_id, account.name):
            candidates.append(account.key)
    if not candidates and ":" in text:
        if (why := unsupported_platform(text)) is not None:
            raise UsageError(why, en=unsupported_platform(text, "en"))
        candidates.append(text)
    visible = [k for k in candidates if ctx.services.scope.can_see(ctx.channel, k)]
    if not visible:
        raise UsageError(f"找不到本频道可见的账号 {text} / no account {text!r} visible in this channel",
                         en=f"No account {text!r} visible in this channel")
    if len(visible) > 1:
        raise UsageError(f"账号 {text} 不唯一，请写 平台:账号ID / ambiguous account, use platform:account_id",
                         en=f"Ambiguous account {text!r}: use platform:account_id")
    return visible[0]


def _account_name(ctx: CommandContext, key: str, lang: str = "zh") -> str:
    """'douyin:lanji_official' -> '澜肌官方旗舰店（抖音）' ('澜肌官方旗舰店 (Douyin)' for an English line):
    replies and lists name accounts as alerts do."""
    platform, _, account_id = key.partition(":")
    account = ctx.services.config.account(platform, account_id)
    return account_label(account.name if account and account.name else account_id, platform, lang)


def _config_where(ctx: CommandContext, account: str | None) -> tuple[str, str]:
    """Where a config watch term applies, (Chinese, English), as /watch list names it."""
    if account is None:
        return "全部账号", "all accounts"
    return _account_name(ctx, account), _account_name(ctx, account, "en")


def _text(ctx: CommandContext, bilingual: str, english: str) -> str:
    """A reply as the channel reads it: `english` alone in a channel set to English, else the bilingual text
    (Chinese first), as Chinese channels have always read it."""
    return english if ctx.lang == "en" else bilingual


def _zone(ctx: CommandContext) -> ZoneInfo:
    """The channel's own zone (`channels[].timezone`), as its alerts, reports and quiet hours use: a team
    abroad typing "20:00" means its own evening, not the bot's default zone's."""
    return ctx.services.config.channel_zone(ctx.channel)


def _parse_time(ctx: CommandContext, value: str | bool | None, name: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise UsageError(f"缺少 --{name} 时间 / --{name} TIME is required", en=f"--{name} TIME is required")
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        raise UsageError(f"--{name} 时间格式不对：{value} / bad time {value!r}",
                         en=f"Bad --{name} time {value!r} (e.g. 2026-11-22T20:00)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(ctx))
    try:
        parsed.astimezone(UTC)  # stored in UTC: "9999-12-31T23:59-05:00" is past the last representable day
    except OverflowError:
        raise UsageError(f"--{name} 时间超出范围：{value} / time out of range {value!r}",
                         en=f"--{name} time out of range: {value!r}") from None
    return parsed


def _span(days: float, lang: str = "zh") -> str:
    """A duration for the refusal, e.g. '365 天 2 小时 / 365 d 2 h' ('365 d 2 h' for `lang` "en")."""
    hours = round(days * 24)
    d, h = divmod(hours, 24)
    zh = f"{d} 天" + (f" {h} 小时" if h else "") if d else f"{h} 小时"
    en = f"{d} d" + (f" {h} h" if h else "") if d else f"{h} h"
    return en if lang == "en" else f"{zh} / {en}"


def window_text(start: datetime, until: datetime, zone: ZoneInfo, now: datetime, sep: str = " – ") -> str:
    """A surge window in the channel's zone: 'MM-DD HH:MM – MM-DD HH:MM' when it lies within a day of
    this year, else with the years ('2026-12-05 20:00 – 2027-12-05 22:00'), so a window that lasts a
    year never reads like a two-hour one."""
    start, until = ensure_aware(start).astimezone(zone), ensure_aware(until).astimezone(zone)
    year = ensure_aware(now).astimezone(zone).year
    short = until - start <= timedelta(days=1) and start.year == year and until.year == year
    form = "%m-%d %H:%M" if short else "%Y-%m-%d %H:%M"
    return f"{start.strftime(form)}{sep}{until.strftime(form)}"


def handle_watch(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    svc = _service(ctx)
    sub = (parsed.sub or "").lower()
    args = parsed.args[1:]
    zone = _zone(ctx)
    if sub == "surge":
        if len(args) != 1:
            raise UsageError("用法 / usage: /watch surge 账号 --from 时间 --until 时间 [--factor 3]",
                             en="Usage: /watch surge ACCOUNT --from TIME --until TIME [--factor 3]",
                             brief=True)
        account = _resolve_account(ctx, args[0])
        start = _parse_time(ctx, parsed.opt("from"), "from")
        until = _parse_time(ctx, parsed.opt("until"), "until")
        if until <= start:
            raise UsageError("--until 必须晚于 --from / --until must be after --from", en="--until must be after --from")
        now = ctx.services.clock.now()
        past_note = past_note_en = ""
        if until <= now:
            # Recorded all the same: surges apply by bucket time, so history of that window imported later is
            # judged with it. But it never shows in `/watch list`, and a wrong year is the usual cause: say so.
            shown_now = ensure_aware(now).astimezone(zone)
            local_until = ensure_aware(until).astimezone(zone)
            form = "%m-%d %H:%M" if local_until.year == shown_now.year else "%Y-%m-%d %H:%M"
            when = f"{local_until.strftime(form)}（{zone.key}）"
            note_en = (f"Note: --until {local_until.strftime(form)} ({zone.key}) has already passed (now "
                       f"{shown_now.strftime(form)}): it only applies to comments of that time imported from now on "
                       f"and is not shown in /watch list. Is the date or year wrong?")
            past_note = (
                f"\n⚠️ 注意：结束时间 {when} 已经过去（现在 {shown_now.strftime(form)}），它只影响之后导入的这段时间的"
                f"历史评论，不会出现在 /watch list 中；日期或年份写错了吗？\n{note_en}")
            past_note_en = f"\n⚠️ {note_en}"
        if until - start > MAX_SURGE:
            days = MAX_SURGE.days
            raise UsageError(
                f"预期高峰最长 {days} 天，这次是 {_span((until - start).total_seconds() / 86400)}"
                f"（{window_text(start, until, zone, ctx.services.clock.now())}）：期间按量不告警，"
                f"时间写错会让真正的危机漏报。请检查 --from/--until 的年份和日期；更长的活动请分段登记。\n"
                f"A planned surge may last at most {days} days: volume alerts are relaxed for all of it. "
                "Check the year and date of --from/--until; declare a longer campaign in parts.",
                en=f"A planned surge may last at most {days} days, this one "
                   f"{_span((until - start).total_seconds() / 86400, 'en')} "
                   f"({window_text(start, until, zone, ctx.services.clock.now())}): volume alerts are relaxed for "
                   "all of it. Check the year and date of --from/--until; declare a longer campaign in parts.")
        try:
            factor = float(parsed.opt("factor", "3"))
        except (TypeError, ValueError):
            raise UsageError("--factor 应为数字，例如 3 / --factor must be a number",
                             en="--factor must be a number, e.g. 3") from None
        if not 1.0 < factor <= 100.0:
            raise UsageError("--factor 应在 1 到 100 之间 / --factor must be in (1, 100]",
                             en="--factor must be in (1, 100]")
        watch = svc.add_watch(kind="surge", channel=ctx.channel, user=ctx.user, account=account,
                              starts_at=start, ends_at=until, factor=factor)
        window = window_text(start, until, zone, ctx.services.clock.now())
        recorded_en = (f"Planned surge #{watch.id} recorded: {_account_name(ctx, account, 'en')} {window}, expected "
                       f"x{factor:g}. Volume up to x{factor:g} will not alert during it; a jump in the negative share "
                       f"still does.")
        return Message(text=_text(
            ctx,
            f"已登记预期高峰 #{watch.id}：{_account_name(ctx, account)} {window}，预期 x{factor:g}。期间按量不告警，负面占比异常仍会告警。\n"
            f"{recorded_en}{past_note}",
            recorded_en + past_note_en))
    if sub == "add":
        if not args:
            raise UsageError("用法 / usage: /watch add 关键词 [--account 账号]",
                             en="Usage: /watch add TERM [--account ACCOUNT]", brief=True)
        term = parsed.text_from(1).strip()
        if not term:
            raise UsageError("关键词为空 / the term is empty: /watch add 关键词", en="The term is empty: /watch add TERM",
                             brief=True)
        account = _account_option(parsed, "/watch add 关键词")
        account_key = _resolve_account(ctx, account) if account else None
        # a term the config already watches here: a chat watch would be a duplicate that /watch list shows
        # twice and /watch remove takes away while the term stays watched
        configured = next((t for t in svc.config_watch_terms(ctx.channel, term)
                           if t.account is None or t.account == account_key), None)
        if configured is not None:
            where, where_en = _config_where(ctx, configured.account)
            already_en = (f"“{configured.term}” is already watched by the config (`alerts.watch_terms`, {where_en}): "
                          f"not added again.")
            return Message(text=_text(ctx, f"风险词「{configured.term}」已在配置中监控（alerts.watch_terms，{where}），"
                                           f"无需重复添加。\n{already_en}", already_en))
        watch = svc.add_watch(kind="term", channel=ctx.channel, user=ctx.user, term=term, account=account_key)
        where = _account_name(ctx, account_key) if account_key else _CHANNEL_ACCOUNTS
        # the English line in English only ("Watching “过敏” (本频道的全部账号 / all of …)" read half Chinese)
        where_en = _account_name(ctx, account_key, "en") if account_key else _CHANNEL_ACCOUNTS_EN
        shown = watch.term or term  # the stored spelling when it was already watched in another case
        watching_en = f"Watching “{shown}” ({where_en}), #{watch.id}."
        return Message(text=_text(ctx, f"已监控风险词「{shown}」（{where}），编号 #{watch.id}。\n{watching_en}", watching_en))
    if sub == "remove":
        if not args:
            raise UsageError("用法 / usage: /watch remove 关键词|编号 [--account 账号]",
                             en="Usage: /watch remove TERM|ID [--account ACCOUNT]", brief=True)
        # as typed: a hashtag term (#澜肌翻车#) is removed by its own text; the service also reads "#3" as watch 3
        term = parsed.text_from(1).strip()
        account = _account_option(parsed, "/watch remove 关键词|编号")
        account_key = _resolve_account(ctx, account) if account else None
        removed = svc.remove_watch(term=term, account=account_key, channel=ctx.channel)
        # the config's terms (alerts.watch_terms) are shown by /watch list but only the config file removes them
        configured = next((t for t in svc.config_watch_terms(ctx.channel, term)
                           if account_key is None or t.account in (None, account_key)), None)
        if not removed:
            if configured is not None:
                in_config_en = (f"“{configured.term}” is set in the config (`alerts.watch_terms`) and cannot be "
                                f"removed from chat: edit the config file.")
                return Message(text=_text(ctx, f"风险词「{configured.term}」来自配置文件（alerts.watch_terms），"
                                               f"不能在聊天中取消，请修改配置文件。\n{in_config_en}", in_config_en))
            return Message(text=_text(ctx, f"没有找到监控项 {term} / nothing watched matches {term!r}",
                                      f"Nothing watched matches {term!r}"))
        watches = "watch" if removed == 1 else "watches"
        text = f"已取消 {removed} 项监控 / removed {removed} {watches}"
        text_en = f"Removed {removed} {watches}"
        if configured is not None:
            still_en = f"“{configured.term}” is still watched by the config (`alerts.watch_terms`)."
            text += f"\n配置中的风险词「{configured.term}」仍在监控（alerts.watch_terms）。\n{still_en}"
            text_en += f"\n{still_en}"
        return Message(text=_text(ctx, text, text_en))
    if sub in ("list", "ls", ""):
        return _list(ctx, svc, zone)
    raise UsageError(f"未知子命令 {sub} / unknown subcommand", en=f"Unknown subcommand {sub}")


def _list(ctx: CommandContext, svc, zone: ZoneInfo) -> Message:
    """`/watch list`: the chat's watches, then the config's; bilingual words in a Chinese channel, English
    alone in a channel set to English (account names as alerts name them there)."""
    lang = ctx.lang
    now = ctx.services.clock.now()
    if lang == "en":
        everywhere, all_accounts, config, surge = _CHANNEL_ACCOUNTS_EN, "all accounts", "(config) ", "surge"

        def term_of(term: str) -> str:
            return f"term “{term}”"
    else:
        everywhere, all_accounts, config, surge = _CHANNEL_ACCOUNTS, "全部账号 all accounts", "（配置 config）", "预期高峰 surge"

        def term_of(term: str) -> str:
            return f"风险词 term「{term}」"

    lines = []
    for w in svc.list_watches(ctx.channel):
        if w.kind == "term":
            lines.append(f"#{w.id} {term_of(w.term)} {_account_name(ctx, w.account, lang) if w.account else everywhere}")
        else:
            # stored times may come back naive (SQLite): they are UTC, not the machine's local time
            lines.append(f"#{w.id} {surge} {_account_name(ctx, w.account, lang)} "
                         f"{window_text(w.starts_at, w.ends_at, zone, now, sep='–')} x{w.factor:g}")
    for t in svc.config_watch_terms(ctx.channel):
        lines.append(f"{config}{term_of(t.term)} {_account_name(ctx, t.account, lang) if t.account else all_accounts}")
    for s in ctx.services.config.alerts.surges:
        if ctx.services.scope.can_see(ctx.channel, s.account):
            lines.append(f"{config}{surge} {_account_name(ctx, s.account, lang)} "
                         f"{window_text(s.start, s.until, zone, now, sep='–')} x{s.factor:g}")
    if not lines:
        return Message(text=_text(ctx, "暂无监控项 / nothing watched yet", "Nothing watched yet"))
    return Message(title=_text(ctx, "监控列表 / Watches", "Watches"), text="\n".join(lines))


ACTIONS = {
    "alert.ack": "acknowledged",
    "alert.mute": "muted",
    "alert.false_positive": "false_positive",
    "alert.playbook": "playbook",
}

REPLIES = {
    "acknowledged": ("{who} 已确认告警，升级提醒停止。", "{who} acknowledged the alert; escalation stopped."),
    "muted": ("{who} 已静默该告警 1 小时。", "{who} muted the alert for 1 hour."),
    "false_positive": ("{who} 标记为误报，已记录用于调优。", "{who} marked it a false alarm; recorded for tuning."),
}


#: what a press that changed nothing answers, by the alert's status (e.g. 静默 after 误报)
UNCHANGED = {
    "false_positive": ("该告警已标记为误报", "already marked a false alarm"),
    "acknowledged": ("该告警已确认", "already acknowledged"),
    "muted": ("该告警已静默至 {until}", "already muted until {until}"),
    "resolved": ("该告警已恢复", "already resolved"),
    "open": ("该告警仍为待处理", "still open"),
}


def _unchanged(ctx: CommandContext, episode) -> Message:
    """The reply to a press the service did not apply: say the state it is in, claim nothing."""
    zh, en = UNCHANGED.get(episode.status, (f"该告警状态为 {episode.status}", f"status is {episode.status}"))
    until = "-"
    if episode.muted_until is not None:
        until = ensure_aware(episode.muted_until).astimezone(_zone(ctx)).strftime("%m-%d %H:%M")
    return Message(text=_text(ctx, f"状态未变：{zh.format(until=until)} / unchanged: {en.format(until=until)}",
                              f"Unchanged: {en.format(until=until)}"))


ALERT_NOT_FOUND = "找不到这条告警 / alert not found"
ALERT_NOT_FOUND_EN = "Alert not found"


def handle_alert_action(ctx: CommandContext, action: Action) -> Message | None:
    svc = _service(ctx)
    kind = ACTIONS.get(action.action_id)
    if kind is None:
        raise UsageError(f"未知按钮 / unknown button {action.action_id}", en=f"Unknown button {action.action_id}")
    who = ctx.user_name
    if kind == "playbook":
        return _start_playbook(ctx, svc, action)
    try:
        episode, changed = svc.apply_action(action.value, kind, user=ctx.user, user_name=who, channel=ctx.channel)
    except (LookupError, PermissionError):
        # another client's alert reads as no alert at all (as the reply queue answers for others' items):
        # "this channel cannot see that account" told a presser of a made-up key that the alert existed
        raise UsageError(ALERT_NOT_FOUND, en=ALERT_NOT_FOUND_EN) from None
    if not changed:
        return _unchanged(ctx, episode)
    zh, en = REPLIES[kind]
    zh, en = zh.format(who=who), en.format(who=who)
    if kind == "false_positive":
        runs_zh, runs_en = _runs_still_going(ctx, episode.episode_key)
        zh, en = zh + runs_zh, en + runs_en
    return Message(text=_text(ctx, f"{zh}\n{en}", en))


def _runs_still_going(ctx: CommandContext, episode_key: str) -> tuple[str, str]:
    """A run this channel started from an alert now marked a false alarm goes on (its reminders too) until
    someone ends it: say so, with the command, rather than let "marked a false alarm" read as all done."""
    playbooks = ctx.services.extra.get("playbooks")
    if playbooks is None or not hasattr(playbooks, "active_runs"):
        return "", ""
    runs = [run.id for run in playbooks.active_runs(ctx.channel) if run.alert_id == episode_key]
    if not runs:
        return "", ""
    named = "、".join(f"#{n}" for n in runs)
    return (f"由它启动的预案 {named} 仍在进行；如不再需要，用 /crisis cancel {runs[0]} 误报 取消。",
            f" Run {', '.join(f'#{n}' for n in runs)} started from it is still active; if it is no longer needed, "
            f"cancel it: /crisis cancel {runs[0]} false alarm")


def _start_playbook(ctx: CommandContext, svc, action: Action) -> Message:
    playbooks = ctx.services.extra.get("playbooks")
    with svc.db.session() as session:
        episode = svc.find_episode(session, action.value)
    account = "" if episode is None else f"{episode.platform}:{episode.account_id}"
    if episode is None or not ctx.services.scope.can_see(ctx.channel, account):
        raise UsageError(ALERT_NOT_FOUND, en=ALERT_NOT_FOUND_EN)
    if episode.status == "false_positive":
        # as 确认 and 静默 after 误报: nothing changes, so the false-alarm feedback kept for tuning stays;
        # a team that wants a run anyway starts it on purpose, on the account rather than on this alert
        start = f"/crisis start {_suggested_playbook(svc, episode)} --account {account}"
        unchanged_en = (f"Unchanged: this alert is marked a false alarm, so no playbook was started. "
                        f"To start one anyway: `{start}`.")
        return Message(text=_text(ctx, f"状态未变：该告警已标记为误报，未启动预案。如仍需处置，可用 `{start}` 启动预案。\n"
                                       f"{unchanged_en}", unchanged_en))
    if playbooks is None or not hasattr(playbooks, "start_run"):
        disabled_en = "Playbooks are not enabled yet; please handle it by hand."
        return Message(text=_text(ctx, f"预案功能尚未启用，请先按告警内容人工处理。\n{disabled_en}", disabled_en))
    # a run already going for this alert (from any channel) is not started again: say which one, log nothing
    active = playbooks.active_runs()
    existing = next((run for run in active if run.alert_id == episode.episode_key), None)
    if existing is not None:
        # a notice for the presser only: nothing changed, and the channel already has the run's card
        exists_zh = f"已有预案 #{existing.id}（{existing.title}）/ a run #{existing.id} already exists for this alert"
        exists_en = f"Run #{existing.id} ({existing.title}) already exists for this alert"
        return Message(text=_text(ctx, exists_zh, exists_en), ephemeral=True)
    # A run already handling this account here takes the alert on its timeline: a second, parallel run for
    # the same incident would split the responders (a new run on purpose is still `/crisis start`).
    same_account = [run for run in active if run.channel == ctx.channel and run.account == account]
    if same_account:
        run = same_account[-1]
        playbooks.link_alert(run.id, episode.episode_key, actor=ctx.user,
                             text=f"{episode.severity}，{ctx.user_name} 按下启动预案")
        svc.act(episode.episode_key, "playbook", user=ctx.user, user_name=ctx.user_name, channel=ctx.channel)
        linked_en = (f"Run #{run.id} ({run.title}) is already handling this account: the alert is on its timeline. "
                     "Use /crisis start for a separate run.")
        return Message(text=_text(
            ctx, f"该账号已有进行中的预案 #{run.id}（{run.title}），本告警已加入其时间线；另起预案请用 /crisis start。\n"
                 f"{linked_en}", linked_en))
    playbook_id = _suggested_playbook(svc, episode)
    severity = {"sev1": 1, "sev2": 2, "sev3": 3}.get(episode.severity, 3)
    # in the channel's language: it is the run card's title and fills the statements' {title}
    title = alert_run_title(episode.stats.get("account_name") or episode.account_id, ctx.lang)
    run = playbooks.start_run(channel=ctx.channel, playbook_id=playbook_id, title=title, severity=severity,
                              account=account, started_by=ctx.user, alert_id=episode.episode_key)
    svc.act(episode.episode_key, "playbook", user=ctx.user, user_name=ctx.user_name, channel=ctx.channel)
    started_en = f"{ctx.user_name} started playbook {run.playbook.title_en or run.playbook.id} (run #{run.id})."
    return Message(text=_text(ctx, f"{ctx.user_name} 已启动预案「{run.playbook.name}」（#{run.id}）。\n{started_en}",
                              started_en))


def _suggested_playbook(svc, episode) -> str:
    return episode.stats.get("playbook") or svc.cfg.playbooks.get(episode.severity, "negative-outbreak")


def register(registry: CommandRegistry) -> None:
    registry.add_command("watch", handle_watch, summary_zh="预期高峰与风险词监控", summary_en="planned surges and risk-term watch",
                         usage=USAGE, usage_en=USAGE_EN, options={"account", "from", "until", "factor"})
    registry.add_action("alert.", handle_alert_action)
