"""/precheck TEXT: self-review a draft reply, caption or statement before publishing."""

from __future__ import annotations

from bot.handlers.registry import CommandContext, CommandRegistry, ParsedCommand, UsageError
from bot.messages import Message
from bot.replies import render

USAGE = """\
  /precheck 文本 — 发布前自检：广告法绝对化用语、站外导流、诱导互动、医疗/金融宣称、风险词
  /precheck TEXT — check a draft against Advertising-Law terms, off-platform contact, inducements,
  medical/financial claims and the risk lexicon; each finding says why and how to reword it."""
# The usage in a channel set to English.
USAGE_EN = """\
  /precheck TEXT — check a draft against Advertising-Law terms, off-platform contact, inducements,
  medical/financial claims and the risk lexicon; each finding says why and how to reword it."""


def handle_precheck(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    # "/precheck --help" and "-h" alone the dispatcher answers with the usage, as "/precheck help": not a draft
    text = _draft_text(ctx, parsed)
    if not text.strip():
        raise UsageError("请在 /precheck 后面写上要检查的文字 / give the text to check", en="Give the text to check")
    service = ctx.services.extra.get("replies")
    if service is None:
        raise UsageError("自检功能未启用 / precheck is not enabled", en="Precheck is not enabled")
    return render.precheck_message(service.precheck(text), lang=ctx.lang)


def _draft_text(ctx: CommandContext, parsed: ParsedCommand) -> str:
    """The text after '/precheck' as typed (quotes and '--' inside a draft are part of it)."""
    return parsed.text_from(0)


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "precheck", handle_precheck,
        summary_zh="发布前自检（广告法用语、站外导流、风险词…）",
        summary_en="Pre-publication check of a draft (Advertising Law terms, off-platform contact, risk terms)",
        usage=USAGE,
        usage_en=USAGE_EN,
    )
