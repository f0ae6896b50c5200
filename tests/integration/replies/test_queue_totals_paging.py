"""/reply-queue says how big the backlog is, pages through it, and can leave out claimed items.

With 10,000 open comments it said "前 5 条待回复，其中 5 条逾期": the five shown, never the 10,000 open
or the 9,722 overdue, and nothing could show the sixth.
"""

from __future__ import annotations

from bot.replies.models import ReplyQueueItem

from .conftest import ago, cmd, rec


def _ids(answer) -> list[int]:
    messages = answer if isinstance(answer, list) else [answer]
    return [i for m in messages for i in m.meta.get("reply_queue_card", {}).get("items", [])]


def _backlog(bot, clock) -> None:
    # 8 overdue negative comments (30-minute deadline), 4 fresh ordinary ones
    bot.services.ingest.ingest_records(
        [rec(f"late{i}", ago(clock, 60 + i), "用了过敏") for i in range(8)]
        + [rec(f"new{i}", ago(clock, 5 + i)) for i in range(4)], source="test")


def test_the_answer_names_the_backlog_and_the_next_page(rq_bot, clock):
    _backlog(rq_bot, clock)
    (first,) = rq_bot.dispatcher.handle(cmd("/reply-queue"))
    assert "待回复 12 条，其中 **逾期 8 条**" in first.text, first.text
    assert "12 unanswered, 8 overdue" in first.text
    assert "第 1–5 条（第 1/3 页）" in first.text and "下一页：/reply-queue --page 2" in first.text, first.text
    (second,) = rq_bot.dispatcher.handle(cmd("/reply-queue --page 2"))
    assert "第 6–10 条（第 2/3 页）" in second.text, second.text
    (third,) = rq_bot.dispatcher.handle(cmd("/reply-queue --page ３"))  # full-width, as --limit takes it
    assert "第 11–12 条（第 3/3 页）" in third.text and "下一页" not in third.text, third.text
    pages = _ids(first) + _ids(second) + _ids(third)
    assert len(pages) == len(set(pages)) == 12  # each item once, in priority order across the pages
    (past,) = rq_bot.dispatcher.handle(cmd("/reply-queue --page 9"))
    assert "第 9 页没有评论" in past.text and "共 3 页" in past.text, past.text


def test_paging_keeps_the_other_flags_and_limit(rq_bot, clock):
    _backlog(rq_bot, clock)
    (overdue,) = rq_bot.dispatcher.handle(cmd("/reply-queue 澜肌官方旗舰店 --overdue --limit 3"))
    assert "待回复 8 条（仅逾期 / overdue only），其中 **逾期 8 条**" in overdue.text, overdue.text
    assert "下一页：/reply-queue 澜肌官方旗舰店 --overdue --limit 3 --page 2" in overdue.text, overdue.text
    (page2,) = rq_bot.dispatcher.handle(cmd("/reply-queue 澜肌官方旗舰店 --overdue --limit 3 --page 2"))
    assert not set(_ids(overdue)) & set(_ids(page2)) and len(_ids(page2)) == 3


def test_unclaimed_leaves_out_what_someone_holds(rq_bot, db, clock):
    _backlog(rq_bot, clock)
    (top,) = rq_bot.dispatcher.handle(cmd("/reply-queue"))
    held = _ids(top)[0]
    rq_bot.dispatcher.handle(cmd(f"/reply-queue claim {held}", user="console:frank", name="frank"))
    (free,) = rq_bot.dispatcher.handle(cmd("/reply-queue --unclaimed"))
    assert held not in _ids(free)
    assert "待回复 11 条（未认领 / unclaimed），其中 **逾期 7 条**" in free.text, free.text
    with db.session() as s:
        assert s.get(ReplyQueueItem, held).claimed_by == "console:frank"
    everything = rq_bot.dispatcher.handle(cmd("/reply-queue --unclaimed --limit 50"))
    assert len(_ids(everything)) == 11


def test_list_options_of_other_subcommands_are_refused_not_ignored(rq_bot, clock):
    _backlog(rq_bot, clock)
    (since,) = rq_bot.dispatcher.handle(cmd("/reply-queue --since 7d"))
    assert "--since 不适用于列表" in since.text and "stats" in since.text, since.text
    (both,) = rq_bot.dispatcher.handle(cmd("/reply-queue --mine --unclaimed"))
    assert "不能同时使用" in both.text
    (bad,) = rq_bot.dispatcher.handle(cmd("/reply-queue --page 0"))
    assert "--page 需要正整数" in bad.text
