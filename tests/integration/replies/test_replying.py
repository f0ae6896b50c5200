"""已回复: recorded by hand, prechecked, approved by a second person, posted through the outbox webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from bot.replies.models import ReplyDraft, ReplyEvent, ReplyQueueItem

from .conftest import ago, cmd, press, rec


class FakeReplyWebhook:
    """A local HTTP server standing in for a team's reply bridge; it records requests and can be scripted."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []  # next answers; 200 when empty
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append({"headers": dict(self.headers), "json": json.loads(body)})
                status = outer.statuses.pop(0) if outer.statuses else 200
                payload = json.dumps({"reply_id": f"r{len(outer.requests)}"} if status == 200 else {"error": "no"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/replies"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[FakeReplyWebhook]:
    server = FakeReplyWebhook()
    yield server
    server.close()


def item_id(db, comment_id: str) -> int:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == comment_id)).one()


def item(db, comment_id: str) -> ReplyQueueItem:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == comment_id)).one()


def replied_through_the_webhook(make_bot, db, webhook, record: dict):
    """A bot that posts replies through `webhook`, `record` ingested and answered with /reply-queue done (the
    reply waiting in the outbox): (bot, the item's id)."""
    bot = make_bot(replies={"posting": {"webhook_url": webhook.url}})
    bot.services.ingest.ingest_records([record], source="test")
    target = item_id(db, record["comment_id"])
    bot.dispatcher.handle(cmd(f'/reply-queue done {target} "您好，请私信我们订单号"'))
    return bot, target


