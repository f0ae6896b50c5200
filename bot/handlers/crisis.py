"""`/crisis`: crisis playbook runs from chat (console, Slack, Feishu alike) and the run-card buttons."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence

from bot.handlers.registry import (
    QUOTE_PAIRS,
    CommandContext,
    CommandRegistry,
    ParsedCommand,
    UsageError,
    command_word,
    option_word,
    tokenize_spans,
)
from bot.i18n import EnglishToo, in_language
from bot.messages import Action, Message, inert, is_blank
from bot.playbooks import render
from bot.playbooks.machine import (
    Answer,
    Assign,
    Done,
    Note,
    RunState,
    Skip,
    TransitionRejected,
    apply,
    split_answer,
)
from bot.playbooks.service import PlaybookNotFound, PlaybookService, RunNotFound
from bot.record_numbers import record_digits

USAGE = """\
  /crisis start|启动 预案 [标题] [--severity 1-3] [--account 平台:账号] [--var 变量=值] — 启动预案 / start a run
  /crisis list|列表 — 可用预案与进行中的预案 / playbooks and active runs
  /crisis status|状态 [#编号] — 全部步骤状态 / every step
  /crisis next|下一步 [#编号] — 下一步：说明、清单、回应口径 / next steps in detail
  /crisis done|完成 步骤 [答案或备注] — 完成步骤；判断步骤需给出答案（如 done verify 属实，或 yes/true），
      答案后面、其它步骤后面的文字记为备注 / finish a step: a decision takes its answer (then a remark),
      other steps a remark
  /crisis answer|回答 步骤 答案 — 回答判断步骤 / answer a decision step
  /crisis skip|跳过 步骤 原因 — 跳过步骤 / skip a step with a reason
  /crisis reopen|重开 步骤 原因 — 重开误完成、误答或误跳过的步骤：负责人保留，答案清空，之后再 done/answer；
      因它完成而推进的后续步骤不撤销 / reopen a step done, answered or skipped by mistake (owner kept, answer
      cleared; then done/answer it again); steps that moved on because it finished are not undone
  /crisis assign|指派 步骤|角色 @人|me|我 — 指派一人（角色可写中文或英文名）/ assign one person to a step or a role
  /crisis claim|认领 步骤 — 认领步骤（即 assign 步骤 me）/ take a step yourself (assign STEP me)
  /crisis severity|级别 1|2|3 原因 — 调整严重程度（1 最高；状态催办间隔随之改变）/ raise or lower the severity
  /crisis note|备注 内容 — 记录进展 / add a note to the timeline
  /crisis timeline|时间线 [#编号] — 时间线 / timeline
  /crisis report|复盘 [#编号] — 复盘报告（Markdown + 负面占比图）/ post-incident review
  /crisis resolve|解除 [#编号] [说明] — 解除并发布复盘 / resolve and post the review
  /crisis cancel|取消 [#编号] 原因 — 取消预案 / cancel the run
  /crisis help|帮助 — 本说明 / this help
  步骤可写编号（如 triage）、名称或卡片上的序号（如 1、第1步）。
  Name a step by its id, its title or its number on the card.
  频道只有一个进行中的预案时可省略编号；否则用 --run 编号，或 #编号（紧跟子命令或放在命令末尾；放在中间时须是本频道的预案编号，
  否则算作正文）。
  The run id may be omitted when the channel has one active run; else add --run N or #N (right after the
  subcommand or last; in between only when it names a run of this channel, else it is text)."""

# The usage in a channel set to English (the Chinese command words still work there).
USAGE_EN = """\
  /crisis start PLAYBOOK [TITLE] [--severity 1-3] [--account platform:account] [--var name=value] — start a run
  /crisis list — playbooks and active runs
  /crisis status [#N] — every step
  /crisis next [#N] — next steps in detail: instructions, checklist, statements
  /crisis done STEP [ANSWER or REMARK] — finish a step: a decision takes its answer (e.g. done verify yes),
      then a remark; other steps a remark
  /crisis answer STEP ANSWER — answer a decision step
  /crisis skip STEP REASON — skip a step with a reason
  /crisis reopen STEP REASON — reopen a step done, answered or skipped by mistake (owner kept, answer cleared;
      then done/answer it again); steps that moved on because it finished are not undone
  /crisis assign STEP|ROLE @user|me — assign one person to a step or a role (a role by either of its names)
  /crisis claim STEP — take a step yourself (assign STEP me)
  /crisis severity 1|2|3 REASON — raise or lower the severity (1 is the highest; the status reminders follow)
  /crisis note TEXT — add a note to the timeline
  /crisis timeline [#N] — timeline
  /crisis report [#N] — post-incident review (Markdown + negative-share chart)
  /crisis resolve [#N] [SUMMARY] — resolve and post the review
  /crisis cancel [#N] REASON — cancel the run
  /crisis help — this help
  Name a step by its id, its title or its number on the card (1, step 1).
  The run id may be omitted when the channel has one active run; else add --run N or #N (right after the
  subcommand or last; in between only when it names a run of this channel, else it is text)."""


class Usage(UsageError):
    """A command line not understood, with its English alone (`en`) for a channel set to English."""


ALIASES = {
    "启动": "start",
    "列表": "list",
    "状态": "status",
    "下一步": "next",
    "完成": "done",
    "跳过": "skip",
    "重开": "reopen",
    "重新打开": "reopen",
    "指派": "assign",
    "备注": "note",
    "时间线": "timeline",
    "复盘": "report",
    "报告": "report",
    "解除": "resolve",
    "取消": "cancel",
    "回答": "answer",
    "认领": "claim",
    "级别": "severity",
    "定级": "severity",
    "严重程度": "severity",
}
# "/crisis severity 1", "一级", "1级", "SEV1", "P1" -> 1
_LEVEL = re.compile(r"^(?:sev|p)?\s*([123])$|^([123一二三])级$", re.IGNORECASE)
# Words people type to end a run. Ending is a decision between resolving (the crisis is over: the review is
# posted) and cancelling (it was a false alarm or is handled elsewhere), so these are answered with both
# subcommands instead of being mapped to one.
END_WORDS = frozenset({"end", "close", "stop", "finish", "结束", "关闭", "停止", "终止", "完结"})
_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
# A step named by its number: "2", "第2步", "第二步", "步骤2", "2.", "S2", "step 2" (an id wins over these)
_STEP_NUMBER = re.compile(r"^(?:第|步骤|step|s)?\s*([0-9]+|[一二两三四五六七八九十]+)\s*[步.、]?$", re.IGNORECASE)
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _service(ctx: CommandContext) -> PlaybookService:
    return ctx.services.playbooks


def _tz(ctx: CommandContext) -> str:
    return _service(ctx).channel_tz(ctx.channel)


def _en(ctx: CommandContext) -> bool:
    return ctx.lang == "en"


class Refused(EnglishToo, Exception):
    """A command refused with a one-line answer (not the whole usage): an option the subcommand does not
    take, a word that names no person."""


def normalise_user(text: str, ctx: CommandContext) -> str:
    """'<@U123|ann>' -> 'slack:U123'; 'me'/'我' -> the caller; '@name' and the channel platform's 'platform:id'
    (a Feishu mention arrives as one) stay; any other word is refused (Refused): it names no person."""
    word = text.strip()
    if word.startswith("＠"):  # typed with a Chinese input method
        word = "@" + word[1:]
    if word.lower() in ("me", "我", "@me"):
        return ctx.user
    match = _SLACK_MENTION.match(word)
    if match:
        return f"{ctx.channel.partition(':')[0]}:{match.group(1)}"
    if not word.strip("@＠ "):
        raise Usage("请指定负责人，例如 @小王 / name the person, e.g. @alice", en="Name the person, e.g. @alice")
    platform = ctx.channel.partition(":")[0]
    named, colon, user_id = word.partition(":")
    if word.startswith("@") or (colon and named == platform and user_id.strip()):
        return word
    # "/crisis assign capture 明天下午" must not make 明天下午 the owner
    raise Refused(
        f"「{inert(word)}」不是一个人：负责人请写 @名字、在聊天里 @ 提及、{platform}:账号ID，或 me/我 / "
        f"{inert(word)!r} names no person: write @name, mention them in the chat, {platform}:ID, or me",
        en=f"{inert(word)!r} names no person: write @name, mention them in the chat, {platform}:ID, or me",
    )


def _split_run(ctx: CommandContext, parsed: ParsedCommand, *, read_only: bool = False,
               bare_number: bool = False) -> tuple[int, ParsedCommand]:
    """The run the command means and the command without the word that named it (its step is then
    args[1], its text from args[1] or [2] on). The run is --run N; else a word "#N" straight after the
    subcommand or last ("/crisis done #2 verify 属实", "/crisis done verify 属实 #2"); else a "#N" in between
    that names a run of this channel ("/crisis skip monitor #2 已有舆情监测"; a "#4521" in a note that is no
    run stays text); a quoted "#2" is always text; else the channel's only active run (for read-only
    commands the latest run when none is active). Read-only commands take a bare number straight after
    the subcommand too ("/crisis status 2"): they have no step argument; so do those with `bare_number`
    (resolve, cancel: "/crisis cancel 2 误报" is run 2, never the channel's only run with the reason "2 误报")."""
    service = _service(ctx)
    ref: str | None = None
    at: int | None = None
    stray: str | None = None  # a "#N" in between that names no run: text, unless nothing else names one
    option = parsed.opt("run")
    if option is True:  # "--run" with nothing after it: never fall back to some other run
        raise RunNotFound("--run 需要编号，例如 --run 2 / --run needs a number, e.g. --run 2",
                          en="--run needs a number, e.g. --run 2")
    if isinstance(option, str):
        ref = option
    else:
        last = len(parsed.args) - 1

        def run_word(index: int) -> bool:
            word = parsed.args[index]
            if record_digits(word) is None or _typed_in_quotes(parsed, index):
                return False
            return word.lstrip()[:1] in ("#", "＃") or ((read_only or bare_number) and index == 1)

        for index in dict.fromkeys(i for i in (1, last) if 1 <= i <= last):
            if run_word(index):
                ref, at = parsed.args[index], index
                break
        else:
            for index in range(2, last):
                if not run_word(index):
                    continue
                try:
                    service.resolve_run_id(ctx.channel, parsed.args[index], latest_if_none=read_only)
                except RunNotFound:
                    stray = stray or parsed.args[index]
                    continue
                ref, at = parsed.args[index], index
                break
    try:
        run_id = service.resolve_run_id(ctx.channel, ref, latest_if_none=read_only)
    except RunNotFound as exc:
        bare = at == 1 and bare_number and ref is not None and ref.lstrip()[:1] not in ("#", "＃")
        named = ref if at is not None and (at > 1 or bare) else stray
        if named is not None:  # a "#3" at the end of a note, or in it, may have been meant as text
            raise RunNotFound(f"{exc}\n若 {named} 是正文的一部分，请给它加引号：\"{named}\" / "
                              f"if {named} is part of the text, put it in quotes",
                              en=f"{in_language(exc, 'en')}\nIf {named} is part of the text, put it in quotes: "
                                 f"\"{named}\"") from exc
        raise
    return run_id, (parsed if at is None else _without_arg(parsed, at))


def _typed_in_quotes(parsed: ParsedCommand, index: int) -> bool:
    if len(parsed.arg_spans) != len(parsed.args):  # a command built without its source text
        return False
    start, _end, _word = parsed.arg_spans[index]
    return parsed.source[start : start + 1] in QUOTE_PAIRS


def _without_arg(parsed: ParsedCommand, index: int) -> ParsedCommand:
    """The command without args[index]; the text around it keeps its spacing (text_from joins across the
    gap with one space)."""
    spans = parsed.arg_spans
    return ParsedCommand(
        name=parsed.name,
        args=parsed.args[:index] + parsed.args[index + 1 :],
        options=dict(parsed.options),
        source=parsed.source,
        arg_spans=spans[:index] + spans[index + 1 :] if len(spans) == len(parsed.args) else [],
    )


def _fold(text: str) -> str:
    """For matching what people type: full-width forms, case and inner spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _number(word: str) -> int | None:
    """The step number in "2", "第2步", "第二步", "步骤 2", "S2" (Chinese numerals up to 九十九)."""
    match = _STEP_NUMBER.match(unicodedata.normalize("NFKC", word).strip())
    if not match:
        return None
    digits = match.group(1)
    if digits.isdigit():
        return int(digits)
    if not (word.strip().startswith(("第", "步骤")) or word.strip().endswith("步")):
        return None  # a bare "三" is more likely part of a title than a number
    tens, _, ones = digits.rpartition("十")
    if "十" not in digits:
        return _ZH_DIGITS.get(digits) if len(digits) == 1 else None
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_ZH_DIGITS.get(tens, 0) if tens else 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0)


def find_step(state: RunState, typed: str, *, roles: bool = False,
              role_en: Mapping[str, str] | None = None, titles_en: Mapping[str, str] | None = None) -> str:
    """The step id `typed` names: the id (any case), the number the card shows (2, 第2步, 第二步), or the
    title (exact, else the one title it begins, else the one title it is part of). With `roles` (assign)
    a role is named by its name (指挥) or, in any case, by its English name (`role_en`: 指挥 -> Commander)
    and returned by its name. Raises TransitionRejected listing the steps."""
    word = typed.strip()
    if state.has_step(word):
        return word
    role_names = sorted({s.owner_role for s in state.steps}) if roles else []
    if word in role_names:
        return word
    folded = _fold(word)
    by_id = [s for s in state.steps if _fold(s.step_id) == folded]
    if len(by_id) == 1:
        return by_id[0].step_id
    for name in role_names:  # a step id wins over a role's English name
        if folded and folded in (_fold(name), _fold((role_en or {}).get(name, ""))):
            return name
    by_role_en = [f"{n} {role_en[n]}" if (role_en or {}).get(n) else n for n in role_names]
    number = _number(word)
    if number is not None and 1 <= number <= len(state.steps):
        return next(s.step_id for s in state.steps if render.step_number(s) == number)
    if folded:
        english = {s.step_id: _fold((titles_en or {}).get(s.step_id, "")) for s in state.steps}
        for matches in (
            [s for s in state.steps if _fold(s.title) == folded],
            [s for s in state.steps if english[s.step_id] == folded],
            [s for s in state.steps if _fold(s.title).startswith(folded)],
            [s for s in state.steps if english[s.step_id].startswith(folded)],
            [s for s in state.steps if folded in _fold(s.title)],
            [s for s in state.steps if folded in english[s.step_id]],
        ):
            if len(matches) == 1:
                return matches[0].step_id
            if matches:
                named = "、".join(f"第{render.step_number(s)}步 {s.step_id} {s.title}" for s in matches)
                raise TransitionRejected(
                    f"「{word}」对应多个步骤：{named}，请写步骤编号 / {word!r} matches several steps: "
                    f"{', '.join(s.step_id for s in matches)}; use the step id",
                    code="ambiguous_step",
                    en=f"{word!r} matches several steps: {', '.join(s.step_id for s in matches)}; use the step id",
                )
    what_zh, what_en = ("步骤或角色", "step or role") if roles else ("步骤", "step")
    role_zh = f"角色：{'、'.join(by_role_en)}\n" if role_names else ""
    roles_en = f"; roles: {', '.join(by_role_en)}" if role_names else ""
    raise TransitionRejected(
        f"没有{what_zh}「{word}」。步骤可以写编号、名称或序号（如 1、第1步）。\n{role_zh}本预案的步骤：\n"
        f"{render.step_menu(state)}\n"
        f"No {what_en} {word!r}. Steps: {', '.join(f'{render.step_number(s)} {s.step_id}' for s in state.steps)}"
        f"{roles_en}. Name a step by its id, title or number.",
        code="unknown_step",
        en=f"No {what_en} {word!r}. Name a step by its id, its title or its number on the card (1, step 1)."
           f"{' Roles: ' + ', '.join(by_role_en) + '.' if role_names else ''}\nThe playbook's steps:\n"
           f"{render.step_menu(state, 'en', dict(titles_en or {}))}",
    )


def _step(ctx: CommandContext, run_id: int, typed: str, *, roles: bool = False) -> str:
    view = _service(ctx).get(run_id)
    role_en = {name: role.en for name, role in view.playbook.roles.items() if role.en}
    # an English channel may name a step by its English title too (a Chinese one as before)
    titles_en = {s.id: s.title_en for s in view.playbook.steps if s.title_en} if _en(ctx) else None
    return find_step(view.state, typed, roles=roles, role_en=role_en, titles_en=titles_en)


def _card(ctx: CommandContext, run_id: int) -> Message:
    service = _service(ctx)
    return render.run_card(
        service.get(run_id), service.clock.now(), _tz(ctx), max_steps=service.settings.card_steps, lang=ctx.lang
    )


def handle_crisis(ctx: CommandContext, parsed: ParsedCommand) -> Message | list[Message] | None:
    # in a channel set to English the dispatcher answers a refusal and a usage error in English alone
    lang = ctx.lang
    sub_word = command_word(parsed.sub or "")
    sub = ALIASES.get(sub_word, sub_word)
    if not sub:
        raise Usage("缺少子命令 / missing subcommand", en="Missing subcommand")
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        if sub in END_WORDS and lang == "en":
            return Message(
                text=f"There is no {sub!r}. To end a run: /crisis resolve [summary] when the crisis is over "
                     f"(posts the review), or /crisis cancel REASON for a false alarm or a run no longer needed.",
                ephemeral=True,
            )
        if sub in END_WORDS:  # already folded (command_word)
            return Message(
                text=f"没有「{sub}」这个子命令。结束预案有两种：事件已平息，用 /crisis 解除 [说明]（resolve，"
                     f"会发布复盘）；误报或不再需要，用 /crisis 取消 原因（cancel）。\n"
                     f"There is no {sub!r}. To end a run: /crisis resolve [summary] when the crisis is over "
                     f"(posts the review), or /crisis cancel REASON for a false alarm or a run no longer needed.",
                ephemeral=True,
            )
        close = difflib.get_close_matches(sub, [*SUBCOMMANDS, *ALIASES], n=1, cutoff=0.6)
        guess = f"（是不是要输入 /crisis {close[0]}？/ did you mean /crisis {close[0]}?）" if close else ""
        guess_en = f" (did you mean /crisis {close[0]}?)" if close else ""
        raise Usage(f"未知子命令 {sub}{guess} / unknown subcommand", en=f"Unknown subcommand {sub}{guess_en}")
    try:
        return handler(ctx, parsed)
    except (TransitionRejected, RunNotFound, PlaybookNotFound, Refused) as exc:
        # an unknown playbook: the answer lists the playbooks there are, not the whole usage
        return Message(text=in_language(exc, lang), ephemeral=True)
    except UsageError:
        raise
    except ValueError as exc:
        raise Usage(str(exc), en=in_language(exc, "en")) from exc


def _start(ctx: CommandContext, parsed: ParsedCommand) -> Message | None:
    variables: dict[str, str] = {}
    values = _var_values(parsed)
    for pairs, _start, _end in values:
        variables.update(pairs)
    parsed = _without_spans(parsed, [(start, end) for _pairs, start, end in values])
    _refuse_unknown_options(parsed, START_OPTIONS)
    args = parsed.args[1:]
    if not args:
        raise Usage("请指定预案，例如 /crisis start 负面舆情爆发 / name a playbook",
                    en="Name a playbook, e.g. /crisis start negative-outbreak", brief=True)
    severity_opt = parsed.opt("severity")
    severity = None
    if severity_opt is not None:
        typed = unicodedata.normalize("NFKC", severity_opt).strip() if isinstance(severity_opt, str) else ""
        if typed not in ("1", "2", "3"):
            raise Usage("--severity 应为 1、2 或 3 / --severity must be 1, 2 or 3", en="--severity must be 1, 2 or 3")
        severity = int(typed)
    account = parsed.opt("account")
    if account is True:  # "--account" with nothing after it must not start a run watching no account
        raise Usage("--account 需要账号，例如 --account douyin:lanji_official / --account needs an account",
                    en="--account needs an account, e.g. --account douyin:lanji_official")
    view = _service(ctx).start_run(
        ctx.channel,
        args[0],
        parsed.text_from(2) or None,
        severity,
        account if isinstance(account, str) else None,
        ctx.user,
        variables=variables,
    )
    if _en(ctx):
        return Message(text=f"Run #{view.id} “{inert(view.title)}” started; see the card, and /crisis next for the "
                            f"next steps.", ephemeral=True)
    return Message(
        text=f"已启动预案 #{view.id}「{inert(view.title)}」，运行卡片见上；/crisis next 查看下一步。\n"
        f"Run #{view.id} started; see the card, and /crisis next for the next steps.",
        ephemeral=True,
    )


START_OPTIONS = ("severity", "account", "var")
READ_ONLY_OPTIONS = ("run",)


def _refuse_unknown_options(parsed: ParsedCommand, known: Sequence[str]) -> None:
    """A mistyped option ("--severty 1") must not silently become part of a title or be ignored: refuse
    an unquoted "--word" that is no option of the subcommand, naming the closest known one. A quoted
    title keeps its "--" ("\"新品 --限时\"")."""
    for index, word in enumerate(parsed.args[1:], start=1):
        if _typed_in_quotes(parsed, index):
            continue
        normalised = unicodedata.normalize("NFKC", word)
        if not normalised.startswith("--") or len(normalised) <= 2:
            continue
        key = normalised[2:].partition("=")[0]
        close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
        guess_zh = f"（是否想写 --{close[0]}？）" if close else ""
        guess_en = f" (did you mean --{close[0]}?)" if close else ""
        options = "、".join(f"--{k}" for k in known) or "无"
        options_en = ", ".join(f"--{k}" for k in known) or "none"
        raise Refused(
            f"未知选项 {word}{guess_zh}，可用选项：{options}；标题或正文里的 -- 请加引号 / unknown option "
            f"{word}{guess_en}; options: {options_en}; quote text that contains --",
            en=f"Unknown option {word}{guess_en}; options: {options_en}; quote text that contains --",
        )


_VAR_FORMAT = ("--var 格式为 变量=值，多个用逗号分隔，值里有逗号或空格时加引号，例如 --var brand=\"澜肌, 官方\" / "
               "--var takes name=value, several separated by commas; quote a value with commas or spaces")
_VAR_FORMAT_EN = ("--var takes name=value, several separated by commas; quote a value with commas or spaces, e.g. "
                  "--var brand=\"Lanji, official\"")
_EQUALS = ("=", "＝")
_SEPARATORS = (",", "，")
# in a whole `--var "a=1, b=2"` a comma separates pairs only before another name=
_NEXT_PAIR = re.compile(r"\s*[^\s=＝,，\"'“”「」‘’『』]+\s*[=＝]")


def _var_values(parsed: ParsedCommand) -> list[tuple[dict[str, str], int, int]]:
    """Every `--var` (repeated ones too: the parser keeps only the last of an option) as (its name=value
    pairs, where its value stands in the source). Pairs are separated by commas (， or ,); a value in quotes
    ("…" '…' “…” 「…」) keeps its commas and spaces: `--var brand="澜肌, 官方",product=面霜`."""
    source = parsed.source
    words = tokenize_spans(source)
    found: list[tuple[dict[str, str], int, int]] = []
    taken = -1  # the end of the last value: words inside a quoted value are part of it
    for index, (word, start, end) in enumerate(words):
        if start < taken:
            continue
        key, eq, _value = option_word(word)
        if key.lower() != "var":
            continue
        if eq:
            raw = source[start:end]
            at = start + min(raw.index(c) for c in _EQUALS if c in raw) + 1
        elif index + 1 < len(words) and not option_word(words[index + 1][0])[0]:
            at = words[index + 1][1]
        else:
            raise Usage(f"--var 后面缺少 变量=值 / --var needs name=value\n{_VAR_FORMAT}",
                        en=f"--var needs name=value\n{_VAR_FORMAT_EN}")
        pairs, taken = _scan_vars(source, at)
        found.append((pairs, at, taken))
    if not found and isinstance(parsed.opt("var"), str):  # a command built without its source text
        found.append((_scan_vars(parsed.opt("var"), 0)[0], -1, -1))
    return found


def _closing(text: str, at: int) -> int:
    """Where the quote opened at text[at] closes, or -1 (not a quote, or never closed: then it is text)."""
    closing = QUOTE_PAIRS.get(text[at : at + 1])
    return text.find(closing, at + 1) if closing else -1


def _scan_vars(source: str, at: int) -> tuple[dict[str, str], int]:
    """The name=value pairs of one `--var` value starting at source[at], and where the value ends: at the
    first space outside quotes. A quote opens a value right after its "=", or the whole item."""
    end = at
    whole = _closing(source, at)
    if whole != -1:  # --var "brand=澜肌, 官方"
        text, end = source[at + 1 : whole], whole + 1
    else:
        while end < len(source) and not source[end].isspace():
            close = _closing(source, end) if source[end - 1 : end] in _EQUALS and end > at else -1
            end = close + 1 if close != -1 else end + 1
        text = source[at:end]
    pairs: dict[str, str] = {}
    i = 0
    while i <= len(text):
        eq = min((j for j in (text.find(c, i) for c in _EQUALS) if j != -1), default=-1)
        stop = min((j for j in (text.find(c, i) for c in _SEPARATORS) if j != -1), default=len(text))
        if eq == -1 or stop < eq or not text[i:eq].strip():
            raise Usage(_VAR_FORMAT, en=_VAR_FORMAT_EN)
        name = unicodedata.normalize("NFKC", text[i:eq]).strip()
        i = eq + 1
        close = _closing(text, i)
        if close != -1:  # a quoted value: its commas are its own
            value, i = text[i + 1 : close], close + 1
            stop = min((j for j in (text.find(c, i) for c in _SEPARATORS) if j != -1), default=len(text))
            value += text[i:stop]
        else:
            stop = i
            while True:
                stop = min((j for j in (text.find(c, stop) for c in _SEPARATORS) if j != -1), default=len(text))
                if whole == -1 or stop == len(text) or _NEXT_PAIR.match(text, stop + 1):
                    break
                stop += 1
            value = text[i:stop]
        pairs[name] = value.strip()
        i = stop + 1
    return pairs, end


def _without_spans(parsed: ParsedCommand, spans: list[tuple[int, int]]) -> ParsedCommand:
    """The command without the args typed inside these spans of the source (the words of a quoted --var
    value with spaces, which the parser took as text)."""
    if not spans or len(parsed.arg_spans) != len(parsed.args):
        return parsed
    keep = [i for i, (start, _end, _word) in enumerate(parsed.arg_spans)
            if not any(lo <= start < hi for lo, hi in spans)]
    return ParsedCommand(
        name=parsed.name,
        args=[parsed.args[i] for i in keep],
        options=dict(parsed.options),
        source=parsed.source,
        arg_spans=[parsed.arg_spans[i] for i in keep],
    )


def _list(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    service = _service(ctx)
    return render.list_message(service.playbooks.playbooks, service.active_runs(ctx.channel), _tz(ctx), ctx.lang)


def _status(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    _refuse_unknown_options(parsed, READ_ONLY_OPTIONS)
    run_id, _ = _split_run(ctx, parsed, read_only=True)
    service = _service(ctx)
    return render.status_message(service.get(run_id), service.clock.now(), _tz(ctx), ctx.lang)


def _next(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    _refuse_unknown_options(parsed, READ_ONLY_OPTIONS)
    run_id, _ = _split_run(ctx, parsed, read_only=True)
    service = _service(ctx)
    return render.next_message(service.get(run_id), service.clock.now(), _tz(ctx), lang=ctx.lang)


def _done(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, parsed = _split_run(ctx, parsed)
    rest = parsed.args[1:]
    if not rest:
        raise Usage("请指定步骤，例如 /crisis done triage / name the step", en="Name the step, e.g. /crisis done triage",
                    brief=True)
    service = _service(ctx)
    step = _step(ctx, run_id, rest[0])
    # What follows the step is its answer on a decision step (then perhaps a remark), a remark on any other.
    note = parsed.text_from(2) if len(rest) > 1 else ""
    view, _ = service.transition(run_id, Done(step, ctx.user, note=note))
    return Message(text=render.finished_reply(view, step, ctx.user_name, _remark(view, step, note), ctx.lang))


def _remark(view, step_id: str, typed: str) -> str:
    """What of the text typed after a finished step was kept as its remark (a decision's answer is not)."""
    if is_blank(typed) or not view.state.has_step(step_id):
        return ""
    step = view.state.step(step_id)
    if step.is_decision:
        return (split_answer(step, typed) or ("", ""))[1]
    return typed.strip()


def _answer(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, parsed = _split_run(ctx, parsed)
    rest = parsed.args[1:]
    if len(rest) < 2:
        raise Usage("用法：/crisis answer 步骤 答案 / usage: answer STEP ANSWER", en="Usage: /crisis answer STEP ANSWER",
                    brief=True)
    step = _step(ctx, run_id, rest[0])
    view, _ = _service(ctx).transition(run_id, Answer(step, parsed.text_from(2), ctx.user))
    return Message(text=render.finished_reply(view, step, ctx.user_name, lang=ctx.lang))


def _skip(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, parsed = _split_run(ctx, parsed)
    rest = parsed.args[1:]
    if not rest:
        raise Usage("跳过需要步骤和原因：/crisis skip 步骤 原因 / skip needs a step and a reason",
                    en="Skip needs a step and a reason: /crisis skip STEP REASON", brief=True)
    step = _step(ctx, run_id, rest[0])
    reason = parsed.text_from(2).strip() if len(rest) > 1 else ""
    if not _has_text(reason):  # `/crisis skip intake`, or a reason of blanks or empty quotes
        return _needs_reason(ctx, run_id, step)
    _service(ctx).transition(run_id, Skip(step, ctx.user, reason))
    return Message(text=_skipped_reply(ctx, step, reason))


def _skipped_reply(ctx: CommandContext, step: str, reason: str) -> str:
    if _en(ctx):
        return f"⏭️ {ctx.user_name} skipped {step}: {inert(reason)}"
    return f"⏭️ {ctx.user_name} 跳过了 {step}：{inert(reason)} / skipped"


def _reopen(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    """`/crisis reopen STEP 原因`: take back a step done, answered or skipped by mistake."""
    run_id, parsed = _split_run(ctx, parsed)
    rest = parsed.args[1:]
    if not rest:
        raise Usage("重开需要步骤和原因：/crisis reopen 步骤 原因 / reopen needs a step and a reason",
                    en="Reopen needs a step and a reason: /crisis reopen STEP REASON", brief=True)
    step = _step(ctx, run_id, rest[0])
    reason = parsed.text_from(2).strip() if len(rest) > 1 else ""
    service = _service(ctx)
    try:
        view = service.reopen(run_id, step, ctx.user, reason)
    except TransitionRejected as exc:
        if exc.code != "needs_reason":
            raise
        ref = f"#{run_id} " if len(service.active_runs(ctx.channel)) > 1 else ""
        command = f"/crisis reopen {ref}{step}"
        if _en(ctx):
            return Message(text=f"⚠️ Reopening {step} needs a reason; it was not reopened. Type: {command} REASON "
                                f"(e.g. {command} wrong answer)", ephemeral=True)
        return Message(
            text=f"⚠️ 重开步骤 {step} 需要说明原因，未重开。请输入：{command} 原因（例如 {command} 答案填错了）\n"
                 f"Reopening {step} needs a reason; it was not reopened. Type: {command} REASON",
            ephemeral=True,
        )
    return Message(text=render.reopened_reply(view, step, ctx.user_name, reason, service.clock.now(), _tz(ctx),
                                              ctx.lang))


def _has_text(reason: str) -> bool:
    """A reason says something: some visible character besides quote marks (machine.is_blank)."""
    return not is_blank(reason)


def _needs_reason(ctx: CommandContext, run_id: int, step: str) -> Message:
    """The refusal of a skip without a reason, with the exact command that gives one (a Slack or Feishu form
    was submitted blank, a console /press or an older Feishu card's button carried none). A skip that would be
    refused anyway (unknown step, already done, run closed) says that instead: a reason would not help."""
    service = _service(ctx)
    # dry run on the pure state machine (TransitionRejected is answered by the callers)
    apply(service.get(run_id).state, Skip(step, ctx.user, "-"), service.clock.now())
    ref = f"#{run_id} " if len(service.active_runs(ctx.channel)) > 1 else ""
    command = f"/crisis skip {ref}{step} 原因"
    # In a Feishu group the bot hears only messages that @-mention it, so the line to type starts with one;
    # not in a direct chat, where a typed "@机器人" would be read as part of the command. (A card button's
    # press does not say which kind of chat it came from: a group is the usual place for a run card.)
    source = ctx.command or ctx.action
    direct = source is not None and source.reply.get("chat_type") == "p2p"
    mention, mention_en = ("@机器人 ", "@bot ") if ctx.channel.startswith("feishu:") and not direct else ("", "")
    if ctx.channel.startswith("slack:"):
        form = "，或按“跳过”后在弹窗里填写原因"
        form_en = ", or fill in the reason in the form the Skip button opens"
    elif ctx.channel.startswith("feishu:"):  # the run card has a reason box beside its 跳过 button
        form = "，或在卡片的跳过原因框里填写后按“跳过”"
        form_en = ", or type the reason into the box beside the card's Skip button"
    elif ctx.channel.startswith("console:"):  # the console's button is /press, which takes the reason after it
        press = f"/press {render.ACTION_SKIP} {run_id}:{step}"
        form = f"，或按按钮：{press} 原因"
        form_en = f", or press the button: {press} REASON"
    else:
        form = form_en = ""
    if _en(ctx):
        return Message(
            text=f"⚠️ Skipping {step} needs a reason; it was not skipped. "
                 f"Type: {mention_en}{command.replace('原因', 'REASON')} (e.g. {mention_en}"
                 f"{command.removesuffix('原因')}handled by direct message){form_en}.",
            ephemeral=True,
        )
    return Message(
        text=f"⚠️ 跳过步骤 {step} 需要说明原因，未跳过。请输入：{mention}{command}"
             f"（例如 {mention}{command.removesuffix('原因')}已由客服私信处理）{form}。\n"
             f"Skipping {step} needs a reason; it was not skipped. "
             f"Type: {mention_en}{command.replace('原因', 'REASON')}{form_en}.",
        ephemeral=True,
    )


def _assign(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, parsed = _split_run(ctx, parsed)
    rest = parsed.args[1:]
    if len(rest) < 2:
        raise Usage("用法：/crisis assign 步骤|角色 @人 / usage: assign STEP|ROLE @user",
                    en="Usage: /crisis assign STEP|ROLE @user", brief=True)
    user = normalise_user(rest[1], ctx)
    target = _step(ctx, run_id, rest[0], roles=True)
    others = [w for w in rest[2:] if w.lstrip()[:1] in ("@", "＠") or _SLACK_MENTION.match(w.strip())]
    if others:  # a step or a role has one owner: never keep the first and silently drop the rest
        names = "、".join(render.person(normalise_user(w, ctx)) if w.strip("@＠ ") else w for w in rest[1:])
        if _en(ctx):
            return Message(
                text=f"A step or a role has one owner; nothing assigned ({names.replace('、', ', ')}). Name one "
                     f"person: /crisis assign {rest[0]} {rest[1]}, and give the others other steps or roles",
                ephemeral=True,
            )
        return Message(
            text=f"一个步骤或角色只能指派一人，未指派（{names}）。请只写一人：/crisis assign {rest[0]} "
                 f"{rest[1]}；其他人可指派到其它步骤或角色 / a step or a role has one owner; nothing assigned. "
                 f"Name one person: /crisis assign {rest[0]} {rest[1]}, and give the others other steps or roles",
            ephemeral=True,
        )
    _service(ctx).transition(run_id, Assign(target, user, ctx.user))
    # The new owner is told (a mention notifies; texts that merely name people do not), unless they
    # assigned themselves.
    mention = render.mention_id(user, ctx.channel) if user != ctx.user else None
    return Message(text=f"👤 {_target(ctx, run_id, target)} → {render.person(user)}",
                   mentions=(mention,) if mention else ())


def _target(ctx: CommandContext, run_id: int, target: str) -> str:
    """A step id as typed, a role as the channel names it (指挥, in an English channel Commander)."""
    if not _en(ctx):
        return target
    view = _service(ctx).get(run_id)
    return target if view.state.has_step(target) else render.role_name(view, target, "en")


def _claim(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    """`/crisis claim STEP` (认领, as in the reply queue): `/crisis assign STEP me`."""
    run_id, parsed = _split_run(ctx, parsed)
    rest = parsed.args[1:]
    if len(rest) != 1:
        raise Usage("用法：/crisis claim 步骤 / usage: claim STEP", en="Usage: /crisis claim STEP", brief=True)
    target = _step(ctx, run_id, rest[0], roles=True)
    _service(ctx).transition(run_id, Assign(target, ctx.user, ctx.user))
    return Message(text=f"👤 {_target(ctx, run_id, target)} → {render.person(ctx.user)}")


def _severity(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    """`/crisis severity 1|2|3 原因`: raise or lower the run's severity by hand."""
    run_id, parsed = _split_run(ctx, parsed)
    rest = parsed.args[1:]
    match = _LEVEL.match(unicodedata.normalize("NFKC", rest[0]).strip()) if rest else None
    if match is None:
        raise Usage("用法：/crisis severity 1|2|3 原因（1 最高）/ usage: severity 1|2|3 REASON (1 is the highest)",
                    en="Usage: /crisis severity 1|2|3 REASON (1 is the highest)", brief=True)
    level = int(match.group(1)) if match.group(1) else _ZH_DIGITS.get(match.group(2)) or int(match.group(2))
    reason = parsed.text_from(2).strip() if len(rest) > 1 else ""
    if is_blank(reason):
        raise Usage("调整严重程度需要说明原因：/crisis severity 1|2|3 原因 / changing the severity needs a reason",
                    en="Changing the severity needs a reason: /crisis severity 1|2|3 REASON", brief=True)
    view, before = _service(ctx).set_severity(run_id, level, ctx.user, reason)
    mark, verb = ("🔺", "raised") if level < before else ("🔻", "lowered")
    if _en(ctx):
        return Message(text=f"{mark} Run #{view.id} severity {verb} to SEV{level} (was SEV{before}): {inert(reason)}")
    return Message(
        text=f"{mark} 预案 #{view.id} 严重程度 {render.SEVERITY_ZH.get(before, before)} → "
             f"{render.SEVERITY_ZH.get(level, level)}：{inert(reason)} / {verb} to SEV{level} (was SEV{before})"
    )


def _note(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, parsed = _split_run(ctx, parsed)
    note = parsed.text_from(1).strip()
    if is_blank(note):
        raise Usage("备注内容为空 / the note is empty", en="The note is empty")
    _service(ctx).transition(run_id, Note(note, ctx.user))
    return Message(text=f"📝 Noted (#{run_id})" if _en(ctx) else f"📝 已记录 / noted（#{run_id}）", ephemeral=True)


def _timeline(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    _refuse_unknown_options(parsed, READ_ONLY_OPTIONS)
    run_id, _ = _split_run(ctx, parsed, read_only=True)
    service = _service(ctx)
    return render.timeline_message(service.get(run_id), service.timeline(run_id), _tz(ctx),
                                   alerts=service.run_alerts(run_id), lang=ctx.lang)


def _report(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    _refuse_unknown_options(parsed, READ_ONLY_OPTIONS)
    run_id, _ = _split_run(ctx, parsed, read_only=True)
    service = _service(ctx)
    return service.report_message(service.build_report(run_id), run_id)


def _resolve(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, parsed = _split_run(ctx, parsed, bare_number=True)
    view = _service(ctx).resolve(run_id, ctx.user, parsed.text_from(1))
    return Message(text=_resolved_reply(ctx, view.id))


def _resolved_reply(ctx: CommandContext, run_id: int) -> str:
    if _en(ctx):
        return f"🏁 Run #{run_id} resolved; the review is posted"
    return f"🏁 预案 #{run_id} 已解除，复盘报告已发布 / resolved; review posted"


def _cancel(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    run_id, parsed = _split_run(ctx, parsed, bare_number=True)
    reason = parsed.text_from(1).strip()
    if is_blank(reason):
        raise Usage("取消需要说明原因：/crisis cancel 原因 / cancel needs a reason",
                    en="Cancelling needs a reason: /crisis cancel REASON", brief=True)
    view = _service(ctx).cancel(run_id, ctx.user, reason)
    if _en(ctx):
        return Message(text=f"🛑 Run #{view.id} cancelled: {inert(reason)}")
    return Message(text=f"🛑 预案 #{view.id} 已取消：{inert(reason)} / run #{view.id} cancelled")


SUBCOMMANDS = {
    "start": _start,
    "list": _list,
    "status": _status,
    "next": _next,
    "done": _done,
    "answer": _answer,
    "skip": _skip,
    "reopen": _reopen,
    "assign": _assign,
    "claim": _claim,
    "severity": _severity,
    "note": _note,
    "timeline": _timeline,
    "report": _report,
    "resolve": _resolve,
    "cancel": _cancel,
}


def handle_action(ctx: CommandContext, action: Action) -> Message | None:
    """Run-card buttons: crisis.done / .skip / .assign / .answer / .snooze / .resolve."""
    service = _service(ctx)
    lang = ctx.lang
    kind = action.action_id.removeprefix("crisis.")
    parts = action.value.split(":", 2)
    try:
        run_id = service.resolve_run_id(ctx.channel, parts[0])
        step = parts[1].strip() if len(parts) > 1 else ""
        if not step and kind in ("done", "answer", "skip", "assign", "snooze"):  # "/press crisis.done 1"
            how_zh = how_en = ""
            if kind != "snooze":
                how_zh = f"，请用 /crisis {kind} 步骤（/crisis status 列出步骤）"
                how_en = f": use /crisis {kind} STEP (/crisis status lists the steps)"
            if lang == "en":
                return Message(text=f"This button names no step; nothing was done{how_en}", ephemeral=True)
            return Message(text=f"这个按钮没有指明步骤，未执行{how_zh} / this button names no step; nothing was "
                                f"done{how_en}", ephemeral=True)
        if kind == "done":
            view, _ = service.transition(run_id, Done(step, ctx.user))
            return Message(text=render.finished_reply(view, step, ctx.user_name, lang=lang))
        if kind == "answer":
            answer = parts[2] if len(parts) > 2 else action.form.get("answer", "")
            view, _ = service.transition(run_id, Answer(step, answer, ctx.user))
            return Message(text=render.finished_reply(view, step, ctx.user_name, lang=lang))
        if kind == "skip":
            # docs: a skip always has a reason. The Slack button opens a form for it; a blank form, or a
            # button that carries no form (Feishu, console), is refused with the command that gives one.
            reason = (action.form.get("reason") or "").strip()
            if not _has_text(reason):
                return _needs_reason(ctx, run_id, step)
            service.transition(run_id, Skip(step, ctx.user, reason))
            return Message(text=_skipped_reply(ctx, step, reason))
        if kind == "assign":
            target = action.form.get("user", "").strip()
            user = normalise_user(target, ctx) if target else ctx.user
            service.transition(run_id, Assign(step, user, ctx.user))
            return Message(text=f"👤 {step} → {render.person(user)}")
        if kind == "snooze":
            until = service.snooze(run_id, [s for s in step.split(",") if s], ctx.user)
            return Message(text=render.snoozed_reply(until, _tz(ctx), lang), ephemeral=True)
        if kind == "resolve":
            service.resolve(run_id, ctx.user)
            return Message(text=_resolved_reply(ctx, run_id))
    except (TransitionRejected, RunNotFound, Refused) as exc:
        return Message(text=in_language(exc, lang), ephemeral=True)
    if lang == "en":
        return Message(text="This button is no longer active", ephemeral=True)
    return Message(text="这个按钮已失效 / this button is no longer active", ephemeral=True)


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "crisis",
        handle_crisis,
        summary_zh="危机预案：启动、推进、复盘",
        summary_en="crisis playbooks: start, walk, review",
        usage=USAGE,
        usage_en=USAGE_EN,
        options={"run", "severity", "account", "var"},
        # start takes the start options; every other subcommand only --run, so a note, a skip reason or a
        # cancel reason keeps "--severity 3" and the like as typed
        sub_options={
            sub: (({"severity", "account", "var"} if name == "start" else {"run"}), set())
            for sub, name in [*((n, n) for n in SUBCOMMANDS), *ALIASES.items()]
        },
    )
    registry.add_alias("危机", "crisis")
    registry.add_action("crisis.", handle_action)
