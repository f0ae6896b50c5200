"""Reply text reaches the customer exactly as the responder typed it, and odd ids get plain answers."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.replies.models import ReplyDraft, ReplyQueueItem

from .conftest import ago, cmd, own, rec


def _item_id(db, comment_id: str) -> int:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == comment_id)).one()


@pytest.mark.parametrize("typed", [
    "您好，已为您加急处理 —— 客服小美",
    "您好，我们会尽快处理 --澜肌客服",
    "「非常抱歉」给您带来不便，we're on it",
])
def test_reply_text_is_recorded_as_typed(rq_bot, db, clock, typed):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = _item_id(db, "q")
    (reply,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue done {target} {typed}"))
    assert "已记录为已回复" in reply.text
    with db.session() as s:
        assert s.exec(select(ReplyDraft.text)).one() == typed


def test_another_subcommands_option_in_a_reason_stays_text(rq_bot, db, clock):
    # --limit and --overdue belong to the list: in a skip reason or a reply they are words
    rq_bot.services.ingest.ingest_records([rec("a", ago(clock, 10)), rec("b", ago(clock, 9))], source="test")
    first, second = _item_id(db, "a"), _item_id(db, "b")
    rq_bot.dispatcher.handle(cmd(f"/reply-queue skip {first} 广告 --limit 3 --overdue 刷屏"))
    rq_bot.dispatcher.handle(cmd(f"/reply-queue done {second} 已处理 --since 昨天 --mine"))
    with db.session() as s:
        skipped = s.get(ReplyQueueItem, first)
        assert skipped.skip_reason == "广告 --limit 3 --overdue 刷屏"
        assert s.exec(select(ReplyDraft.text)).one() == "已处理 --since 昨天 --mine"


@pytest.mark.parametrize("line", [
    "/reply-queue claim 99999999999999999999",
    "/reply-queue done ＃99999999999999999999 好的",
])
def test_an_id_past_any_stored_row_is_not_found_not_an_error(rq_bot, line):
    (reply,) = rq_bot.dispatcher.handle(cmd(line))
    assert "没有这个" in reply.text and "出错" not in reply.text


def test_a_full_width_id_finds_the_item(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = _item_id(db, "q")
    wide = "".join(chr(ord(d) + 0xFEE0) for d in str(target))
    (reply,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue claim ＃{wide}"))
    assert "认领" in reply.text


def test_precheck_groups_a_repeated_term_and_stays_one_message(rq_bot):
    (reply,) = rq_bot.dispatcher.handle(cmd("/precheck 最好的最好的最佳，最低价，最受欢迎"))
    texts = [s.text for s in reply.sections]
    assert len([t for t in texts if "**最**" in t]) == 1 and any("**最** ×" in t for t in texts)
    (huge,) = rq_bot.dispatcher.handle(cmd("/precheck " + "最好" * 3000))
    assert len(huge.sections) <= 21


def test_precheck_checks_a_draft_that_starts_with_help_in_chinese(rq_bot):
    (reply,) = rq_bot.dispatcher.handle(cmd("/precheck 帮助 大家解决问题，加微信详聊"))
    assert "自检" in (reply.title or "") and "/precheck" not in reply.text
    (usage,) = rq_bot.dispatcher.handle(cmd("/precheck 帮助"))
    assert "/precheck" in usage.text


def test_chinese_subcommands_as_the_usage_names_them(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = _item_id(db, "q")
    (claimed,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue 认领 #{target}"))
    assert "认领" in claimed.text and "多余" not in claimed.text
    (done,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue 已回复 #{target} 您好，已私信您"))
    assert "已记录为已回复" in done.text
    (queue,) = rq_bot.dispatcher.handle(cmd("/reply-queue"))
    assert "P(pos)" not in queue.text  # nothing left: the item is answered


def test_an_item_the_brand_answered_in_the_app_says_so_in_words(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 30))], source="test")
    target = _item_id(db, "q")
    rq_bot.services.ingest.ingest_records([own("r", ago(clock, 10), "q")], source="test")
    (reply,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue done {target}"))
    assert "品牌账号在平台内回复" in reply.text and "（account）" not in reply.text


def test_a_since_too_far_back_is_refused_not_an_error(rq_bot):
    from .conftest import cmd

    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue stats --since 99999999d"))
    assert "--since" in reply.text and "出错" not in reply.text
