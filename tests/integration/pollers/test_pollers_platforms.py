"""Pollers against local fake platforms, on the real database and the real ingestion service.

Every fake refuses requests without the platform's required token/signature/parameters, so a stored
comment proves the poller sent them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.integration.pollers.helpers import comments, dead_letters, outbox

pytestmark = pytest.mark.slow


def ts(clock, seconds_ago: float) -> int:
    return int((clock.now() - timedelta(seconds=seconds_ago)).timestamp())


def add_bili(fake, clock, count: int, *, start_rpid: int = 1000, age: int = 1800) -> None:
    for i in range(count):
        fake.add_reply("170001", start_rpid + i, mid=7000 + i, uname=f"用户{i}", message=f"第{i}条评论",
                       ctime=ts(clock, age - i), like=i)


# --------------------------------------------------------------------------------------- bilibili


def test_bilibili_pages_to_the_end_with_wbi_signature_and_keeps_threads(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 25)
    own_reply = bili.add_reply("170001", 9001, mid=42, uname="小厨科技官方", message="感谢反馈,已私信", ctime=ts(clock, 60),
                               parent=1024, root=1024)
    bili.replies["170001"][-1]["replies"] = [own_reply]
    bili.replies["170001"][-1]["rcount"] = 1
    app = make_bot()

    outcome = app.services.sources.poll("bili")

    assert outcome.status == "ok", outcome
    stored = {c.comment_id: c for c in comments(db, "bilibili")}
    assert len(stored) == 26
    assert stored["9001"].parent_id == "1024" and stored["9001"].is_from_account is True
    assert stored["1000"].parent_id is None and stored["1000"].is_from_account is False
    assert stored["1003"].author_name == "用户3" and stored["1003"].like_count == 3
    pages = bili.calls("/x/v2/reply/wbi/main")
    assert len(pages) == 3  # 10 + 10 + 5, is_end on the third
    assert all("w_rid" in p.params and "wts" in p.params for p in pages)
    assert len(bili.calls("/x/web-interface/nav")) == 1

    # The next poll reads only the first page, stops at known comments, stores nothing twice.
    bili.add_reply("170001", 2000, mid=8000, uname="新用户", message="刚看到", ctime=ts(clock, 0))
    clock.advance(300)
    again = app.services.sources.poll("bili")
    assert again.status == "ok" and again.accepted == 1
    assert len(bili.calls("/x/v2/reply/wbi/main")) == 4
    assert len(comments(db, "bilibili")) == 27
    assert len(bili.calls("/x/web-interface/nav")) == 1  # keys cached


def test_bilibili_reads_long_threads_beyond_the_nested_previews(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 3)
    for i in range(5):
        bili.add_thread_reply("170001", 1001, 4000 + i, mid=7100 + i, uname=f"楼中楼{i}", message=f"+{i}",
                              ctime=ts(clock, 900 - i))
    bili.add_thread_reply("170001", 1001, 4999, mid=42, uname="小厨科技官方", message="已联系您", ctime=ts(clock, 100))
    app = make_bot()
    assert app.services.sources.poll("bili").status == "ok"
    stored = {c.comment_id: c for c in comments(db, "bilibili")}
    assert {str(4000 + i) for i in range(5)} | {"4999"} <= set(stored)
    assert stored["4999"].parent_id == "1001" and stored["4999"].is_from_account is True
    assert len(bili.calls("/x/v2/reply/reply")) == 1
    clock.advance(300)
    app.services.sources.poll("bili")
    assert len(bili.calls("/x/v2/reply/reply")) == 1  # unchanged thread: not read again


def test_bilibili_unsigned_request_is_refused_by_the_platform(make_bot, fakes, clock):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 3)
    app = make_bot()
    # A request without w_rid gets the documented code -403; the poller classifies it and backs off.
    bili.script("/x/v2/reply/wbi/main", body={"code": -403, "message": "访问权限不足", "ttl": 1})
    outcome = app.services.sources.poll("bili")
    assert outcome.status == "failed" and "-403" in outcome.reason
    clock.advance(3600)
    assert app.services.sources.poll("bili").status == "ok"
    assert len(bili.calls("/x/web-interface/nav")) == 2  # a refused signature refreshes the keys


def test_duplicates_across_pages_are_stored_once(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 20)
    app = make_bot()
    # Between page 1 and page 2 new comments arrive at the top: the list shifts and page 2 repeats
    # comments already read on page 1.
    original = bili.handle

    def shifting(request):
        answer = original(request)
        if request.path.endswith("/main") and request.params.get("next") in (None, "0", "1"):
            add_bili(bili, clock, 5, start_rpid=3000, age=10)
        return answer

    bili.handle = shifting
    outcome = app.services.sources.poll("bili")
    assert outcome.status == "ok"
    ids = [c.comment_id for c in comments(db, "bilibili")]
    assert len(ids) == len(set(ids))
    assert {str(1000 + i) for i in range(20)} <= set(ids)


def test_http_429_then_success_honours_retry_after(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 5)
    app = make_bot()
    bili.script("/x/v2/reply/wbi/main", status=429, body={"code": -509, "message": "请求过于频繁"},
                headers={"Retry-After": "600"})

    first = app.services.sources.poll("bili")
    assert first.status == "failed" and first.reason.startswith("rate_limited")
    assert first.next_attempt_at >= clock.now() + timedelta(seconds=600)
    assert app.services.sources.poll("bili").reason == "backing off"  # no request while waiting
    requests_before = len(bili.calls("/x/v2/reply/wbi/main"))
    clock.advance(601)
    second = app.services.sources.poll("bili")
    assert second.status == "ok" and second.accepted == 5
    assert len(bili.calls("/x/v2/reply/wbi/main")) == requests_before + 1
    assert len(comments(db, "bilibili")) == 5


def test_http_412_risk_control_pauses_long_without_a_storm(make_bot, fakes, clock):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 2)
    app = make_bot()
    bili.script("/x/v2/reply/wbi/main", status=412, raw=b"<html>412</html>", times=3)
    outcome = app.services.sources.poll("bili")
    assert outcome.reason.startswith("risk_control")
    assert outcome.next_attempt_at - clock.now() >= timedelta(seconds=1800)
    for _ in range(5):
        clock.advance(60)
        assert app.services.sources.poll("bili").status == "skipped"
    assert len(bili.calls("/x/v2/reply/wbi/main")) == 1


def test_500_storm_marks_unhealthy_and_notifies_once_then_recovers(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 3)
    app = make_bot()
    bili.script("/x/v2/reply/wbi/main", status=500, body={"code": -500, "message": "服务器错误"}, times=8)
    service = app.services.sources
    for _ in range(8):
        outcome = service.poll("bili")
        assert outcome.status == "failed"
        clock.set(outcome.next_attempt_at + timedelta(seconds=1))
    status = {s.source_id: s for s in service.status()}["bili"]
    assert status.health == "unhealthy" and status.consecutive_failures == 8
    notices = [m for m in outbox(db) if m.key.startswith("feeds:unhealthy:bili")]
    assert len(notices) == 1
    assert notices[0].channel == "console:xiaochu" or notices[0].channel == "console:general"
    assert "数据源异常" in notices[0].payload["title"]

    assert service.poll("bili").status == "ok"
    assert [s for s in service.status() if s.source_id == "bili"][0].health == "ok"
    recovered = [m for m in outbox(db) if m.key.startswith("feeds:recovered:bili")]
    assert len(recovered) == 1

    from prometheus_client import REGISTRY

    assert REGISTRY.get_sample_value("crisisbot_feed_source_healthy", {"source": "bili"}) == 1.0


def test_malformed_record_is_dead_lettered_and_the_rest_of_the_page_stored(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 4)
    bad = bili.add_reply("170001", 5555, mid=1, uname="坏数据", message="x", ctime=ts(clock, 100))
    del bad["rpid"], bad["rpid_str"]  # a record without its id
    app = make_bot()
    outcome = app.services.sources.poll("bili")
    assert outcome.status == "ok" and outcome.accepted == 4 and outcome.rejected == 1
    assert len(comments(db, "bilibili")) == 4
    letters = dead_letters(db)
    assert len(letters) == 1 and "comment_id" in letters[0].reason and letters[0].source == "poller:bili"


def test_restart_in_the_middle_of_paging_neither_rereads_nor_leaves_a_gap(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    add_bili(bili, clock, 50)

    def two_pages(sources):
        sources[0]["settings"]["max_pages"] = 2

    app = make_bot(two_pages)
    first = app.services.sources.poll("bili")
    assert first.status == "ok" and first.accepted == 20
    pending = app.services.sources.store.load("bili").targets["170001"].pending
    assert pending and pending["cursor"] == 3
    app.services.sources.close()

    # A restart: a new process state, the same database.
    clock.advance(300)
    restarted = make_bot(two_pages)
    second = restarted.services.sources.poll("bili")
    assert second.accepted == 20
    pages = [p.params.get("next") for p in bili.calls("/x/v2/reply/wbi/main")]
    assert pages == ["0", "2", "3", "4"]  # continued at page 3: nothing read twice
    clock.advance(300)
    third = restarted.services.sources.poll("bili")
    assert third.accepted == 10
    assert len(comments(db, "bilibili")) == 50
    assert restarted.services.sources.store.load("bili").targets["170001"].pending is None


# ----------------------------------------------------------------------------------------- douyin


def test_douyin_sends_token_refreshes_expired_token_and_stores_the_new_pair(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    for i in range(12):
        dy.add_comment("@item1", f"dc{i}", user=f"u{i}", content=f"抖音评论{i}", create_time=ts(clock, 900 - i), digg=i)
    dy.add_comment("@item1", "pinned", user="brand-user", content="置顶:售后请私信", create_time=ts(clock, 5000), top=True)
    app = make_bot()
    service = app.services.sources
    assert service.poll("dy").status == "ok"
    stored = {c.comment_id: c for c in comments(db, "douyin")}
    assert len(stored) == 12  # the pinned comment is older than the backfill window
    assert all(r.headers.get("access-token") == "act.initial" for r in dy.calls("/item/comment/list/"))

    dy.expire_access_token()
    dy.add_comment("@item1", "dnew", user="brand-user", content="已回复", create_time=ts(clock, 0))
    clock.advance(300)
    outcome = service.poll("dy")
    assert outcome.status == "ok" and outcome.accepted == 1
    assert len(dy.calls("/oauth/refresh_token/")) == 1
    assert dy.calls("/oauth/refresh_token/")[0].form["grant_type"] == "refresh_token"
    assert dy.calls("/item/comment/list/")[-1].headers["access-token"] == "act.refreshed1"
    tokens = service.store.load("dy").tokens
    assert tokens["access_token"] == "act.refreshed1" and tokens["refresh_token"] == "rft.initial"
    assert {c.comment_id: c for c in comments(db, "douyin")}["dnew"].is_from_account is True

    # A restart keeps using the refreshed token (the pair is persisted).
    clock.advance(300)
    restarted = make_bot()
    assert restarted.services.sources.poll("dy").status == "ok"
    assert dy.calls("/item/comment/list/")[-1].headers["access-token"] == "act.refreshed1"
    assert len(dy.calls("/oauth/refresh_token/")) == 1


def test_douyin_reads_reply_threads_and_marks_our_replies(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    dy.add_comment("@item1", "q1", user="fan", content="请问有售后吗?", create_time=ts(clock, 600))
    dy.add_comment("@item1", "q2", user="fan2", content="好用", create_time=ts(clock, 500))
    dy.add_reply("@item1", "q1", "r1", user="brand-user", content="有的,已私信", create_time=ts(clock, 400))
    app = make_bot()
    service = app.services.sources
    assert service.poll("dy").status == "ok"
    stored = {c.comment_id: c for c in comments(db, "douyin")}
    assert stored["r1"].parent_id == "q1" and stored["r1"].is_from_account is True
    assert stored["q1"].parent_id is None and stored["q1"].reply_count == 1
    threads = dy.calls("/item/comment/reply/list/")
    assert [c.params["comment_id"] for c in threads] == ["q1"]  # only threads with replies are read
    assert threads[0].headers["access-token"] == "act.initial"

    # A new reply in the thread: the reply total grew, so the thread is read again.
    dy.add_reply("@item1", "q1", "r2", user="fan", content="收到谢谢", create_time=ts(clock, 0))
    dy.add_comment("@item1", "q3", user="fan3", content="新评论", create_time=ts(clock, 0))
    clock.advance(300)
    assert service.poll("dy").status == "ok"
    assert {c.comment_id: c for c in comments(db, "douyin")}["r2"].parent_id == "q1"
    assert len(dy.calls("/item/comment/reply/list/")) == 2


def test_douyin_expired_refresh_token_alerts_once_and_waits_for_reauthorisation(make_bot, fakes, clock, db, monkeypatch):
    dy = fakes["douyin"]
    dy.add_comment("@item1", "d1", user="u", content="hi", create_time=ts(clock, 10))
    dy.expire_access_token()
    dy.refresh_expired = True
    app = make_bot()
    service = app.services.sources
    outcome = service.poll("dy")
    assert outcome.status == "failed" and outcome.reason.startswith("reauth_required")
    for _ in range(3):
        clock.advance(7200)
        assert service.poll("dy").reason == "waiting for re-authorisation"
    notices = [m for m in outbox(db) if m.key.startswith("feeds:reauth:dy")]
    assert len(notices) == 1 and notices[0].channel == "console:lanji"
    assert "重新授权" in notices[0].payload["title"]
    assert [s for s in service.status() if s.source_id == "dy"][0].health == "reauth_required"

    # A human re-authorised and exported a new pair: polling resumes on its own.
    dy.refresh_expired = False
    dy.access_token, dy.refresh_token = "act.human", "rft.human"
    monkeypatch.setenv("DY_ACCESS", "act.human")
    monkeypatch.setenv("DY_REFRESH", "rft.human")
    assert service.poll("dy").status == "ok"
    assert [c.comment_id for c in comments(db, "douyin")] == ["d1"]


def test_douyin_missing_parameters_get_the_documented_error(make_bot, fakes, clock):
    app = make_bot(lambda s: s[1]["settings"].update({"open_id": ""}))
    fakes["douyin"].add_comment("@item1", "d1", user="u", content="hi", create_time=ts(clock, 10))
    # An empty open_id falls back to the account id; the fake accepts only a full parameter set.
    assert app.services.sources.poll("dy").status == "ok"
    assert fakes["douyin"].calls("/item/comment/list/")[0].params["open_id"] == "lanji_official"


# ------------------------------------------------------------------------------------------ weibo


def test_weibo_pages_with_max_id_parses_dates_and_reply_links(make_bot, fakes, clock, db):
    wb = fakes["weibo"]
    for i in range(15):
        wb.add_comment("4900000000000001", 5000 + i, created_at="Sun Nov 22 19:45:00 +0800 2026", text=f"微博评论{i}",
                       user_id=300 + i, screen_name=f"网友{i}", followers=i * 10)
    wb.add_comment("4900000000000001", 6000, created_at="Sun Nov 22 19:50:00 +0800 2026", text="回复@网友1:已处理",
                   user_id=1900, screen_name="品牌官博", reply_to=5001)
    app = make_bot()
    assert app.services.sources.poll("wb").status == "ok"
    stored = {c.comment_id: c for c in comments(db, "weibo")}
    assert len(stored) == 16
    assert stored["6000"].parent_id == "5001" and stored["6000"].is_from_account is True
    assert stored["5003"].author_followers == 30
    assert stored["5003"].created_at.isoformat() == "2026-11-22T11:45:00+00:00"
    calls = wb.calls("/2/comments/show.json")
    assert [c.params.get("max_id") for c in calls] == [None, "5005"]
    assert all(c.params["access_token"] == "2.00weibo_token" for c in calls)


def test_weibo_expired_token_needs_reauthorisation(make_bot, fakes, clock, db):
    wb = fakes["weibo"]
    wb.expired = True
    app = make_bot()
    outcome = app.services.sources.poll("wb")
    assert outcome.status == "failed" and "21327" in outcome.reason
    assert len([m for m in outbox(db) if m.key.startswith("feeds:reauth:wb")]) == 1


def test_credentials_never_reach_the_logs(make_bot, fakes, clock, caplog):
    caplog.set_level(logging.DEBUG)
    wb = fakes["weibo"]
    wb.add_comment("4900000000000001", 7000, created_at="Sun Nov 22 19:45:00 +0800 2026", text="t",
                   user_id=1, screen_name="s")
    app = make_bot()
    app.services.sources.poll("wb")
    wb.script("/2/comments/show.json", status=503, body={"error": "busy", "error_code": 10002})
    clock.advance(600)
    app.services.sources.poll("wb")
    fakes["douyin"].expire_access_token()
    app.services.sources.poll("dy")
    assert "2.00weibo_token" not in caplog.text
    assert "act.initial" not in caplog.text and "rft.initial" not in caplog.text
    assert "poll failed: source=wb" in caplog.text


# ------------------------------------------------------------------------- generic JSON (kuaishou)


def test_generic_json_kuaishou_preset_maps_nested_replies(make_bot, fakes, clock, db):
    ks = fakes["kuaishou"]
    now_ms = int(clock.now().timestamp() * 1000)
    for i in range(25):
        subs = []
        if i == 3:
            subs = [{"comment_id": "ks-reply", "content": "品牌回复", "create_time": now_ms - 1000,
                     "author_id": "ks_brand", "author_name": "官方", "like_count": 0}]
        ks.add_comment("3xphoto", f"k{i}", content=f"快手评论{i}", create_time_ms=now_ms - (600 - i) * 1000,
                       author_id=f"a{i}", author_name=f"老铁{i}", likes=i, sub_comments=subs)
    app = make_bot()
    outcome = app.services.sources.poll("ks")
    assert outcome.status == "ok", outcome
    stored = {c.comment_id: c for c in comments(db, "kuaishou")}
    assert len(stored) == 26
    assert stored["ks-reply"].parent_id == "k3" and stored["ks-reply"].is_from_account is True
    calls = fakes["kuaishou"].requests
    assert [c.params.get("pcursor") for c in calls] == [None, "20"]


def test_generic_json_without_credentials_is_a_config_error(make_bot, fakes, clock, monkeypatch):
    monkeypatch.delenv("KS_TOKEN")
    app = make_bot()
    outcome = app.services.sources.poll("ks")
    assert outcome.status == "failed" and "KS_TOKEN" in outcome.reason
    assert fakes["kuaishou"].requests == []


def test_an_internal_failure_counts_as_a_failed_poll_and_backs_off(fakes, clock):
    from bot.feeds.pollers.base import IngestTally
    from bot.feeds.pollers.service import FeedsService
    from bot.feeds.pollers.store import MemoryStateStore
    from bot.feeds.settings import FeedsConfig

    bili = fakes["bilibili"]
    add_bili(bili, clock, 2)
    config = FeedsConfig.model_validate({"sources": [
        {"id": "b", "type": "bilibili", "account": {"platform": "bilibili", "account_id": "42"},
         "targets": ["170001"], "base_url": bili.url}]})

    stored = []
    broken = [True]

    def storage(records, source):
        if broken[0]:
            raise RuntimeError("database is down")
        stored.extend(records)
        return IngestTally(accepted=len(records))

    service = FeedsService(config, store=MemoryStateStore(), ingest=storage, notify=lambda n, s: None,
                           clock=clock, env={})
    try:
        outcome = service.poll("b")
        assert outcome.status == "failed" and outcome.reason == "transient: internal error (RuntimeError)"
        assert outcome.next_attempt_at > clock.now()
        assert service.status()[0].consecutive_failures == 1
        # Once storage is back, the comments of the failed poll are stored: nothing was marked as known.
        broken[0] = False
        clock.set(outcome.next_attempt_at + timedelta(seconds=1))
        assert service.poll("b").accepted == 2 and len(stored) == 2
    finally:
        service.close()


def test_recent_targets_follow_the_accounts_newest_posts(make_bot, fakes, clock, db):
    bili, dy, wb = fakes["bilibili"], fakes["douyin"], fakes["weibo"]
    bili.add_video("42", 170001, "旧视频", ts(clock, 86400))
    bili.add_video("42", 170002, "新品开箱", ts(clock, 3600))
    bili.add_reply("170002", 1, mid=5, uname="u", message="开箱好评", ctime=ts(clock, 60))
    bili.add_reply("170001", 2, mid=6, uname="v", message="老视频的新评论", ctime=ts(clock, 30))
    dy.videos = [{"item_id": "@new", "title": "新品发布", "share_url": "https://www.iesdouyin.com/share/video/1"}]
    dy.add_comment("@new", "dn1", user="fan", content="求链接", create_time=ts(clock, 20))
    wb.posts["1900"] = [{"id": 4900000000000002, "idstr": "4900000000000002", "text": "官宣:新品上市"}]
    wb.add_comment("4900000000000002", 8000, created_at="Sun Nov 22 19:59:00 +0800 2026", text="支持", user_id=5,
                   screen_name="网友")

    def recent(sources):
        for index in (0, 1, 2):
            sources[index]["targets"] = "recent"
            sources[index]["settings"]["recent_posts"] = 5

    app = make_bot(recent)
    service = app.services.sources
    for source_id in ("bili", "dy", "wb"):
        assert service.poll(source_id).status == "ok", source_id
    stored = {c.comment_id: c for c in comments(db)}
    assert stored["1"].content_title == "新品开箱" and stored["1"].content_url == "https://www.bilibili.com/video/av170002"
    assert "2" in stored
    assert stored["dn1"].content_id == "@new" and stored["dn1"].content_title == "新品发布"
    assert stored["8000"].content_id == "4900000000000002"
    assert all("w_rid" in c.params for c in bili.calls("/x/space/wbi/arc/search"))
    # The list of recent posts is cached for `recent_refresh`.
    clock.advance(300)
    service.poll("bili")
    assert len(bili.calls("/x/space/wbi/arc/search")) == 1
