"""/reply-queue: triage unanswered comments (list, claim, reply, skip, escalate, suggest, approve, stats).

Handlers parse, call the reply-queue service (`services.replies`) and return neutral messages.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable

from bot.handlers.registry import (
    CommandContext,
    CommandRegistry,
    ParsedCommand,
    PermissionDenied,
    UsageError,
    command_word,
    labelled,
    option_word,
    tokenize_spans,
)
from bot.i18n import in_language
from bot.messages import Action, Button, Message, Section, is_blank, outsider_text
from bot.record_numbers import parse_record_number, record_digits
from bot.replies import render
from bot.replies.models import HISTORY
from bot.replies.service import (
    AccessDenied,
    ClaimResult,
    NotFound,
    ReplyOutcome,
    ReplyQueueError,
    ReplyQueueService,
    parse_since,
)

USAGE = """\
  /reply-queue [账号] [--mine] [--unclaimed] [--overdue] [--limit N] [--page N] — 待回复评论（按优先级，每页 N 条；--unclaimed 只看未认领的）/ unanswered comments by priority, N a page
  /reply-queue claim 编号 — 认领（默认 15 分钟）/ claim an item
  /reply-queue release 编号 — 放弃认领 / release a claim
  /reply-queue done 编号 ["回复内容"] — 已回复（带内容则自检后发布或记录）/ mark replied, optionally with the text
  /reply-queue skip 编号 原因 — 跳过（须写原因）/ skip with a reason (required)
  /reply-queue escalate 编号 [备注] — 升级到危机预案 / escalate to a crisis run
  /reply-queue suggest 编号 — 建议回复 / suggested replies
  /reply-queue approve 草稿号 | reject 草稿号 [原因] — 审批回复 / approve or reject a reply
  /reply-queue save-template 名称 "内容" [--item 编号] [--topics 词1,词2] [--all-accounts] — 保存为模板（同名则替换）/ save a template (same name: replaced)
  /reply-queue templates | delete-template 名称 — 列出 / 删除本频道的模板 / list or delete saved templates
  /reply-queue stats [账号] [--since 7d] — 统计 / stats
账号可写 平台:账号ID、账号ID、账号名或客户ID；编号形如 #12。子命令也可写中文：认领、放弃、已回复、跳过、升级、建议、批准、驳回、保存模板、模板、删除模板、统计。
ACCOUNT is platform:account_id, the account id, its name or the client id; item ids look like #12.
/reply-queue help（或 --help、-h）显示本说明 / shows this help."""

# The usage in a channel set to English (the Chinese subcommand words still work there).
USAGE_EN = """\
  /reply-queue [ACCOUNT] [--mine] [--unclaimed] [--overdue] [--limit N] [--page N] — unanswered comments by priority, N a page (--unclaimed: only those nobody claimed)
  /reply-queue claim ID — claim an item (15 minutes by default)
  /reply-queue release ID — release a claim
  /reply-queue done ID ["REPLY"] — mark replied; with the text, it is checked, then published or recorded
  /reply-queue skip ID REASON — skip with a reason (required)
  /reply-queue escalate ID [NOTE] — escalate to a crisis run
  /reply-queue suggest ID — suggested replies
  /reply-queue approve DRAFT | reject DRAFT [REASON] — approve or reject a reply
  /reply-queue save-template NAME "TEXT" [--item ID] [--topics word1,word2] [--all-accounts] — save a template (same name: replaced)
  /reply-queue templates | delete-template NAME — list or delete this channel's templates
  /reply-queue stats [ACCOUNT] [--since 7d] — stats
