"""/reply-queue input as people type it (audit): full-width --since, options of another subcommand, account
ids in another case, and usage refusals that show the one line that applies instead of all 13."""

from __future__ import annotations

import pytest

from bot.handlers.reply_queue import USAGE

from .conftest import ago, cmd, rec


@pytest.mark.parametrize("since", ["７ｄ", "７天", "3天", "２４ｈ"])
def test_stats_takes_a_full_width_period_as_limit_does(rq_bot, since):
    (answer,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue stats --since {since}"))
    assert answer.title == "回复队列统计 / Reply queue stats", answer.text


def test_an_option_of_the_list_given_to_stats_is_named(rq_bot):
    (answer,) = rq_bot.dispatcher.handle(cmd("/reply-queue stats --limit 3"))
    first = answer.text.splitlines()[0]
    assert "--limit 不适用于 stats" in first and "多余的参数" not in answer.text, answer.text


@pytest.mark.parametrize("account", ["LANJI_OFFICIAL", "Lanji_Official", "ＬＡＮＪＩ_official", "DOUYIN:LANJI_OFFICIAL",
                                     "LANJI"])
def test_account_ids_match_in_any_case(rq_bot, clock, account):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    (answer,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue {account}"))
    assert "待回复 1 条" in answer.text and "澜肌官方旗舰店" in answer.text, answer.text
    (stats,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue stats {account}"))
    assert stats.title == "回复队列统计 / Reply queue stats", stats.text


@pytest.mark.parametrize(("line", "usage_line"), [
    ("/reply-queue --limit abc", "/reply-queue [账号]"),
    ("/reply-queue claim", "/reply-queue claim 编号"),
    ("/reply-queue 认领 1 2", "/reply-queue claim 编号"),
    ("/reply-queue stats a b", "/reply-queue stats"),
    ("/reply-queue reject", "/reply-queue approve 草稿号"),
])
def test_a_usage_refusal_shows_the_line_that_applies_and_where_the_rest_is(rq_bot, line, usage_line):
    (answer,) = rq_bot.dispatcher.handle(cmd(line))
    lines = answer.text.splitlines()
    assert len(lines) == 3, answer.text
    assert lines[1].startswith(f"用法 / usage：{usage_line}"), lines[1]
    assert "/reply-queue help" in lines[2]
    assert USAGE.splitlines()[-1] not in answer.text  # not the whole help again
