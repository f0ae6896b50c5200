"""Every command's usage in the channel's language, and `--help` / `-h` as `help`, for every command.

- `/X help` in a channel set to English is the command's English usage alone (`usage_en`); in a Chinese
  channel it reads as before (Chinese first with English, the registered `usage`).
- `/X --help`, `/X -h` (as the CLI takes them, also typed in full width) are `/X help`, answered once by the
  dispatcher: `/sentiment --help` answered "unknown subcommand: --help", `/sources --help` "takes no
  arguments", `/watch --help` "unknown subcommand".
- A usage error in an English channel: the error's English (`in_language`) and the English usage.
- `/sentiment fix ID neg extra` says there are too many arguments; chat labels take the labeled files'
  spellings (-1/+1, 消极/中立/积极 ...), "0" still neg.

Real database, dispatcher and console port; commands sent as a person types them.
"""

from __future__ import annotations

import copy
import re

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.handlers.registry import UsageError
from bot.sentiment.train import LABEL_ALIASES
from bot.storage.models import Comment
from tests.conftest import TEST_CONFIG

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
EN, ZH = "console:lanji", "console:xiaochu"


@pytest.fixture
def app_config():
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [{"id": EN, "client": "lanji", "language": "en"}, {"id": ZH, "client": "xiaochu"}]
    return parse_config(data, source="tests")


def _one(run_command, text: str, channel: str):
    [reply] = run_command(text, channel=channel)
    return reply


def _commands(bot) -> list[str]:
    names = sorted(bot.services.registry.commands)
    # the commands of the bot as it ships: a test that loses one would pass on the rest
    assert {"crisis", "help", "precheck", "reply-queue", "report", "sentiment", "sources", "watch"} <= set(names)
    return names


def test_every_command_answers_help_in_english_alone_in_an_english_channel(bot, run_command):
    for name in _commands(bot):
        spec = bot.services.registry.commands[name]
        reply = _one(run_command, f"/{name} help", EN)
        assert not CJK.search(reply.title + reply.text), (name, reply.title, reply.text)
        assert (reply.title, reply.text) == (f"/{name} — {spec.summary_en}", spec.usage_en)
        assert _one(run_command, f"/help {name}", EN).text == spec.usage_en


def test_every_command_answers_help_as_before_in_a_chinese_channel(bot, run_command):
    for name in _commands(bot):
        spec = bot.services.registry.commands[name]
        reply = _one(run_command, f"/{name} 帮助", ZH)
        assert (reply.title, reply.text) == (f"/{name} — {spec.summary_zh} / {spec.summary_en}", spec.usage)
        assert CJK.search(reply.text), name  # the registered usage, Chinese first


@pytest.mark.parametrize("flag", ["--help", "-h", "－－help", "—help", "－h", "--HELP"])
@pytest.mark.parametrize("channel", [EN, ZH])
def test_dash_help_is_help_for_every_command(bot, run_command, flag, channel):
    for name in _commands(bot):
        helped = _one(run_command, f"/{name} help", channel)
        answer = _one(run_command, f"/{name} {flag}", channel)
        assert (answer.title, answer.text) == (helped.title, helped.text), (name, answer.text)


def test_help_with_an_option_value_is_not_help(bot, run_command):
    # "--help=x" is not asking for the usage (as the CLI would refuse it): /sources says it takes no arguments
    answer = _one(run_command, "/sources --help=x", ZH)
    assert "不带参数" in answer.text


def test_a_usage_error_in_an_english_channel_is_english_with_the_english_usage(bot, run_command):
    usage_en = bot.services.registry.commands["sentiment"].usage_en
    answer = _one(run_command, "/sentiment frobnicate", EN)
    assert answer.text == f"Bad usage: Unknown subcommand: frobnicate\n\n{usage_en}"
    answer = _one(run_command, "/sources bili", EN)
    assert answer.text == f"Bad usage: Takes no arguments: bili\n\n{bot.services.registry.commands['sources'].usage_en}"


def test_a_usage_error_in_a_chinese_channel_reads_as_before(bot, run_command):
    usage = bot.services.registry.commands["sentiment"].usage
    answer = _one(run_command, "/sentiment frobnicate", ZH)
    assert answer.text == f"用法有误 / Bad usage：未知子命令 / unknown subcommand: frobnicate\n\n{usage}"


def test_a_command_without_english_usage_keeps_its_bilingual_help_and_errors(bot, run_command):
    def probe(ctx, parsed):
        raise UsageError("缺少参数 / missing argument", en="Missing argument")

    bot.services.registry.add_command("probe", probe, summary_zh="试", summary_en="probe",
                                      usage="  /probe 参数 — 试 / try")
    for channel in (EN, ZH):
        helped = _one(run_command, "/probe --help", channel)
        assert (helped.title, helped.text) == ("/probe — 试 / probe", "  /probe 参数 — 试 / try")
        answer = _one(run_command, "/probe", channel)
        assert answer.text == "用法有误 / Bad usage：缺少参数 / missing argument\n\n  /probe 参数 — 试 / try"


# ---- /sentiment fix -----------------------------------------------------------------------------------
def _ingest(bot, comment_id: str, text: str = "还行吧") -> None:
    report = bot.services.ingest.ingest_records([{
        "platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
        "text": text, "created_at": "2026-11-22T20:15:00+08:00",
    }], source="test")
    assert report.results[0].status == "accepted"


def _label(db, comment_id: str) -> tuple[str | None, str | None]:
    with db.session() as s:
        comment = s.exec(select(Comment).where(Comment.comment_id == comment_id)).one()
        return comment.sentiment_label, comment.sentiment_model


def test_fix_with_too_many_arguments_says_so(bot, db, run_command):
    _ingest(bot, "c1")
    before = _label(db, "c1")
    answer = _one(run_command, "/sentiment fix c1 neg extra", EN)
    assert answer.text.startswith("Bad usage: Too many arguments: only COMMENT_ID and a label, not 'extra'")
    assert not CJK.search(answer.text)
    assert _label(db, "c1") == before  # nothing changed


def test_fix_with_too_many_arguments_in_a_chinese_channel_is_chinese_first(bot, run_command):
    answer = _one(run_command, "/sentiment fix c1 neg extra more", ZH)
    first = answer.text.split("\n")[0]
    assert first.startswith("用法有误 / Bad usage：参数太多") and "too many arguments" in first
    assert "「extra more」" in first and "needs COMMENT_ID" not in answer.text


@pytest.mark.parametrize(("typed", "label"), [("-1", "neg"), ("+1", "pos"), ("1", "pos"), ("0", "neg"),
                                              ("消极", "neg"), ("中立", "neu"), ("积极", "pos"), ("负面", "neg"),
                                              ("１", "pos"), ("ＮＥＵ", "neu"), ("负", "neg")])
def test_fix_takes_the_labels_a_labeled_file_takes(bot, db, run_command, typed, label):
    _ingest(bot, "c2")
    run_command(f"/sentiment fix c2 {typed}", channel=EN)
    assert _label(db, "c2") == (label, "correction")


def test_every_word_the_csv_reader_takes_fixes_to_the_same_label(bot, db, run_command):
    _ingest(bot, "c3")
    for word, label in LABEL_ALIASES.items():
        run_command(f"/sentiment fix c3 {'neg' if label == 'pos' else 'pos'}", channel=EN)  # another label first
        run_command(f"/sentiment fix c3 {word}", channel=EN)
        assert _label(db, "c3") == (label, "correction"), word
