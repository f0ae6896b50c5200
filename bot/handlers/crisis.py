"""`/crisis`: crisis playbook runs from chat (console, Slack, Feishu alike) and the run-card buttons."""

from __future__ import annotations

import re
import unicodedata

from bot.handlers.registry import (
    CommandContext,
    CommandRegistry,
    ParsedCommand,
    UsageError,
    option_word,
    tokenize_spans,
)
from bot.messages import Action, Message
from bot.playbooks import render
from bot.playbooks.machine import Answer, Assign, Done, Note, Skip, TransitionRejected, apply
from bot.playbooks.service import PlaybookNotFound, PlaybookService, RunNotFound
from bot.record_numbers import record_digits

USAGE = """\
  /crisis start 预案 [标题] [--severity 1-3] [--account 平台:账号] [--var 变量=值] — 启动预案 / start a run
  /crisis list — 可用预案与进行中的预案 / playbooks and active runs
  /crisis status [#编号] — 全部步骤状态 / every step
  /crisis next [#编号] — 下一步：说明、清单、回应口径 / next steps in detail
  /crisis done 步骤 [答案或备注] — 完成步骤；判断步骤需给出答案（如 done verify 属实，或 yes/true），
      其它步骤后面的文字记为备注 / finish a step: a decision takes its answer, other steps a remark
  /crisis skip 步骤 原因 — 跳过步骤 / skip a step with a reason
  /crisis assign 步骤|角色 @人 — 指派 / assign a step or a role
  /crisis note 内容 — 记录进展 / add a note to the timeline
  /crisis timeline [#编号] — 时间线 / timeline
  /crisis report [#编号] — 复盘报告（Markdown + 负面占比图）/ post-incident review
  /crisis resolve [#编号] [说明] — 解除并发布复盘 / resolve and post the review
  /crisis cancel 原因 — 取消预案 / cancel the run
  /crisis help — 本说明 / this help
  频道只有一个进行中的预案时可省略编号；否则用 #编号 或 --run 编号。
  The run id may be omitted when the channel has one active run; else add #N or --run N."""

ALIASES = {
    "启动": "start",
    "列表": "list",
    "状态": "status",
    "下一步": "next",
    "完成": "done",
    "跳过": "skip",
    "指派": "assign",
    "备注": "note",
    "时间线": "timeline",
    "复盘": "report",
    "报告": "report",
    "解除": "resolve",
    "取消": "cancel",
    "回答": "answer",
}
_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


def _service(ctx: CommandContext) -> PlaybookService:
    return ctx.services.playbooks


def _tz(ctx: CommandContext) -> str:
    return _service(ctx).channel_tz(ctx.channel)


def normalise_user(text: str, ctx: CommandContext) -> str:
    """'<@U123|ann>' -> 'slack:U123'; 'me'/'我' -> the caller; 'platform:id' and '@name' stay."""
    word = text.strip()
    if word.lower() in ("me", "我", "@me"):
        return ctx.user
    match = _SLACK_MENTION.match(word)
    if match:
        return f"{ctx.channel.partition(':')[0]}:{match.group(1)}"
    if not word.strip("@＠ "):
        raise UsageError("请指定负责人，例如 @小王 / name the person, e.g. @alice")
    return word


def _split_run(ctx: CommandContext, parsed: ParsedCommand, *, read_only: bool = False) -> tuple[int, int]:
    """The run the command means (#N arg, --run N, or the channel's only active run; for read-only
    commands the latest run when none is active) and the index of the first arg after it."""
    first = 1
    ref: str | None = None
    option = parsed.opt("run")
    if isinstance(option, str):
        ref = option
    elif len(parsed.args) > 1 and record_digits(parsed.args[1]) is not None and (
            read_only or parsed.args[1].lstrip()[:1] in ("#", "＃")):
        # read-only commands take a bare number too ("/crisis status 2"): they have no step argument
        ref = parsed.args[1]
        first = 2
    return _service(ctx).resolve_run_id(ctx.channel, ref, latest_if_none=read_only), first


def _card(ctx: CommandContext, run_id: int) -> Message:
    service = _service(ctx)
    return render.run_card(
        service.get(run_id), service.clock.now(), _tz(ctx), max_steps=service.settings.card_steps
    )


