"""Acceptance-audit findings on the pollers (issue #3, second round), each driven through the product's
own interfaces against the local fake platform servers (tests/fakes/platforms.py)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from bot.feeds.pollers.commands import status_line
from bot.feeds.pollers.service import SKIPPED_LEASED, SKIPPED_STOPPING
from bot.feeds.pollers.store import DatabaseStateStore, process_holder
from tests.fakes.platforms import FakeCrawlerExport, rss
from tests.integration.pollers.helpers import comments, dead_letters, outbox

DY_REPLIES = "/item/comment/reply/list/"
BILI_NAV = "/x/web-interface/nav"
BILI_SIGNED = "/x/v2/reply/wbi/main"
BILI_PLAIN = "/x/v2/reply/main"
WB_COMMENTS = "/2/comments/show.json"


def ts(clock, seconds_ago: float) -> int:
    return int((clock.now() - timedelta(seconds=seconds_ago)).timestamp())


def _douyin_page_with_threads(dy, clock) -> None:
    """Two comments with replies, a good one without, and a malformed one (no comment_id)."""
    dy.add_comment("@item1", "c1", user="fan1", content="有售后吗", create_time=ts(clock, 600))
    dy.add_comment("@item1", "c2", user="fan2", content="好用", create_time=ts(clock, 500))
    dy.add_comment("@item1", "c3", user="fan3", content="已下单", create_time=ts(clock, 400))
    dy.comments["@item1"].append({"comment_id": None, "comment_user_id": "fan4", "content": "坏记录",
                                  "create_time": ts(clock, 450), "digg_count": 0, "reply_comment_total": 0,
                                  "top": False})
    dy.add_reply("@item1", "c1", "r1", user="brand-user", content="有的", create_time=ts(clock, 300))
    dy.add_reply("@item1", "c2", "r2", user="fan9", content="同问", create_time=ts(clock, 200))


# ---- 1. Douyin: a failing reply list never fails the page -------------------------------------------


def test_douyin_reply_list_http_error_leaves_the_thread_and_stores_the_page(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    _douyin_page_with_threads(dy, clock)
    dy.script(DY_REPLIES, status=500, body={"message": "internal error"})
    service = make_bot().services.sources
    outcome = service.poll("dy")
    assert outcome.status == "ok", outcome
    stored = {c.comment_id for c in comments(db, "douyin")}
    assert {"c1", "c2", "c3"} <= stored  # the page's good comments
    # the newest thread's reply list failed: it and the other thread wait for a later poll (the reply list
    # is not asked again in this poll, nor in the next one: see test_pollers_douyin_reply_backoff.py)
    assert "r2" not in stored and "r1" not in stored
    assert len(dy.calls(DY_REPLIES)) == 1
    assert [letter.reason.split(":")[0] for letter in dead_letters(db)] == ["comment_id"]
    state = service.store.load("dy")
    assert state.targets["@item1"].pending is None and state.targets["@item1"].hwm is not None

    clock.advance(300)
    assert service.poll("dy").status == "ok"
    clock.advance(300)
    assert service.poll("dy").status == "ok"
    stored = {c.comment_id: c for c in comments(db, "douyin")}
    assert {"r1", "r2"} <= set(stored) and stored["r1"].parent_id == "c1"
    assert len(dead_letters(db)) == 1  # dead-lettered once


def test_douyin_reply_list_rate_limit_still_stops_the_poll(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    _douyin_page_with_threads(dy, clock)
    dy.script(DY_REPLIES, status=429, body={}, headers={"Retry-After": "120"})
    outcome = make_bot().services.sources.poll("dy")
    assert outcome.status == "failed" and outcome.reason.startswith("rate_limited"), outcome


def test_douyin_reply_list_the_server_lacks_is_not_asked_again_for_a_while(make_bot, fakes, clock, db, caplog):
    dy = fakes["douyin"]
    _douyin_page_with_threads(dy, clock)
    dy.missing.add(DY_REPLIES)
    service = make_bot().services.sources
    with caplog.at_level(logging.WARNING):
        assert service.poll("dy").status == "ok"
        dy.add_reply("@item1", "c3", "r3", user="fan8", content="我也买了", create_time=ts(clock, 100))
        clock.advance(300)
        assert service.poll("dy").status == "ok"
    assert {"c1", "c2", "c3"} <= {c.comment_id for c in comments(db, "douyin")}
    assert len(dy.calls(DY_REPLIES)) == 1  # not once per comment and poll
    assert sum("not asking it for" in r.getMessage() for r in caplog.records) == 1

    # after the pause the threads (never marked read) are read
    dy.missing.clear()
    clock.advance(7 * 3600)
    assert service.poll("dy").status == "ok"
    assert {"r1", "r2", "r3"} <= {c.comment_id for c in comments(db, "douyin")}


# ---- 2. Bilibili: a server without WBI is read unsigned ---------------------------------------------


def _bili_replies(bili, clock, first: int, count: int) -> None:
    for i in range(count):
        bili.add_reply("170001", first + i, mid=7, uname="u", message=f"评论{first + i}",
                       ctime=ts(clock, 120 - i))


def test_bilibili_falls_back_to_the_unsigned_api_when_nav_and_wbi_are_missing(make_bot, fakes, clock, db, caplog):
    bili = fakes["bilibili"]
    bili.missing.update({BILI_NAV, BILI_SIGNED})
    _bili_replies(bili, clock, 100, 3)
    service = make_bot().services.sources
    with caplog.at_level(logging.WARNING):
        outcome = service.poll("bili")
        assert outcome.status == "ok" and outcome.accepted == 3, outcome
        _bili_replies(bili, clock, 200, 2)
        clock.advance(300)
        outcome = service.poll("bili")
        assert outcome.status == "ok" and outcome.accepted == 2, outcome
    assert len(comments(db, "bilibili")) == 5
    plain = bili.calls(BILI_PLAIN)
    assert plain and all("w_rid" not in c.params and "wts" not in c.params for c in plain)
    assert plain[0].params["oid"] == "170001" and plain[0].params["type"] == "1"
    # remembered: the second poll went straight to the unsigned endpoint
    assert len(bili.calls(BILI_NAV)) + len(bili.calls(BILI_SIGNED)) == 1
    assert sum("no WBI-signed API" in r.getMessage() for r in caplog.records) == 1


def test_bilibili_falls_back_when_only_the_signed_comment_list_is_missing(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    bili.missing.add(BILI_SIGNED)
    _bili_replies(bili, clock, 100, 2)
    outcome = make_bot().services.sources.poll("bili")
    assert outcome.status == "ok" and outcome.accepted == 2, outcome
    assert len(bili.calls(BILI_SIGNED)) == 1 and len(bili.calls(BILI_PLAIN)) == 1


def test_bilibili_keeps_signing_when_wbi_works_and_412_is_no_fallback(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _bili_replies(bili, clock, 100, 2)
    service = make_bot().services.sources
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(BILI_SIGNED)) == 1 and not bili.calls(BILI_PLAIN)

    bili.script(BILI_SIGNED, status=412, body={"code": -412, "message": "请求被拦截"})
    clock.advance(300)
    outcome = service.poll("bili")
    assert outcome.status == "failed" and outcome.reason.startswith("risk_control"), outcome
    assert outcome.next_attempt_at - clock.now() >= timedelta(minutes=30)  # back off for long
    assert not bili.calls(BILI_PLAIN)


# ---- 3. generic_json: records of `targets: recent` get a content id; all rejected is not plain ok ----


@pytest.fixture
def crawler():
    fake = FakeCrawlerExport().start()
    yield fake
    fake.stop()


def _crawler_source(crawler, **changes) -> dict:
    source = {
        "id": "crawl", "type": "generic_json", "account": {"platform": "kuaishou", "account_id": "ks_brand"},
        "targets": "recent", "base_url": crawler.url, "backfill": "1h",
        "credentials": {"access_token": "KS_TOKEN"},
        "settings": {
            "path": "/export", "headers": {"Authorization": "Bearer {credential:access_token}"},
            "params": {"size": 20}, "list_path": "items",
            "fields": {"id": "cid", "text": "body", "time": "ts", "author_id": "uid", "likes": "likes",
                       "parent": "reply_to"},
            "cursor_param": "cursor", "cursor_path": "next_cursor", "has_more_path": "has_more",
        },
    }
    source.update(changes)
    return source


@pytest.fixture
def crawler_env(monkeypatch):
    monkeypatch.setenv("KS_TOKEN", "crawler-token")


def _crawl_items(crawler, clock, video: str | None = None) -> None:
    crawler.items += [
        {"cid": "x1", "body": "质量不错", "ts": ts(clock, 300), "uid": "u1", "likes": 3, "video": video},
        {"cid": "x2", "body": "回复楼上", "ts": ts(clock, 200), "uid": "u2", "likes": 0, "reply_to": "x1",
         "video": video},
    ]


def test_generic_json_recent_without_a_content_id_mapping_uses_the_source_id(
    make_bot, fakes, clock, db, crawler, crawler_env
):
    _crawl_items(crawler, clock)
    service = make_bot(lambda sources: sources.append(_crawler_source(crawler))).services.sources
    outcome = service.poll("crawl")
    assert outcome.status == "ok" and outcome.accepted == 2 and outcome.rejected == 0, outcome
    stored = {c.comment_id: c for c in comments(db, "kuaishou")}
    assert {c.content_id for c in stored.values()} == {"crawl"}
    assert stored["x2"].parent_id == "x1"
    assert dead_letters(db) == []


def test_generic_json_explicit_targets_are_the_content_id(make_bot, fakes, clock, db, crawler, crawler_env):
    _crawl_items(crawler, clock, video="v9")
    source = _crawler_source(crawler, targets=["v9"])
    source["settings"]["params"] = {"size": 20, "video": "{target}"}
    service = make_bot(lambda sources: sources.append(source)).services.sources
    assert service.poll("crawl").accepted == 2
    assert {c.content_id for c in comments(db, "kuaishou")} == {"v9"}


def test_a_poll_whose_records_were_all_rejected_is_a_warning_naming_the_reason(
    make_bot, fakes, clock, db, crawler, crawler_env
):
    _crawl_items(crawler, clock)
    broken = _crawler_source(crawler)
    broken["settings"]["fields"]["time"] = "created"  # no such field: every record lacks its time
    app = make_bot(lambda sources: sources.append(broken))
    service = app.services.sources
    outcome = service.poll("crawl")
    assert outcome.status == "ok" and outcome.accepted == 0 and outcome.rejected == 2, outcome
    assert outcome.warning and "created_at" in outcome.warning
    assert outcome.reason.startswith("警告 warning: 本次轮询读到的 2 条记录全部被拒收")
    row = next(r for r in service.status() if r.source_id == "crawl")
    assert row.health == "warning"
    line = status_line(row, app.services.config.zone())
    assert "记录被拒收 warning" in line and "首条原因：created_at" in line and "正常 ok" not in line

    # the next poll sends nothing (rejected records are remembered): the warning stays
    clock.advance(300)
    assert service.poll("crawl").status == "ok"
    assert next(r for r in service.status() if r.source_id == "crawl").health == "warning"
    # a record that is stored clears it
    crawler.items.append({"cid": "x3", "body": "好", "created": ts(clock, 10), "ts": ts(clock, 10), "uid": "u3"})
    clock.advance(300)
    assert service.poll("crawl").accepted == 1
    row = next(r for r in service.status() if r.source_id == "crawl")
    assert row.health == "ok" and row.warning is None


def test_a_malformed_record_among_good_ones_is_no_warning(make_bot, fakes, clock, db, crawler, crawler_env):
    _crawl_items(crawler, clock)
    crawler.items.append({"cid": "x3", "body": "没有时间", "uid": "u3"})
    service = make_bot(lambda sources: sources.append(_crawler_source(crawler))).services.sources
    outcome = service.poll("crawl")
    assert (outcome.accepted, outcome.rejected, outcome.warning) == (2, 1, None), outcome
    assert next(r for r in service.status() if r.source_id == "crawl").health == "ok"


# ---- 4. announcements: the pinned notice text --------------------------------------------------------


def test_announcement_notices_start_with_the_pinned_prefix_then_the_title(make_bot, fakes, clock, db):
    feed = fakes["announcements"]
    feed.document = rss([{"id": "n1", "title": "评论区管理规则", "url": "https://example.invalid/n1",
                          "published": "Sun, 22 Nov 2026 19:00:00 +0800"}])
    service = make_bot(lambda sources: sources[4].update(backfill="7d")).services.sources
    assert service.poll("rules").status == "ok"
    feed.document = rss([{"id": "n1", "title": "评论区管理规则（修订）", "url": "https://example.invalid/n1",
                          "published": "Sun, 22 Nov 2026 20:00:00 +0800"}])
    clock.advance(600)
    assert service.poll("rules").status == "ok"
    texts = [m.payload["text"] for m in outbox(db) if m.key.startswith("feeds:announcement:")]
    assert texts == [
        "平台规则更新: 评论区管理规则（抖音）\nhttps://example.invalid/n1",
        "平台规则更新: 评论区管理规则（修订）（抖音，已修改）\nhttps://example.invalid/n1",
    ]


def test_announcement_without_a_platform_name_has_nothing_after_the_title(make_bot, fakes, clock, db):
    fakes["announcements"].document = (
        b'[{"id": "j1", "title": "Rules", "url": "https://example.invalid/j1", "published": "2026-11-22T10:00:00+08:00"}]'
    )
    service = make_bot(lambda sources: sources[4].update(backfill="7d", settings={})).services.sources
    assert service.poll("rules").status == "ok"
    [message] = [m for m in outbox(db) if m.key.startswith("feeds:announcement:")]
    assert message.payload["text"] == "平台规则更新: Rules\nhttps://example.invalid/j1"
    assert message.payload["title"] == "平台规则更新: Rules"


# ---- 5. Weibo: since_id on the first page ------------------------------------------------------------


def _weibo_time(clock, seconds_ago: float) -> str:
    from bot.feeds.pollers.base import SHANGHAI

    return (clock.now() - timedelta(seconds=seconds_ago)).astimezone(SHANGHAI).strftime("%a %b %d %H:%M:%S +0800 %Y")


def test_weibo_sends_since_id_of_the_newest_stored_comment_and_pages_with_max_id(make_bot, fakes, clock, db):
    wb = fakes["weibo"]
    post = "4900000000000001"
    for i in range(3):
        wb.add_comment(post, 5001 + i, created_at=_weibo_time(clock, 900 - i * 60), text=f"评论{i}",
                       user_id=300 + i, screen_name="网友")
    service = make_bot(lambda sources: sources[2]["settings"].update(count=2)).services.sources
    first = service.poll("wb")
    assert first.status == "ok" and first.accepted == 3, first
    assert all("since_id" not in c.params for c in wb.calls(WB_COMMENTS))  # no mark yet: backfill

    wb.requests.clear()
    for i in range(5):  # more new comments than one page holds
        wb.add_comment(post, 6001 + i, created_at=_weibo_time(clock, 100 - i * 10), text=f"新评论{i}",
                       user_id=400 + i, screen_name="网友")
    clock.advance(300)
    second = service.poll("wb")
    assert second.status == "ok" and (second.accepted, second.duplicates, second.rejected) == (5, 0, 0), second
    calls = wb.calls(WB_COMMENTS)
    assert calls[0].params["since_id"] == "5003" and "max_id" not in calls[0].params
    assert all("since_id" not in c.params and "max_id" in c.params for c in calls[1:])
    stored = sorted(int(c.comment_id) for c in comments(db, "weibo"))
    assert stored == [5001, 5002, 5003, 6001, 6002, 6003, 6004, 6005]

    wb.requests.clear()
    clock.advance(300)
    quiet = service.poll("wb")
    assert (quiet.status, quiet.fetched, quiet.accepted, quiet.duplicates) == ("ok", 0, 0, 0), quiet
    [call] = wb.calls(WB_COMMENTS)
    assert call.params["since_id"] == "6005"  # a quiet post: one empty page


def test_weibo_since_id_can_be_turned_off(make_bot, fakes, clock, db):
    wb = fakes["weibo"]
    wb.add_comment("4900000000000001", 5001, created_at=_weibo_time(clock, 600), text="评论", user_id=1,
                   screen_name="网友")
    service = make_bot(lambda sources: sources[2]["settings"].update(since_id=False)).services.sources
    service.poll("wb")
    clock.advance(300)
    service.poll("wb")
    assert all("since_id" not in c.params for c in wb.calls(WB_COMMENTS))


# ---- 6. the poll lease: given back on stop, taken over from a dead process of this host --------------


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(30)
    return process.pid


def _lease(db, source_id: str):
    from bot.feeds.models import FeedSourceState

    with db.session() as session:
        row = session.get(FeedSourceState, source_id)
        return (row.lease_holder, row.lease_until) if row else (None, None)


def _short_bili_timeout(sources: list[dict]) -> None:
    """The stopped poll's request is still open on its socket after the stop (closing the client does not
    wake a blocked read), so it ends at the source's HTTP timeout (15 s by default): 4 s here, still far longer
    than the stop and the restarted poll take."""
    next(s for s in sources if s["id"] == "bili")["timeout"] = "4s"


def test_stopping_the_service_mid_poll_gives_the_lease_back(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _bili_replies(bili, clock, 100, 2)
    serve = make_bot(_short_bili_timeout)
    serve.start(scheduler=False)
    held = bili.hold(BILI_SIGNED)
    results: dict = {}
    thread = threading.Thread(target=lambda: results.update(bili=serve.services.sources.poll("bili")), daemon=True)
    thread.start()
    try:
        assert held.entered.wait(10), "the poll never reached the platform"
        assert _lease(db, "bili")[0] is not None
        serve.stop()  # the graceful stop path (on_stop hooks)
        assert _lease(db, "bili") == (None, None)
        # a restarted serve polls the source at once
        restarted = make_bot(_short_bili_timeout)
        polled = restarted.services.sources.poll("bili")
        assert polled.status == "ok" and polled.accepted == 2, polled
    finally:
        held.release()
        thread.join(20)
    # the stopped poll wrote nothing over the restarted one's state, and counts no failure
    assert results["bili"].reason_code == SKIPPED_STOPPING, results["bili"]
    state = DatabaseStateStore(db, clock).load("bili")
    assert state.polls == 1 and state.consecutive_failures == 0 and state.health == "ok"
    assert serve.services.sources.poll("bili").reason_code == SKIPPED_STOPPING  # no poll after the stop


def test_a_lease_of_a_dead_process_of_this_host_is_taken_over(make_bot, fakes, clock, db):
    _bili_replies(fakes["bilibili"], clock, 100, 1)
    dead = f"{socket.gethostname()[:80]}:{_dead_pid()}"
    store = DatabaseStateStore(db, clock)
    assert store.take_lease("bili", f"{dead}#abc123", clock.now(), clock.now() + timedelta(seconds=120)) is None
    polled = make_bot().services.sources.poll("bili")
    assert polled.status == "ok" and polled.accepted == 1, polled
    assert _lease(db, "bili") == (None, None)


def test_a_live_or_foreign_namespace_holder_of_this_host_is_waited_for(make_bot, fakes, clock, db):
    store = DatabaseStateStore(db, clock)
    until = clock.now() + timedelta(seconds=120)
    service = make_bot().services.sources
    # a live process of this host (this very process, as another take)
    assert store.take_lease("bili", f"{process_holder()}#other", clock.now(), until) is None
    assert service.poll("bili").reason_code == SKIPPED_LEASED
    store.release_lease("bili", f"{process_holder()}#other")
    # a dead pid, but the token says another pid namespace (a container sharing the host name)
    dead = f"{socket.gethostname()[:80]}:{_dead_pid()}#abc@ffffffff"
    assert store.take_lease("bili", dead, clock.now(), until) is None
    assert service.poll("bili").reason_code == SKIPPED_LEASED


def test_crisisbot_poll_and_sources_show_the_all_rejected_warning(fakes, clock, db, crawler, crawler_env, tmp_path,
                                                                  monkeypatch):
    from datetime import UTC, datetime

    import yaml
    from typer.testing import CliRunner

    from bot.cli import app

    clock.set(datetime.now(UTC))  # the commands run on the system clock
    _crawl_items(crawler, clock)
    broken = _crawler_source(crawler)
    broken["settings"]["fields"]["time"] = "created"
    config = {"default_channel": "console:general", "timezone": "Asia/Shanghai", "feeds": {"sources": [broken]}}
    path = tmp_path / "crisisbot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    url = db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", url)

    polled = CliRunner().invoke(app, ["poll", "crawl"])
    assert polled.exit_code == 0, polled.output
    assert "crawl: ok | 读取 read 2 | 新增 new 0 | 重复 dup 0 | 拒收 rejected 2 | 警告 warning: 本次轮询读到的 2 条记录全部被拒收" \
        in polled.output
    assert "首条原因：created_at" in polled.output
    listed = CliRunner().invoke(app, ["sources"])
    assert listed.exit_code == 0, listed.output
    assert "crawl [generic_json] 记录被拒收 warning" in listed.output and "首条原因：created_at" in listed.output
