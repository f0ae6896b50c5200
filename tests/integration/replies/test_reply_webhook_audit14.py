"""The reply webhook seen from the receiver's side: what a scripted loopback receiver answers (Retry-After in
either form, a huge body, a refusal with a reason) and how typed and suggested replies reach it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from bot.replies.models import ReplyDraft, ReplyQueueItem
from bot.storage.models import OutboxMessage

from .conftest import ago, cmd, press, rec


class ScriptedReceiver:
    """A loopback stand-in for a team's reply bridge: each POST gets the next scripted (status, headers, body),
    else 200 with a reply id. `finished_writes` counts answers written out in full."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.finished_writes = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append({"headers": dict(self.headers), "json": json.loads(body)})
                status, headers, payload = outer.answers.pop(0) if outer.answers else (
                    200, {"Content-Type": "application/json"}, b'{"reply_id": "r1"}')
                if "Date" in headers:  # the scripted Date replaces the server's own
                    self.send_response_only(status)
                else:
                    self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                    self.wfile.flush()
                    outer.finished_writes += 1
                except OSError:  # the bot stopped reading and closed the connection
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/replies"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()  # waits for the handler threads


@pytest.fixture
def receiver() -> Iterator[ScriptedReceiver]:
    server = ScriptedReceiver()
    yield server
    server.close()


def item(db, comment_id: str) -> ReplyQueueItem:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == comment_id)).one()


def reply_row(db) -> OutboxMessage:
    with db.session() as s:
        return s.exec(select(OutboxMessage).where(OutboxMessage.key.startswith("reply-post:"))).one()


def bot_with_a_comment(make_bot, clock, receiver):
    bot = make_bot(replies={"posting": {"webhook_url": receiver.url}})
    bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    return bot


def replied(make_bot, db, clock, receiver, text: str = "您好，请私信我们订单号"):
    bot = bot_with_a_comment(make_bot, clock, receiver)
    bot.dispatcher.handle(cmd(f'/reply-queue done {item(db, "q").id} "{text}"'))
    return bot


@pytest.mark.parametrize("retry_after", ["inf", "1e20"])
def test_an_absurd_retry_after_waits_the_longest_allowed_instead_of_crashing_the_outbox(
        make_bot, db, clock, receiver, retry_after):
    """It reached the outbox's timedelta as infinity: OverflowError ended the delivery round, the reply stayed
    unsent without a recorded attempt, and every later message behind it waited too."""
    bot = replied(make_bot, db, clock, receiver)
    receiver.answers = [(429, {"Retry-After": retry_after}, b"")]
    bot.services.outbox.drain()
    row = reply_row(db)
    assert row.status == "pending" and row.attempts == 1
    assert timedelta(minutes=59) <= row.next_attempt_at - clock.now() <= timedelta(hours=1, seconds=1)
    assert any("正在发布" in m.text for m in bot.console.messages("lanji"))  # the rest of the round went out
    clock.advance(timedelta(hours=1, seconds=1))
    bot.services.outbox.drain()
    assert reply_row(db).status == "sent" and len(receiver.requests) == 2
    assert receiver.requests[0]["json"]["idempotency_key"] == receiver.requests[1]["json"]["idempotency_key"]


def test_a_retry_after_date_is_honoured(make_bot, db, clock, receiver):
    """RFC 9110 allows an HTTP-date: it was ignored and the reply retried within seconds."""
    bot = replied(make_bot, db, clock, receiver)
    sent = clock.now()
    receiver.answers = [(503, {"Date": format_datetime(sent, usegmt=True),
                               "Retry-After": format_datetime(sent + timedelta(minutes=5), usegmt=True)}, b"")]
    bot.services.outbox.drain()
    row = reply_row(db)
    assert row.status == "pending" and row.next_attempt_at - clock.now() >= timedelta(minutes=5)


def test_a_huge_answer_is_not_read_whole(make_bot, db, clock, receiver):
    """Only the start of the answer matters (status, reply id or reason): a 20 MB error page was read into memory."""
    bot = replied(make_bot, db, clock, receiver)
    receiver.answers = [(400, {"Content-Type": "text/plain"}, b"x" * (20 * 1024 * 1024))]
    bot.services.outbox.drain()
    receiver.close()
    assert receiver.finished_writes == 0  # the bot closed the connection early
    assert item(db, "q").state == "open"
    (notice,) = [m.text for m in bot.console.messages("lanji") if "发布失败" in m.text]
    assert "HTTP 400: xxx" in notice