def handle_crisis(ctx: CommandContext, parsed: ParsedCommand) -> Message | list[Message] | None:
    sub_word = (parsed.sub or "").lower()
    sub = ALIASES.get(sub_word, sub_word)
    if not sub:
        raise UsageError("缺少子命令 / missing subcommand")
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        raise UsageError(f"未知子命令 {sub} / unknown subcommand")
    try:
        return handler(ctx, parsed)
    except (TransitionRejected, RunNotFound) as exc:
        return Message(text=str(exc), ephemeral=True)
    except (PlaybookNotFound, ValueError) as exc:
        raise UsageError(str(exc)) from exc


def _start(ctx: CommandContext, parsed: ParsedCommand) -> Message | None:
    args = parsed.args[1:]
    if not args:
        raise UsageError("请指定预案，例如 /crisis start 负面舆情爆发 / name a playbook")
    severity_opt = parsed.opt("severity")
    severity = None
    if severity_opt is not None:
        typed = unicodedata.normalize("NFKC", severity_opt).strip() if isinstance(severity_opt, str) else ""
        if typed not in ("1", "2", "3"):
            raise UsageError("--severity 应为 1、2 或 3 / --severity must be 1, 2 or 3")
        severity = int(typed)
    account = parsed.opt("account")
    if account is True:  # "--account" with nothing after it must not start a run watching no account
        raise UsageError("--account 需要账号，例如 --account douyin:lanji_official / --account needs an account")
    variables: dict[str, str] = {}
    for item in _var_options(parsed):
        for pair in item.replace("，", ",").split(","):
            key, eq, value = pair.partition("=")
            if not eq or not key.strip():
                raise UsageError("--var 格式为 变量=值 / --var name=value")
            variables[key.strip()] = value.strip()
    view = _service(ctx).start_run(
        ctx.channel,
        args[0],
        parsed.text_from(2) or None,
        severity,
        account if isinstance(account, str) else None,
        ctx.user,
        variables=variables,
    )
    return Message(
        text=f"已启动预案 #{view.id}「{view.title}」，运行卡片见上；/crisis next 查看下一步。\n"
        f"Run #{view.id} started; see the card, and /crisis next for the next steps.",
        ephemeral=True,
    )


def _var_options(parsed: ParsedCommand) -> list[str]:
    """Every `--var` value as typed: the parser keeps only the last of a repeated option, and
    `--var brand=澜肌 --var product=面霜` silently lost the brand from the response statements."""
    values: list[str] = []
    words = [word for word, _start, _end in tokenize_spans(parsed.source)]
    for index, word in enumerate(words):
        key, eq, value = option_word(word)
        if key.lower() != "var":
            continue
        if eq:
            values.append(value)
        elif index + 1 < len(words) and not option_word(words[index + 1])[0]:
            values.append(words[index + 1])
    if not values and isinstance(parsed.opt("var"), str):  # a command built without its source text
        values.append(parsed.opt("var"))
    return values


