"""Purging someone whose display name is an everyday word ("问题") leaves the team's own text alone.

A short name is cut out of run titles, notes and messages only where it names the person (after @,
quoted on its own, before a colon, as a whole token); a message that quotes their comment still loses
its content (sent) or their words (pending). Everything goes through the real paths: ingest, /crisis,
/reply-queue, the outbox delivering to the console.
"""

from __future__ import annotations

import json

from sqlmodel import select

from bot.playbooks.models import CrisisRun, CrisisTimelineEntry
from bot.redaction import REDACTED
from bot.retention import purge_author
from bot.storage.models import OutboxMessage

THEIR_TEXT = "这个面霜用了过敏，脸上起红疹了，太差了吧"
OTHER_TEXT = "我也用了，没什么问题啊"
TEAM_NOTES = ["排查批次质量问题，暂无结论", "问题件已寄回仓库复检"]
REFERENCE_NOTES = {
    "用户 @问题 反馈过敏，已私信": f"用户 @{REDACTED} 反馈过敏，已私信",
    "「问题」的评论已截图": f"「{REDACTED}」的评论已截图",
    "问题：要求退款": f"{REDACTED}：要求退款",
    "已联系 问题 处理": f"已联系 {REDACTED} 处理",
}


def _comment(comment_id, author, name, text, at):
    return {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": text, "created_at": at.isoformat(), "author_id": author, "author_name": name}


def _payload_texts(db) -> list[tuple[str, str, bool]]:
    with db.session() as session:
        return [(m.status, json.dumps(m.payload, ensure_ascii=False), m.content_purged_at is not None)
                for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_a_short_everyday_name_is_cut_only_where_it_names_them(bot, db, clock, run_command):
    now = clock.now()
    bot.services.ingest.ingest_records([
        _comment("c1", "u_1", "问题", THEIR_TEXT, now),
        _comment("c2", "uX1", "路人甲", OTHER_TEXT, now),
    ], source="test")
    run_command("/crisis start 负面舆情爆发 批次质量问题排查 --severity 1 --account douyin:lanji_official")
    for note in [*TEAM_NOTES, *REFERENCE_NOTES]:
        run_command(f"/crisis note {note}")
    cards_before = [t for status, t, _ in _payload_texts(db) if status == "sent" and "批次质量问题排查" in t]
    assert cards_before, "the run card was sent to console:lanji"
    run_command("/reply-queue")  # a card quoting their comment, sent
    assert any(THEIR_TEXT in t for status, t, _ in _payload_texts(db) if status == "sent")

    counts = purge_author(db, "douyin", "u_1", now=clock.now())

    with db.session() as session:
        run = session.exec(select(CrisisRun)).one()
        notes = [e.text for e in session.exec(select(CrisisTimelineEntry).where(CrisisTimelineEntry.kind == "note")
                                              .order_by(CrisisTimelineEntry.id))]
    assert run.title == "批次质量问题排查"  # their name is a word of the title, not a reference to them
    assert counts["playbook_runs"] == 0
    assert notes == [*TEAM_NOTES, *REFERENCE_NOTES.values()]
    assert counts["playbook_timeline"] == len(REFERENCE_NOTES)
    messages = _payload_texts(db)
    # a sent message that quoted their comment keeps no content, as before
    assert counts["outbox_contents"] >= 1
    assert not any(THEIR_TEXT in t for _, t, _ in messages)
    # the run cards never quoted them: sent, and still readable
    kept_cards = [t for status, t, purged in messages if status == "sent" and not purged and "批次质量问题排查" in t]
    assert len(kept_cards) == len(cards_before)


def test_a_long_name_is_still_cut_inside_a_sentence(bot, db, clock, run_command):
    now = clock.now()
    bot.services.ingest.ingest_records([_comment("c1", "u_2", "王小明", THEIR_TEXT, now)], source="test")
    run_command("/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official")
    run_command("/crisis note 王小明反馈过敏，已私信")

    purge_author(db, "douyin", "u_2", now=clock.now())

    with db.session() as session:
        notes = [e.text for e in session.exec(select(CrisisTimelineEntry).where(CrisisTimelineEntry.kind == "note"))]
    assert notes == [f"{REDACTED}反馈过敏，已私信"]