def test_mark_replied_by_hand_without_text(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = item_id(db, "q")
    (reply,) = rq_bot.dispatcher.handle(press(f"reply.done:{target}", str(target)))
    assert "已记录为已回复" in reply.text
    row = item(db, "q")
    assert row.state == "replied" and row.responder == "console:alice" and row.first_response_at == clock.now()
    (queue,) = rq_bot.dispatcher.handle(cmd("/reply-queue"))
    assert not queue.sections


def test_reply_text_with_a_blocking_term_is_stopped_until_edited(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = item_id(db, "q")
    (reply,) = rq_bot.dispatcher.handle(cmd(f'/reply-queue done {target} "我们的面霜是全网最好的，加微信详聊"'))
    assert "未发布" in reply.title and "最" in "".join(s.text for s in reply.sections)
    assert item(db, "q").state == "open"
    with db.session() as s:
        assert s.exec(select(ReplyEvent).where(ReplyEvent.kind == "precheck_blocked")).first() is not None
    (reply,) = rq_bot.dispatcher.handle(cmd(f'/reply-queue done {target} "您好，敏感肌建议先耳后试用哦"'))
    assert "已记录为已回复" in reply.text
    with db.session() as s:
        draft = s.exec(select(ReplyDraft)).one()
    assert draft.status == "recorded" and draft.delivery == "manual" and draft.written_by == "console:alice"


def test_reply_posts_through_the_outbox_to_the_webhook(make_bot, db, clock, webhook, monkeypatch):
    monkeypatch.setenv("CRISISBOT_REPLY_WEBHOOK_SECRET", "s3cret")
    bot = make_bot(replies={"posting": {"webhook_url": webhook.url}})
    bot.services.ingest.ingest_records([rec("q", ago(clock, 10), content_id="v9")], source="test")
    target = item_id(db, "q")
    (reply,) = bot.dispatcher.handle(cmd(f'/reply-queue done {target} "您好，建议先耳后试用哦"'))
    assert "正在发布" in reply.text
    webhook.statuses = [503]
    bot.services.outbox.drain()
    assert len(webhook.requests) == 1
    clock.advance(timedelta(minutes=10))  # past the backoff: the outbox retries
    bot.services.outbox.drain()
    assert len(webhook.requests) == 2
    sent = webhook.requests[-1]
    assert sent["headers"]["Authorization"] == "Bearer s3cret"
    assert sent["json"]["text"] == "您好，建议先耳后试用哦"
    assert sent["json"]["comment_id"] == "q" and sent["json"]["content_id"] == "v9"
    assert sent["json"]["platform"] == "douyin" and sent["json"]["account_id"] == "lanji_official"
    assert sent["headers"]["Idempotency-Key"] == sent["json"]["idempotency_key"]
    with db.session() as s:
        draft = s.exec(select(ReplyDraft)).one()
        kinds = [e.kind for e in s.exec(select(ReplyEvent).order_by(ReplyEvent.id)).all()]
    assert draft.status == "posted" and draft.platform_reply_id == "r2"
    assert kinds[-2:] == ["reply_queued", "posted"]


def test_webhook_refusal_reopens_the_item_and_says_so(make_bot, db, clock, webhook):
    bot, _ = replied_through_the_webhook(make_bot, db, webhook, rec("q", ago(clock, 10)))
    webhook.statuses = [400]
    bot.services.outbox.drain()
    assert item(db, "q").state == "open"
    assert any("发布失败" in m.text for m in bot.console.messages("lanji"))


def test_a_redirecting_webhook_is_no_success_the_item_reopens(make_bot, db, clock, webhook, caplog):
    """A 3xx means the POST was not followed: nothing was posted, so the reply must not be marked posted."""
    bot, _ = replied_through_the_webhook(make_bot, db, webhook, rec("q", ago(clock, 10)))
    webhook.statuses = [301]
    bot.services.outbox.drain()
    # the operator's log line gives the webhook's advice, not the chat ports' "fix the channel mapping"
    refusals = [r.getMessage() for r in caplog.records if "refused a message" in r.getMessage()]
    assert refusals and all("reply webhook refused" in m and "channel mapping" not in m for m in refusals)
    assert len(webhook.requests) == 1
    with db.session() as s:
        draft = s.exec(select(ReplyDraft)).one()
    assert draft.status == "failed" and draft.platform_reply_id is None
    assert item(db, "q").state == "open"
    assert any("发布失败" in m.text and "301" in m.text for m in bot.console.messages("lanji"))


def test_a_reply_the_webhook_keeps_failing_is_announced_once_and_still_posted_later(make_bot, db, clock, webhook):
    """5xx/429 are retried for as long as it takes; the item shows as replied meanwhile, so the channel must
    hear (once) that the reply is not out yet. It heard nothing however long the webhook stayed down."""
    bot, target = replied_through_the_webhook(make_bot, db, webhook, rec("q", ago(clock, 10)))

    def delayed() -> list[str]:
        return [m.text for m in bot.console.messages("lanji") if "仍未发布" in m.text]

    webhook.statuses = [503]
    bot.services.outbox.drain()
    assert delayed() == []  # one failure right away is no news
    for _ in range(3):
        webhook.statuses = [503]
        clock.advance(timedelta(minutes=6))
        bot.services.outbox.drain()
    assert len(webhook.requests) == 4
    (notice,) = delayed()
    assert f"#{target}" in notice and "503" in notice and "继续重试" in notice
    clock.advance(timedelta(minutes=10))
    bot.services.outbox.drain()  # 200 now
    with db.session() as s:
        draft = s.exec(select(ReplyDraft)).one()
    assert draft.status == "posted" and len(delayed()) == 1
    assert item(db, "q").state == "replied"


def test_a_refused_reply_is_not_counted_as_a_response_in_stats(make_bot, db, clock, webhook):
    """The commenter never saw the refused reply: stats must show the item open and late, not answered."""
    bot, _ = replied_through_the_webhook(make_bot, db, webhook, rec("q", ago(clock, 10), "用了过敏了"))
    webhook.statuses = [400]
    bot.services.outbox.drain()
    row = item(db, "q")
    assert row.state == "open" and row.first_response_at is None and row.responder is None
    clock.advance(timedelta(hours=1))  # past the 30-minute SLA of a negative comment, still unanswered
    stats = bot.services.replies.stats(channel="console:lanji", since=clock.now() - timedelta(days=1))
    assert (stats.open, stats.responded, stats.median_first_response) == (1, 0, None)
    assert (stats.sla_met, stats.sla_total) == (0, 1)
    assert stats.per_responder == {}


def test_second_person_with_the_approver_role_must_approve(make_bot, db, clock, webhook):
    bot = make_bot(
        replies={"approval": {"accounts": ["douyin:lanji_official"]}, "posting": {"webhook_url": webhook.url}},
        roles={"approver": ["console:carol"]},
    )
    bot.services.ingest.ingest_records([rec("q", ago(clock, 10), "用了过敏了")], source="test")
    target = item_id(db, "q")
    (request,) = bot.dispatcher.handle(cmd(f'/reply-queue done {target} "非常抱歉，请先停用并私信我们订单号"'))
    assert "审批" in request.title
    approve = next(b for b in request.buttons if b.action_id.startswith("reply.approve"))
    assert item(db, "q").state == "pending_approval"
    bot.services.outbox.drain()
    assert webhook.requests == []  # nothing is posted before approval
    # The writer cannot approve their own reply; bob has no approver role.
    (own,) = bot.dispatcher.handle(press(approve.action_id, approve.value))
    assert "另一位" in own.text
    (bob,) = bot.dispatcher.handle(press(approve.action_id, approve.value, user="console:bob", name="bob"))
    assert "approver" in bob.text
    (ok,) = bot.dispatcher.handle(press(approve.action_id, approve.value, user="console:carol", name="carol"))
    assert "正在发布" in ok.text
    bot.services.outbox.drain()
    assert webhook.requests[0]["json"]["approved_by"] == "console:carol"
    assert webhook.requests[0]["json"]["written_by"] == "console:alice"
    with db.session() as s:
        draft = s.exec(select(ReplyDraft)).one()
    assert (draft.written_by, draft.approver, draft.status) == ("console:alice", "console:carol", "posted")
    # A second press changes nothing.
    (again,) = bot.dispatcher.handle(press(approve.action_id, approve.value, user="console:carol", name="carol"))
    assert "已处理" in again.text and "已发布 / this reply was already posted" in again.text
    assert len(webhook.requests) == 1


def test_a_typed_approval_uses_the_draft_number_the_message_names(make_bot, db, clock):
    """Draft and item numbers differ once a draft was rejected: the request must say which number to type."""
    bot = make_bot(replies={"approval": {"accounts": ["douyin:lanji_official"]}})
    bot.services.ingest.ingest_records([rec("first", ago(clock, 10)), rec("q", ago(clock, 10), "用了过敏了")],
                                       source="test")
    first, target = item_id(db, "first"), item_id(db, "q")
    for draft_no in (1, 2):  # two rejected drafts: the next draft is 3, past any item number here
        bot.dispatcher.handle(cmd(f'/reply-queue done {first} "您好～可以的"'))
        bot.dispatcher.handle(cmd(f"/reply-queue reject {draft_no} 换个说法", user="console:bob", name="bob"))
    (request,) = bot.dispatcher.handle(cmd(f'/reply-queue done {target} "非常抱歉，请私信我们订单号"'))
    with db.session() as s:
        draft = s.exec(select(ReplyDraft).where(ReplyDraft.status == "pending_approval")).one()
    assert draft.id != target
    assert f"/reply-queue approve {draft.id}" in request.text
    # Skipping an item whose reply awaits approval is refused with the draft to decide on, not "already handled"
    # (once the writer's claim has lapsed, which approval can outlast).
    clock.advance(timedelta(minutes=20))
    (skip,) = bot.dispatcher.handle(cmd(f"/reply-queue skip {target} 刷屏", user="console:carol", name="carol"))
    assert "已处理（" not in skip.text and f"approve {draft.id}" in skip.text
    assert item(db, "q").state == "pending_approval"
    (ok,) = bot.dispatcher.handle(cmd(f"/reply-queue approve {draft.id}", user="console:bob", name="bob"))
    assert "已记录" in ok.text and item(db, "q").state == "replied"


def test_approval_for_negative_comments_and_rejection(make_bot, db, clock):
    bot = make_bot(replies={"approval": {"negative": True}})
    bot.services.ingest.ingest_records([rec("neg", ago(clock, 10), "垃圾产品"), rec("neu", ago(clock, 10))],
                                       source="test")
    (plain,) = bot.dispatcher.handle(cmd(f'/reply-queue done {item_id(db, "neu")} "您好～可以的"'))
    assert "已记录" in plain.text
    (request,) = bot.dispatcher.handle(cmd(f'/reply-queue done {item_id(db, "neg")} "抱歉给您添麻烦了"'))
    draft_id = int(next(b for b in request.buttons if b.action_id.startswith("reply.reject")).value)
    (rejected,) = bot.dispatcher.handle(cmd(f"/reply-queue reject {draft_id} 语气再诚恳一些", user="console:bob",
                                            name="bob"))
    assert "驳回" in rejected.text
    assert item(db, "neg").state == "open"


def test_approving_a_rejected_draft_says_who_rejected_it(make_bot, db, clock):
    """The item has no responder after a rejection: the answer used to read "#2 已处理（?）"."""
    bot = make_bot(replies={"approval": {"negative": True}})
    bot.services.ingest.ingest_records([rec("neg", ago(clock, 10), "垃圾产品")], source="test")
    (request,) = bot.dispatcher.handle(cmd(f'/reply-queue done {item_id(db, "neg")} "抱歉给您添麻烦了"'))
    draft_id = int(next(b for b in request.buttons if b.action_id.startswith("reply.reject")).value)
    bot.dispatcher.handle(cmd(f"/reply-queue reject {draft_id} 语气再诚恳一些", user="console:bob", name="bob"))
    (late,) = bot.dispatcher.handle(cmd(f"/reply-queue approve {draft_id}", user="console:carol", name="carol"))
    assert "?" not in late.text
    assert f"草稿 {draft_id}" in late.text and "已被驳回" in late.text and "bob" in late.text
    assert item(db, "neg").state == "open"


def test_a_mistyped_draft_number_is_answered_without_logging_an_error(make_bot, db, clock, caplog):
    bot = make_bot(replies={"approval": {"negative": True}})
    for verb in ("approve", "reject"):
        (answer,) = bot.dispatcher.handle(cmd(f"/reply-queue {verb} 999", user="console:bob", name="bob"))
        assert "999" in answer.text
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


def test_an_unknown_option_is_named_as_such_not_as_an_account(rq_bot):
    for text in ("/reply-queue --bogus", "/reply-queue stats --since 24h --bogus"):
        (answer,) = rq_bot.dispatcher.handle(cmd(text))
        assert "未知选项" in answer.text and "--bogus" in answer.text and "未知账号" not in answer.text


def test_our_reply_in_the_feed_supersedes_a_pending_draft(make_bot, db, clock):
    from .conftest import own

    bot = make_bot(replies={"approval": {"accounts": ["douyin:lanji_official"]}})
    bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    bot.dispatcher.handle(cmd(f'/reply-queue done {item_id(db, "q")} "您好～"'))
    bot.services.ingest.ingest_records([own("q1", ago(clock, 1), "q")], source="test")
    assert item(db, "q").state == "answered"
    with db.session() as s:
        assert s.exec(select(ReplyDraft)).one().status == "superseded"


def test_skip_with_reason_and_escalate(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("s", ago(clock, 10)), rec("e", ago(clock, 10), "用了过敏")],
                                          source="test")
    (skipped,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue skip {item_id(db, 's')} 广告刷屏"))
    assert "广告刷屏" in skipped.text
    assert item(db, "s").skip_reason == "广告刷屏" and item(db, "s").state == "skipped"
    target = item_id(db, "e")
    (escalated,) = rq_bot.dispatcher.handle(press(f"reply.escalate:{target}", str(target)))
    assert "已升级" in escalated.text and "已启动预案" in escalated.text
    assert item(db, "e").escalated_at == clock.now() and item(db, "e").state == "open"


def test_escalate_starts_a_run_then_adds_to_its_timeline(bot, db, clock, run_command):
    """升级 with the real playbooks service: the first escalation starts a run, the next joins it."""
    bot.services.ingest.ingest_records(
        [rec("e1", ago(clock, 10), "用了过敏，脸肿了"), rec("e2", ago(clock, 9), "我也过敏了")], source="test"
    )
    (first,) = run_command(f"/reply-queue escalate {item_id(db, 'e1')} 批次问题")
    assert "已启动预案" in first.text
    (run,) = bot.services.playbooks.active_runs("console:lanji")
    assert run.playbook.id == "product-complaint" and run.account == "douyin:lanji_official"
    (second,) = run_command(f"/reply-queue escalate {item_id(db, 'e2')}")
    assert f"#{run.id}" in second.text and len(bot.services.playbooks.active_runs("console:lanji")) == 1
    notes = [e.text for e in bot.services.playbooks.timeline(run.id) if "升级评论" in e.text]
    assert len(notes) == 2 and "douyin:e1" in notes[0] and "批次问题" in notes[0]
    assert item(db, "e1").escalated_at is not None
