"""The replies still bilingual in a channel set to English, now English alone there (Chinese channels as before).

- a permission refusal, for a typed command and a button alike (the dispatcher labelled it in both languages);
- `/reply-queue`'s own usage errors (its one usage line) and its service refusals (an unknown account, --since);
- `/help`'s command list and footer;
- `/sentiment fix`: "无法更正 / Cannot correct" and what a correction did;
- the usage errors of /watch (accounts, times), /reply-queue and /precheck that had no English;
- "this channel is not configured", for a channel listed nowhere in an install set to English.

Real database, dispatcher and console port, as tests/integration/test_command_help_language.py.
"""

from __future__ import annotations

import copy
import re

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
EN, ZH = "console:lanji", "console:xiaochu"
REVIEWER = "console:rita"


def _config(**top) -> dict:
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [{"id": EN, "client": "lanji", "language": "en"}, {"id": ZH, "client": "xiaochu"}]
    data.update({"roles": {"sentiment_reviewer": [REVIEWER]},
                 "sentiment": {"permissions": {"fix": ["sentiment_reviewer"]}}}, **top)
    return data


@pytest.fixture
def app_config():
    return parse_config(_config(), source="tests")


def _one(replies):
    [reply] = replies
    return reply


def _english(reply) -> str:
    text = "\n".join(filter(None, [reply.title, reply.text, *(s.text for s in reply.sections)]))
    assert not CJK.search(text), text
    return text


def _ingest(bot, comment_id: str, account: str = "lanji_official", platform: str = "douyin") -> None:
    report = bot.services.ingest.ingest_records([{
        "platform": platform, "account_id": account, "content_id": "v1", "comment_id": comment_id,
        "text": "还行吧", "created_at": "2026-11-22T20:15:00+08:00",
    }], source="test")
    assert report.results[0].status == "accepted"


# ---- 1. permission refusals ------------------------------------------------------------------------------
REFUSED_EN = ("Not allowed: Only sentiment_reviewer (console:rita) may relabel a comment's sentiment "
              "(sentiment.permissions.fix)")


def test_a_refused_command_reads_english_alone_in_an_english_channel(bot, run_command):
    _ingest(bot, "c1")
    assert _one(run_command("/sentiment fix c1 pos", channel=EN)).text == REFUSED_EN


def test_a_refused_button_reads_english_alone_in_the_english_channel_it_was_pressed_in(bot, press_button):
    _ingest(bot, "c1")
    assert _one(press_button("sentiment.fix", "douyin:c1 pos", channel=EN)).text == REFUSED_EN


def test_a_refusal_in_a_chinese_channel_reads_as_before(bot, run_command, press_button):
    _ingest(bot, "x1", account="xiaochu_kitchen", platform="bilibili")
    expected = ("没有权限 / Not allowed：只有角色 sentiment_reviewer（console:rita）可以更正评论的情感标签"
                "（sentiment.permissions.fix）/ only sentiment_reviewer (console:rita) may relabel a comment's "
                "sentiment (sentiment.permissions.fix)")
    assert _one(run_command("/sentiment fix x1 pos", channel=ZH)).text == expected
    assert _one(press_button("sentiment.fix", "bilibili:x1 pos", channel=ZH)).text == expected


def test_the_reply_queue_refusing_another_clients_account_is_english(bot, run_command):
    reply = _one(run_command("/reply-queue bilibili:xiaochu_kitchen", channel=EN))
    assert reply.text == "Not allowed: This channel may not see account bilibili:xiaochu_kitchen"


# ---- 2. and 5. /reply-queue's usage errors --------------------------------------------------------------
@pytest.mark.parametrize(("typed", "error", "line"), [
    ("/reply-queue claim", "Missing item id", "/reply-queue claim ID — claim an item (15 minutes by default)"),
    ("/reply-queue claim abc", "The item id should be a number such as #12: abc",
     "/reply-queue claim ID — claim an item (15 minutes by default)"),
    ("/reply-queue --limit 0", "--limit takes a positive whole number, e.g. --limit 10",
     "/reply-queue [ACCOUNT] [--mine] [--unclaimed] [--overdue] [--limit N] [--page N] — unanswered comments by "
     "priority, N a page (--unclaimed: only those nobody claimed)"),
    ("/reply-queue stats --since", "--since takes a value, e.g. --since 7d", "/reply-queue stats [ACCOUNT] [--since 7d] — stats"),
    ("/reply-queue approve", "Missing draft id",
     "/reply-queue approve DRAFT | reject DRAFT [REASON] — approve or reject a reply"),
])
def test_a_reply_queue_usage_error_is_english_alone_in_an_english_channel(bot, run_command, typed, error, line):
    reply = _one(run_command(typed, channel=EN))
    assert reply.text == f"Bad usage: {error}\nUsage: {line}\nType /reply-queue help for the full usage"


