"""User-facing strings of the foundation, Chinese first with English. Features keep theirs beside them."""

from __future__ import annotations

#: platforms as people in China name them (the queue, alerts and reports all say 抖音, not douyin)
PLATFORM_ZH = {"douyin": "抖音", "bilibili": "B站", "kuaishou": "快手", "weibo": "微博", "xiaohongshu": "小红书"}
#: the same platforms as an English channel's cards name them
PLATFORM_EN = {"douyin": "Douyin", "bilibili": "Bilibili", "kuaishou": "Kuaishou", "weibo": "Weibo",
               "xiaohongshu": "Xiaohongshu"}


def platform_label(platform: str, lang: str = "zh") -> str:
    """A platform as the channel's language names it: 抖音 / Douyin (an unknown one as its id)."""
    return (PLATFORM_EN if lang == "en" else PLATFORM_ZH).get(platform, platform)


class EnglishToo:
    """Mixed into an exception whose message is bilingual: `en` holds the same in English alone, for a channel
    set to English (empty: the bilingual message stands for both). Read it with `in_language`."""

    def __init__(self, message: str, *, en: str = "") -> None:
        super().__init__(message)
        self.en = en


def in_language(error: BaseException, lang: str) -> str:
    """An error's message as a channel of language `lang` reads it: its English alone (`en`) in an English
    channel when it has one, else the bilingual message."""
    english = getattr(error, "en", "")
    return english if lang == "en" and english else str(error)


def num(value: int) -> str:
    """A count with thousands separators (2,639), as reports, queue texts and reminders show it."""
    return f"{value:,}"


STRINGS: dict[str, tuple[str, str]] = {
    "unknown_command": ("未知命令 /{name}。输入 /help 查看可用命令。", "Unknown command /{name}. Type /help for commands."),
    "did_you_mean": ("是不是要输入 /{name}？", "Did you mean /{name}?"),
    "usage_error": ("用法有误：{error}", "Bad usage: {error}"),
    "inbound_interrupted": (
        "⚠️ 机器人在处理你的操作「{what}」时重启了，它可能没有完成：请查看结果，需要的话再试一次。",
        "⚠️ The bot restarted while handling your request \"{what}\"; it may not have finished. "
        "Please check and retry if needed.",
    ),
    "inbound_expired": (
        "⚠️ 机器人停机期间收到了你的操作「{what}」，恢复时已超过 {hours} 小时，没有执行：需要的话请再试一次。",
        "⚠️ Your request \"{what}\" arrived while the bot was down and was more than {hours} h old when it came "
        "back, so it was not run. Please retry if needed.",
    ),
    "internal_error": (
        "处理命令时出错了，已记录日志，请稍后再试（编号 {ref}）。",
        "Something went wrong handling the command; it is logged. Please retry (ref {ref}).",
    ),
    "permission_denied": ("没有权限：{reason}", "Not allowed: {reason}"),
    # no handler owns the button's id at all (a typo in /press, a button of another bot): not "这个按钮已失效",
    # which a feature's handler says of its own button whose target is gone
    "unknown_button": ("未知按钮 {action}。", "Unknown button {action}."),
    # under a usage error that already names the form to type (`UsageError(brief=True)`), in place of the
    # whole usage
    "usage_pointer": (
        "输入 /{name} help 查看完整用法 / type /{name} help for the full usage",
        "Type /{name} help for the full usage.",
    ),
    "help_title": ("crisisbot 命令 / Commands", "crisisbot commands"),
    "help_footer": (
        "输入 /命令 help 查看详细用法，例如 /crisis help。",
        "Type /command help for details, e.g. /crisis help.",
    ),
}


def t(key: str, lang: str = "zh", **values: object) -> str:
    zh, en = STRINGS[key]
    return (en if lang == "en" else zh).format(**values)


def both(key: str, **values: object) -> str:
    """Chinese first, then English, for text every reader must understand (errors, help)."""
    zh, en = STRINGS[key]
    return f"{zh.format(**values)}\n{en.format(**values)}"


def for_channel(key: str, lang: str, **values: object) -> str:
    """A text as a channel of language `lang` reads it: English alone in a channel set to English, else
    Chinese first with English (`both`), as Chinese channels have always read it."""
    return t(key, "en", **values) if lang == "en" else both(key, **values)
