"""The `crisisbot` command. Heavy parts are imported inside the commands that need them."""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from bot.alerts import cli as alerts_cli
from bot.feeds import cli as feeds_cli
from bot.playbooks import cli as playbooks_cli
from bot.sentiment import cli as sentiment_cli


def _invalid_configuration(problems: list[str]) -> None:
    typer.echo("配置有误 / invalid configuration:\n" + "\n".join(f"  {p}" for p in problems), err=True)


#: the help flags (`context_settings` below); `main` watches for them to prepare the help renderer
HELP_FLAGS = ("-h", "--help")
_WIDE = ("W", "F")


def _unwrap(text: str) -> str:
    """Help text with the line breaks of its source joined, paragraph by paragraph, so the renderer wraps it
    to the terminal instead of breaking a line where the docstring did. Two wide (Chinese) characters are
    joined without a space; a paragraph starting with \\b (click's "keep as is" mark) is left alone."""
    import inspect
    import unicodedata

    def join(match: re.Match[str]) -> str:
        before, after = match.string[match.start() - 1], match.string[match.end()]
        wide = unicodedata.east_asian_width(before) in _WIDE and unicodedata.east_asian_width(after) in _WIDE
        return "" if wide else " "

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else re.sub(r"(?<=\S)[ \t]*\n[ \t]*(?=\S)", join, p)
                        for p in paragraphs)


def _fold_wide_help() -> None:
    """Make `--help` keep every character of Chinese text at any width.

    typer renders help with rich, which breaks lines only at spaces and, inside the tables of options and
    commands, cuts a "word" longer than its column with "…". A run of Chinese has no spaces, so at 80
    columns whole phrases were cut (回放结束后退出（检查示例危机是否告警…). typer has no setting for this;
    its one function that turns help strings into rich Text is wrapped here so the Text folds (breaks
    between characters, as Chinese lines break) instead. Loaded only when help may be printed: rich's
    help renderer costs 50 ms of imports the other commands do not need."""
    try:
        from rich.text import Text
        from typer import rich_utils

        make = rich_utils._make_rich_text
    except (ImportError, AttributeError):  # another typer: help still works, with its own wrapping
        return
    if getattr(make, "folds_wide_text", False):
        return

    def make_folding(*args, **kwargs):
        # markdown keeps its own line rules (lists); the bot's help is rich markup, typer's default
        if kwargs.get("markup_mode") == "rich" and isinstance(kwargs.get("text"), str):
            kwargs["text"] = _unwrap(kwargs["text"])
        rendered = make(*args, **kwargs)
        if isinstance(rendered, Text):
            rendered.overflow = "fold"
        return rendered

    make_folding.folds_wide_text = True  # type: ignore[attr-defined]
    rich_utils._make_rich_text = make_folding


HELP_OPTION_TEXT = "显示帮助并退出 / Show this message and exit."


def _chinese_help_options(command, ctx) -> None:
    """The `-h/--help` line of every command's help reads Chinese first. The option is made by the command
    itself (typer has no setting for its text), once, for the names its context gives (`help_option_names`):
    each command of the tree is given its own context here, as at run time, and its option's text set."""
    option = command.get_help_option(ctx)
    if option is not None:
        option.help = HELP_OPTION_TEXT
    for param in [*getattr(command, "params", []), *([option] if option is not None else [])]:
        # typer 0.2x shows a flag's type as "<bool>", as if it took a value (`--demo <bool>`); a flag takes
        # none, so its type column stays empty, as click and earlier typer showed it
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        elif getattr(param, "param_type_name", "") == "option" and param.metavar is None:
            # and an option's value as Python's type ("<int range>", "<path>", "<list[str]>"): a word instead
            param.metavar = _value_word(param)
        elif getattr(param, "param_type_name", "") == "argument":
            # an argument is named in the first column already; its type column showed "<list[Path]>", and
            # the usage line "{texts}..." where the name was not upper-cased
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
    for name, sub in getattr(command, "commands", {}).items():
        _chinese_help_options(sub, sub.context_class(sub, info_name=name, parent=ctx, **sub.context_settings))


def _value_word(param) -> str:
    """The word an option's help shows for its value: N, NUM, PATH, TIME, TEXT (choices list themselves)."""
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return "VALUE"
    if desc.is_choice:
        return "|".join(str(c) for c in desc.choices or ())
    if desc.is_path:
        return "PATH"
    if desc.is_datetime:
        return "TIME"
    bare = (desc.ranged_type_name if desc.is_ranged else param.bare_type()).removeprefix("list[").rstrip("]")
    return {"int": "N", "float": "NUM", "Path": "PATH", "str": "TEXT"}.get(bare, "VALUE")


