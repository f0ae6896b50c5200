"""Unanswered detection from threads, priority order, scope, and the /reply-queue listing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.replies.models import ReplyQueueItem

from .conftest import ago, cmd, own, rec


def states(db) -> dict[str, str]:
    with db.session() as s:
        return {i.comment_id: i.state for i in s.exec(select(ReplyQueueItem)).all()}


def test_unanswered_detection_from_threads(rq_bot, db, clock):
    ingest = rq_bot.services.ingest
    ingest.ingest_records([
        rec("a", ago(clock, 50)),                                   # top-level, never answered
        rec("b", ago(clock, 40)),                                   # answered by us below
        rec("b1", ago(clock, 35), "同问", parent_id="b"),           # a user reply: not addressed to us
        own("b2", ago(clock, 30), "b"),                             # our reply closes b
        rec("b3", ago(clock, 20), "还是没解决啊", parent_id="b"),    # after our reply, in a thread we joined?
        rec("c", ago(clock, 25)),
        own("c1", ago(clock, 20), "c"),
        rec("c2", ago(clock, 10), "@澜肌官方旗舰店 私信了没人回", parent_id="c"),  # addressed by @name
        own("p", ago(clock, 60), None, "新品今晚首发"),             # our own top-level post
        rec("p1", ago(clock, 5), "几点开始？", parent_id="p"),       # a reply to our post: addressed to us
    ], source="test")
    got = states(db)
    assert got["a"] == "open"
    assert got["b"] == "answered"
    assert "b1" not in got and "b2" not in got and "p" not in got and "c1" not in got
    assert got["c"] == "answered"
    assert got["c2"] == "open"      # written after our reply: still waits
    assert got["p1"] == "open"
    assert "b3" not in got          # not addressed to us


def test_our_later_reply_removes_the_item_and_out_of_order_feeds_work(rq_bot, db, clock):
    ingest = rq_bot.services.ingest
    ingest.ingest_records([rec("x", ago(clock, 30))], source="test")
    assert states(db)["x"] == "open"
    ingest.ingest_records([own("x1", ago(clock, 5), "x")], source="test")
    assert states(db)["x"] == "answered"
    # Our reply arrives before the comment it answers.
    ingest.ingest_records([own("y1", ago(clock, 5), "y")], source="test")
    ingest.ingest_records([rec("y", ago(clock, 30))], source="test")
    assert states(db)["y"] == "answered"
    with db.session() as s:
        item = s.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == "x")).one()
    assert item.responder == "account"
    assert item.first_response_at == clock.now() - timedelta(minutes=5)


def test_priority_order_and_likes_growing(rq_bot, clock):
    ingest = rq_bot.services.ingest
    ingest.ingest_records([
        rec("praise", ago(clock, 5), "好用，回购了"),
        rec("question", ago(clock, 5), "几点开播"),
        rec("angry", ago(clock, 5), "用了过敏烂脸，已经打12315投诉了", like_count=800, author_followers=50000),
        rec("old", ago(clock, 300), "几点开播呀"),
    ], source="test")
    service = rq_bot.services.replies
    order = [e.item.comment_id for e in service.list_queue(channel="console:lanji", user="console:alice", limit=10)]
    assert order[0] == "angry"
    assert order.index("old") < order.index("question") < order.index("praise")
    # A re-delivered comment with many more likes moves up.
    ingest.ingest_records([rec("praise", ago(clock, 5), "好用，回购了", like_count=5000, author_followers=900000)],
                          source="test")
    order = [e.item.comment_id for e in service.list_queue(channel="console:lanji", user="console:alice", limit=10)]
    assert order.index("praise") < order.index("question")


def test_queue_command_shows_items_with_buttons_scoped_to_the_channel(rq_bot, clock):
    rq_bot.services.ingest.ingest_records([
        rec("l1", ago(clock, 200), "用了过敏了，退款！", like_count=42),
        rec("x1", ago(clock, 10), "能做红烧肉吗", platform="bilibili", account_id="xiaochu_kitchen"),
    ], source="test")
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue"))
    assert len(reply.sections) == 1
    section = reply.sections[0]
    assert "用了过敏了" in section.text and "新品面霜" in section.text and "👍 42" in section.text
    assert "逾期" in section.text and "负面" in section.text
    assert [b.label.split()[0] for b in section.buttons] == ["认领", "已回复", "跳过", "升级", "建议回复", "纠正情感"]
    assert all(b.action_id.startswith("reply.") for b in section.buttons[:5])
    assert section.buttons[5].action_id == "sentiment.review"
    (other,) = rq_bot.dispatcher.handle(cmd("/reply-queue", channel="console:xiaochu"))
    assert "红烧肉" in other.sections[0].text and len(other.sections) == 1


def test_account_argument_and_refusal(rq_bot, clock):
    rq_bot.services.ingest.ingest_records([rec("l1", ago(clock, 10))], source="test")
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue lanji_official"))
    assert len(reply.sections) == 1
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue douyin:lanji_official", channel="console:xiaochu"))
    assert "没有权限" in reply.text and not reply.sections
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue nosuch"))
    assert "未知账号" in reply.text


def test_overdue_filter_and_limit(rq_bot, clock):
    rq_bot.services.ingest.ingest_records(
        [rec(f"n{i}", ago(clock, 10 + i), "几点开播") for i in range(6)]
        + [rec("late", ago(clock, 500), "几点开播")], source="test")
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue --overdue"))
    assert len(reply.sections) == 1 and "#" in reply.sections[0].text and "逾期" in reply.sections[0].text
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue --limit 3"))
    assert len(reply.sections) == 3
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue --limit x"))
    assert "用法" in reply.text


def test_sample_feed_builds_a_sensible_queue(rq_bot):
    import json
    from importlib import resources

    lines = resources.files("bot.demo").joinpath("sample_feed.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    report = rq_bot.services.ingest.ingest_records(records, source="demo")
    assert report.rejected == 0
    rq_bot.services.clock.set(rq_bot.services.clock.now().replace(year=2026, month=11, day=22, hour=13, minute=30))
    entries = rq_bot.services.replies.list_queue(channel="console:lanji", user="console:alice", limit=10)
    # The crisis comments (negative, risky, heavily liked) lead lanji's queue.
    assert entries and all(e.item.account_key == "douyin:lanji_official" for e in entries)
    assert entries[0].comment.like_count >= 1000


def test_index_seek_order_equals_scoring_every_item(rq_bot, db, clock):
    """queue_ids reads saturated items per account from the index; it must equal the full scoring."""
    import random

    from bot.replies.models import ReplyQueueItem

    rng = random.Random(3)
    records = []
    for n in range(400):
        account = rng.choice(["lanji_official", "other_a", "other_b"])
        records.append(rec(f"r{n}", ago(clock, rng.choice([1, 20, 70, 200, 250, 600, 5000]) + rng.random()),
                           rng.choice(["好用", "几点开播", "用了过敏", "垃圾，要投诉", "哈哈"]),
                           account_id=account, like_count=rng.choice([0, 0, 3, 3, 50, 2000]),
                           author_followers=rng.choice([0, 10, 10, 5000])))
    rq_bot.services.ingest.ingest_records(records, source="test")
    service = rq_bot.services.replies
    with db.session() as s:  # some pending approvals and closed items too
        ids = s.exec(select(ReplyQueueItem.id)).all()
        for item_id in ids[::17]:
            s.get(ReplyQueueItem, item_id).state = "pending_approval"
        for item_id in ids[5::13]:
            s.get(ReplyQueueItem, item_id).state = "answered"
    keys_options = [["douyin:lanji_official"], ["douyin:lanji_official", "douyin:other_a", "douyin:other_b"]]
    for keys in keys_options:
        for overdue in (False, True):
            for limit in (1, 5, 20, 200):
                seek = service.queue_ids(keys, user="console:x", overdue=overdue, limit=limit)
                scan = service._queue_ids_scan(keys, user="console:x", mine=False, overdue=overdue, limit=limit,
                                               now=clock.now())
                assert [i for i, _ in seek] == [i for i, _ in scan], (keys, overdue, limit)
                assert seek and all(abs(a - b) < 1e-6 for (_, a), (_, b) in zip(seek, scan, strict=True))


def test_backfill_builds_the_queue_from_comments_stored_before(make_bot, db, clock):
    from bot.feeds.ingest import IngestService
    from bot.replies.wiring import build_service
    from bot.sentiment.base import NeutralScorer

    # Comments stored by an ingest path without the reply queue listening (as before the migration).
    IngestService(db, clock, NeutralScorer).ingest_records(
        [rec("a", ago(clock, 30)), rec("b", ago(clock, 20)), own("b1", ago(clock, 10), "b")], source="old")
    bot = make_bot()
    service = build_service(bot.services)
    assert service.backfill_bound() is not None
    assert service.rebuild(up_to_id=service.backfill_bound()) == 3
    assert states(db) == {"a": "open", "b": "answered"}
    assert service.backfill_bound() is None  # not again once the queue has items


def test_a_sentiment_correction_moves_the_item_to_the_negative_sla_and_back(rq_bot, db, clock):
    """/sentiment fix relabelled the comment but its queue item kept the old priority and deadline: a comment a
    person marked negative was neither urgent nor overdue past the 30-minute SLA of negative comments."""
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 45), "这个颜色也太那个了吧")], source="test")

    def row() -> ReplyQueueItem:
        with db.session() as s:
            return s.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == "q")).one()

    before = row()
    assert before.sla_seconds == 120 * 60 and not before.urgent
    (overdue,) = rq_bot.dispatcher.handle(cmd("/reply-queue --overdue"))
    assert not overdue.sections
    (fixed,) = rq_bot.dispatcher.handle(cmd("/sentiment fix douyin:q neg"))
    assert "更正" in fixed.title
    after = row()
    assert after.sla_seconds == 30 * 60 and after.urgent and after.static_score > before.static_score
    (overdue,) = rq_bot.dispatcher.handle(cmd("/reply-queue --overdue"))
    assert [f"#{after.id}" in s.text for s in overdue.sections] == [True]
    rq_bot.dispatcher.handle(cmd("/sentiment fix douyin:q pos"))
    back = row()
    assert back.sla_seconds == 120 * 60 and not back.urgent and back.static_score < after.static_score


def test_a_limit_above_the_maximum_is_capped_and_says_so(make_bot, db, clock):
    bot = make_bot(replies={"max_limit": 2})
    bot.services.ingest.ingest_records([rec(f"q{i}", ago(clock, 10 + i)) for i in range(3)], source="test")
    (answer,) = bot.dispatcher.handle(cmd("/reply-queue --limit 100"))
    assert len(answer.sections) == 2
    assert "最多 2 条" in answer.text and "at most 2" in answer.text
    (plain,) = bot.dispatcher.handle(cmd("/reply-queue --limit 2"))
    assert "最多" not in plain.text
