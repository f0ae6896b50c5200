"""The console channel: type the same commands as on Slack or Feishu; buttons via /press."""

from __future__ import annotations

import getpass
import itertools
import shlex
import sys

from bot.config import AppConfig, Settings
from bot.messages import Action, Command

BANNER = (
    "crisisbot 控制台 / console — 输入 /help 查看命令；/press 动作ID 值 按下按钮；#频道 切换频道；quit 退出\n"
    "Type /help for commands; /press ACTION_ID VALUE presses a button; #channel switches; quit exits."
)


def repl(bot, *, channel: str, user: str, stdin=None) -> int:
    stdin = stdin or sys.stdin
    counter = itertools.count(1)
    current = channel
    print(BANNER, flush=True)
    while True:
        print(f"[{current}]> ", end="", flush=True)
        line = stdin.readline()
        if not line:
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("quit", "exit", "/quit", "退出"):
            return 0
        if line.startswith("#"):
            current = line[1:].strip() or current
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
        bot.dispatcher.handle(item)
        bot.services.outbox.drain()


def run_console(settings: Settings, config: AppConfig, *, channel: str, user: str) -> int:
    from bot.app import build_app

    bot = build_app(settings, config, console_echo=sys.stdout)
    bot.start(scheduler=True)
    try:
        return repl(bot, channel=channel, user=user or getpass.getuser())
    finally:
        bot.close()