def _usage_error_type() -> type[Exception]:
    try:  # typer 0.2x carries its own copy of click
        from typer._click.exceptions import UsageError
    except ImportError:
        from click.exceptions import UsageError
    return UsageError


# typer's messages for the values its parameter types refuse (pydantic's error types), in Chinese
_VALUE_ERRORS_ZH = {
    "int_parsing": "{input!r} 不是整数",
    "int_from_float": "{input!r} 不是整数",
    "float_parsing": "{input!r} 不是数字",
    "bool_parsing": "{input!r} 不是布尔值（true / false）",
    "greater_than_equal": "应不小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "应不大于 {le}",
    "less_than": "应小于 {lt}",
    "enum": "应为 {expected} 之一",
    "literal_error": "应为 {expected} 之一",
}


def _value_error_zh(error: Exception) -> str | None:
    """Why a value was refused, in Chinese, from the validation error typer raised it for (its English
    message follows it anyway); None when it was not a validation error typer knows (a command's own
    BadParameter: its message, Chinese first or not, follows on the English line)."""
    cause = error.__cause__
    try:
        first = cause.errors()[0]  # type: ignore[union-attr]
        return _VALUE_ERRORS_ZH[first["type"]].format(input=first.get("input"), **first.get("ctx", {}))
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None


def _usage_error_zh(error: Exception) -> str:
    """The Chinese for one of click's (typer's) usage errors; its English message goes under it."""
    kind = type(error).__name__
    english = str(getattr(error, "message", "") or "")
    if kind in ("MissingParameter", "BadParameter"):
        param, hint = getattr(error, "param", None), getattr(error, "param_hint", None)
        if hint is None and param is not None:
            hint = param.get_error_hint()
        hint = " / ".join(repr(h) for h in hint) if isinstance(hint, list | tuple) else hint
        if kind == "MissingParameter":
            what = "参数" if getattr(param, "param_type_name", "") == "argument" else "选项"
            return f"缺少{what} {hint}" if hint else "缺少参数"
        # "值无效：值无效" when the reason was unknown: the invalid-value words stand alone then
        what, why = (f"{hint} 的值无效" if hint else "值无效"), _value_error_zh(error)
        return f"{what}：{why}" if why else what
    if kind == "NoSuchOption":
        possible = sorted(getattr(error, "possibilities", None) or [])
        return f"没有这个选项：{error.option_name}" + (f"（是否想用 {', '.join(possible)}？）" if possible else "")
    option = getattr(error, "option_name", None)
    if kind == "BadOptionUsage" and "requires" in english:
        return f"选项 {option!r} 需要一个值"
    if kind == "BadOptionUsage" and "does not take a value" in english:
        return f"选项 {option!r} 不接受值"
    suggestion = re.match(r"No such command (.+)\. Did you mean (.+)\?$", english)
    if suggestion:
        return f"没有这个命令：{suggestion.group(1)}（是否想用 {suggestion.group(2)}？）"
    for pattern, zh in ((r"No such command (.+)\.$", "没有这个命令：{0}"), (r"Missing command\.", "缺少子命令"),
                        (r"Got unexpected extra argument\(s\) \((.*)\)$", "多余的参数：{0}")):
        found = re.match(pattern, english)
        if found:
            return zh.format(*found.groups())
    return "用法有误"


def _chinese_first_usage_error(error: Exception) -> Exception:
    """A usage error (exit 2) whose message reads Chinese first, its English kept on the next line, for typer
    to print as before (usage line, help hint, error panel: their fixed words in Chinese too)."""
    from typer import rich_utils

    # module settings of typer's rich error printer, read each time it prints (no gettext in typer's click)
    rich_utils.ERRORS_PANEL_TITLE = "错误 / Error"
    rich_utils.RICH_HELP = ("运行 [blue]'{command_path} {help_option}'[/] 查看帮助 / "
                            "Try [blue]'{command_path} {help_option}'[/] for help.")
    message = f"{_usage_error_zh(error)}\n{error.format_message()}"  # type: ignore[attr-defined]
    translated = _usage_error_type()(message, ctx=getattr(error, "ctx", None))
    translated.exit_code = error.exit_code  # type: ignore[attr-defined]
    return translated


