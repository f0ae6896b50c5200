"""The "纠正情感 / Fix sentiment" button on alert and reply-queue items, pressed the way a user would:
the button on the real message opens the choices, a choice relabels the comment and stores a correction."""

from __future__ import annotations

from sqlmodel import select

from bot.sentiment.explain import LABEL_ZH
from bot.sentiment.models import SentimentCorrection
from bot.storage.models import Comment
from tests.integration.alerts.test_alert_service import live, load_history


def _ingest(bot, comment_id: str, text: str, *, platform="douyin", account_id="lanji_official", likes=0):
    report = bot.services.ingest.ingest_records([{
        "platform": platform, "account_id": account_id, "content_id": "v1", "comment_id": comment_id,
        "text": text, "created_at": "2026-11-22T20:15:00+08:00", "like_count": likes,
    }], source="test")
    assert report.results[0].status == "accepted"


def _review_button(message):
    buttons = [b for s in message.sections for b in s.buttons] + list(message.buttons)
    found = [b for b in buttons if b.action_id == "sentiment.review"]
    assert len(found) == 1, [b.action_id for b in buttons]
    return found[0]


def _choices(reply):
    return {b.value: b for s in reply.sections for b in s.buttons if b.action_id == "sentiment.fix"}


def test_review_button_offers_the_other_labels_then_fix_relabels(bot, db, press_button):
    _ingest(bot, "r1", "垃圾产品，用了烂脸，退款！")
    _ingest(bot, "r2", "今天直播几点开始呀")
    with db.session() as s:
        before = {c.comment_id: c.sentiment_label for c in s.exec(select(Comment)).all()}
    [reply] = press_button("sentiment.review", "douyin:r1,douyin:r2", channel="console:lanji")
    assert reply.ephemeral and "纠正情感" in (reply.title or "")
    assert len(reply.sections) == 2
    choices = _choices(reply)
    # two buttons per comment: every label except the current one
    for comment_id in ("r1", "r2"):
        offered = {v.split()[1] for v in choices if v.startswith(f"douyin:{comment_id} ")}
        assert offered == {"neg", "neu", "pos"} - {before[comment_id]}
    new_label = next(v for v in choices if v.startswith("douyin:r2 ")).split()[1]
    replies = press_button("sentiment.fix", f"douyin:r2 {new_label}", channel="console:lanji")
    assert "已更正" in replies[0].text + (replies[0].title or "")
    with db.session() as s:
        assert s.exec(select(Comment).where(Comment.comment_id == "r2")).one().sentiment_label == new_label
        assert [c.comment_id for c in s.exec(select(SentimentCorrection)).all()] == ["r2"]
    # pressed again, the comment shows it was corrected by a person
    [again] = press_button("sentiment.review", "douyin:r2", channel="console:lanji")
    assert f"当前 / now: {LABEL_ZH[new_label]} {new_label}（人工标注 / labelled by a person）" in again.sections[0].text


def test_review_choices_name_the_models_probability(bot, db, press_button):
    # first-run audit: "当前 / now: 负面 neg 0.01" read as P(neg) = 0.01 for a comment the model is sure of
    _ingest(bot, "r5", "垃圾产品，用了烂脸，退款！")
    with db.session() as s:
        stored = s.exec(select(Comment).where(Comment.comment_id == "r5")).one()
    [reply] = press_button("sentiment.review", "douyin:r5", channel="console:lanji")
    label = stored.sentiment_label
    assert label == "neg" and stored.sentiment_neg is not None
    # a negative comment's own probability, as the reply queue shows it ("正面概率 0.01" said the wrong side's)
    expected = f"当前 / now: 负面 neg（负面概率 P(neg) {stored.sentiment_neg:.2f}）"
    assert expected in reply.sections[0].text, reply.sections[0].text
    _ingest(bot, "r6", "很好用，回购了")
    with db.session() as s:
        positive = s.exec(select(Comment).where(Comment.comment_id == "r6")).one()
    [reply] = press_button("sentiment.review", "douyin:r6", channel="console:lanji")
    assert positive.sentiment_label == "pos"
    assert f"当前 / now: 正面 pos（正面概率 P(pos) {positive.sentiment_score:.2f}）" in reply.sections[0].text


def test_review_leaves_out_comments_the_channel_may_not_see(bot, press_button):
    _ingest(bot, "r3", "差评", platform="bilibili", account_id="xiaochu_kitchen")
    _ingest(bot, "r4", "差评")
    [reply] = press_button("sentiment.review", "bilibili:r3,douyin:r4", channel="console:lanji")
    assert [s.text.split("`")[-2] for s in reply.sections] == ["douyin:r4"]
    [refused] = press_button("sentiment.review", "bilibili:r3", channel="console:lanji")
    assert "找不到" in refused.text and not refused.sections
    [malformed] = press_button("sentiment.review", " , ", channel="console:lanji")
    assert "按钮数据有误" in malformed.text


def test_reply_queue_items_carry_the_fix_button(bot, run_command, press_button):
    _ingest(bot, "q1", "你们客服到底管不管？用了过敏没人理", likes=30)
    queue = run_command("/reply-queue", channel="console:lanji")[-1]
    button = _review_button(queue)
    assert button.value == "douyin:q1"
    [reply] = press_button(button.action_id, button.value, channel="console:lanji")
    assert list(_choices(reply))


def test_alert_quotes_comments_with_the_fix_button(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 15, per_minute=12)
    alert = next(m for m in bot.console.messages("lanji") if "激增" in (m.title or ""))
    button = _review_button(alert)
    refs = button.value.split(",")
    assert 1 <= len(refs) <= 3 and all(r.startswith("douyin:c") for r in refs)
    [reply] = press_button(button.action_id, button.value, channel="console:lanji")
    assert len(reply.sections) == len(refs)
    value = next(v for v in _choices(reply) if v.endswith(" neu"))
    press_button("sentiment.fix", value, channel="console:lanji")
    with db.session() as s:
        fixed = s.exec(select(Comment).where(Comment.comment_id == value.split()[0].split(":")[1])).one()
    assert fixed.sentiment_label == "neu" and fixed.sentiment_model == "correction"
