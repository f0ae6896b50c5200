"""`/sentiment fix` end to end through the dispatcher, the corrections table and training input."""

from __future__ import annotations

from sqlmodel import select

from bot.sentiment.corrections import corrections_for_training
from bot.sentiment.models import SentimentCorrection
from bot.storage.models import Comment


def _ingest(bot, comment_id: str, text: str, *, platform="douyin", account_id="lanji_official"):
    report = bot.services.ingest.ingest_records([{
        "platform": platform, "account_id": account_id, "content_id": "v1", "comment_id": comment_id,
        "text": text, "created_at": "2026-11-22T20:15:00+08:00",
    }], source="test")
    assert report.results[0].status == "accepted"


def _texts(replies) -> str:
    return "\n".join((m.title or "") + "\n" + m.text for m in replies)


def test_fix_relabels_comment_and_stores_correction(bot, db, run_command):
    _ingest(bot, "c1", "这面霜绝了，用完脸更干了[微笑]")
    replies = run_command("/sentiment fix c1 neg", channel="console:lanji", user="console:alice")
    # corrected, or confirmed when the shipped model already said neg: stored as a correction either way
    assert "neg" in _texts(replies) and ("已更正" in _texts(replies) or "已确认" in _texts(replies))
    with db.session() as s:
        comment = s.exec(select(Comment).where(Comment.comment_id == "c1")).one()
        corrections = s.exec(select(SentimentCorrection)).all()
    assert comment.sentiment_label == "neg" and comment.sentiment_model == "correction"
    assert len(corrections) == 1
    assert corrections[0].new_label == "neg" and corrections[0].corrected_by == "console:alice"
    assert corrections[0].created_at.tzinfo is not None
    # a later correction of the same comment wins for training
    run_command("/sentiment fix douyin:c1 neu", channel="console:lanji")
    assert corrections_for_training(db) == [("这面霜绝了，用完脸更干了[微笑]", "neu")]
    # the same label again confirms it: said so, and still kept
    again = _texts(run_command("/sentiment FIX c1 neu", channel="console:lanji"))
    assert "确认为 中性（neu）" in again and "→" not in again


def test_a_comment_fixed_to_neg_is_quoted_as_negative(bot, db, run_command):
    _ingest(bot, "c9", "三连了，求抽奖[星星眼]")  # the model's near-tie: labelled neg, leans positive
    with db.session() as s:
        before = s.exec(select(Comment).where(Comment.comment_id == "c9")).one()
    assert not before.shows_as_negative
    run_command("/sentiment fix c9 neg", channel="console:lanji")
    with db.session() as s:
        after = s.exec(select(Comment).where(Comment.comment_id == "c9")).one()
    assert after.shows_as_negative and after.sentiment_neg == 1.0
    run_command("/sentiment fix c9 pos", channel="console:lanji")
    with db.session() as s:
        assert not s.exec(select(Comment).where(Comment.comment_id == "c9")).one().shows_as_negative


def test_fix_refuses_comments_the_channel_may_not_see(bot, db, run_command):
    _ingest(bot, "c9", "差评", platform="bilibili", account_id="xiaochu_kitchen")
    replies = run_command("/sentiment fix c9 pos", channel="console:lanji")
    assert "无法更正" in _texts(replies)
    with db.session() as s:
        assert s.exec(select(SentimentCorrection)).all() == []
        assert s.exec(select(Comment)).one().sentiment_model != "correction"


def test_fix_bad_label_and_unknown_comment(bot, run_command):
    _ingest(bot, "c2", "还行")
    assert "neg/neu/pos" in _texts(run_command("/sentiment fix c2 maybe"))
    assert "无法更正" in _texts(run_command("/sentiment fix nope neg"))
    assert "用法" in _texts(run_command("/sentiment fix c2"))


def test_fix_button(bot, db, press_button):
    _ingest(bot, "c3", "客服不理人")
    replies = press_button("sentiment.fix", "douyin:c3 neg", channel="console:lanji")
    assert "已更正" in _texts(replies) or "已确认" in _texts(replies)
    with db.session() as s:
        assert s.exec(select(Comment).where(Comment.comment_id == "c3")).one().sentiment_label == "neg"


def test_score_in_chat_explains_the_models_reading_without_storing_anything(bot, db, run_command):
    replies = run_command("/sentiment score 呵呵，服务真好 --澜肌客服", channel="console:lanji")
    text = _texts(replies)
    assert "> 呵呵，服务真好 --澜肌客服" in text  # the text as typed, "--word" is not an option
    assert "负面 neg" in text and "P(正面 pos)" in text and "反讽" in text
    assert all(m.ephemeral for m in replies)
    risky = _texts(run_command("/sentiment 打分 我要投诉，退款", channel="console:lanji"))
    assert "投诉（投诉举报 complaint）" in risky and "退款（退款 refund）" in risky
    assert "needs a text" in _texts(run_command("/sentiment score   ", channel="console:lanji"))
    with db.session() as s:
        assert s.exec(select(Comment)).all() == [] and s.exec(select(SentimentCorrection)).all() == []


def test_the_corrected_comment_is_quoted_as_typed_not_as_a_link(bot, db, run_command):
    _ingest(bot, "c7", "差评 [官方客服](http://evil.example)")
    text = _texts(run_command("/sentiment fix c7 neg", channel="console:lanji"))
    assert "> 差评 ［官方客服］(http://evil.example)" in text and "[官方客服](" not in text