class _Group(TyperGroup):
    """Every command runs inside this: errors a user can fix (settings, the database) end it with one
    clear message and exit 2 instead of a traceback, whichever module raised them (the feature CLIs
    mounted here load settings and open the database on their own)."""

    def make_context(self, info_name, args, parent=None, **extra):
        # `crisisbot --bogus`: the group's own options are parsed here, before `invoke`
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _usage_error_type() as exc:
            raise self._chinese_first(exc) from None

    @staticmethod
    def _chinese_first(exc: Exception) -> Exception:
        # a bare group's help (no_args_is_help) travels as a usage error too; it is printed as it is
        return exc if type(exc).__name__ == "NoArgsIsHelpError" else _chinese_first_usage_error(exc)

    def invoke(self, ctx):
        from pydantic import ValidationError
        from sqlalchemy.exc import DBAPIError

        from bot.config import ConfigError, settings_problems
        from bot.storage.db import DatabaseUnavailable, unavailable_message

        try:
            return super().invoke(ctx)
        except _usage_error_type() as exc:
            # every subcommand's arguments are parsed inside this (an unknown command, a bad --limit,
            # a missing argument): click's messages are English only
            raise self._chinese_first(exc) from None
        except ConfigError as exc:
            _invalid_configuration(exc.problems)
            raise typer.Exit(2) from None
        except ValidationError as exc:
            if exc.title != "Settings":  # only the environment's settings; anything else is a bug
                raise
            _invalid_configuration(settings_problems(exc))
            raise typer.Exit(2) from None
        except DatabaseUnavailable as exc:
            typer.echo(f"错误 / error: {exc}", err=True)
            raise typer.Exit(2) from None
        except DBAPIError as exc:
            # only a failure to connect at all (commands that query before any upgrade); an error from
            # a statement is a bug and keeps its traceback
            message = unavailable_message(exc)
            if message is None:
                raise
            typer.echo(f"错误 / error: {message}", err=True)
            raise typer.Exit(2) from None

    def main(self, args=None, *rest, **extra):
        words = sys.argv[1:] if args is None else list(args)
        # a help flag, or a bare group (`crisisbot`, `crisisbot sentiment`: no_args_is_help)
        if len(words) <= 1 or any(word in HELP_FLAGS for word in words):
            _fold_wide_help()
        _chinese_help_options(self, self.context_class(self, info_name="crisisbot", **self.context_settings))
        return super().main(args, *rest, **extra)

    # `--help` lists commands in the order a new user reaches for them (run, talk to it, feed it, report),
    # not in the order the modules happen to be mounted.
    HELP_ORDER = ("serve", "console", "ingest", "report", "sources", "poll", "backtest", "sentiment",
                  "playbooks", "purge", "config", "db", "secrets")

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(self.HELP_ORDER)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))


app = typer.Typer(
    cls=_Group,
    name="crisisbot",
    help="crisisbot：短视频/社媒评论区舆情与危机处置机器人 / comment-section and crisis operations bot.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # -h as well as --help, on every command (child commands inherit the setting)
    context_settings={"help_option_names": list(HELP_FLAGS)},
)


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("crisisbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        number = "unknown"
    typer.echo(f"crisisbot {number}")
    raise typer.Exit(0)


@app.callback()
def _main(
    _version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_print_version, is_eager=True, help="显示版本 / show the version and exit"),
    ] = False,
) -> None:
    pass