def test_a_reply_queue_usage_error_in_a_chinese_channel_reads_as_before(bot, run_command):
    reply = _one(run_command("/reply-queue claim", channel=ZH))
    assert reply.text == ("用法有误 / Bad usage：缺少编号 / item id / missing item id\n"
                          "用法 / usage：/reply-queue claim 编号 — 认领（默认 15 分钟）/ claim an item\n"
                          "输入 /reply-queue help 查看全部用法 / type /reply-queue help for the full usage")


def test_reply_queue_service_refusals_are_english_alone_in_an_english_channel(bot, run_command):
    assert _one(run_command("/reply-queue stats --since 0d", channel=EN)).text == (
        "⚠️ --since '0d' is not a period (use e.g. '30m', '24h', '7d', '2w' or a past date)")
    assert _one(run_command("/reply-queue nosuch", channel=EN)).text.startswith("❓ Unknown account nosuch")
    assert _one(run_command("/reply-queue claim 99", channel=EN)).text == "❓ No queue item #99"
    assert _one(run_command("/reply-queue claim 99", channel=ZH)).text == "❓ 没有编号为 #99 的评论 / no queue item #99"


# ---- 3. /help ----------------------------------------------------------------------------------------------
def test_help_lists_the_commands_in_english_alone_in_an_english_channel(bot, run_command):
    reply = _one(run_command("/help", channel=EN))
    _english(reply)
    assert (reply.title, reply.text) == ("crisisbot commands", "Type /command help for details, e.g. /crisis help.")
    specs = sorted(bot.services.registry.commands.values(), key=lambda s: s.name)
    assert [s.text for s in reply.sections] == [f"**/{spec.name}** — {spec.summary_en}" for spec in specs]


def test_help_in_a_chinese_channel_reads_as_before(bot, run_command):
    reply = _one(run_command("/help", channel=ZH))
    assert reply.title == "crisisbot 命令 / Commands"
    assert reply.text == "输入 /命令 help 查看详细用法，例如 /crisis help。\nType /command help for details, e.g. /crisis help."
    assert "**/help｜/帮助** — 查看命令列表 / list the commands" in [s.text for s in reply.sections]


# ---- 4. /sentiment fix -------------------------------------------------------------------------------------
def test_sentiment_fix_answers_in_english_alone_in_an_english_channel(bot, run_command, press_button):
    _ingest(bot, "c2")
    assert _one(run_command("/sentiment fix nosuch neg", channel=EN, user=REVIEWER)).text == (
        "Cannot correct: comment nosuch not found (or its account is not visible from this channel)")
    assert _one(run_command("/sentiment fix c2 bogus", channel=EN, user=REVIEWER)).text == (
        "Cannot correct: label must be neg/neu/pos, got 'bogus'")
    assert _one(press_button("sentiment.fix", "nolabel", channel=EN, user=REVIEWER)).text == (
        "Cannot correct: malformed button value")
    done = _one(run_command("/sentiment fix c2 neg", channel=EN, user=REVIEWER))
    said, _, quoted = done.text.rpartition("\n> ")
    assert (done.title, said.startswith("douyin:c2 relabelled")) == ("Sentiment corrected", True), done.text
    assert not CJK.search(said) and quoted == "还行吧"  # the comment itself quoted as written


def test_sentiment_fix_errors_in_a_chinese_channel_read_as_before(bot, run_command):
    assert _one(run_command("/sentiment fix c2 bogus", channel=ZH, user=REVIEWER)).text == (
        "无法更正：标签必须是 neg/neu/pos，收到「bogus」\nCannot correct: label must be neg/neu/pos, got 'bogus'")


