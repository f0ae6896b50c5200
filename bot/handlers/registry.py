"""The command grammar and the registry each feature adds its command family to.

One grammar everywhere: `/name subcommand args --option value --flag`, quoted strings ("..." '...'
“...” 「...」), Chinese text, mentions. Handlers receive a `CommandContext` and a `ParsedCommand` and
return neutral messages; they never see a platform payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.messages import Action, Command, Message

if TYPE_CHECKING:  # pragma: no cover
    from bot.services import Services

QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "「": "」", "‘": "’", "『": "』"}


class UsageError(ValueError):
    """The command line could not be understood; the message is shown to the user with the usage."""


class PermissionDenied(Exception):
    """The user may not do this here; the message says who may."""


@dataclass(slots=True)
class ParsedCommand:
    name: str
    args: list[str] = field(default_factory=list)
    options: dict[str, str | bool] = field(default_factory=dict)

    @property
    def sub(self) -> str | None:
        return self.args[0] if self.args else None

    def opt(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


def tokenize(line: str) -> list[str]:
    """Split a command line into words, honouring ASCII and Chinese quotes; full-width spaces split too."""
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in QUOTE_PAIRS:
            closing = QUOTE_PAIRS[ch]
            end = line.find(closing, i + 1)
            if end == -1:
                raise UsageError(f"引号没有闭合 / unclosed quote {ch}")
            current.append(line[i + 1 : end])
            in_word = True
            i = end + 1
            continue
        if ch.isspace():  # includes the full-width space U+3000
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(ch)
            in_word = True
        i += 1
    if in_word:
        words.append("".join(current))
    return words


def parse_command_line(line: str, *, flags: frozenset[str] = frozenset()) -> ParsedCommand:
    """Parse '/name args --opt value --flag'. Options named in `flags` take no value."""
    text = line.strip()
    if text.startswith("／"):  # full-width slash typed on a Chinese keyboard
        text = "/" + text[1:]
    if not text.startswith("/"):
        raise UsageError("命令以 / 开头，例如 /help / commands start with /, e.g. /help")
    words = tokenize(text[1:])
    if not words:
        raise UsageError("空命令 / empty command")
    name, rest = words[0].lower(), words[1:]
    args: list[str] = []
    options: dict[str, str | bool] = {}
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("--") and len(word) > 2:
            key, eq, value = word[2:].partition("=")
            if eq:
                options[key] = value
            elif key in flags or i + 1 >= len(rest) or rest[i + 1].startswith("--"):
                options[key] = True
            else:
                options[key] = rest[i + 1]
                i += 1
        elif word.startswith("—") and len(word) > 1:  # an em dash that an input method made of "--"
            rest[i] = "--" + word.lstrip("—")
            continue
        else:
            args.append(word)
        i += 1
    return ParsedCommand(name=name, args=args, options=options)


@dataclass(slots=True)
class CommandContext:
    """What a handler may know and use: the command, who/where, the services and the channel's scope."""

    services: Services
    command: Command | None = None
    action: Action | None = None

    @property
    def channel(self) -> str:
        source = self.command or self.action
        assert source is not None
        return source.channel

    @property
    def user(self) -> str:
        source = self.command or self.action
        assert source is not None
        return source.user

    @property
    def user_name(self) -> str:
        source = self.command or self.action
        assert source is not None
        return source.user_name or source.user.partition(":")[2] or source.user

    def visible_accounts(self) -> frozenset[str] | None:
        """Account keys 'platform:account_id' this channel may see (None means the default channel)."""
        return self.services.scope.accounts_for(self.channel)


CommandHandler = Callable[[CommandContext, ParsedCommand], "Message | list[Message] | None"]
ActionHandler = Callable[[CommandContext, Action], "Message | list[Message] | None"]


@dataclass(slots=True)
class CommandSpec:
    name: str
    handler: CommandHandler
    summary_zh: str
    summary_en: str
    usage: str  # multi-line usage, Chinese first, each line "  /name sub args — 说明 / meaning"
    flags: frozenset[str] = frozenset()


class CommandRegistry:
    """Maps command names and action-id prefixes to handlers. Features call `register(registry)`."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self.actions: dict[str, ActionHandler] = {}

    def add_command(
        self,
        name: str,
        handler: CommandHandler,
        *,
        summary_zh: str,
        summary_en: str,
        usage: str,
        flags: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        if name in self.commands:
            raise ValueError(f"command /{name} registered twice")
        self.commands[name] = CommandSpec(name, handler, summary_zh, summary_en, usage, frozenset(flags))

    def add_action(self, prefix: str, handler: ActionHandler) -> None:
        """Route every action whose action_id starts with `prefix` (e.g. 'alert.') to `handler`."""
        if prefix in self.actions:
            raise ValueError(f"action prefix {prefix!r} registered twice")
        self.actions[prefix] = handler

    def find_action(self, action_id: str) -> ActionHandler | None:
        best = None
        for prefix, handler in self.actions.items():
            if action_id.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, handler)
        return best[1] if best else None