config_app = typer.Typer(help="配置 / configuration", no_args_is_help=True)
db_app = typer.Typer(help="数据库 / database", no_args_is_help=True)
secrets_app = typer.Typer(help="数据库中加密保存的令牌 / tokens the bot stores encrypted in its database", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(secrets_app, name="secrets")
app.add_typer(sentiment_cli.app, name="sentiment", help="情感分析 / sentiment scoring, evaluation and training")
app.add_typer(playbooks_cli.app, name="playbooks", help="危机预案 / crisis playbooks")
# These features' commands live at the top level (`crisisbot backtest`, `crisisbot sources`, `crisisbot poll`).
app.registered_commands.extend(alerts_cli.app.registered_commands)
app.registered_commands.extend(feeds_cli.app.registered_commands)


def _load(quiet: bool = False, *, serving: bool = False, new_db_note: bool = False, scoring: bool = False,
          console_in_terminal: bool = False):
    """Settings and config, or exit 2 with every problem listed.

    `serving` (serve): log at the configured level. Every other command is a one-shot (or the console): its
    own output is what the user reads, so its log shows warnings and errors only, unless CRISISBOT_LOG_LEVEL
    asks for more (`purge` printed a Python dict at INFO after its summary; the console showed the
    service's INFO lines between answers). So does serve when `console_in_terminal` (--console, the demo)
    and its log goes to a terminal too: English INFO lines ("report … queued") landed between the console's
    messages; a log going elsewhere (a file, the journal) keeps the configured level.
    `new_db_note`: say when the SQLite file named does not exist yet
    (a typo in the path gave a new, empty database and an all-zero report with exit 0). `scoring` (and
    `serving`): the command scores comments, so the model file the config names must be one (a missing
    `sentiment.model_path` let serve answer every comment webhook 500 and `ingest` end in a traceback)."""
    from bot.config import ConfigError, database_url, load_all
    from bot.sentiment.settings import sentiment_problems

    try:
        settings, config, path = load_all()
        settings.secret_box()  # a malformed CRISISBOT_SECRET_KEY is refused here, before anything runs
        if serving or scoring:
            problems = sentiment_problems(config.sentiment)
            if problems:
                raise ConfigError([f"{path or '(built-in defaults)'}: {p}" for p in problems])
    except ConfigError as exc:
        _invalid_configuration(exc.problems)
        raise typer.Exit(2) from None
    if not quiet and path is None:
        typer.echo("未找到配置文件，使用内置默认配置 / no config file found: using built-in defaults", err=True)
    level = logging.getLevelName(settings.log_level.upper())
    shares_the_terminal = console_in_terminal and _is_terminal(sys.stderr)
    if (not serving or shares_the_terminal) and "CRISISBOT_LOG_LEVEL" not in os.environ and isinstance(level, int):
        level = max(level, logging.WARNING)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "apscheduler", "httpx", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if new_db_note:
        missing = _sqlite_file_missing(database_url(settings, config))
        if missing is not None:
            typer.echo(f"注意：数据库文件 {missing} 不存在，将新建一个空数据库（路径写对了吗？）/ note: the database "
                       f"file {missing} does not exist; a new, empty database is used (is the path right?)", err=True)
    return settings, config, path


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False


@config_app.command("check")
def config_check() -> None:
    """校验配置文件与环境变量 / validate config/crisisbot.yaml (or CRISISBOT_CONFIG) and the environment."""
    from bot.config import ConfigError, load_all, load_settings
    from bot.playbooks.validate import load_playbooks
    from bot.playbooks.wiring import playbook_dir
    from bot.replies.wiring import check_files
    from bot.sentiment.settings import sentiment_problems

    # Gather every problem before answering, as the README promises: the environment, the file, the
    # secret key, then the files the config points at (only when the config itself could be read).
    problems: list[str] = []
    try:
        settings, config, path = load_all()
    except ConfigError as exc:
        problems += exc.problems
        settings, config = load_settings()[0], None
    try:
        settings.secret_box()
    except ConfigError as exc:
        problems += exc.problems
    if config is not None:
        directory = playbook_dir(config.playbooks.directory)
        if not directory.exists():  # was "(file): 文件不存在 / no such file" for a folder
            problems.append(f"playbooks.directory: 目录不存在 / folder not found: {directory}")
        else:
            problems += [f"playbooks: {p}" for p in load_playbooks([directory]).problems]
        problems += check_files(settings, config)
        problems += [f"{path or '(built-in defaults)'}: {p}" for p in sentiment_problems(config.sentiment)]
    if problems:
        _invalid_configuration(problems)
        raise typer.Exit(2)
    where = str(path) if path else "内置默认 / built-in defaults"
    typer.echo(f"配置有效 / configuration OK: {where}")
    typer.echo(f"  客户 clients: {len(config.clients)}  账号 accounts: {len(config.accounts)}  频道 channels: {len(config.channels)}")
    platforms = [p for p, on in (("slack", settings.slack_enabled), ("feishu", settings.feishu_enabled)) if on]
    typer.echo(f"  聊天平台 chat platforms: {', '.join(['console', *platforms])}")
    from bot.config import config_warnings, platform_warnings, unknown_variable_warnings
    from bot.feeds.settings import credential_warnings
    from bot.replies.wiring import config_warnings as replies_warnings

    for warning in [*config_warnings(config), *platform_warnings(settings, config), *replies_warnings(config),
                    *credential_warnings(config.feeds, os.environ), *unknown_variable_warnings(os.environ, config)]:
        typer.echo(f"注意 / warning: {warning}", err=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """应用数据库迁移 / apply database migrations (serve does this automatically)."""
    from bot.config import database_url
    from bot.storage.db import Database

    settings, config, _ = _load(quiet=True)
    url = database_url(settings, config)
    database = Database(url)
    created = _sqlite_file_missing(url)
    database.upgrade()
    if created is not None:
        # a typo in the path gives a new, empty database that looks like lost data: say it was created
        typer.echo(f"注意：{created} 原本不存在，已新建空数据库 / note: {created} did not exist; a new, empty "
                   "database was created", err=True)
    typer.echo(f"数据库已升级到最新结构 / database schema is now up to date: {_redact(url)}")


def _sqlite_file_missing(url: str) -> str | None:
    """The SQLite file a database URL names, when it does not exist yet (None for PostgreSQL or in memory)."""
    from bot.storage.db import sqlite_file_of

    path = sqlite_file_of(url)
    return None if path is None or Path(path).exists() else path


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """用 CRISISBOT_SECRET_KEY 的第一个密钥重新加密已保存的令牌 / re-encrypt stored tokens with the first key.

    把新密钥放在最前（CRISISBOT_SECRET_KEY=新,旧）后运行本命令，再去掉旧密钥；设置密钥之前保存的明文令牌也会被加密；
    机器人运行时也可以执行 / After putting a new key first (CRISISBOT_SECRET_KEY=NEW,OLD): run this, then drop
    OLD. Plain tokens written before any key was set are encrypted too. Safe while the bot runs."""
    from bot.clock import SystemClock
    from bot.config import database_url
    from bot.feeds.pollers.store import DatabaseStateStore
    from bot.storage.db import Database
    from bot.storage.secrets import GENERATE_KEY_COMMAND, SECRET_KEY_ENV

    settings, config, _ = _load(quiet=True, new_db_note=True)
    box = settings.secret_box()
    if box is None:
        typer.echo(
            f"未设置 {SECRET_KEY_ENV}，无法加密 / {SECRET_KEY_ENV} is not set: nothing to encrypt with. "
            f"生成密钥 / generate a key: {GENERATE_KEY_COMMAND}",
            err=True,
        )
        raise typer.Exit(2)
    db = Database(database_url(settings, config))
    try:
        db.upgrade()
        report = DatabaseStateStore(db, SystemClock(), secrets=box).reseal_tokens()
    finally:
        db.dispose()
    typer.echo(f"已重新加密 / re-encrypted: {len(report.resealed)} ({', '.join(report.resealed) or '-'})")
    if report.changed_meanwhile:
        typer.echo(
            "轮询期间已由机器人自行加密 / re-encrypted by a poll meanwhile: " + ", ".join(report.changed_meanwhile)
        )
    for source_id, reason in report.failed.items():
        typer.echo(f"无法解密,未改动 / cannot decrypt, left as is: {source_id}: {reason}", err=True)
    if report.failed:
        raise typer.Exit(1)


def _redact(url: str) -> str:
    from bot.storage.db import redact_url

    return redact_url(url)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址，默认用配置的 host（内置默认 127.0.0.1）/ bind address "
                                             "(default: the config's host, built-in 127.0.0.1)")] = None,
    port: Annotated[
        int | None, typer.Option(help="端口，默认用配置的 port（内置默认 8000），0 表示任选空闲端口 / port (default: the config's port, "
                                 "built-in 8000; 0 picks a free one)", min=0, max=65535)
    ] = None,
    console: Annotated[bool, typer.Option("--console", help="同时在终端打开控制台频道 / also open the console channel here")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="回放内置示例评论流 / replay the bundled sample feed")] = False,
    exit_after_replay: Annotated[
        bool, typer.Option("--exit-after-replay", help="回放结束后退出（检查示例危机是否告警）/ exit after the replay")
    ] = False,
    speed: Annotated[float, typer.Option(help="回放倍速 / replay speed (feed seconds per real second)")] = 600.0,
) -> None:
    """运行机器人 / run the bot: web endpoints, scheduler, outbox, chat adapters."""
    import math

    from bot.clock import MAX_REPLAY_SPEED
    from bot.config import ConfigError
    from bot.serve import run_serve

    if not math.isfinite(speed):  # nan or inf: no feed time follows from it (a ValueError/OverflowError traceback)
        typer.echo(f"错误 / error: --speed 应为有限的数，例如 600 / --speed must be a finite number, e.g. 600 "
                   f"(got {speed:g})", err=True)
        raise typer.Exit(2)
    if speed <= 0:  # feed time would stand still or run backwards: the replay would never play
        typer.echo(f"错误 / error: --speed 应大于 0 / --speed must be above 0 (got {speed:g})", err=True)
        raise typer.Exit(2)
    if speed > MAX_REPLAY_SPEED:  # feed time would leave the calendar (year 9999): an OverflowError traceback
        typer.echo(f"错误 / error: --speed 最多 {MAX_REPLAY_SPEED:g} / --speed is at most {MAX_REPLAY_SPEED:g} "
                   f"(got {speed:g})", err=True)
        raise typer.Exit(2)
    settings, config, _ = _load(serving=True, console_in_terminal=console or demo or exit_after_replay)
    try:
        code = run_serve(
            settings, config, host=host, port=port, console=console, demo=demo,
            exit_after_replay=exit_after_replay, speed=speed,
        )
    except ConfigError as exc:  # e.g. an invalid playbook file found while wiring the features
        _invalid_configuration(exc.problems)
        raise typer.Exit(2) from None
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(
        metavar="FILE",
        help="JSONL、JSON 数组或 CSV 文件（.csv/.tsv 按 CSV 读，.json/.jsonl/.ndjson 按 JSON 读，其他看内容；UTF-8、带 BOM 的 "
             "UTF-8、GB18030）/ JSONL, JSON array or CSV files (.csv/.tsv read as CSV, .json/.jsonl/.ndjson as JSON, "
             "others by their content; UTF-8, UTF-8 with BOM, GB18030)",
    )] = None,
    dead_letters: Annotated[bool, typer.Option("--dead-letters", help="列出被拒记录 / list rejected records")] = False,
    limit: Annotated[int | None, typer.Option(
        help="--dead-letters 显示条数（默认 50，仅与 --dead-letters 一起用）/ rows to show with --dead-letters "
             "(default 50; only with --dead-letters)", min=1)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="--dead-letters 输出为 JSON 数组 / print --dead-letters as one JSON array")] = False,
) -> None:
    """导入评论文件 / import comment files (JSONL, JSON array, CSV), or list dead letters.

    有读不了的文件（不存在、是目录、不是文本导出如 Excel 工作簿或压缩包、CSV 表头缺少必需列）时退出码为 2，该文件不导入；
    个别记录被拒收不影响退出码 / exit 2 when a file cannot be read (missing, a folder, not a text export such as a
    workbook or a compressed file, a CSV header without the required columns) and nothing of it is stored;
    rejected records in a file that was read do not change the exit status."""
    from bot.importer import import_files, show_dead_letters

    if as_json and not dead_letters:
        typer.echo("--json 只用于 --dead-letters / --json only applies to --dead-letters", err=True)
        raise typer.Exit(2)
    if limit is not None and not dead_letters:
        # checked before the config and database are touched: an import must not run with an option it ignores
        typer.echo("--limit 只用于 --dead-letters（限制列出的被拒记录条数），导入文件时不可用 / --limit only "
                   "applies to --dead-letters (rows of rejected records to list); it does not limit an import", err=True)
        raise typer.Exit(2)
    settings, config, _ = _load(quiet=True, new_db_note=True, scoring=not dead_letters)
    if dead_letters:
        if paths:
            typer.echo("--dead-letters 不带文件：它列出数据库里全部被拒记录 / --dead-letters takes no file: "
                       "it lists every rejected record in the database", err=True)
            raise typer.Exit(2)
        raise typer.Exit(show_dead_letters(settings, config, limit=50 if limit is None else limit, as_json=as_json))
    if not paths:
        typer.echo("请给出要导入的文件 / give at least one file to import (or --dead-letters)", err=True)
        raise typer.Exit(2)
    raise typer.Exit(import_files(settings, config, paths))


