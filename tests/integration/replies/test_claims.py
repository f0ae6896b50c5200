"""Exclusive claims: races between threads on SQLite and PostgreSQL, expiry with a moved clock, --mine."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.replies.models import ReplyDraft, ReplyEvent, ReplyQueueItem

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
    assert f"没有编号为 #{target} 的评论" in reply.text and "lanji" not in reply.text
    with db.session() as s:
        assert s.get(ReplyQueueItem, target).claimed_by is None


def test_another_clients_item_is_answered_as_if_it_did_not_exist(make_bot, db, clock):
    """`/reply-queue claim #727` on another client's item answered "本频道不能处理账号 bilibili:xiaochu_kitchen":
    it told the channel whose account the number belonged to. Every item subcommand and button now gives the
    answer of a number that does not exist."""
    bot = make_bot(replies={"approval": {"accounts": ["bilibili:xiaochu_kitchen"]}})
    bot.services.ingest.ingest_records([rec("x", ago(clock, 10), "能做红烧肉吗", platform="bilibili",
                                            account_id="xiaochu_kitchen")], source="test")
    foreign = item_id(db, "x")
    bot.dispatcher.handle(cmd(f'/reply-queue done {foreign} "可以的，视频里有做法"', channel="console:xiaochu"))
    missing = foreign + 500

    def answer(text: str, number: int, channel: str = "console:lanji") -> str:
        replies = bot.dispatcher.handle(cmd(text.format(n=number), channel=channel))
        return "\n".join(r.text for r in replies).replace(str(number), "N")

    for sub in ("claim #{n}", "release {n}", "done {n}", 'done {n} "您好"', "skip {n} 广告", "escalate {n}",
                "suggest {n}", "save-template 名字 \"您好\" --item {n}"):
        text = "/reply-queue " + sub
        got, expected = answer(text, foreign), answer(text, missing)
        assert got == expected, (sub, got, expected)
        assert "xiaochu" not in got and "bilibili" not in got and "权限" not in got, (sub, got)
    with db.session() as s:
        draft = s.exec(select(ReplyDraft.id)).one()  # the other client's reply awaiting approval
    for sub in ("approve {n}", "reject {n} 不行"):
        got, expected = answer("/reply-queue " + sub, draft), answer("/reply-queue " + sub, draft + 500)
        assert got == expected and "xiaochu" not in got, (sub, got, expected)
    for verb, number in (("claim", foreign), ("done", foreign), ("skip", foreign), ("escalate", foreign),
                         ("suggest", foreign), ("approve", draft), ("reject", draft)):
        got = [r.text for r in bot.dispatcher.handle(press(f"reply.{verb}:{number}", str(number)))]
        expected = [r.text for r in bot.dispatcher.handle(press(f"reply.{verb}:{number + 500}", str(number + 500)))]
        assert [t.replace(str(number), "N") for t in got] == [t.replace(str(number + 500), "N") for t in expected], verb
    with db.session() as s:
        assert s.get(ReplyQueueItem, foreign).state == "pending_approval"  # nothing was done to it


def test_claim_of_a_handled_item_says_so(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = item_id(db, "q")
    rq_bot.dispatcher.handle(cmd(f"/reply-queue done {target}"))
    (reply,) = rq_bot.dispatcher.handle(press(f"reply.claim:{target}", str(target), user="console:bob", name="bob"))
    assert "已处理" in reply.text and "alice" in reply.text


def _claim_in_another_process(args: tuple) -> tuple[bool, str | None]:
    """Runs in a spawned process: its own engine and service on the same database."""
    url, schema, target, user, now, barrier = args
    from bot.clock import FakeClock
    from bot.config import parse_config
    from bot.outbox import Outbox
    from bot.replies.precheck import Prechecker
    from bot.replies.service import ReplyQueueService
    from bot.replies.templates import TemplateLibrary
    from bot.replies.wiring import find_list_file
    from bot.scope import ChannelScope
    from bot.storage.db import Database
    from tests.conftest import TEST_CONFIG

    database = Database(url, schema=schema)
    config = parse_config(TEST_CONFIG, source="tests")
    clock = FakeClock(now)
    service = ReplyQueueService(
        db=database, clock=clock, app_config=config, scope=ChannelScope(config), outbox=Outbox(database, clock),
        prechecker=Prechecker.from_file(find_list_file("precheck.yaml", None)),
        templates=TemplateLibrary.from_file(find_list_file("reply_templates.yaml", None)),
    )
    database.ping()  # connect before the start line so the race is about the claim itself
    barrier.wait()
    try:
        result = service.claim(target, user=user, user_name=user, channel="console:lanji")
        return result.ok, result.holder
    finally:
        database.dispose()


@pytest.mark.slow
def test_claim_race_between_processes(rq_bot, db, clock):
    import multiprocessing

    rq_bot.services.ingest.ingest_records([rec("hot", ago(clock, 10), "用了过敏")], source="test")
    target = item_id(db, "hot")
    context = multiprocessing.get_context("spawn")
    contenders = 4
    with context.Manager() as manager:
        barrier = manager.Barrier(contenders)
        with context.Pool(contenders) as pool:
            results = pool.map(_claim_in_another_process, [
                (db.url, db.schema, target, f"console:p{n}", clock.now(), barrier) for n in range(contenders)
            ])
    winners = [holder for ok, holder in results if ok]
    assert len(winners) == 1
    assert all(holder == winners[0] for _, holder in results)


@pytest.mark.parametrize("line", ["/reply-queue done {id}", '/reply-queue done {id} "您好，请私信我们"',
                                  "/reply-queue skip {id} 重复"])
def test_a_claim_taken_just_before_a_reply_lands_wins(rq_bot, db, clock, line):
    """alice claims between the check of bob's 已回复/跳过 and its write: bob is told alice has it, and the
    item stays hers (two responders never both act on one comment)."""
    from sqlalchemy import event

    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = item_id(db, "q")
    service = rq_bot.services.replies
    armed = [True]

    def claim_first(conn, cursor, statement, parameters, context, executemany):
        if armed[0] and statement.lstrip().upper().startswith("UPDATE REPLY_QUEUE_ITEM SET STATE"):
            armed[0] = False
            turns = db.write_turns  # SQLite: bob's UPDATE has just taken this process's write turn; alice's
            if turns is not None:   # claim would wait out its 30 s timeout (twice) before going ahead
                turns.give_back(conn.info)
            assert service.claim(target, user="console:alice", user_name="alice", channel="console:lanji").ok
            if turns is not None:
                turns.take(conn.info)

    event.listen(db.engine, "before_cursor_execute", claim_first)
    try:
        (reply,) = rq_bot.dispatcher.handle(cmd(line.format(id=target), user="console:bob", name="bob"))
    finally:
        event.remove(db.engine, "before_cursor_execute", claim_first)
    assert not armed[0]  # the claim did come in between
    assert "alice" in reply.text
    with db.session() as s:
        row = s.exec(select(ReplyQueueItem).where(ReplyQueueItem.id == target)).one()
    assert (row.state, row.claimed_by) == ("open", "console:alice")