# ---- 5. /watch ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "error"), [
    ("/watch surge nobody --from 2026-12-01T20:00 --until 2026-12-01T23:00",
     "No account 'nobody' visible in this channel"),
    ("/watch surge tiktok:foo --from 2026-12-01T20:00 --until 2026-12-01T23:00",
     "'tiktok' is not a supported platform; supported: "),
    ("/watch surge douyin:lanji_official --until 2026-12-01T23:00", "--from TIME is required"),
    ("/watch surge douyin:lanji_official --from tomorrow --until 2026-12-01T23:00", "Bad --from time 'tomorrow'"),
    ("/watch surge douyin:lanji_official --from 2026-12-01T23:00 --until 2026-12-01T20:00",
     "--until must be after --from"),
    ("/watch surge douyin:lanji_official --from 2026-12-01T20:00 --until 2026-12-01T23:00 --factor x",
     "--factor must be a number"),
    ("/watch surge douyin:lanji_official --from 2026-12-01T20:00 --until 2026-12-31T23:00",
     "A planned surge may last at most 14 days, this one 30 d 3 h"),
    ("/watch add 过敏 --account", "--account needs an account"),
])
def test_watch_usage_errors_are_english_alone_in_an_english_channel(bot, run_command, typed, error):
    reply = _one(run_command(typed, channel=EN))
    assert reply.text.startswith(f"Bad usage: {error}"), reply.text
    _english(reply)


def test_precheck_without_a_text_is_english_alone_in_an_english_channel(bot, run_command):
    usage_en = bot.services.registry.commands["precheck"].usage_en
    assert _one(run_command("/precheck", channel=EN)).text == f"Bad usage: Give the text to check\n\n{usage_en}"


def test_precheck_findings_are_english_alone_in_an_english_channel(bot, run_command):
    english = _one(run_command("/precheck 全网最低价，加微信领优惠", channel=EN))
    assert english.title == "Precheck"
    assert english.text.startswith("⛔ 2 blocking finding(s): edit before posting as the brand."), english.text
    # quoted Chinese stays as written: the suggested rewording of the draft and each rule's replacement phrase
    own = [line for part in (english.text, *(s.text for s in english.sections)) for line in part.splitlines()
           if not line.startswith(("> ", "Suggestion: "))]
    assert own and not CJK.search("\n".join(line.split("**")[0] + line.split("**")[-1] for line in own)), own
    chinese = _one(run_command("/precheck 全网最低价，加微信领优惠", channel=ZH))
    assert chinese.title != "Precheck" and CJK.search(chinese.title)  # Chinese first there, as before


def test_watch_usage_errors_in_a_chinese_channel_read_as_before(bot, run_command):
    reply = _one(run_command("/watch surge bilibili:xiaochu_kitchen --until 2026-12-01T23:00", channel=ZH))
    assert reply.text.startswith("用法有误 / Bad usage：缺少 --from 时间 / --from TIME is required\n\n")


# ---- 6. a channel listed nowhere ------------------------------------------------------------------------------
NOWHERE = "console:nowhere"


class TestAnEnglishInstall:
    """`language: en` at the top (CRISISBOT_LANGUAGE=en): a channel without a language of its own is English."""

    @pytest.fixture
    def app_config(self):
        data = _config(language="en")
        data["channels"][1]["language"] = "zh"
        return parse_config(data, source="tests")

    @pytest.mark.parametrize("command", ["/reply-queue", "/report"])
    def test_an_unconfigured_channel_is_told_in_english(self, bot, run_command, command):
        assert bot.services.config.channel_language(NOWHERE) == "en"  # no channel entry: the install's language
        reply = _one(run_command(command, channel=NOWHERE))
        assert reply.text == (f"⚠️ This channel is not configured and sees no accounts: add id: {NOWHERE} (with "
                              f"its client or accounts) under channels: in the config")


def test_an_unconfigured_channel_of_a_chinese_install_is_told_as_before(bot, run_command):
    reply = _one(run_command("/reply-queue", channel=NOWHERE))
    assert reply.text.startswith(f"⚠️ 本频道尚未配置，看不到任何账号：请在配置文件的 channels: 下加入 id: {NOWHERE}")
    assert reply.text.endswith("under channels: in the config")