@app.command("console")
def console_command(
    channel: Annotated[str, typer.Option(help="控制台频道：lanji 或 console:lanji / console channel: lanji or console:lanji")] = "general",
    user: Annotated[str, typer.Option(help="你的用户名 / your user name")] = "operator",
) -> None:
    """控制台频道：输入与 Slack/飞书相同的命令 / a local channel taking the same commands as Slack and Feishu."""
    from bot.console_repl import console_channel, run_console, unconfigured_warning

    try:
        address = console_channel(channel)
    except ValueError as exc:
        typer.echo(f"错误 / error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings, config, _ = _load(new_db_note=True, scoring=True)
    warning = unconfigured_warning(config, address)
    if warning:
        typer.echo(warning, err=True)
    raise typer.Exit(run_console(settings, config, channel=address, user=user))


@app.command()
def purge(
    author: Annotated[str | None, typer.Option(help="删除某人的数据 / remove one person's data: PLATFORM:AUTHOR_ID")] = None,
    expired: Annotated[bool, typer.Option("--expired", help="按保留期清理（含过期的告警分桶计数）/ apply the retention "
                                          "windows now (old alert bucket counts included)")] = False,
    chat: Annotated[bool, typer.Option("--chat", help="同时修改机器人已发到 Slack/飞书、引用或提到此人的消息 / also edit "
                                       "the bot's delivered chat messages that quote or name them")] = False,
) -> None:
    """个人信息清理（PIPL）/ personal-data removal and retention."""
    from bot.config import database_url
    from bot.retention import CHAT_KINDS, EXPIRED_KINDS, PURGE_KINDS, author_key, purge_author, purge_expired
    from bot.storage.db import Database

    settings, config, _ = _load(quiet=True, new_db_note=True)
    if not author and not expired:
        typer.echo("请指定 --author PLATFORM:ID 或 --expired / give --author PLATFORM:ID or --expired", err=True)
        raise typer.Exit(2)
    if chat and not author:
        typer.echo("--chat 只能与 --author 一起使用 / --chat goes with --author PLATFORM:ID", err=True)
        raise typer.Exit(2)
    if author is not None:
        # checked before the database is opened: a mistyped request must not run, nor report "0 removed"
        platform, sep, author_id = author.partition(":")
        if not sep:
            typer.echo("错误 / error: 格式应为 PLATFORM:AUTHOR_ID / expected PLATFORM:AUTHOR_ID", err=True)
            raise typer.Exit(2)
        try:
            platform, author_id = author_key(platform, author_id)
        except ValueError as exc:
            typer.echo(f"错误 / error: {exc}", err=True)
            raise typer.Exit(2) from None
    db = Database(database_url(settings, config))
    db.upgrade()
    if author:
        counts = purge_author(db, platform, author_id, chat=chat)
        parts = ", ".join(f"{zh} {en} {counts[key]}" for key, zh, en in PURGE_KINDS)
        typer.echo(f"已删除 / removed: {parts}")
        if chat:
            parts = ", ".join(f"{zh} {en} {counts.get(key, 0)}" for key, zh, en in CHAT_KINDS)
            typer.echo(f"聊天消息 / chat: {parts}。修改由运行中的 crisisbot serve 发出（未运行则在下次启动后发出）/ "
                       "the running `crisisbot serve` delivers the edits (or the next one started)")
        if not any(counts.values()):
            # a row of zeros read as "done": say plainly that nothing of theirs is stored
            typer.echo("未找到该作者的任何数据：已删除过，或 ID 有误（作者信息已过保留期的评论不能再按作者找到）/ "
                       "nothing of this author is stored: already removed, or a wrong id (comments past "
                       "retention.author_identifiers_days no longer carry an author id)")
    if expired:
        from bot.alerts.service import prune_old_buckets
        from bot.clock import SystemClock

        now = SystemClock().now()
        counts = purge_expired(db, now, config.retention)
        parts = ", ".join(f"{zh} {en} {counts[key]}" for key, zh, en in EXPIRED_KINDS)
        # the alert bucket counts older than alerts.bucket_retention_days, as serve's 6-hourly job prunes them
        # (one process at a time on PostgreSQL: beside a serve pruning them now, this one leaves them to it)
        buckets = prune_old_buckets(db, config.alerts, now)
        parts += f", 告警分桶计数 alert bucket rows {buckets.deleted}"
        if buckets.left_to_another_process:
            parts += "（另一进程正在清理，其余由它完成 / another process is pruning them: the rest is left to it）"
        typer.echo(f"已清理 / purged: {parts}")


@app.command()
def report(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option(help="频道，报告覆盖它可见的账号 / channel whose accounts it covers")],
    period: Annotated[str, typer.Option(help="周期：日报、周报、月报是上一个完整的日、周（周一至周日）、自然月；24h、7d、7天、2w、30d "
                          "这样的时长截至现在（最长 92 天）/ period: 日报 (daily), 周报 (weekly), 月报 (monthly) are the "
                          "last whole day, ISO week or calendar month; a length such as 24h, 7d, 2w, 30d ends now "
                          "(at most 92 days)")] = "1d",
    out: Annotated[Path | None, typer.Option(help="写入 Markdown、PNG 和 HTML 的目录 / folder for the .md, .png and .html")] = None,
    post: Annotated[bool, typer.Option("--post", help="同时放入发送队列 / also queue it for the channel")] = False,
    month: Annotated[str | None, typer.Option("--month", help="某个自然月（频道时区），如 2026-11 / a calendar month in "
                                              "the channel's time zone, e.g. 2026-11")] = None,
    from_day: Annotated[str | None, typer.Option("--from", help="起始日期（含），如 2026-11-01；与 --to 一起用 / first day "
                                                 "(included), e.g. 2026-11-01; with --to")] = None,
    to_day: Annotated[str | None, typer.Option("--to", help="结束日期（含），如 2026-11-15 / last day (included), "
                                               "e.g. 2026-11-15")] = None,
) -> None:
    """客户报告 / a client report: volume, negative share, keywords, alerts, replies, with a chart."""
    from bot.app import build_app
    from bot.reports.periods import OptionConflict, check_over, fixed_period
    from bot.reports.render import markdown, report_stem, write_report_files
    from bot.reports.service import ReportRequest

    def refuse(text: str) -> None:
        typer.echo(text, err=True)
        raise typer.Exit(2)

    # --month and --from/--to name a fixed period, --period one ending now: checked before anything is read
    # (typer may bring its own click: the source is compared by name, not by click's enum)
    source = ctx.get_parameter_source("period")
    period_given = source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
    if period_given and (month is not None or from_day is not None or to_day is not None):
        refuse("错误 / error: --period 与 --month、--from/--to 只能用一个 / use --period, --month or --from/--to, not two")
    try:
        fixed = fixed_period(month, from_day, to_day)
    except OptionConflict as exc:
        refuse(f"错误 / error: {exc}")
    except ValueError as exc:
        refuse(f"周期无效 / bad period: {exc}")

    settings, config, _ = _load(quiet=True, new_db_note=True)
    known = {c.id for c in config.channels} | {config.default_channel}
    if channel not in known and ":" not in channel:
        # "lanji" for "console:lanji", as `console --channel` takes it, when exactly one channel has that name
        named = [c for c in sorted(known) if c.partition(":")[2] == channel]
        channel = named[0] if len(named) == 1 else channel
    if channel not in known:
        typer.echo(f"未知频道 / unknown channel {channel!r}（已配置 / configured: {', '.join(sorted(known))}）", err=True)
        raise typer.Exit(2)
    # --out is a folder (the .md and the .png go in it): refuse anything else before the report is built
    # or queued, so a bad --out never leaves a report sent but not written.
    if out is not None and out.exists() and not out.is_dir():
        typer.echo(f"错误 / error: --out 应为目录，{str(out)!r} 是文件 / --out must be a folder; {str(out)!r} is a file", err=True)
        raise typer.Exit(2)
    bot = build_app(settings, config, features=("bot.sentiment.wiring", "bot.replies.wiring", "bot.reports.wiring"))
    try:
        service = bot.services.extra["reports"]
        end = service.clock.now()
        zone = service.channel_tz(channel)
        try:
            if fixed is not None:
                # whole days of the channel's zone: made again later, the same report
                period_in_zone = fixed.in_zone(zone)
                check_over(period_in_zone, end)
                request: ReportRequest = service.calendar_request(channel, period_in_zone)
            else:
                request = service.request_for(channel, period, end)
        except ValueError as exc:
            typer.echo(f"周期无效 / bad period: {exc}", err=True)
            raise typer.Exit(2) from None
        if out is not None:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # e.g. a parent is a file, or no permission
                typer.echo(f"错误 / error: 无法创建目录 / cannot create folder {str(out)!r}: {exc.strerror or exc}", err=True)
                raise typer.Exit(2) from None
        if post:
            # the minute it was made, and a calendar period's name: two months queued in one minute are two
            result = service.post(request, key=f"report:cli:{channel}:{end.isoformat()}"
                                              + (f":{request.label}" if request.label else ""))
        else:
            result = service.build(request)
        typer.echo(markdown(result.data))
        if out is not None:
            try:  # a report of the same minute already there gets a -2, -3 ... name, never overwritten
                written = write_report_files(out, result.data, markdown(result.data) + "\n", result.png)
            except OSError as exc:  # checked above, so only a full disk or a race gets here
                queued = "（报告已放入发送队列 / the report was queued）" if post else ""
                stem = report_stem(result.data)
                typer.echo(f"错误 / error: 无法写入 / cannot write {str(out / stem)!r}: {exc.strerror or exc}{queued}", err=True)
                raise typer.Exit(2) from None
            typer.echo(f"已写入 / written: {written}.md" + (f", {written}.png" if result.png else "")
                       + f", {written}.html")
        if post:
            typer.echo("已放入发送队列，serve 运行时发送 / queued: serve delivers it")
    finally:
        bot.close()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("已中断 / interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