ACCOUNT is platform:account_id, the account id, its name or the client id; item ids look like #12.
/reply-queue help (or --help, -h) shows this help."""

log = logging.getLogger(__name__)

SUMMARY_ZH = "待回复评论队列：认领、回复、跳过、升级、建议回复、统计"
SUMMARY_EN = "Unanswered-comment queue: claim, reply, skip, escalate, suggest, stats"
# the subcommands as the usage names them, for "unknown subcommand or account"
SUBCOMMAND_LIST = ("claim, release, done, skip, escalate, suggest, approve, reject, save-template, templates, "
                   "delete-template, stats, help")

SUBCOMMANDS = frozenset({"claim", "release", "done", "replied", "reply", "skip", "escalate", "suggest", "approve",
                         "reject", "save-template", "templates", "delete-template", "stats"})
# the Chinese words the usage names, as /crisis takes 完成, 跳过 ...
ALIASES = {"认领": "claim", "放弃": "release", "已回复": "done", "回复": "done", "跳过": "skip", "升级": "escalate",
           "建议": "suggest", "建议回复": "suggest", "批准": "approve", "驳回": "reject", "保存模板": "save-template",
           "模板": "templates", "删除模板": "delete-template", "统计": "stats"}


def _service(ctx: CommandContext) -> ReplyQueueService:
    service = ctx.services.extra.get("replies")
    if service is None:
        raise UsageError("回复队列未启用 / the reply queue is not enabled", en="The reply queue is not enabled")
    return service


def _number(text: str | None, what: str = "编号 / item id") -> int:
    english = what.split(" / ")[-1]
    if not text:
        raise UsageError(f"缺少{what} / missing {english}", en=f"Missing {english}")
    if record_digits(text) is None:
        raise UsageError(f"{what} 应为数字，例如 #12 / should be a number such as #12：{text}",
                         en=f"The {english} should be a number such as #12: {text}")
    number = parse_record_number(text)
    if number is None:  # a number past any stored id
        raise UsageError(f"没有这个{what} / no such {english}：{text}", en=f"No such {english}: {text}")
    return number


def _guard(fn: Callable[[], Message | list[Message]], lang: str = "zh") -> Message | list[Message]:
    """Service refusals become short replies (scope refusals as permission errors), in English alone in a
    channel set to English (`lang`) when they have their English."""
    try:
        return fn()
    except AccessDenied as exc:
        raise PermissionDenied(str(exc), en=exc.en) from exc
    except NotFound as exc:
        return Message(text=f"❓ {in_language(exc, lang)}", ephemeral=True)
    except ReplyQueueError as exc:
        return Message(text=f"⚠️ {in_language(exc, lang)}", ephemeral=True)


def _scope_text(service: ReplyQueueService, ctx: CommandContext, account: str | None, lang: str = "zh") -> str:
    """The accounts an answer covers, in words (`lang` "en": English alone, for a reply English alone)."""
    english = lang == "en"
    if account:
        keys = service.resolve_accounts(ctx.channel, account) or []
    else:
        allowed = service.visible_accounts(ctx.channel)
        if allowed is None:
            return "unassigned accounts" if english else "未归属客户的账号 / unassigned accounts"
        keys = sorted(allowed)
    joined = (", " if english else "、").join(render.account_label(k, service.account_names.get(k), lang) for k in keys)
    if joined or account:
        return joined
    return "(no accounts visible in this channel)" if english else "（本频道没有可见账号 / no accounts）"


# ---- /reply-queue -------------------------------------------------------------------------------------
def handle_reply_queue(ctx: CommandContext, parsed: ParsedCommand) -> Message | list[Message] | None:
    sub = command_word(parsed.sub or "")
    sub = ALIASES.get(sub, sub)
    try:
        return _handle(ctx, parsed, sub)
    except UsageError as exc:
        # the one usage line that applies and where the rest is: every refusal used to repeat all 13 lines
        line = _usage_line(sub if sub in SUBCOMMANDS else None, ctx.lang)
        if ctx.lang == "en":  # a channel set to English: the error's English alone, the English usage line
            return Message(text=(f"{labelled('usage_error', exc, 'en')}\nUsage: {line}\n"
                                 f"Type /reply-queue help for the full usage"), ephemeral=True)
        return Message(text=(f"{labelled('usage_error', exc)}\n"
                             f"用法 / usage：{line}\n"
                             f"输入 /reply-queue help 查看全部用法 / type /reply-queue help for the full usage"),
                       ephemeral=True)


def _usage_line(sub: str | None, lang: str = "zh") -> str:
    """The usage line of a subcommand (None: the list), without its leading spaces, from USAGE (USAGE_EN in a
    channel set to English)."""
    wanted = {"replied": "done", "reply": "done", "reject": "approve", "delete-template": "templates"}.get(sub or "", sub)
    for line in (USAGE_EN if lang == "en" else USAGE).splitlines():
        words = line.split()
        if words[:1] == ["/reply-queue"] and (
                (wanted is None and len(words) > 1 and words[1].startswith("[")) or (wanted and words[1:2] == [wanted])):
            return line.strip()
    return _LIST_USAGE_EN if lang == "en" else _LIST_USAGE


def _handle(ctx: CommandContext, parsed: ParsedCommand, sub: str) -> Message | list[Message] | None:
    service = _service(ctx)
    if sub in SUBCOMMANDS:
        args = parsed.args[1:]
        answer = _guard(lambda: _SUBCOMMAND_HANDLERS[sub](ctx, service, parsed, args), ctx.lang)
        if sub in _CHANGES_ITEM:
            _refresh_cards(ctx, service, args[0] if args else None, draft=sub in ("approve", "reject"))
        return answer
    if len(parsed.args) > 1:
        first = parsed.args[0]
        if not first.startswith("--") and not service.knows_account(first):
            # "/reply-queue frobnicate 1" used to answer "多余的参数：1", naming the wrong word
            raise UsageError(f"未知的子命令或账号 / unknown subcommand or account: {first}"
                             f"（子命令 / subcommands：{SUBCOMMAND_LIST}）",
                             en=f"Unknown subcommand or account: {first} (subcommands: {SUBCOMMAND_LIST})")
        raise UsageError(f"多余的参数 / unexpected arguments：{' '.join(parsed.args[1:])}",
                         en=f"Unexpected arguments: {' '.join(parsed.args[1:])}")
    return _guard(lambda: _list(ctx, service, parsed, parsed.args[0] if parsed.args else None), ctx.lang)


def _no_repeated_option(parsed: ParsedCommand, *names: str) -> None:
    """A value option given twice ("--limit 5 --limit 6") is refused: the parser keeps the last one silently."""
    seen: set[str] = set()
    for word, _, _ in tokenize_spans(parsed.source or ""):
        key = option_word(word)[0].lower()
        if key in names:
            if key in seen:
                raise UsageError(f"选项 --{key} 重复 / option --{key} given more than once",
                                 en=f"Option --{key} given more than once")
            seen.add(key)


def _no_extra(args: list[str]) -> None:
    """Subcommands that take one number: a second word was ignored ("claim 3 4" claimed #3 only)."""
    if len(args) > 1:
        raise UsageError(f"多余的参数 / unexpected arguments：{' '.join(args[1:])}",
                         en=f"Unexpected arguments: {' '.join(args[1:])}")


def _no_unknown_option(account: str | None) -> None:
    """An option the command does not take arrives as a word; as an account it read "未知账号 --bogus"."""
    if account and account.startswith("--"):
        raise UsageError(f"未知选项 / unknown option：{account}", en=f"Unknown option: {account}")


# what the list takes; the command's other options belong to subcommands (stats --since, done --text ...)
_LIST_OPTIONS = ("limit", "page")
_LIST_FLAGS = ("mine", "overdue", "unclaimed")
_LIST_USAGE = "/reply-queue [账号] [--mine] [--unclaimed] [--overdue] [--limit N] [--page N]"
_LIST_USAGE_EN = "/reply-queue [ACCOUNT] [--mine] [--unclaimed] [--overdue] [--limit N] [--page N]"
_OPTION_OWNER = {"since": "stats", "text": "done", "item": "save-template", "topics": "save-template",
                 "all-accounts": "save-template"}


def _positive(parsed: ParsedCommand, name: str, example: str) -> int | None:
    """A positive whole number option ("--page 2", full-width "--page ２" as typed on a Chinese keyboard)."""
    value = parsed.opt(name)
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip() if value is not True else ""
    if not text.isdigit() or int(text) < 1:
        english = f"--{name} takes a positive whole number, e.g. --{name} {example}"
        raise UsageError(f"--{name} 需要正整数，例如 --{name} {example} / {english}", en=english)
    return int(text)


def _list(ctx: CommandContext, service: ReplyQueueService, parsed: ParsedCommand,
          account: str | None) -> Message | list[Message]:
    _no_unknown_option(account)
    _no_repeated_option(parsed, "limit", "page")
    for name in parsed.options:
        if name not in _LIST_OPTIONS and name not in _LIST_FLAGS:
            # "/reply-queue --since 7d" used to list the queue as if it had not been typed
            where = _OPTION_OWNER.get(name, "?")
            raise UsageError(f"选项 --{name} 不适用于列表（它属于 {where}）/ option --{name} does not apply to the list "
                             f"(it belongs to {where})",
                             en=f"Option --{name} does not apply to the list (it belongs to {where})")
    requested = _positive(parsed, "limit", "10")
    limit = None
    capped = False
    if requested is not None:
        capped = requested > service.config.max_limit  # said in the answer, not cut silently
        limit = min(requested, service.config.max_limit)
    page = _positive(parsed, "page", "2") or 1
    mine, overdue = bool(parsed.opt("mine", False)), bool(parsed.opt("overdue", False))
    unclaimed = bool(parsed.opt("unclaimed", False))
    if mine and unclaimed:
        raise UsageError("--mine 与 --unclaimed 不能同时使用 / --mine and --unclaimed exclude each other",
                         en="--mine and --unclaimed exclude each other")
    unconfigured = service.scope.not_configured(ctx.channel, ctx.lang)
    if unconfigured and not account:  # (the options checked first: a typo is said wherever it is typed)
        return Message(text=f"⚠️ {unconfigured}", ephemeral=True)
    result = service.queue_page(channel=ctx.channel, user=ctx.user, account=account, mine=mine, overdue=overdue,
                                unclaimed=unclaimed, limit=limit, page=page)
    filters = "".join([
        "（我认领的 / mine）" if mine else "",
        "（未认领 / unclaimed）" if unclaimed else "",
        "（仅逾期 / overdue only）" if overdue else "",
        f"（每次最多 {result.limit} 条 / at most {result.limit} at a time）" if capped else "",
    ])
    # the same command, one page on: what to type for the next part of the backlog
    typed_account = (f'"{account}"' if any(ch.isspace() for ch in account) else account) if account else None
    next_command = " ".join(["/reply-queue", *([typed_account] if typed_account else []), *(["--mine"] if mine else []),
                             *(["--unclaimed"] if unclaimed else []), *(["--overdue"] if overdue else []),
                             *([f"--limit {result.limit}"] if requested is not None else []), f"--page {page + 1}"])
    # (counted only for an empty answer: it explains a queue left empty by an import of old comments)
    history = (service.history_total(channel=ctx.channel, account=account)
               if not result.entries and not result.total and not mine else 0)
    messages = render.queue_messages(
        result.entries, now=service.clock.now(), names=service.account_names, user=ctx.user,
        # the accounts in the channel's language: the card keeps them for its refreshed summary too
        scope_text=_scope_text(service, ctx, account, ctx.lang), filters=filters,
        zone=service.zone_for(ctx.channel),
        history=history, history_hours=service.config.history_after_hours, total=result.total,
        overdue_total=result.overdue, offset=result.offset, page_size=result.limit, next_command=next_command,
        lang=ctx.lang,
    )
    return messages[0] if len(messages) == 1 else messages


def _claim_message(service: ReplyQueueService, result: ClaimResult, user: str, channel: str,
                   lang: str = "zh") -> Message:
    """What a claim did; in a channel set to English (`lang`) the English line alone."""
    english = lang == "en"
    zone = service.zone_for(channel)
    item_id = result.item.id
    if result.ok:
        until = render.local_time(result.expires_at, zone) if result.expires_at else "?"
        en = f"#{item_id} claimed by {result.holder_name or result.holder} until {until}."
        return Message(text=f"🔒 {en}" if english else
                       f"🔒 {result.holder_name or result.holder} 认领了 #{item_id}，至 {until}。\n{en}")
    if result.closed and result.item.state == HISTORY:
        return Message(text=render.history_note(result.item, zone, lang), ephemeral=True)
    if result.closed:
        zh, en = _responder(result.holder_name, result.holder)
        en = f"#{item_id} is already handled ({en})."
        return Message(text=en if english else f"#{item_id} 已处理（{zh}）。\n{en}", ephemeral=True)
    until = render.local_time(result.expires_at, zone) if result.expires_at else "?"
    who = result.holder_name or result.holder
    en = f"#{item_id} is already claimed by {who} until {until}."
    return Message(text=f"⛔ {en} Pick another comment." if english else
                   f"⛔ #{item_id} 已被 {who} 认领（至 {until}），请选择其他评论。\n{en}", ephemeral=True)


def _responder(name: str | None, responder: str | None) -> tuple[str, str]:
    """Who handled an item, in words (Chinese, English): the brand's own reply in the app is stored as
    responder "account" (the English line used to carry the Chinese words too)."""
    if responder == "account":
        name = outsider_text(name) if name else name  # the feed's author name of the reply: not ours to format
        return (f"品牌账号在平台内回复{f'（{name}）' if name else ''}",
                f"answered in the app{f' by {name}' if name else ''}")
    who = name or responder or "?"
    return who, who


def _reason(outcome: ReplyOutcome, lang: str) -> str | None:
    """The outcome's reason as the channel reads it: the service's English alone in an English channel."""
    return outcome.reason_en if lang == "en" and outcome.reason_en else outcome.reason


def _outcome_message(service: ReplyQueueService, outcome: ReplyOutcome, ctx_user: str, channel: str,
                     lang: str = "zh") -> Message:
    """What a reply, skip, approval or rejection did; in a channel set to English (`lang`) English alone."""
    english = lang == "en"
    item = outcome.item
    zone = service.zone_for(channel)
    if outcome.status == "recorded":
        by = outcome.draft.written_by_name if outcome.draft else None
        en = f"#{item.id} recorded as replied by hand{f' by {by}' if by else ''}"
        if english:
            return Message(text=f"✅ {en}{(': ' + outcome.draft.text) if outcome.draft else '.'}")
        text = f"✅ #{item.id} 已记录为已回复（人工回复）{('：' + outcome.draft.text) if outcome.draft else ''}"
        return Message(text=f"{text}\n{en}.")
    if outcome.status == "queued":
        quoted = outcome.draft.text if outcome.draft else ""
        en = f"The reply to #{item.id} passed the precheck and is being posted"
        if english:
            return Message(text=f"📤 {en}:\n> {quoted}")
        return Message(text=f"📤 #{item.id} 的回复已通过自检，正在发布：\n> {quoted}\n{en}.")
    if outcome.status == "pending_approval":
        if outcome.draft is None:
            return Message(text=f"⏳ #{item.id} {_reason(outcome, lang)}", ephemeral=True)
        _, comment = service.get_item(item.id or 0, outcome.draft.channel)
        return render.approval_message(outcome.draft, item, comment, now=service.clock.now(),
                                       account_name=service.account_names.get(item.account_key),
                                       approver_role=service.config.approval.role, zone=zone,
                                       lang=service.app_config.channel_language(channel))
    if outcome.status == "blocked" and outcome.precheck is not None:
        if english:
            message = render.precheck_message(outcome.precheck, title=f"⛔ Reply to #{item.id} not posted", lang="en")
            after = f"\n\nEdit it, then send /reply-queue done {item.id} \"NEW TEXT\" again."
        else:
            message = render.precheck_message(outcome.precheck, title=f"⛔ #{item.id} 的回复未发布 / Reply not posted")
            after = "\n\n修改后再发送 /reply-queue done 编号 \"新内容\"。"
        return Message(title=message.title, text=message.text + after,
                       sections=message.sections, severity=message.severity, ephemeral=True)
    if outcome.status == "claimed_by_other":
        en = f"#{item.id} is claimed by {outcome.holder_name}."
        return Message(text=f"⛔ {en}" if english else f"⛔ #{item.id} 已被 {outcome.holder_name} 认领，不能由你处理。\n{en}",
                       ephemeral=True)
    if outcome.status == "skipped":
        if english:  # the reason is the person's own words, quoted as typed
            return Message(text=f"⏭️ #{item.id} skipped: {outcome.reason or '—'}")
        return Message(text=f"⏭️ #{item.id} 已跳过：{outcome.reason or '—'}\n#{item.id} skipped.")
    if outcome.status == "rejected":
        if english:
            return Message(text=(f"↩️ The reply to #{item.id} was rejected: {outcome.reason or '—'}. "
                                 f"It is back in the queue."))
        return Message(text=(f"↩️ #{item.id} 的回复被驳回：{outcome.reason or '—'}，已放回队列。\n"
                             f"The reply to #{item.id} was rejected and is back in the queue."))
    if outcome.status == "forbidden":
        return Message(text=f"⛔ {_reason(outcome, lang)}", ephemeral=True)
    if outcome.draft is not None and outcome.reason:
        # approve/reject of a draft decided before: say what became of the draft and who decided it (this
        # used to read "#2 已处理（?）" when the item itself had no responder yet, e.g. after a rejection)
        by = outcome.draft.approver_name or outcome.draft.approver
        if english:
            return Message(text=(f"Draft {outcome.draft.id} (#{item.id}) is already handled{f' ({by})' if by else ''}: "
                                 f"{_reason(outcome, lang)}."), ephemeral=True)
        return Message(text=(f"草稿 {outcome.draft.id}（#{item.id}）已处理{f'（{by}）' if by else ''}：{outcome.reason}。\n"
                             f"Draft {outcome.draft.id} (#{item.id}) is already handled{f' ({by})' if by else ''}."),
                       ephemeral=True)
    if item.state == HISTORY:
        return Message(text=render.history_note(item, zone, lang), ephemeral=True)
    zh, en = _responder(outcome.holder_name or item.responder_name, item.responder)
    if english:
        extra = f" ({_reason(outcome, lang)})" if outcome.reason else ""
        return Message(text=f"#{item.id} is already handled ({en}){extra}.", ephemeral=True)
    extra = f"（{outcome.reason}）" if outcome.reason else ""
    return Message(text=f"#{item.id} 已处理（{zh}）{extra}。\n#{item.id} is already handled ({en}).", ephemeral=True)


def _claim(ctx, service, parsed, args):
    _no_extra(args)
    return _claim_message(service, service.claim(_number(args[0] if args else None), user=ctx.user,
                                                 user_name=ctx.user_name, channel=ctx.channel), ctx.user, ctx.channel, ctx.lang)


def _release(ctx, service, parsed, args):
    _no_extra(args)
    item_id = _number(args[0] if args else None)
    english = ctx.lang == "en"
    if service.release(item_id, user=ctx.user, user_name=ctx.user_name, channel=ctx.channel):
        return Message(text=f"🔓 Released #{item_id}." if english else f"🔓 已放弃认领 #{item_id}。\nReleased #{item_id}.")
    # a claim ends when the item is handled (here or in the app): "not yours" read as if it never had been
    refusal = service.refusal(item_id, user=ctx.user, channel=ctx.channel)
    if refusal is not None and refusal.status == "closed":
        return _outcome_message(service, refusal, ctx.user, ctx.channel, ctx.lang)
    return Message(text=f"You do not hold #{item_id}." if english else
                   f"#{item_id} 不是你认领的。\nYou do not hold #{item_id}.", ephemeral=True)


def _done(ctx, service, parsed, args):
    item_id = _number(args[0] if args else None)
    text = parsed.text_from(2) or (parsed.opt("text") if isinstance(parsed.opt("text"), str) else "")
    if is_blank(text) and (len(parsed.args) > 2 or parsed.opt("text") is not None):
        # A reply typed as "" or "   " meant a reply with text: it used to be recorded as "replied by hand"
        # (closed, nothing posted). Only `done N` with no text at all records a reply made on the platform.
        en = (f"The reply text is empty; #{item_id} is unchanged. Type the reply, or /reply-queue done "
              f"{item_id} alone if you replied on the platform yourself.")
        if ctx.lang == "en":
            return Message(text=f"⚠️ {en}", ephemeral=True)
        return Message(text=(f"⚠️ 回复内容为空，未处理 #{item_id}。请输入：/reply-queue done {item_id} \"回复内容\"；"
                             f"已在平台上手动回复的，输入 /reply-queue done {item_id}\n{en}"), ephemeral=True)
    outcome = service.mark_replied(item_id, user=ctx.user, user_name=ctx.user_name, channel=ctx.channel, text=text)
    return _outcome_message(service, outcome, ctx.user, ctx.channel, ctx.lang)


def _skip_needs_reason(ctx: CommandContext, service: ReplyQueueService, number: int) -> Message:
    """The refusal of a skip without a reason, unless a reason would not help (no such item here, someone
    else's claim, already handled): then that is the answer, as it would be with a reason."""
    refusal = service.refusal(number, user=ctx.user, channel=ctx.channel)
    if refusal is not None:
        return _outcome_message(service, refusal, ctx.user, ctx.channel, ctx.lang)
    lang = ctx.lang
    en = f"Skipping needs a reason; #{number} was not skipped. Type: /reply-queue skip {number} REASON."
    if lang == "en":
        return Message(text=f"⚠️ {en}", ephemeral=True)
    return Message(
        text=f"⚠️ 跳过需要说明原因，未跳过。请输入：/reply-queue skip {number} 原因"
             f"（例如 /reply-queue skip {number} 广告，无需回复）。\n{en}",
        ephemeral=True)


def _skip(ctx, service, parsed, args):
    item_id = _number(args[0] if args else None)
    reason = parsed.text_from(2).strip()
    if is_blank(reason):  # as the 跳过 button: a typed skip without a reason closed the item with reason "—"
        return _skip_needs_reason(ctx, service, item_id)
    outcome = service.skip(item_id, user=ctx.user, user_name=ctx.user_name, channel=ctx.channel, reason=reason)
    return _outcome_message(service, outcome, ctx.user, ctx.channel, ctx.lang)


def _escalate(ctx, service, parsed, args):
    item_id = _number(args[0] if args else None)
    outcome = service.escalate(item_id, user=ctx.user, user_name=ctx.user_name, channel=ctx.channel,
                               note=parsed.text_from(2))
    english = ctx.lang == "en"
    if outcome.status == "claimed_by_other":
        en = f"#{item_id} is claimed by {outcome.holder_name}."
        return Message(text=f"⛔ {en}" if english else f"⛔ #{item_id} 已被 {outcome.holder_name} 认领，不能由你处理。\n{en}",
                       ephemeral=True)
    if outcome.status == "already":
        run_zh = f"，预案 #{outcome.run}" if outcome.run else ""
        run_en = f" (run #{outcome.run})" if outcome.run else ""
        if english:
            by_en = f" by {outcome.holder_name}" if outcome.holder_name else ""
            return Message(text=f"#{item_id} is already escalated{by_en}{run_en}; not escalated again.",
                           ephemeral=True)
        by = f"（{outcome.holder_name}{run_zh}）" if outcome.holder_name else (f"（{run_zh[1:]}）" if run_zh else "")
        return Message(text=f"#{item_id} 已升级过{by}，未重复升级。\n#{item_id} is already escalated{run_en}.",
                       ephemeral=True)
    if outcome.status == "closed":
        state_zh, state_en = _CLOSED_WORDS.get(outcome.item.state, ("已处理", "handled"))
        who_zh, who_en = _responder(outcome.holder_name, outcome.item.responder)
        en = f"#{item_id} is already {state_en} ({who_en}); it cannot be escalated."
        return Message(text=f"⛔ {en}" if english else f"⛔ #{item_id} {state_zh}（{who_zh}），不能升级。\n{en}",
                       ephemeral=True)
    if english:  # the playbooks wrote their note in the channel's language; the service's own in both
        return Message(text=f"⬆️ #{item_id} escalated by {ctx.user_name}\n{outcome.note_en or outcome.note}".strip(),
                       severity=2)
    head = f"⬆️ #{item_id} 已升级 / escalated by {ctx.user_name}"
    return Message(text=f"{head}\n{outcome.note}".strip(), severity=2)


_CLOSED_WORDS = {"skipped": ("已跳过", "skipped"), "replied": ("已回复", "replied"),
                 "answered": ("已在平台内回复", "answered in the app")}


def _suggest(ctx, service, parsed, args):
    _no_extra(args)
    item_id = _number(args[0] if args else None)
    refusal = service.refusal(item_id, user=ctx.user, channel=ctx.channel)
    if refusal is not None and refusal.status == "closed":  # "pick one to post" for a comment already answered
        return _outcome_message(service, refusal, ctx.user, ctx.channel, ctx.lang)
    item, comment, suggestions = service.suggest(item_id, channel=ctx.channel)
    english = ctx.lang == "en"
    sections = []
    for index, (suggestion, check) in enumerate(suggestions):
        flag = " ⛔" if check.blocked else (" ⚠️" if check.findings else "")
        buttons = () if check.blocked else (
            Button("Use this reply" if english else "用这条回复 Use", f"{render.ACTION_PREFIX}use:{item_id}:{index}",
                   suggestion.template_id, "primary"),
        )
        if english:  # (a template saved in the bot has one name, as its author typed it)
            name = suggestion.name_en or suggestion.name_zh
            matched = f" (matched: {', '.join(suggestion.matched)})" if suggestion.matched else ""
        else:
            name = suggestion.name_zh
            matched = f"（匹配 / matched：{'、'.join(suggestion.matched)}）" if suggestion.matched else ""
        # a suggestion may quote the commenter's name ("{author}您好"): shown as it would be posted, as typed
        sections.append(Section(text=f"**{name}**{flag}{matched}\n> {outsider_text(suggestion.text)}",
                                buttons=buttons))
    original = outsider_text(render.clip(comment.text if comment else "", 80))
    if english:
        return Message(
            title=f"Suggested replies #{item_id}",
            text=(f"Comment: {original}\nPick one to post (prechecked first), or edit it and use "
                  f"/reply-queue done {item_id} \"TEXT\"."),
            sections=tuple(sections), ephemeral=True,
        )
    return Message(
        title=f"建议回复 #{item_id} / Suggested replies",
        text=(f"评论：{original}\n选一条直接发布（会先自检），或修改后用 /reply-queue done {item_id} \"内容\"。\n"
              f"Pick one to post (prechecked first), or edit it and use /reply-queue done."),
        sections=tuple(sections), ephemeral=True,
    )


def _approve(ctx, service, parsed, args):
    _no_extra(args)
    draft_id = _number(args[0] if args else None, "草稿号 / draft id")
    return _outcome_message(service, service.approve(draft_id, user=ctx.user, user_name=ctx.user_name,
                                                     channel=ctx.channel), ctx.user, ctx.channel, ctx.lang)


def _reject(ctx, service, parsed, args):
    draft_id = _number(args[0] if args else None, "草稿号 / draft id")
    return _outcome_message(service, service.reject(draft_id, user=ctx.user, user_name=ctx.user_name,
                                                    channel=ctx.channel, reason=parsed.text_from(2)), ctx.user, ctx.channel, ctx.lang)


def _save_template(ctx, service, parsed, args):
    if len(args) < 2:
        raise UsageError('用法 / usage：/reply-queue save-template 名称 "内容" [--item 编号] [--topics 词1,词2]',
                         en='Usage: /reply-queue save-template NAME "TEXT" [--item ID] [--topics word1,word2]')
    name, text = args[0], parsed.text_from(2)
    item_text = parsed.opt("item")
    item_id = _number(str(item_text)) if item_text not in (None, True) else None
    topics_text = parsed.opt("topics")
    topics = [t for t in str(topics_text).replace("，", ",").split(",") if t.strip()] if isinstance(topics_text, str) else None
    rows = service.save_template(user=ctx.user, user_name=ctx.user_name, channel=ctx.channel, name=name, text=text,
                                 item_id=item_id, topics=topics, all_accounts=bool(parsed.opt("all-accounts", False)))
    row = rows[0]
    keys = [r.account_key for r in rows if r.account_key]
    if ctx.lang == "en":
        where = ", ".join(render.account_label(k, service.account_names.get(k), "en") for k in keys) or "unassigned accounts"
        return Message(text=(f"💾 Saved template {row.name!r} (topics: {', '.join(row.topics)}; accounts: {where}); "
                             f"suggestions will offer it for these topics."))
    where = "、".join(render.account_label(k, service.account_names.get(k)) for k in keys) or "未归属客户的账号 / unassigned accounts"
    return Message(text=(f"💾 已保存模板「{row.name}」（关键词：{'、'.join(row.topics)}；适用账号：{where}）。\n"
                         f"Saved template {row.name!r} for {where}; suggestions will offer it for these topics."))


def _templates(ctx, service, parsed, args):
    if args:
        raise UsageError(f"多余的参数 / unexpected: {' '.join(args)}", en=f"Unexpected: {' '.join(args)}")
    saved = service.list_templates(ctx.channel)
    zone = service.zone_for(ctx.channel)
    if ctx.lang == "en":
        if not saved:
            return Message(text="No saved templates here yet (/reply-queue save-template NAME \"TEXT\")")
        lines = [f"**{t.name}** ({', '.join(t.accounts)}; {t.created_by_name}, {t.created_at.astimezone(zone):%m-%d %H:%M})"
                 f"\n> {t.text[:120]}{'…' if len(t.text) > 120 else ''}" for t in saved]
        return Message(title=f"Saved reply templates ({len(saved)})", text="\n".join(lines))
    if not saved:
        return Message(text="本频道还没有保存的模板（/reply-queue save-template 名称 \"内容\"）/ no saved templates here yet")
    lines = [f"**{t.name}**（{'、'.join(t.accounts)}；{t.created_by_name}，{t.created_at.astimezone(zone):%m-%d %H:%M}）"
             f"\n> {t.text[:120]}{'…' if len(t.text) > 120 else ''}" for t in saved]
    return Message(title=f"已保存的回复模板 / saved reply templates（{len(saved)}）", text="\n".join(lines))


def _delete_template(ctx, service, parsed, args):
    if len(args) != 1:
        raise UsageError("用法：/reply-queue delete-template 名称 / usage: delete-template NAME",
                         en="Usage: /reply-queue delete-template NAME")
    removed = service.delete_template(ctx.channel, args[0])
    if ctx.lang == "en":
        return Message(text=f"🗑 Deleted template {args[0]!r} ({removed} account(s))")
    return Message(text=f"🗑 已删除模板「{args[0]}」（{removed} 个账号）/ deleted template {args[0]!r} ({removed} account(s))")


def _stats(ctx, service, parsed, args):
    for word in args:
        key = option_word(word)[0].lower()
        if key in _OPTIONS or key in _FLAGS:  # "stats --limit 3" answered "多余的参数：3", naming the value
            raise UsageError(f"选项 --{key} 不适用于 stats（stats 只接受 --since）/ option --{key} does not apply to "
                             f"stats (it takes --since only)",
                             en=f"Option --{key} does not apply to stats (it takes --since only)")
    if len(args) > 1:
        raise UsageError(f"多余的参数 / unexpected arguments：{' '.join(args[1:])}",
                         en=f"Unexpected arguments: {' '.join(args[1:])}")
    account = args[0] if args else None
    _no_unknown_option(account)
    _no_repeated_option(parsed, "since")
    since_text = parsed.opt("since")
    if since_text is True:
        raise UsageError("--since 需要一个值，例如 --since 7d / --since takes a value, e.g. --since 7d",
                         en="--since takes a value, e.g. --since 7d")
    since = parse_since(since_text, service.clock.now(), service.zone_for(ctx.channel))
    stats = service.stats(channel=ctx.channel, since=since, account=account)
    return render.stats_message(stats, scope_text=_scope_text(service, ctx, account, ctx.lang),
                                zone=service.zone_for(ctx.channel), lang=ctx.lang)


_SUBCOMMAND_HANDLERS = {
    "claim": _claim, "release": _release, "done": _done, "replied": _done, "reply": _done, "skip": _skip,
    "escalate": _escalate, "suggest": _suggest, "approve": _approve, "reject": _reject,
    "save-template": _save_template, "templates": _templates, "delete-template": _delete_template, "stats": _stats,
}


# ---- cards in place ----------------------------------------------------------------------------------
# Subcommands that may change an item's state: the queue cards showing it are re-rendered in place.
_CHANGES_ITEM = frozenset({"claim", "release", "done", "replied", "reply", "skip", "escalate", "approve", "reject"})


def _refresh_cards(ctx: CommandContext, service: ReplyQueueService, target: str | None, *,
                   draft: bool = False, message_ref: str | None = None) -> None:
    """Show the item's new state (claimed by X, replied, skipped) on the cards that list it, in place.

    `target` is the typed or pressed number (a draft number for approve/reject, whose item is looked up).
    A failure here must not turn a done action into an error reply: it is logged."""
    try:
        number = parse_record_number(target) if target and record_digits(target) else None
        if number and draft:
            _, item, _ = service.get_draft(number, ctx.channel)
            number = item.id
        item_ids = [number] if number else []
        if item_ids:
            service.refresh_cards(item_ids, channel=ctx.channel, message_ref=message_ref)
    except (NotFound, AccessDenied):
        return  # nothing was changed (a mistyped or foreign number): the answer already says so
    except Exception:  # noqa: BLE001 - the action itself is done and committed; the card is cosmetic
        log.exception("could not refresh the reply-queue cards of %s", ctx.channel)


# ---- buttons -------------------------------------------------------------------------------------------
def handle_reply_action(ctx: CommandContext, action: Action) -> Message | list[Message] | None:
    """Buttons reply.<verb>:<id>[:<index>]; forms may carry `text` (已回复) or `reason` (跳过/驳回)."""
    service = _service(ctx)
    verb, _, rest = action.action_id[len(render.ACTION_PREFIX):].partition(":")
    target = rest.split(":")[0] if rest else action.value
    form = action.form or {}
    parsed = ParsedCommand(name="reply-queue")

    def run() -> Message | list[Message]:
        number = _number(target)
        if verb == "claim":
            return _claim_message(service, service.claim(number, user=ctx.user, user_name=ctx.user_name,
                                                         channel=ctx.channel), ctx.user, ctx.channel, ctx.lang)
        if verb == "done":
            return _outcome_message(service, service.mark_replied(
                number, user=ctx.user, user_name=ctx.user_name, channel=ctx.channel, text=form.get("text")), ctx.user, ctx.channel, ctx.lang)
        if verb == "skip":
            if is_blank(form.get("reason")):
                # the form did not open (an expired trigger, an outage) or came back blank: a skip says why
                return _skip_needs_reason(ctx, service, number)
            return _outcome_message(service, service.skip(
                number, user=ctx.user, user_name=ctx.user_name, channel=ctx.channel,
                reason=form.get("reason", "")), ctx.user, ctx.channel, ctx.lang)
        if verb == "escalate":
            return _escalate(ctx, service, parsed, [str(number), form.get("note", "")])
        if verb == "suggest":
            return _suggest(ctx, service, parsed, [str(number)])
        if verb == "use":
            _, _, suggestions = service.suggest(number, channel=ctx.channel)
            chosen = next((s for s, _ in suggestions if s.template_id == action.value), None)
            if chosen is None:
                return Message(text="That suggestion is gone; press Suggest again." if ctx.lang == "en" else
                               "这条建议已不可用，请重新点 建议回复。\nThat suggestion is gone; ask again.", ephemeral=True)
            return _outcome_message(service, service.mark_replied(
                number, user=ctx.user, user_name=ctx.user_name, channel=ctx.channel,
                # a form left blank posts the suggestion (a text of spaces was recorded as replied by hand)
                text=chosen.text if is_blank(form.get("text")) else form.get("text")), ctx.user, ctx.channel, ctx.lang)
        if verb == "approve":
            return _outcome_message(service, service.approve(number, user=ctx.user, user_name=ctx.user_name,
                                                             channel=ctx.channel), ctx.user, ctx.channel, ctx.lang)
        if verb == "reject":
            return _outcome_message(service, service.reject(number, user=ctx.user, user_name=ctx.user_name,
                                                            channel=ctx.channel, reason=form.get("reason", "")), ctx.user, ctx.channel, ctx.lang)
        return Message(text="This button is no longer active." if ctx.lang == "en" else
                       "这个按钮已失效。\nThis button is no longer active.", ephemeral=True)

    answer = _guard(run, ctx.lang)
    if verb in _CHANGES_ITEM or verb == "use":
        _refresh_cards(ctx, service, target, draft=verb in ("approve", "reject"),
                       message_ref=action.message_ref)
    return answer


# (value options, flags) per subcommand; the list (no subcommand) takes the command's own
_SUB_GRAMMAR: dict[str, tuple[set[str], set[str]]] = {
    "done": ({"text"}, set()), "replied": ({"text"}, set()), "reply": ({"text"}, set()),
    "save-template": ({"item", "topics"}, {"all-accounts"}),
    "stats": ({"since"}, set()),
}


_FLAGS = frozenset({"mine", "overdue", "unclaimed", "all-accounts"})
_OPTIONS = frozenset({"limit", "page", "text", "item", "topics", "since"})


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "reply-queue", handle_reply_queue,
        summary_zh=SUMMARY_ZH, summary_en=SUMMARY_EN,
        usage=USAGE, usage_en=USAGE_EN, flags=_FLAGS, options=_OPTIONS,
        # each subcommand takes its own options only: a skip reason or a reply keeps "--limit 3" as typed
        sub_options={sub: _SUB_GRAMMAR.get(name, (set(), set()))
                     for sub, name in [*((n, n) for n in SUBCOMMANDS), *ALIASES.items()]},
    )
    registry.add_alias("待回复", "reply-queue")
    registry.add_action(render.ACTION_PREFIX, handle_reply_action)
