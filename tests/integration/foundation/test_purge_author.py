"""`purge_author` (PIPL deletion) removes every copy of one person's comments, not just the comment rows.

The copies are made by the real paths: ingest, the alert pass (an episode quoting the top comments, a
liked-negative notice), the reply queue (its card, an escalation into a playbook run, a draft), and
`/sentiment fix`. A second chat channel on Slack, whose adapter is not enabled here, keeps its messages
pending in the outbox: the purge must redact those, not drop them. Afterwards no row of any table may
hold the person's id, name, comment ids or texts, while everyone else's data and the team's messages stay.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from bot.alerts.models import AlertEpisode, RiskNotice
from bot.app import build_app
from bot.config import parse_config
from bot.redaction import REDACTED
from bot.replies.models import ReplyQueueItem
from bot.retention import purge_author
from bot.storage.model_modules import import_all_models
from bot.storage.models import Comment, OutboxMessage
from tests.integration.alerts.test_alert_service import comment, live, load_history, tick

CONFIG = {
    "timezone": "Asia/Shanghai",
    "clients": [{"id": "lanji", "name": "澜肌护肤"}],
    "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店", "client": "lanji"}],
    # slack:C1 has no enabled adapter in tests: what is sent there stays pending in the outbox
    "channels": [{"id": "console:lanji", "client": "lanji"}, {"id": "slack:C1", "client": "lanji"}],
}

VICTIM = "victim-7f3a"
VICTIM_NAME = "王小受Wxs"
# Long enough that every renderer cuts it short (alerts at 80, the reply queue at 140, a run title at 30).
VICTIM_LONG = ("用了这款面霜第三天整张脸过敏红肿刺痛，去医院花了八百多块钱，客服一直推脱说是我自己皮肤问题，"
               "不给退款还把我拉黑了，真的太恶心了，大家千万别买，垃圾产品垃圾客服，烂脸了谁负责？"
               "我要去消协投诉，已经截图保存所有聊天记录，这种黑心商家就该被曝光，太差了再也不买了！！")
VICTIM_SHORT = "烂脸三周了客服装死"
OTHER = "other-person-1"
OTHER_TEXT = "面霜用完起疹子了，退款流程太慢，太差了"
MENTION = f"@{VICTIM_NAME} 说得对，我也烂脸了，垃圾产品"


def _record(comment_id, author, name, text, at, likes):
    return {**comment(at, text=text, likes=likes), "comment_id": comment_id, "author_id": author, "author_name": name}


def _all_rows_as_text(db) -> dict[str, str]:
    import_all_models()
    out = {}
    with db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = session.execute(sa_select(table)).mappings().all()
            out[table.name] = json.dumps([dict(r) for r in rows], ensure_ascii=False, default=str)
    return out


def _traces(db) -> list[tuple[str, str]]:
    fragments = [VICTIM, VICTIM_NAME, "vic-long", "vic-short", VICTIM_SHORT,
                 VICTIM_LONG[:12], VICTIM_LONG[40:60], VICTIM_LONG[-20:]]
    return [(table, f) for table, text in _all_rows_as_text(db).items() for f in fragments if f in text]


def test_purge_author_removes_every_copy_of_their_comments(db, settings, clock):
    app = build_app(settings, parse_config(CONFIG, source="test"), clock=clock, db=db, upgrade=False)
    try:
        _make_copies(app, db, clock)
        before = _all_rows_as_text(db)
        assert any(VICTIM_LONG[:12] in text for name, text in before.items() if name != "comment")

        counts = purge_author(db, "douyin", VICTIM, now=clock.now())

        assert _traces(db) == []
        assert counts["comments"] == 2 and counts["dead_letters"] == 1
        assert counts["reply_items"] == 2 and counts["reply_drafts"] == 1 and counts["reply_events"] >= 1
        assert counts["corrections"] == 1
        assert counts["alert_episodes"] >= 1 and counts["risk_notices"] >= 1
        assert counts["outbox_contents"] >= 3  # the queue card, the correction, the alert in console:lanji
        assert counts["outbox_redacted"] >= 2  # the alert and the notice waiting for slack:C1
        assert counts["playbook_runs"] == 1 and counts["playbook_timeline"] == 1
        _others_remain(db, before)
        # done once: a second request finds nothing more to do
        again = purge_author(db, "douyin", VICTIM, now=clock.now())
        assert set(again.values()) == {0}
    finally:
        app.stop()


def _make_copies(app, db, clock) -> None:
    from bot.messages import Command

    load_history(app, clock)
    live(app, clock, 20)
    now = clock.now()
    app.services.ingest.ingest_records([
        _record("vic-long", VICTIM, VICTIM_NAME, VICTIM_LONG, now, 900),
        _record("other-1", OTHER, "路人甲", OTHER_TEXT, now, 700),
        _record("vic-short", VICTIM, VICTIM_NAME, VICTIM_SHORT, now - timedelta(minutes=1), 3),
        # someone else naming them: quoted by the alert beside theirs
        _record("other-2", "other-person-2", "路人乙", MENTION, now, 600),
    ], source="test")
    # a rejected record naming them
    app.services.ingest.ingest_records([{"platform": "douyin", "author_id": VICTIM, "text": "x"}], source="test")
    live(app, clock, 15, per_minute=12)  # the pile-on: the alert fires and quotes the most-liked comments
    with db.session() as session:
        episode = session.exec(select(AlertEpisode)).first()
        notice = session.exec(select(RiskNotice).where(RiskNotice.kind == "liked")).first()
    assert episode is not None and "vic-long" in json.dumps(episode.stats), "the alert quotes their comment"
    assert MENTION in [c.get("text") for c in episode.stats["top_comments"]], "and someone else's naming them"
    assert notice is not None and "vic-long" in notice.comment_ids

    counter = iter(range(1, 1000))

    def run(text: str):
        replies = app.dispatcher.handle(Command("console", "console:lanji", "console:alice", text, user_name="alice",
                                                event_id=f"purge-{next(counter)}"))
        app.services.outbox.drain()
        return replies

    with db.session() as session:
        items = {i.comment_id: i.id for i in session.exec(select(ReplyQueueItem))}
    run("/reply-queue")  # the queue card quotes them
    run(f"/reply-queue escalate {items['vic-long']} 批次问题")  # a playbook run titled with their words
    run(f"/reply-queue escalate {items['other-1']}")  # the team's note about someone else stays
    run(f'/reply-queue done {items["vic-short"]} "{VICTIM_NAME}您好，非常抱歉，已私信您处理"')
    run("/sentiment fix douyin:vic-short neg")
    tick(app)


def _others_remain(db, before: dict[str, str]) -> None:
    with db.session() as session:
        others = session.exec(select(Comment).where(Comment.comment_id == "other-1")).one()
        assert others.author_name == "路人甲" and others.text == OTHER_TEXT
        assert session.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == "other-1")).one()
        episode = session.exec(select(AlertEpisode)).first()
        assert "other-1" in [c.get("comment_id") for c in episode.stats["top_comments"]]
        # someone else's comment naming them stays in the alert (and the comment table) without their name
        assert f"@{REDACTED} 说得对，我也烂脸了，垃圾产品" in [c.get("text") for c in episode.stats["top_comments"]]
        mention = session.exec(select(Comment).where(Comment.comment_id == "other-2")).one()
        assert mention.text == f"@{REDACTED} 说得对，我也烂脸了，垃圾产品" and mention.author_name == "路人乙"
        notice = session.exec(select(RiskNotice).where(RiskNotice.kind == "liked")).first()
        assert notice.comment_ids == ["other-1", "other-2"]
        assert [e["text"] for e in notice.examples] == [OTHER_TEXT, f"@{REDACTED} 说得对，我也烂脸了，垃圾产品"]
        messages = session.exec(select(OutboxMessage)).all()
    # every message the team was sent or will be sent is still there; pending ones keep their content
    assert len(messages) == len(json.loads(before["outbox_message"]))
    pending = [m for m in messages if m.status == "pending"]
    assert pending and all(m.payload.get("text") for m in pending)
    redacted = [m for m in pending if REDACTED in json.dumps(m.payload, ensure_ascii=False)]
    assert redacted and any(OTHER_TEXT in json.dumps(m.payload, ensure_ascii=False) for m in redacted)
    assert "douyin:other-1" in _all_rows_as_text(db)["crisis_timeline"]  # the note about someone else stays
