"""The console channel: type the same commands as on Slack or Feishu; buttons via /press."""

from __future__ import annotations

import getpass
import itertools
import logging
import shlex
import sys

from bot.config import CHAT_PLATFORMS, AppConfig, Settings
from bot.messages import Action, Command

log = logging.getLogger(__name__)

BANNER = (
    "crisisbot 控制台 / console — 输入 /help 查看命令；/press 动作ID 值 按下按钮；#频道 切换频道；quit 退出\n"
    "Type /help for commands; /press ACTION_ID VALUE presses a button; #channel switches; quit exits."
)


def console_channel(value: str) -> str:
    """The console channel address ("console:NAME") for what the user typed: a name ("lanji") or the
    address the config and the rest of the bot use ("console:lanji"), so both open the same channel.
    ValueError (a "中文 / English" message) for an empty name or another chat platform's address: the
    console cannot post to Slack or Feishu."""
    text = (value or "").strip().removeprefix("#").strip()
    platform, sep, rest = text.partition(":")
    if sep and platform.strip().lower() == "console":
        text = rest.strip()
    elif sep and platform.strip().lower() in CHAT_PLATFORMS:
        raise ValueError(f"控制台只能打开 console 频道，{value!r} 属于 {platform} / the console opens console channels "
                         f"only; {value!r} is a {platform} channel")
    if not text:
        raise ValueError("频道名不能为空 / the channel name is empty (e.g. lanji or console:lanji)")
    return f"console:{text}"


def unconfigured_warning(config: AppConfig, address: str) -> str | None:
    """A warning when `address` is no configured channel: it then sees no client's accounts, so every
    answer would look empty (an empty reply queue, no runs) rather than wrong."""
    from bot.scope import ChannelScope

    known = ChannelScope(config).known_channels()
    if address in known:
        return None
    return (f"注意：频道 {address} 未配置，看不到任何客户的账号 / warning: channel {address} is not configured: "
            f"it sees no client's accounts (configured: {', '.join(known)})")


def repl(bot, *, channel: str, user: str, stdin=None) -> int:
    stdin = stdin or sys.stdin
    counter = itertools.count(1)
    current = console_channel(channel).removeprefix("console:")
    print(BANNER, flush=True)
    while True:
        print(f"[{current}]> ", end="", flush=True)
        line = stdin.readline()
        if not line:
            return 0
        # a command file saved by Windows Notepad starts with a UTF-8 BOM: "\ufeff#lanji" is still a switch
        line = line.strip().lstrip("\ufeff").strip()
        if not line:
            continue
        if line in ("quit", "exit", "/quit", "退出"):
            return 0
        if line.startswith("#"):
            if not line[1:].strip():
                continue  # a bare "#" keeps the channel
            try:
                address = console_channel(line[1:])
            except ValueError as exc:
                print(f"错误 / error: {exc}", flush=True)
                continue
            warning = unconfigured_warning(bot.services.config, address)
            if warning:
                print(warning, flush=True)
            current = address.removeprefix("console:")
            continue
        event_id = f"console-{next(counter)}-{id(bot)}"
        if line.startswith("/press"):
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            if len(words) < 2:
                print("用法 / usage: /press ACTION_ID [VALUE]")
                continue
            item = Action("console", f"console:{current}", f"console:{user}", words[1], " ".join(words[2:]),
                          user_name=user, event_id=event_id)
        else:
            item = Command("console", f"console:{current}", f"console:{user}", line, user_name=user, event_id=event_id)
        try:
            bot.dispatcher.handle(item)
            bot.services.outbox.drain()
        except Exception as exc:  # noqa: BLE001 - e.g. the database is away: say so, and read the next line
            log.exception("console command failed: %s", line[:80])
            print(f"错误 / error: 命令未能执行（{type(exc).__name__}），详见日志 / the command failed "
                  f"({type(exc).__name__}); see the log", flush=True)


def run_console(settings: Settings, config: AppConfig, *, channel: str, user: str) -> int:
    from bot.app import build_app

    bot = build_app(settings, config, console_echo=sys.stdout)
    bot.start(scheduler=True)
    try:
        return repl(bot, channel=channel, user=user or getpass.getuser())
    finally:
        bot.close()
