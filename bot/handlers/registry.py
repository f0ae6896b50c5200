"""The command grammar and the registry each feature adds its command family to.

One grammar everywhere: `/name subcommand args --option value --flag`, quoted strings ("..." '...'
“...” 「...」), Chinese text, mentions. Handlers receive a `CommandContext` and a `ParsedCommand` and
return neutral messages; they never see a platform payload.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.i18n import STRINGS, EnglishToo, in_language
from bot.messages import Action, Command, Message
from bot.permissions import PermissionDenied as PermissionDenied  # defined below the services that raise it

if TYPE_CHECKING:  # pragma: no cover
    from bot.services import Services

QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "「": "」", "‘": "’", "『": "』"}


class UsageError(EnglishToo, ValueError):
    """The command line could not be understood; the message (Chinese first with English) is shown to the user
    with the usage. `en`, when given, is the same in English alone, for a channel set to English.

    `brief`: the message itself names the form to type ("取消需要说明原因：/crisis cancel 原因"), so the
    dispatcher answers it with a one-line pointer to the usage instead of the whole usage, which buried
    that line (/crisis has some 25). An error that does not say what to type keeps the whole usage."""

    def __init__(self, message: str, *, en: str = "", brief: bool = False) -> None:
        super().__init__(message, en=en)
        self.brief = brief


def labelled(key: str, error: BaseException, lang: str = "zh") -> str:
    """An error under its label (`usage_error`, `permission_denied`) as a channel of language `lang` reads it:
    '用法有误 / Bad usage：<message>' (the message is already Chinese first with English: `both` printed it
    twice, once per label), or in a channel set to English 'Bad usage: <its English>' (`in_language`)."""
    zh, en = STRINGS[key]
    if lang == "en":
        return f"{en.partition(':')[0]}: {in_language(error, 'en')}"
    return f"{zh.partition('：')[0]} / {en.partition(':')[0]}：{error}"


@dataclass(slots=True)
class ParsedCommand:
    name: str
    args: list[str] = field(default_factory=list)
    options: dict[str, str | bool] = field(default_factory=dict)
    source: str = ""  # the line after the command name, exactly as typed
    # where each arg was typed in `source`: (start, end, index of its word among all words after the name)
    arg_spans: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def sub(self) -> str | None:
        return self.args[0] if self.args else None

    def opt(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def text_from(self, index: int) -> str:
        """The free text from args[index] on, as typed: quotes, dashes and spacing kept (a reply or a note
        must reach people as it was written), options left out. A text that is one quoted string loses
        its quotes. Without spans (a command built by hand) the args are joined with spaces."""
        if index >= len(self.args):
            return ""
        if len(self.arg_spans) != len(self.args):
            return " ".join(self.args[index:])
        spans = self.arg_spans[index:]
        if len(spans) == 1:
            start, end, _ = spans[0]
            raw = self.source[start:end]
            closing = QUOTE_PAIRS.get(raw[:1])
            return raw[1:-1] if closing and raw.find(closing, 1) == len(raw) - 1 else raw
        parts: list[str] = []
        previous: tuple[int, int] | None = None  # (end, word index) of the arg before
        for start, end, word in spans:
            if previous is not None:  # neighbours keep the separator as typed; an option between: a space
                parts.append(self.source[previous[0] : start] if word == previous[1] + 1 else " ")
            parts.append(self.source[start:end])
            previous = (end, word)
        return "".join(parts)


def tokenize(line: str) -> list[str]:
    """Split a command line into words, honouring ASCII and Chinese quotes; full-width spaces split too."""
    return [word for word, _, _ in tokenize_spans(line)]


def tokenize_spans(line: str) -> list[tuple[str, int, int]]:
    """(word, start, end) of each word. A quote opens only at the start of a word, so "客户说「太差」了"
    and "customer's" keep theirs as typed; an opening quote that is never closed is a usage error."""
    words: list[tuple[str, int, int]] = []
    current: list[str] = []
    start = -1
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in QUOTE_PAIRS and start == -1:
            closing = QUOTE_PAIRS[ch]
            end = line.find(closing, i + 1)
            if end == -1:
                raise UsageError(f"引号没有闭合 / unclosed quote {ch}", en=f"unclosed quote {ch}")
            current.append(line[i + 1 : end])
            start = i
            i = end + 1
            continue
        if ch.isspace():  # includes the full-width space U+3000
            if start != -1:
                words.append(("".join(current), start, i))
                current, start = [], -1
        else:
            current.append(ch)
            if start == -1:
                start = i
        i += 1
    if start != -1:
        words.append(("".join(current), start, len(line)))
    return words


def parse_command_line(
    line: str, *, flags: frozenset[str] = frozenset(), options: frozenset[str] | None = None
) -> ParsedCommand:
    """Parse '/name args --opt value --flag'. Options named in `flags` take no value. Given `options` (the
    command's value options), only those and the flags are options: any other "--word" or "—word" is
    text ("--澜肌客服" signing a reply, "—— 客服小美"). Without it every "--word" is an option."""
    text = line.strip()
    if text.startswith("／"):  # full-width slash typed on a Chinese keyboard
        text = "/" + text[1:]
    if not text.startswith("/"):
        raise UsageError("命令以 / 开头，例如 /help / commands start with /, e.g. /help",
                         en="commands start with /, e.g. /help")
    words = tokenize_spans(text[1:])
    if not words:
        raise UsageError("空命令 / empty command", en="empty command")
    name = command_word(words[0][0])
    offset = words[0][2]
    source = text[1 + offset :]
    rest = [(word, start - offset, end - offset) for word, start, end in words[1:]]
    known = None if options is None else options | flags
    args: list[str] = []
    spans: list[tuple[int, int, int]] = []
    parsed_options: dict[str, str | bool] = {}
    i = 0
    while i < len(rest):
        word, start, end = rest[i]
        key, eq, value = option_word(word)
        if key and known is not None:
            key = key.lower()
        if key and (known is None or key in known):
            if eq:
                parsed_options[key] = value
            elif key in flags or i + 1 >= len(rest) or option_word(rest[i + 1][0])[0]:
                parsed_options[key] = True
            else:
                parsed_options[key] = rest[i + 1][0]
                i += 1
        else:
            args.append(word)
            spans.append((start, end, i))
        i += 1
    return ParsedCommand(name=name, args=args, options=parsed_options, source=source, arg_spans=spans)


HELP_WORDS = frozenset({"help", "帮助", "-h"})


def asks_for_help(word: str) -> bool:
    """A word asking for a command's usage: help, 帮助, -h or --help, as the CLI takes them (also typed in
    full width, "ｈｅｌｐ", "－h", or "—help" / "－－help" by an input method); "--help=x" is not one."""
    key, eq, _ = option_word(word)
    return command_word(word) in HELP_WORDS or (key.lower() == "help" and not eq)


def wants_help(parsed: ParsedCommand) -> bool:
    """`/name help`, `/name 帮助`, `/name --help`, `/name -h`: the only word after the name asks for the usage
    (or, for a command taking a --help flag, the flag alone)."""
    if len(parsed.args) == 1:
        return asks_for_help(parsed.args[0])
    return not parsed.args and parsed.options == {"help": True}


def command_word(word: str) -> str:
    """A command or subcommand name as looked up: full-width letters ("／ｃｒｉｓｉｓ", typed with a Chinese
    input method in full-width mode) and case folded."""
    return unicodedata.normalize("NFKC", word).casefold()


def option_word(word: str) -> tuple[str, str, str]:
    """("key", "=", "value") of "--key=value", "--key", "－－key" or "—key" (input methods turn "--"
    into a full-width pair or an em dash), else ("", "", "")."""
    normalised = unicodedata.normalize("NFKC", word)
    if normalised.startswith("--") and len(normalised) > 2:
        body = normalised[2:]
    elif word.startswith("—") and word.lstrip("—"):
        body = unicodedata.normalize("NFKC", word.lstrip("—"))
    else:
        return "", "", ""
    return body.partition("=")


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

    @property
    def lang(self) -> str:
        """'zh' or 'en': the language of the channel the command or button came from."""
        return self.services.config.channel_language(self.channel)

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
    options: frozenset[str] = frozenset()  # options taking a value; any other "--word" is text
    # subcommand (lower case, aliases included) -> (value options, flags) it takes; a subcommand not named
    # here takes the command's. Free text of one subcommand keeps another's "--option" words as typed
    # ("/crisis note 先别 --severity 回复" is a note, not a severity).
    sub_options: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    usage_en: str = ""  # the usage in English alone, for a channel set to English (empty: `usage` serves both)

    def in_english(self, lang: str) -> bool:
        """Whether a channel of language `lang` reads this command's usage in English alone."""
        return lang == "en" and bool(self.usage_en)

    def help(self, lang: str = "zh") -> Message:
        """`/name help`: the usage as a channel of language `lang` reads it (English alone where it is set to
        English and the command has `usage_en`; else Chinese first with English)."""
        if self.in_english(lang):
            return Message(title=f"/{self.name} — {self.summary_en}", text=self.usage_en)
        return Message(title=f"/{self.name} — {self.summary_zh} / {self.summary_en}", text=self.usage)

    def grammar_for(self, sub: str | None) -> tuple[frozenset[str], frozenset[str]]:
        """(value options, flags) of the command line whose first argument is `sub`."""
        return self.sub_options.get(command_word(sub or ""), (self.options, self.flags))


