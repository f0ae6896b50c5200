"""`/sentiment fix COMMENT_ID neg|neu|pos` and the `sentiment.fix` button: teach the model in chat."""

from __future__ import annotations

from bot.handlers.registry import CommandContext, CommandRegistry, ParsedCommand, UsageError
from bot.messages import Action, Message
from bot.sentiment.corrections import CorrectionError, CorrectionOutcome, CorrectionService

FIX_ACTION = "sentiment.fix"
USAGE = (
    "  /sentiment fix 评论ID neg|neu|pos — 更正一条评论的情感标签（平台:评论ID 也可）"
    " / relabel a comment's sentiment (platform:COMMENT_ID also accepted)\n"
    "  按钮 / button: action_id `sentiment.fix`, value `平台:评论ID 标签` / `platform:COMMENT_ID label`"
)
_LABEL_ZH = {"neg": "负面", "neu": "中性", "pos": "正面", None: "未打分"}


def _service(ctx: CommandContext) -> CorrectionService:
    return ctx.services.extra["sentiment_corrections"]


def _reply(outcome: CorrectionOutcome, user_name: str) -> Message:
    old, new = outcome.old_label, outcome.new_label
    preview = outcome.text if len(outcome.text) <= 80 else outcome.text[:80] + "…"
    return Message(
        title="情感已更正 / Sentiment corrected",
        text=(
            f"{outcome.platform}:{outcome.comment_id} {_LABEL_ZH[old]}({old or '-'}) → {_LABEL_ZH[new]}({new})，"
            f"由 {user_name} 更正，已存为训练样本。\n"
            f"Relabelled {old or '-'} → {new} by {user_name}; kept as a training example.\n> {preview}"
        ),
    )


def _error(exc: CorrectionError) -> Message:
    return Message(text=f"无法更正：{exc.zh}\nCannot correct: {exc.en}", ephemeral=True)


def handle_sentiment(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    """`/sentiment fix COMMENT_ID LABEL`."""
    if parsed.sub != "fix":
        raise UsageError(f"未知子命令 / unknown subcommand: {parsed.sub or '(无/none)'}")
    if len(parsed.args) != 3:
        raise UsageError("需要 评论ID 和 标签 / needs COMMENT_ID and a label")
    _, comment_ref, label = parsed.args
    try:
        outcome = _service(ctx).fix(channel=ctx.channel, user=ctx.user, comment_ref=comment_ref, label=label)
    except CorrectionError as exc:
        return _error(exc)
    return _reply(outcome, ctx.user_name)


def handle_fix_button(ctx: CommandContext, action: Action) -> Message:
    """The `sentiment.fix` button: value "platform:COMMENT_ID label"."""
    parts = (action.value or "").split()
    if len(parts) != 2:
        return _error(CorrectionError("按钮数据有误", "malformed button value"))
    try:
        outcome = _service(ctx).fix(channel=ctx.channel, user=ctx.user, comment_ref=parts[0], label=parts[1])
    except CorrectionError as exc:
        return _error(exc)
    return _reply(outcome, ctx.user_name)


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "sentiment",
        handle_sentiment,
        summary_zh="更正评论情感标签",
        summary_en="correct a comment's sentiment label",
        usage=USAGE,
    )
    registry.add_action(FIX_ACTION, handle_fix_button)
