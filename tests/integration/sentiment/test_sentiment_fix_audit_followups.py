"""Follow-ups of the `/sentiment fix` audit, from outside (commands and button presses through the dispatcher):

- a reply-queue card shows a person's label as such: a corrected comment read "负面概率 P(neg) 1.00", as if the
  model were certain; model-scored comments keep their probability;
- `sentiment.permissions.fix` (role names of `roles:`, as `playbooks.permissions`; empty = anyone) limits who
  may relabel, for the typed command, the label buttons and the Fix sentiment button alike.
"""

from __future__ import annotations

import copy

import pytest
from sqlmodel import select

from bot.config import AppConfig
from bot.sentiment.models import SentimentCorrection
from bot.storage.models import Comment
from tests.conftest import TEST_CONFIG


def _ingest(bot, comment_id: str, text: str, *, likes: int = 0) -> None:
    report = bot.services.ingest.ingest_records([{
        "platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
        "text": text, "created_at": "2026-11-22T20:15:00+08:00", "like_count": likes,
    }], source="test")
    assert report.results[0].status == "accepted"


def _stored(db, comment_id: str) -> Comment:
    with db.session() as s:
        return s.exec(select(Comment).where(Comment.comment_id == comment_id)).one()


def _texts(replies) -> str:
    return "\n".join((m.title or "") + "\n" + m.text for m in replies)


def _card_line(run_command, comment_text: str) -> str:
    """The facts line (likes, age, sentiment …) of the queue item quoting `comment_text`."""
    queue = run_command("/reply-queue")[-1]
    [section] = [s for s in queue.sections if comment_text in s.text]
    [facts] = [line for line in section.text.splitlines() if "情绪" in line]
    return facts


# ---- the queue card ---------------------------------------------------------------------------------------

def test_a_corrected_comment_shows_a_persons_label_not_a_probability(bot, db, run_command):
    _ingest(bot, "c1", "垃圾产品，用了烂脸，退款！", likes=3)
    _ingest(bot, "c2", "今天直播几点开始呀", likes=2)
    before = _card_line(run_command, "垃圾产品")
    assert _stored(db, "c1").sentiment_label == "neg" and "负面概率 P(neg) 0." in before  # the model's own

    assert "无法更正" not in _texts(run_command("/sentiment fix c1 neg"))  # a person confirms the model
    line = _card_line(run_command, "垃圾产品")
    assert "情绪 负面（人工标注 / labelled negative by a person）" in line, line
    assert "P(neg)" not in line and "P(pos)" not in line and "概率" not in line

    assert "无法更正" not in _texts(run_command("/sentiment fix c2 pos"))
    line = _card_line(run_command, "直播几点")
    assert "情绪 正面（人工标注 / labelled positive by a person）" in line and "P(pos) 1.00" not in line, line


def test_a_model_scored_comment_keeps_its_probability_beside_a_corrected_one(bot, db, run_command):
    _ingest(bot, "m1", "用了过敏，客服也不理人，投诉", likes=5)
    _ingest(bot, "m2", "垃圾产品，用了烂脸，退款！", likes=3)
    run_command("/sentiment fix m2 neu")
    model_line = _card_line(run_command, "客服也不理人")
    assert "负面概率 P(neg) 0." in model_line and "人工标注" not in model_line, model_line
    assert "情绪 中性（人工标注 / labelled neutral by a person）" in _card_line(run_command, "垃圾产品")


# ---- who may relabel -------------------------------------------------------------------------------------

@pytest.fixture
def restricted_bot(db, settings, clock):
    """The bot with relabelling limited to the role `sentiment_reviewer` (console:bob)."""
    from bot.app import build_app

    data = copy.deepcopy(TEST_CONFIG)
    data.update({"roles": {"sentiment_reviewer": ["console:bob"]},
                 "sentiment": {"permissions": {"fix": ["sentiment_reviewer"]}}})
    app = build_app(settings, AppConfig.model_validate(data), clock=clock, db=db, upgrade=False)
    yield app
    app.stop()


def _say(bot, text: str, user: str) -> list:
    from bot.messages import Command

    replies = bot.dispatcher.handle(Command("console", "console:lanji", user, text, user_name=user.partition(":")[2],
                                            event_id=f"{user}-{text}"))
    bot.services.outbox.drain()
    return replies


def _press(bot, action_id: str, value: str, user: str) -> list:
    from bot.messages import Action

    replies = bot.dispatcher.handle(Action("console", "console:lanji", user, action_id, value,
                                           user_name=user.partition(":")[2], event_id=f"{user}-{action_id}-{value}"))
    bot.services.outbox.drain()
    return replies


def _corrections(db) -> list[str]:
    with db.session() as s:
        return [c.comment_id for c in s.exec(select(SentimentCorrection)).all()]


def _assert_refused(replies) -> None:
    [reply] = replies
    assert reply.ephemeral and not reply.sections, reply
    assert reply.text.startswith("没有权限 / Not allowed："), reply.text  # Chinese first
    assert "sentiment_reviewer" in reply.text and "console:bob" in reply.text  # names who may
    assert "可以更正评论的情感标签" in reply.text and "may relabel a comment's sentiment" in reply.text


def test_someone_outside_the_fix_roles_is_refused_by_command_and_by_both_buttons(restricted_bot, db):
    bot = restricted_bot
    _ingest(bot, "p1", "今天直播几点开始呀")
    label = _stored(db, "p1").sentiment_label
    other = "neg" if label != "neg" else "pos"
    _assert_refused(_say(bot, f"/sentiment fix p1 {other}", "console:alice"))
    _assert_refused(_press(bot, "sentiment.fix", f"douyin:p1 {other}", "console:alice"))
    # refused at the Fix sentiment button already: no label buttons that would only refuse
    _assert_refused(_press(bot, "sentiment.review", "douyin:p1", "console:alice"))
    assert _stored(db, "p1").sentiment_label == label and _corrections(db) == []

    # the same actions by a member of the role work, and /sentiment score stays open to anyone
    [choices] = _press(bot, "sentiment.review", "douyin:p1", "console:bob")
    assert len(choices.sections) == 1 and choices.sections[0].buttons
    assert "已更正" in _texts(_press(bot, "sentiment.fix", f"douyin:p1 {other}", "console:bob"))
    assert "已确认" in _texts(_say(bot, f"/sentiment fix p1 {other}", "console:bob"))
    assert _stored(db, "p1").sentiment_label == other and _corrections(db) == ["p1", "p1"]
    assert "没有权限" not in _texts(_say(bot, "/sentiment score 这个真的太差了", "console:alice"))


def test_a_fix_role_with_nobody_in_it_says_so_plainly(db, settings, clock):
    from bot.app import build_app

    data = copy.deepcopy(TEST_CONFIG)
    data.update({"roles": {}, "sentiment": {"permissions": {"fix": ["sentiment_reviewer"]}}})
    bot = build_app(settings, AppConfig.model_validate(data), clock=clock, db=db, upgrade=False)
    try:
        _ingest(bot, "n1", "发货太慢了")
        [reply] = _say(bot, "/sentiment fix n1 pos", "console:alice")
    finally:
        bot.stop()
    assert reply.ephemeral and reply.text.startswith("没有权限")
    assert "sentiment_reviewer" in reply.text and "没有成员" in reply.text and "no one is configured" in reply.text
    assert _corrections(db) == []
