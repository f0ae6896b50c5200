"""Comments older than `replies.history_after_hours` when they first arrive are history, not queue items.

Importing last month's export used to put every unanswered old comment into the reply queue with its
deadline long past: the team saw hundreds of "overdue by weeks" items, reminders about them, and SLA
figures ruined by comments nobody could still act on. Such comments are now stored and scored as usual
(alerts, sentiment, reports see them) but kept as history: not listed, no deadline, no reminders, not in
the SLA figures; the import can say how many.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.messages import Command
from bot.replies.models import ReplyQueueItem
from bot.storage.models import Comment

from .conftest import ago, own, rec

_events = itertools.count(1)


@pytest.fixture
def rq_bot(make_bot):
    """The setting is off by default (a fixture history must count in the SLA figures); these tests turn it on."""
    return make_bot(replies={"history_after_hours": 72})


def states(db) -> dict[str, str]:
    with db.session() as s:
        return {i.comment_id: i.state for i in s.exec(select(ReplyQueueItem)).all()}


def item_id(db, comment_id: str) -> int:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == comment_id)).one()


def _ask(bot, text: str):
    return bot.dispatcher.handle(Command("console", "console:lanji", "console:alice", text, user_name="alice",
                                         event_id=f"h-{next(_events)}"))


def last_month(clock, n: int = 40) -> list[dict]:
    """An export of last month's comments: complaints and questions, none answered."""
    return [rec(f"old{i}", clock.now() - timedelta(days=30, hours=i), "用了过敏，要投诉" if i % 3 == 0 else "请问敏感肌能用吗")
            for i in range(n)]


def test_an_imported_month_of_comments_does_not_flood_the_queue(rq_bot, db, clock):
    service = rq_bot.services.replies
    mark = service.history_mark()
    rq_bot.services.ingest.ingest_records(last_month(clock) + [rec("fresh", ago(clock, 10), "用了过敏")], source="file")

    got = states(db)
    assert got.pop("fresh") == "open"
    assert set(got.values()) == {"history"} and len(got) == 40
    with db.session() as s:  # stored and scored like any comment
        old = s.exec(select(Comment).where(Comment.comment_id == "old0")).one()
    assert old.sentiment_label == "neg"

    entries = service.list_queue(channel="console:lanji", user="console:alice", limit=50)
    assert [e.comment.comment_id for e in entries] == ["fresh"]
    assert service.list_queue(channel="console:lanji", user="console:alice", overdue=True) == []
    (answer,) = _ask(rq_bot, "/reply-queue --overdue")
    assert "没有待回复的评论" in answer.text
    assert "另有 40 条评论到达时已写于 72 小时之前，存为历史" in answer.text  # why the queue looks empty

    clock.advance(timedelta(hours=2))  # "fresh" is overdue now; the old ones never are
    assert service.overdue_reminders() == 1
    rq_bot.services.outbox.drain()
    (reminder,) = [m for m in rq_bot.console.messages("lanji") if (m.title or "").startswith("⏰")]
    assert "有 1 条评论超过回复时限" in reminder.text

    stats = service.stats(channel="console:lanji", since=clock.now() - timedelta(days=60))
    assert (stats.open, stats.overdue, stats.history) == (1, 1, 40)
    assert (stats.sla_met, stats.sla_total) == (0, 1)  # only "fresh" counts against the deadline
    (reply,) = _ask(rq_bot, "/reply-queue stats --since 60d")
    assert {f.label: f.value for f in reply.fields}["历史评论（不计时限）History, no SLA"] == "40"

    line = service.history_line(mark)
    assert line is not None and "40 条" in line and "72 小时" in line and "older than 72 h" in line
    assert service.history_line(service.history_mark()) is None  # nothing since


