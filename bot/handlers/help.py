"""`/help`: every command family with its summary, Chinese first with English (English alone in a channel set
to English)."""

from __future__ import annotations

from bot.handlers.registry import CommandContext, CommandRegistry, ParsedCommand, command_word
from bot.i18n import t
from bot.messages import Message, Section


def handle_help(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    registry = ctx.services.registry
    lang = ctx.lang
    if parsed.args:
        spec = registry.find(command_word(parsed.args[0].lstrip("/／")))
        if spec is not None:
            return spec.help(lang)
    commands = sorted(registry.commands.values(), key=lambda s: s.name)
    if lang == "en":  # a channel set to English: the list in English alone (the Chinese aliases still work)
        return Message(title=t("help_title", "en"), text=t("help_footer", "en"),
                       sections=tuple(Section(text=f"**/{spec.name}** — {spec.summary_en}") for spec in commands))
    sections = tuple(
        Section(text=f"**/{spec.name}{''.join(f'｜/{a}' for a in registry.aliases_of(spec.name))}** — "
                     f"{spec.summary_zh} / {spec.summary_en}")
        for spec in commands
    )
    return Message(title=t("help_title"), sections=sections, text=t("help_footer") + "\n" + t("help_footer", "en"))


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "help",
        handle_help,
        summary_zh="查看命令列表",
        summary_en="list the commands",
        usage="/help [命令]  — 查看全部命令或某个命令的用法 / all commands, or one command's usage",
        usage_en="/help [COMMAND]  — all commands, or one command's usage",
    )
    registry.add_alias("帮助", "help")
