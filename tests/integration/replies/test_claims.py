"""Exclusive claims: races between threads on SQLite and PostgreSQL, expiry with a moved clock, --mine."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import select

from bot.replies.models import ReplyEvent, ReplyQueueItem

from .conftest import ago, cmd, press, rec


def item_id(db, comment_id: str) -> int:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == comment_id)).one()


def test_claim_race_between_threads_has_one_winner(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("hot", ago(clock, 10), "用了过敏")], source="test")
    target = item_id(db, "hot")
    service = rq_bot.services.replies
    contenders = 8
    barrier = threading.Barrier(contenders)
    results = [None] * contenders

    def contend(n: int) -> None:
        barrier.wait()
        results[n] = service.claim(target, user=f"console:u{n}", user_name=f"u{n}", channel="console:lanji")

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [r for r in results if r.ok]
    assert len(winners) == 1
    winner = winners[0].holder
    # Every loser is told who holds it.
    assert all(r.holder == winner for r in results if not r.ok)
    with db.session() as s:
        claims = s.exec(select(ReplyEvent).where(ReplyEvent.kind == "claimed")).all()
    assert [c.actor for c in claims] == [winner]


def test_loser_of_a_claim_is_told_who_has_it_in_chat(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = item_id(db, "q")
    (won,) = rq_bot.dispatcher.handle(press(f"reply.claim:{target}", str(target)))
    assert "alice 认领了" in won.text
    (lost,) = rq_bot.dispatcher.handle(press(f"reply.claim:{target}", str(target), user="console:bob", name="bob"))
    assert "已被 alice 认领" in lost.text and "claimed by alice" in lost.text
    # bob cannot mark it replied or skip it while alice holds it.
    (refused,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue done #{target}", user="console:bob", name="bob"))
    assert "alice" in refused.text
    (refused,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue skip {target} 重复", user="console:bob", name="bob"))
    assert "alice" in refused.text


def test_claim_expires_with_the_clock(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = item_id(db, "q")
    service = rq_bot.services.replies
    assert service.claim(target, user="console:alice", user_name="alice", channel="console:lanji").ok
    clock.advance(timedelta(minutes=14))
    assert not service.claim(target, user="console:bob", user_name="bob", channel="console:lanji").ok
    clock.advance(timedelta(minutes=2))  # past the default 15 minutes
    result = service.claim(target, user="console:bob", user_name="bob", channel="console:lanji")
    assert result.ok and result.expires_at == clock.now() + timedelta(minutes=15)


def test_claim_minutes_from_config(make_bot, db, clock):
    bot = make_bot(replies={"claim_minutes": 3})
    bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    result = bot.services.replies.claim(item_id(db, "q"), user="console:a", user_name="a", channel="console:lanji")
    assert result.expires_at == clock.now() + timedelta(minutes=3)


def test_mine_lists_only_my_live_claims(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec(f"c{i}", ago(clock, 10 + i)) for i in range(4)], source="test")
    service = rq_bot.services.replies
    service.claim(item_id(db, "c1"), user="console:alice", user_name="alice", channel="console:lanji")
    service.claim(item_id(db, "c2"), user="console:alice", user_name="alice", channel="console:lanji")
    service.claim(item_id(db, "c3"), user="console:bob", user_name="bob", channel="console:lanji")
    (mine,) = rq_bot.dispatcher.handle(cmd("/reply-queue --mine"))
    assert len(mine.sections) == 2 and all("你 / you" in s.text for s in mine.sections)
    (everyone,) = rq_bot.dispatcher.handle(cmd("/reply-queue --limit 10"))
    assert len(everyone.sections) == 4 and any("bob 认领中" in s.text for s in everyone.sections)
    clock.advance(timedelta(minutes=16))
    (mine,) = rq_bot.dispatcher.handle(cmd("/reply-queue --mine"))
    assert not mine.sections


def test_claiming_another_clients_item_is_refused(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = item_id(db, "q")
    (reply,) = rq_bot.dispatcher.handle(press(f"reply.claim:{target}", str(target), channel="console:xiaochu"))
    assert "没有权限" in reply.text


def test_claim_of_a_handled_item_says_so(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = item_id(db, "q")
    rq_bot.dispatcher.handle(cmd(f"/reply-queue done {target}"))
    (reply,) = rq_bot.dispatcher.handle(press(f"reply.claim:{target}", str(target), user="console:bob", name="bob"))
    assert "已处理" in reply.text and "alice" in reply.text