class CommandRegistry:
    """Maps command names and action-id prefixes to handlers. Features call `register(registry)`."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self.actions: dict[str, ActionHandler] = {}
        # another name a command answers to ("危机" -> "crisis"): typed on a Chinese keyboard, as subcommands are
        self.aliases: dict[str, str] = {}

    def add_alias(self, alias: str, name: str) -> None:
        word = command_word(alias)
        if word in self.commands or word in self.aliases:
            raise ValueError(f"command name /{alias} taken twice")
        self.aliases[word] = name

    def find(self, name: str) -> CommandSpec | None:
        """The command `name` (already a command_word) names, by its name or an alias."""
        return self.commands.get(name) or self.commands.get(self.aliases.get(name, ""))

    def aliases_of(self, name: str) -> list[str]:
        return [alias for alias, target in self.aliases.items() if target == name]

    def closest(self, name: str) -> str | None:
        """The known command name or alias nearest to a mistyped one ("crisi", "危急"), or None."""
        known = [*self.commands, *self.aliases]
        # 0.5: one character off a two-character name ("危急" for "危机") is still that name
        match = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        if not match and len(name) > 1:  # "/危机状态" typed without the space: a name it starts with
            match = [word for word in known if name.startswith(word) and len(word) > 1][:1]
        return match[0] if match else None

    def add_command(
        self,
        name: str,
        handler: CommandHandler,
        *,
        summary_zh: str,
        summary_en: str,
        usage: str,
        flags: frozenset[str] | set[str] = frozenset(),
        options: frozenset[str] | set[str] = frozenset(),
        sub_options: dict[str, tuple[set[str] | frozenset[str], set[str] | frozenset[str]]] | None = None,
        usage_en: str = "",
    ) -> None:
        if name in self.commands:
            raise ValueError(f"command /{name} registered twice")
        per_sub = {sub.lower(): (frozenset(opts), frozenset(flg)) for sub, (opts, flg) in (sub_options or {}).items()}
        self.commands[name] = CommandSpec(name, handler, summary_zh, summary_en, usage, frozenset(flags),
                                          frozenset(options), per_sub, usage_en)

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