def test_the_cutoff_is_the_configured_age_and_null_queues_everything(make_bot, db, clock):
    bot = make_bot(replies={"history_after_hours": 24})
    bot.services.ingest.ingest_records([rec("day_and_a_half", ago(clock, 36 * 60)), rec("half_day", ago(clock, 12 * 60))],
                                       source="file")
    assert states(db) == {"day_and_a_half": "history", "half_day": "open"}

    everything = make_bot(replies={"history_after_hours": None})
    everything.services.ingest.ingest_records([rec("ancient", clock.now() - timedelta(days=300))], source="file")
    assert states(db)["ancient"] == "open"


def test_a_redelivery_never_moves_an_item_in_or_out_of_the_queue(rq_bot, db, clock):
    ingest = rq_bot.services.ingest
    ingest.ingest_records([rec("old", clock.now() - timedelta(days=10)), rec("live", ago(clock, 5))], source="file")
    clock.advance(timedelta(days=5))  # "live" is 5 days old now, but it was queued when it arrived
    ingest.ingest_records([rec("old", clock.now() - timedelta(days=15), like_count=500),
                           rec("live", clock.now() - timedelta(days=5), like_count=500)], source="webhook")
    assert states(db) == {"old": "history", "live": "open"}


def test_our_own_reply_in_an_import_still_closes_the_threads_that_were_queued(rq_bot, db, clock):
    ingest = rq_bot.services.ingest
    ingest.ingest_records([rec("q", ago(clock, 30))], source="webhook")
    clock.advance(timedelta(days=4))
    # A later export holds an old comment, our old answer to it, and our answer to "q".
    ingest.ingest_records([rec("old", clock.now() - timedelta(days=20)),
                           own("old1", clock.now() - timedelta(days=20, minutes=-30), "old"),
                           own("q1", clock.now() - timedelta(days=3), "q")], source="file")
    assert states(db) == {"q": "answered", "old": "history"}


def test_acting_on_a_history_item_says_it_is_history(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("old", clock.now() - timedelta(days=30), "用了过敏")], source="file")
    number = item_id(db, "old")
    for text in (f"/reply-queue claim {number}", f"/reply-queue done {number}", f"/reply-queue skip {number} 太久了"):
        (answer,) = _ask(rq_bot, text)
        assert "历史评论" in answer.text and "not in the reply queue" in answer.text, (text, answer.text)
    assert states(db) == {"old": "history"}


def test_the_backfill_of_an_existing_database_keeps_old_comments_as_history(make_bot, db, clock):
    """A database that had comments before the queue existed: the rebuild does not queue last year."""
    bot = make_bot(replies={"history_after_hours": 72})
    bot.services.ingest.ingest_records([rec("old", clock.now() - timedelta(days=300)), rec("new", ago(clock, 20))],
                                       source="file")
    with db.session() as s:
        for row in s.exec(select(ReplyQueueItem)).all():
            s.delete(row)
    assert bot.services.replies.rebuild() == 2
    assert states(db) == {"old": "history", "new": "open"}


def test_the_import_summary_says_how_many_comments_were_kept_out_of_the_queue(tmp_path):
    """`crisisbot ingest` of last month's export: the summary names the comments kept as history."""
    import io
    import json
    from datetime import UTC, datetime

    from rich.console import Console

    from bot.config import Settings, parse_config
    from bot.importer import import_files
    from tests.conftest import TEST_CONFIG

    old = datetime.now(UTC) - timedelta(days=30)
    lines = [json.dumps(rec(f"old{n}", old + timedelta(minutes=n), "怎么还没发货")) for n in range(5)]
    feed = tmp_path / "export.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'bot.db'}")  # type: ignore[call-arg]
    out = io.StringIO()
    config = parse_config({**TEST_CONFIG, "replies": {"history_after_hours": 72}}, source="tests")
    assert import_files(settings, config, [feed], console=Console(file=out, width=200)) == 0
    assert "5 条评论写于 72 小时之前，已存为历史" in out.getvalue()
    out = io.StringIO()  # the same file again: nothing new kept out, no line
    assert import_files(settings, config, [feed], console=Console(file=out, width=200)) == 0
    assert "已存为历史" not in out.getvalue()