def _list(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    service = _service(ctx)
    return render.list_message(service.playbooks.playbooks, service.active_runs(ctx.channel), _tz(ctx))


def _status(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, _ = _split_run(ctx, parsed, read_only=True)
    service = _service(ctx)
    return render.status_message(service.get(run_id), service.clock.now(), _tz(ctx))


def _next(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, _ = _split_run(ctx, parsed, read_only=True)
    service = _service(ctx)
    return render.next_message(service.get(run_id), service.clock.now(), _tz(ctx))


def _done(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, first = _split_run(ctx, parsed)
    rest = parsed.args[first:]
    if not rest:
        raise UsageError("请指定步骤，例如 /crisis done triage / name the step")
    service = _service(ctx)
    # What follows the step is its answer on a decision step, a remark for the timeline on any other.
    note = parsed.text_from(first + 1) if len(rest) > 1 else ""
    view, _ = service.transition(run_id, Done(rest[0], ctx.user, note=note))
    answer = view.state.step(rest[0]).answer if view.state.has_step(rest[0]) else None
    if answer:
        return Message(text=f"✅ {rest[0]}：{answer}（{ctx.user_name}）{_early_warning(view, rest[0])}")
    remark = f"：{note}" if note else ""
    return Message(text=f"✅ {ctx.user_name} 完成了 {rest[0]}{remark} / done{_early_warning(view, rest[0])}")


def _early_warning(view, step_id: str) -> str:
    """A second line when the step was finished before a step it comes after (`after:`)."""
    state = view.state
    if not state.has_step(step_id):
        return ""
    waiting = state.open_prerequisites(state.step(step_id))
    if not waiting:
        return ""
    named = "、".join(f"{s.step_id}（{s.title}）" for s in waiting)
    ids = ", ".join(s.step_id for s in waiting)
    return (f"\n⚠️ 提前完成：它排在 {named}之后，前置步骤尚未完成（已记入时间线）"
            f" / finished before {ids}, which is still open (noted on the timeline)")


def _answer(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, first = _split_run(ctx, parsed)
    rest = parsed.args[first:]
    if len(rest) < 2:
        raise UsageError("用法：/crisis answer 步骤 答案 / usage: answer STEP ANSWER")
    view, _ = _service(ctx).transition(run_id, Answer(rest[0], parsed.text_from(first + 1), ctx.user))
    return Message(text=f"✅ {rest[0]}：{view.state.step(rest[0]).answer}（{ctx.user_name}）"
                        f"{_early_warning(view, rest[0])}")


def _skip(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, first = _split_run(ctx, parsed)
    rest = parsed.args[first:]
    if not rest:
        raise UsageError("跳过需要步骤和原因：/crisis skip 步骤 原因 / skip needs a step and a reason")
    reason = parsed.text_from(first + 1).strip() if len(rest) > 1 else ""
    if not _has_text(reason):  # `/crisis skip intake`, or a reason of blanks or empty quotes
        return _needs_reason(ctx, run_id, rest[0])
    _service(ctx).transition(run_id, Skip(rest[0], ctx.user, reason))
    return Message(text=f"⏭️ {ctx.user_name} 跳过了 {rest[0]}：{reason} / skipped")


def _has_text(reason: str) -> bool:
    """A reason says something: not blank, not only full-width spaces or quote marks."""
    return bool(unicodedata.normalize("NFKC", reason).strip().strip("\"'“”‘’「」『』").strip())


def _needs_reason(ctx: CommandContext, run_id: int, step: str) -> Message:
    """The refusal of a skip without a reason, with the exact command that gives one (the card's button
    carries none on Feishu and the console; on Slack its form was submitted blank). A skip that would be
    refused anyway (unknown step, already done, run closed) says that instead: a reason would not help."""
    service = _service(ctx)
    # dry run on the pure state machine (TransitionRejected is answered by the callers)
    apply(service.get(run_id).state, Skip(step, ctx.user, "-"), service.clock.now())
    ref = f"#{run_id} " if len(service.active_runs(ctx.channel)) > 1 else ""
    command = f"/crisis skip {ref}{step} 原因"
    form = "，或按“跳过”后在弹窗里填写原因" if ctx.channel.startswith("slack:") else ""
    form_en = ", or fill in the reason in the form the Skip button opens" if form else ""
    return Message(
        text=f"⚠️ 跳过步骤 {step} 需要说明原因，未跳过。请输入：{command}（例如 {command.removesuffix('原因')}"
             f"已由客服私信处理）{form}。\n"
             f"Skipping {step} needs a reason; it was not skipped. Type: {command.replace('原因', 'REASON')}{form_en}.",
        ephemeral=True,
    )


def _assign(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, first = _split_run(ctx, parsed)
    rest = parsed.args[first:]
    if len(rest) < 2:
        raise UsageError("用法：/crisis assign 步骤|角色 @人 / usage: assign STEP|ROLE @user")
    user = normalise_user(rest[1], ctx)
    _service(ctx).transition(run_id, Assign(rest[0], user, ctx.user))
    return Message(text=f"👤 {rest[0]} → {user}")


def _note(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, first = _split_run(ctx, parsed)
    note = parsed.text_from(first).strip()
    if not note:
        raise UsageError("备注内容为空 / the note is empty")
    _service(ctx).transition(run_id, Note(note, ctx.user))
    return Message(text=f"📝 已记录 / noted（#{run_id}）", ephemeral=True)


def _timeline(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, _ = _split_run(ctx, parsed, read_only=True)
    service = _service(ctx)
    return render.timeline_message(service.get(run_id), service.timeline(run_id), _tz(ctx))


def _report(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, _ = _split_run(ctx, parsed, read_only=True)
    service = _service(ctx)
    return service.report_message(service.build_report(run_id), run_id)


def _resolve(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, first = _split_run(ctx, parsed)
    view = _service(ctx).resolve(run_id, ctx.user, parsed.text_from(first))
    return Message(text=f"🏁 预案 #{view.id} 已解除，复盘报告已发布 / resolved; review posted")


def _cancel(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, first = _split_run(ctx, parsed)
    reason = parsed.text_from(first).strip()
    if not reason:
        raise UsageError("取消需要说明原因：/crisis cancel 原因 / cancel needs a reason")
    view = _service(ctx).cancel(run_id, ctx.user, reason)
    return Message(text=f"🛑 预案 #{view.id} 已取消：{reason} / run #{view.id} cancelled")


SUBCOMMANDS = {
    "start": _start,
    "list": _list,
    "status": _status,
    "next": _next,
    "done": _done,
    "answer": _answer,
    "skip": _skip,
    "assign": _assign,
    "note": _note,
    "timeline": _timeline,
    "report": _report,
    "resolve": _resolve,
    "cancel": _cancel,
}


def handle_action(ctx: CommandContext, action: Action) -> Message | None:
    """Run-card buttons: crisis.done / .skip / .assign / .answer / .snooze / .resolve."""
    service = _service(ctx)
    kind = action.action_id.removeprefix("crisis.")
    parts = action.value.split(":", 2)
    try:
        run_id = service.resolve_run_id(ctx.channel, parts[0])
        step = parts[1] if len(parts) > 1 else ""
        if kind == "done":
            service.transition(run_id, Done(step, ctx.user))
            return Message(text=f"✅ {ctx.user_name} 完成了 {step} / done")
        if kind == "answer":
            answer = parts[2] if len(parts) > 2 else action.form.get("answer", "")
            service.transition(run_id, Answer(step, answer, ctx.user))
            return Message(text=f"✅ {step}：{answer}（{ctx.user_name}）")
        if kind == "skip":
            # docs: a skip always has a reason. The Slack button opens a form for it; a blank form, or a
            # button that carries no form (Feishu, console), is refused with the command that gives one.
            reason = (action.form.get("reason") or "").strip()
            if not _has_text(reason):
                return _needs_reason(ctx, run_id, step)
            service.transition(run_id, Skip(step, ctx.user, reason))
            return Message(text=f"⏭️ {ctx.user_name} 跳过了 {step}：{reason} / skipped")
        if kind == "assign":
            target = action.form.get("user", "").strip()
            user = normalise_user(target, ctx) if target else ctx.user
            service.transition(run_id, Assign(step, user, ctx.user))
            return Message(text=f"👤 {step} → {user}")
        if kind == "snooze":
            until = service.snooze(run_id, [s for s in step.split(",") if s], ctx.user)
            return Message(text=f"⏰ 提醒已推迟到 {render.local(until, _tz(ctx))} / snoozed", ephemeral=True)
        if kind == "resolve":
            service.resolve(run_id, ctx.user)
            return Message(text=f"🏁 预案 #{run_id} 已解除，复盘报告已发布 / resolved; review posted")
    except (TransitionRejected, RunNotFound) as exc:
        return Message(text=str(exc), ephemeral=True)
    return Message(text="这个按钮已失效 / this button is no longer active", ephemeral=True)


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "crisis",
        handle_crisis,
        summary_zh="危机预案：启动、推进、复盘",
        summary_en="crisis playbooks: start, walk, review",
        usage=USAGE,
        options={"run", "severity", "account", "var"},
        # start takes the start options; every other subcommand only --run, so a note, a skip reason or a
        # cancel reason keeps "--severity 3" and the like as typed
        sub_options={
            sub: (({"severity", "account", "var"} if name == "start" else {"run"}), set())
            for sub, name in [*((n, n) for n in SUBCOMMANDS), *ALIASES.items()]
        },
    )
    registry.add_action("crisis.", handle_action)