def test_a_refusal_says_why_shows_the_refused_text_and_how_to_send_it_again(make_bot, db, clock, receiver):
    """The notice showed the receiver's JSON with \\u escapes and neither the refused text nor how to retry."""
    bot = replied(make_bot, db, clock, receiver, text="您好，请私信我们订单号")
    target = item(db, "q").id
    receiver.answers = [(422, {"Content-Type": "application/json"},
                         json.dumps({"error": "评论已被删除"}).encode())]
    bot.services.outbox.drain()
    (notice,) = [m.text for m in bot.console.messages("lanji") if "发布失败" in m.text]
    assert notice.index("发布失败") < notice.index("failed")  # Chinese first
    assert "HTTP 422: 评论已被删除" in notice and "\\u" not in notice
    assert "> 您好，请私信我们订单号" in notice and f'/reply-queue done {target} "新内容"' in notice
    assert item(db, "q").state == "open"
    # and it can be sent again, edited
    bot.dispatcher.handle(cmd(f'/reply-queue done {target} "您好，已私信您"'))
    bot.services.outbox.drain()
    assert receiver.requests[-1]["json"]["text"] == "您好，已私信您"
    assert item(db, "q").state == "replied"


@pytest.mark.parametrize("typed", ['""', '"   "', '"　"'])
def test_a_blank_typed_reply_is_refused_not_recorded_as_replied_by_hand(make_bot, db, clock, receiver, typed):
    bot = bot_with_a_comment(make_bot, clock, receiver)
    target = item(db, "q").id
    (answer,) = bot.dispatcher.handle(cmd(f"/reply-queue done {target} {typed}"))
    assert "回复内容为空" in answer.text and answer.text.index("回复内容为空") < answer.text.index("empty")
    bot.services.outbox.drain()
    assert item(db, "q").state == "open" and receiver.requests == []
    with db.session() as s:
        assert s.exec(select(ReplyDraft)).all() == []
    (by_hand,) = bot.dispatcher.handle(cmd(f"/reply-queue done {target}"))  # no text at all: still by hand
    assert "人工回复" in by_hand.text


def test_using_a_suggestion_with_a_blank_form_posts_the_suggestion(make_bot, db, clock, receiver):
    bot = make_bot(replies={"posting": {"webhook_url": receiver.url}})
    bot.services.ingest.ingest_records([rec("q", ago(clock, 10), "用了面霜过敏了，脸又红又痒", author_name="小鹿")],
                                       source="test")
    target = item(db, "q").id
    (suggested,) = bot.dispatcher.handle(press(f"reply.suggest:{target}", str(target)))
    use = suggested.sections[0].buttons[0]
    (done,) = bot.dispatcher.handle(press(use.action_id, use.value, form={"text": "  "}))
    assert "正在发布" in done.text
    bot.services.outbox.drain()
    (request,) = receiver.requests
    assert "小鹿您好" in request["json"]["text"] and request["json"]["comment_id"] == "q"
    assert item(db, "q").state == "replied"


def test_two_people_replying_at_once_post_one_reply(make_bot, db, clock, receiver):
    """Checked, no fix needed: the closing UPDATE decides; the loser is told, and only one reply is posted."""
    bot = bot_with_a_comment(make_bot, clock, receiver)
    target = item(db, "q").id
    start = threading.Barrier(2)
    answers: dict[str, str] = {}

    def reply(user: str, text: str) -> None:
        start.wait()
        (answer,) = bot.dispatcher.handle(cmd(f'/reply-queue done {target} "{text}"', user=f"console:{user}",
                                              name=user))
        answers[user] = answer.text

    threads = [threading.Thread(target=reply, args=(u, f"您好，我是{u}")) for u in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bot.services.outbox.drain()
    assert len(receiver.requests) == 1
    assert sum("正在发布" in text for text in answers.values()) == 1
    with db.session() as s:
        assert len(s.exec(select(ReplyDraft)).all()) == 1


def test_a_request_timeout_from_the_receiver_is_retried_not_refused(make_bot, db, clock, receiver):
    """408 says the receiver gave up waiting for the request, not that it refuses the reply: it reopened the item."""
    bot = replied(make_bot, db, clock, receiver)
    receiver.answers = [(408, {}, b"")]
    bot.services.outbox.drain()
    assert reply_row(db).status == "pending" and item(db, "q").state == "replied"
    assert not any("发布失败" in m.text for m in bot.console.messages("lanji"))
    clock.advance(timedelta(minutes=5))
    bot.services.outbox.drain()
    assert reply_row(db).status == "sent" and len(receiver.requests) == 2


def test_a_reply_waiting_to_be_posted_is_withdrawn_when_its_commenter_is_purged(make_bot, db, clock, receiver):
    """PIPL: a reply held by a receiver outage went out after `purge --author` had removed the comment, its
    queue item and the draft, naming the comment, with no record of it left."""
    from bot.retention import purge_author

    bot = replied(make_bot, db, clock, receiver)
    receiver.answers = [(503, {}, b"")]
    bot.services.outbox.drain()
    assert reply_row(db).status == "pending" and len(receiver.requests) == 1
    counts = purge_author(db, "douyin", "u-q")
    assert counts["reply_drafts"] == 1 and counts["reply_posts_withdrawn"] == 1
    clock.advance(timedelta(hours=1))
    bot.services.outbox.drain()
    assert len(receiver.requests) == 1  # nothing more went out
    assert reply_row(db).status != "pending"
