"""/precheck and a blocked `/reply-queue done` offer a rewording that is a whole sentence, or none."""

from __future__ import annotations

from sqlmodel import select

from bot.replies.models import ReplyQueueItem

from .conftest import ago, cmd, rec


def test_precheck_offers_the_whole_phrase_rewording(rq_bot):
    (reply,) = rq_bot.dispatcher.handle(cmd("/precheck 您好，我们已私信您，全网最低价补偿"))
    assert "> 您好，我们已私信您，优惠价补偿" in reply.text
    assert "价补偿" not in reply.text.replace("优惠价补偿", "")
    (reply,) = rq_bot.dispatcher.handle(cmd("/precheck 这是全网最好的面霜，100%有效"))
    assert "> 这是口碑不错的面霜，多数用户反馈有效" in reply.text and "全网很好" not in reply.text
    body = "".join(s.text for s in reply.sections)
    assert "全网最好" in body and "100%有效" in body  # the flagged phrases, as written
    (reply,) = rq_bot.dispatcher.handle(cmd("/precheck 全网最新款面霜"))  # no safe rewrite: flag only
    assert "建议改写" not in reply.text and "没有可直接使用的改写" in reply.text and "必须修改" in reply.text


def test_a_blocked_reply_shows_the_same_sentence(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10), "多少钱")], source="test")
    with db.session() as s:
        target = s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == "q")).one()
    (reply,) = rq_bot.dispatcher.handle(cmd(f'/reply-queue done {target} "这是全网最好的面霜，100%有效"'))
    assert "未发布" in reply.title
    assert "> 这是口碑不错的面霜，多数用户反馈有效" in reply.text
