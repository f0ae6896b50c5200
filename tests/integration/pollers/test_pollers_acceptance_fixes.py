"""Acceptance findings on the pollers (issue #3), each driven through the product's own interfaces
against the local fake platforms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from bot.feeds.pollers.service import FAILURES, HEALTHY
from tests.integration.pollers.helpers import comments

pytestmark = pytest.mark.slow


def ts(clock, seconds_ago: float) -> int:
    return int((clock.now() - timedelta(seconds=seconds_ago)).timestamp())


def test_unhealthy_source_is_in_metrics_right_after_a_restart(make_bot, fakes, clock, db):
    """/metrics must show a stored unhealthy source at start, not only once its backoff ends and it is
    polled again (up to `backoff.max`, an hour by default, after the restart)."""
    source_id = "bili-restarted"

    def rename(sources: list[dict]) -> None:
        sources[0]["id"] = source_id
        sources[0]["backoff"] = {"base": 600, "max": 3600, "unhealthy_after": 2}

    bili = fakes["bilibili"]
    bili.add_reply("170001", 1, mid=7, uname="u", message="hi", ctime=ts(clock, 60))
    bili.script("/x/v2/reply/wbi/main", status=500, body={"code": -500}, times=5)
    first = make_bot(rename)
    for _ in range(2):
        outcome = first.services.sources.poll(source_id)
        assert outcome.status == "failed"
        clock.set(outcome.next_attempt_at + timedelta(seconds=1))
    outcome = first.services.sources.poll(source_id)
    assert outcome.status == "failed"  # now backing off for a long time

    # A new process: the gauges start empty.
    HEALTHY.remove(source_id)
    FAILURES.remove(source_id)
    assert REGISTRY.get_sample_value("crisisbot_feed_source_healthy", {"source": source_id}) is None
    second = make_bot(rename)
    second.start(scheduler=False)
    assert REGISTRY.get_sample_value("crisisbot_feed_source_healthy", {"source": source_id}) == 0.0
    assert REGISTRY.get_sample_value("crisisbot_feed_source_consecutive_failures", {"source": source_id}) == 3.0

    # A skipped (backing-off) poll refreshes the gauges from the stored state too.
    HEALTHY.remove(source_id)
    assert second.services.sources.poll(source_id).status == "skipped"
    assert REGISTRY.get_sample_value("crisisbot_feed_source_healthy", {"source": source_id}) == 0.0


def test_douyin_reply_thread_refused_once_is_read_on_the_next_poll(make_bot, fakes, clock, db):
    """A reply list answered with an error (here the platform's frequency limit) leaves the thread for
    the next poll; it must not be remembered as read, or its replies are never stored."""
    dy = fakes["douyin"]
    dy.add_comment("@item1", "q1", user="fan", content="请问有售后吗?", create_time=ts(clock, 600))
    dy.add_reply("@item1", "q1", "r1", user="brand-user", content="有的,已私信", create_time=ts(clock, 400))
    dy.script("/item/comment/reply/list/", body={"data": {"error_code": 28003018, "description": "请求太频繁"}})
    service = make_bot().services.sources
    assert service.poll("dy").status == "ok"
    assert {c.comment_id for c in comments(db, "douyin")} == {"q1"}

    clock.advance(300)
    assert service.poll("dy").status == "ok"
    stored = {c.comment_id: c for c in comments(db, "douyin")}
    assert set(stored) == {"q1", "r1"}
    assert stored["r1"].parent_id == "q1" and stored["r1"].is_from_account is True


def test_sources_in_the_default_channel_hides_client_accounts_sources(make_bot, fakes, clock, db):
    """The default channel sees accounts of no client: `/sources` there must not show a client's source
    (douyin:lanji_official belongs to client lanji), while the client's own channel does."""
    from bot.messages import Command

    app = make_bot()
    app.services.sources.poll("dy")

    def sources_in(channel: str) -> str:
        command = Command("console", channel, "console:ops", "/sources", user_name="ops", event_id=f"ev-{channel}")
        replies = app.dispatcher.handle(command)
        return "\n".join(
            part for message in replies for part in [message.text or "", *(s.text for s in message.sections)]
        )

    general = sources_in("console:general")
    assert "dy [douyin]" not in general
    assert "bili [bilibili]" in general and "rules [announcements]" in general  # no client / no account
    lanji = sources_in("console:lanji")
    assert "dy [douyin]" in lanji and "bili [bilibili]" not in lanji and "rules [announcements]" in lanji


@pytest.mark.parametrize("retry_after", ["99999999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_an_absurd_retry_after_does_not_park_the_source_for_centuries(make_bot, fakes, clock, db, retry_after):
    """Retry-After is honoured as a floor, but a broken proxy's value is capped at a day: the source
    must come back on its own (it used to be scheduled for the year 5000)."""
    fakes["kuaishou"].script("/openapi/photo/comment/list", status=429, body={}, headers={"Retry-After": retry_after})
    service = make_bot().services.sources
    outcome = service.poll("ks")
    assert outcome.status == "failed" and outcome.reason.startswith("rate_limited")
    wait = outcome.next_attempt_at - clock.now()
    assert timedelta(hours=1) <= wait <= timedelta(days=1)
    clock.set(outcome.next_attempt_at + timedelta(seconds=1))
    assert service.poll("ks").status == "ok"


def test_a_malformed_record_is_dead_lettered_once_not_on_every_poll(make_bot, fakes, clock, db):
    """A record without a readable time (Weibo) or without an id (Kuaishou) used to be sent to ingestion,
    and dead-lettered, again on every poll: thousands of copies a day and a `rejected` count that kept
    growing. It is dead-lettered once; a corrected version of it is read again."""
    from tests.integration.pollers.helpers import dead_letters

    wb = fakes["weibo"]
    wb.add_comment("4900000000000001", 5001, created_at="Sun Nov 22 19:45:00 +0800 2026", text="好评",
                   user_id=301, screen_name="网友")
    wb.add_comment("4900000000000001", 5002, created_at="昨天 19:45", text="时间坏了", user_id=302, screen_name="网友2")
    ks = fakes["kuaishou"]
    now_ms = int(clock.now().timestamp() * 1000)
    ks.add_comment("3xphoto", "k1", content="正常", create_time_ms=now_ms - 60_000, author_id="a", author_name="A")
    ks.add_comment("3xphoto", None, content="没有id", create_time_ms=now_ms - 30_000, author_id="b", author_name="B")
    service = make_bot().services.sources
    for _ in range(3):
        for source_id in ("wb", "ks"):
            assert service.poll(source_id).status == "ok"
        clock.advance(300)
    reasons = sorted(letter.reason.split(":")[0] for letter in dead_letters(db))
    assert reasons == ["comment_id", "created_at"], reasons
    status = {s.source_id: s for s in service.status()}
    assert (status["wb"].rejected, status["ks"].rejected) == (1, 1)
    assert {c.comment_id for c in comments(db)} == {"5001", "k1"}

    # The platform fixes the time: the corrected record is new content, read and stored.
    wb.comments["4900000000000001"][1]["created_at"] = "Sun Nov 22 19:46:00 +0800 2026"
    assert service.poll("wb").status == "ok"
    assert {c.comment_id for c in comments(db, "weibo")} == {"5001", "5002"}


def test_a_target_failing_alone_is_shown_with_its_reason(make_bot, fakes, clock, db):
    """A wrong or deleted video id (Bilibili -404) fails only its target: the source stays "ok", and the
    reason used to be kept in the state only, so `crisisbot sources` and /sources showed a healthy source
    that never stored a comment for that video."""
    from bot.messages import Command

    def second_target(sources: list[dict]) -> None:
        sources[0]["targets"] = ["170001", "170099"]

    fakes["bilibili"].add_reply("170001", 1, mid=7, uname="u", message="hi", ctime=ts(clock, 60))
    app = make_bot(second_target)
    assert app.services.sources.poll("bili").status == "ok"
    [row] = [s for s in app.services.sources.status() if s.source_id == "bili"]
    assert row.health == "ok" and list(row.target_errors) == ["170099"]
    assert "-404" in row.target_errors["170099"]

    replies = app.dispatcher.handle(Command("console", "console:general", "console:ops", "/sources", event_id="e1"))
    text = "\n".join(s.text for m in replies for s in m.sections)
    assert "目标出错 target errors: 170099 (bilibili code -404" in text

    # Removed from the config: its old error is no longer reported.
    fixed = make_bot(lambda sources: sources[0].update(targets=["170001"]))
    [row] = [s for s in fixed.services.sources.status() if s.source_id == "bili"]
    assert row.target_errors == {}


def test_a_database_error_does_not_put_comment_authors_in_the_logs(make_bot, fakes, clock, db, caplog):
    """A database error while storing a page (here a trigger refusing inserts; in the field, a locked
    SQLite file or a dropped connection) was logged with SQLAlchemy's message, which quotes every
    parameter of the statement: authors' ids and names and comment texts."""
    import logging

    from sqlalchemy import text

    fakes["kuaishou"].add_comment("3xphoto", "k-secret", content="私密内容XYZ", author_id="SECRET_AUTHOR_77",
                                  author_name="王秘密", create_time_ms=int(clock.now().timestamp() * 1000) - 5000)
    app = make_bot()
    with db.session() as session:
        if db.dialect == "sqlite":
            session.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON comment BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            session.execute(text("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
                                 "LANGUAGE plpgsql"))
            session.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON comment FOR EACH ROW EXECUTE FUNCTION refuse()"))
    with caplog.at_level(logging.DEBUG):
        outcome = app.services.sources.poll("ks")
    assert outcome.status == "failed" and "internal error" in outcome.reason
    assert "refused" in caplog.text  # the database's own reason is still there
    for secret in ("SECRET_AUTHOR_77", "王秘密", "私密内容XYZ"):
        assert secret not in caplog.text


def test_a_json_announcement_feed_with_a_byte_order_mark_is_read(make_bot, fakes, clock, db):
    """A JSON feed starting with a UTF-8 BOM (many Windows/.NET sites send one) was taken for XML and
    failed on every poll with "neither RSS, Atom nor JSON"."""
    import json

    from tests.integration.pollers.helpers import outbox

    body = json.dumps([{"id": "n1", "title": "评论区管理规则", "url": "https://example.invalid/n1",
                        "published": "2026-11-22T10:00:00+08:00"}], ensure_ascii=False).encode()
    fakes["announcements"].script("/feed", raw=b"\xef\xbb\xbf" + body,
                                  headers={"Content-Type": "application/json; charset=utf-8"})
    app = make_bot(lambda sources: sources[4].update(backfill="7d"))
    outcome = app.services.sources.poll("rules")
    assert outcome.status == "ok", outcome.reason
    titles = [m.payload["title"] for m in outbox(db) if m.key.startswith("feeds:announcement:rules")]
    assert titles == ["平台规则更新: 评论区管理规则（抖音）"]


@pytest.mark.parametrize("content_type", ["application/json; charset=gbk", "application/json"])
def test_a_gbk_json_answer_from_a_vendor_endpoint_is_read(make_bot, fakes, clock, db, content_type):
    """generic_json endpoints (vendor exports, crawlers) often answer in GBK; json.loads only reads
    UTF-8, so every poll failed with "the body is not JSON"."""
    import json

    answer = {"result": 1, "pcursor": "no_more", "comment_list": [{
        "comment_id": "gbk1", "content": "质量太差了,退货", "create_time": int(clock.now().timestamp() * 1000) - 5000,
        "author_id": "a1", "author_name": "网友", "like_count": 3, "sub_comment_count": 0, "sub_comments": []}]}
    fakes["kuaishou"].script("/openapi/photo/comment/list", raw=json.dumps(answer, ensure_ascii=False).encode("gbk"),
                             headers={"Content-Type": content_type})
    outcome = make_bot().services.sources.poll("ks")
    assert outcome.status == "ok", outcome.reason
    [stored] = comments(db, "kuaishou")
    assert (stored.comment_id, stored.text, stored.author_name) == ("gbk1", "质量太差了,退货", "网友")


def test_sources_with_arguments_answers_with_its_usage(make_bot, fakes, clock, db):
    """`/sources bili` printed every source as if it had answered about bili; bad arguments get the
    usage, as every other command does."""
    from bot.messages import Command

    app = make_bot()

    def reply(text: str, event_id: str) -> str:
        replies = app.dispatcher.handle(Command("console", "console:general", "console:ops", text, event_id=event_id))
        return "\n".join(part for m in replies for part in [m.title or "", m.text or "", *(s.text for s in m.sections)])

    answer = reply("/sources bili --all", "e1")
    assert "/sources 不带参数 / takes no arguments: bili --all" in answer and "数据源状态" not in answer
    assert "数据源状态 / sources" in reply("/sources", "e2")
