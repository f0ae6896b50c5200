"""Review finding: a Bilibili thread reply list (`/x/v2/reply/reply`) that keeps failing (5xx, timeouts, error
codes that are not the thread's own) is asked once per poll at most, then left alone for a growing number of
polls (kept across a restart), and `sources` says the thread replies are not read; the threads left behind are
read once it answers again. 412 / 429 still stop the poll, a 404 keeps its 6 h pause. Driven against the local
fake Bilibili server (tests/fakes/platforms.py)."""

from __future__ import annotations

from datetime import timedelta

from bot.feeds.pollers.commands import status_line
from tests.integration.pollers.helpers import comments

THREADS = "/x/v2/reply/reply"
NOTE_ZH = "楼中楼回复列表请求失败（HTTP 503），楼中楼回复暂未读取"
NOTE_EN = "the thread reply list failed (HTTP 503): thread replies not read yet"


def ts(clock, seconds_ago: float) -> int:
    return int((clock.now() - timedelta(seconds=seconds_ago)).timestamp())


def _threads(bili, clock, count: int = 6) -> None:
    """`count` comments (rpid 1000 + i), each with one reply (rpid 5000 + i) in its thread that the comment
    list does not nest as a preview: only the thread list gives it."""
    for i in range(count):
        bili.add_reply("170001", 1000 + i, mid=7000 + i, uname=f"用户{i}", message=f"评论{i}",
                       ctime=ts(clock, 900 - i * 10))
        bili.add_thread_reply("170001", 1000 + i, 5000 + i, mid=42, uname="小厨科技官方", message=f"回复{i}",
                              ctime=ts(clock, 300 - i * 10), previews=0)


def _row(service):
    return next(r for r in service.status() if r.source_id == "bili")


def _stored(db) -> dict:
    return {c.comment_id: c for c in comments(db, "bilibili")}


def test_a_failing_thread_list_is_asked_once_per_poll_then_backs_off_and_recovers(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _threads(bili, clock)
    bili.script(THREADS, status=503, body={"code": -500, "message": "服务器错误"}, times=2)
    app = make_bot()
    service = app.services.sources

    # poll 1: the first thread's list fails: no other thread is asked; the comments are stored
    outcome = service.poll("bili")
    assert outcome.status == "ok", outcome
    assert len(bili.calls(THREADS)) == 1
    stored = _stored(db)
    assert {str(1000 + i) for i in range(6)} <= set(stored)
    assert not {str(5000 + i) for i in range(6)} & set(stored)
    row = _row(service)
    assert row.health == "warning" and row.warning is None
    assert any(NOTE_ZH in note and NOTE_EN in note for note in row.notes), row.notes
    line = status_line(row, app.services.config.zone())
    assert "bili [bilibili] 警告 warning" in line and f"注意 note: {NOTE_ZH}" in line
    assert "记录被拒收" not in line and "正常 ok" not in line
    assert f"注意 note: {NOTE_ZH}" in (outcome.reason or "")

    # poll 2, after a restart: the pause is kept, the thread list is not asked
    service = make_bot().services.sources
    clock.advance(300)
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 1

    # poll 3: asked again, once; it fails again: the pause doubles (2 polls)
    clock.advance(300)
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 2
    assert any("跳过 2 次轮询后重试（已连续失败 2 次）" in note for note in _row(service).notes)
    for _ in range(2):
        clock.advance(300)
        assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 2
    assert _row(service).health == "warning"
    assert not {str(5000 + i) for i in range(6)} & set(_stored(db))

    # poll 6: it answers: every thread left behind is read, the note goes
    clock.advance(300)
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 2 + 6
    stored = _stored(db)
    assert {str(5000 + i) for i in range(6)} <= set(stored)
    assert stored["5000"].parent_id == "1000" and stored["5000"].is_from_account is True
    row = _row(service)
    assert row.health == "ok" and row.notes == []
    assert "注意 note" not in status_line(row, app.services.config.zone())

    # read threads are not asked again
    clock.advance(300)
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 8

    # after the recovery a failure starts the pause over at one poll
    bili.add_thread_reply("170001", 1001, 5101, mid=7777, uname="路人", message="还有吗", ctime=ts(clock, 5),
                          previews=0)
    bili.script(THREADS, status=502, body={})
    clock.advance(300)
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 9
    clock.advance(300)
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 9
    clock.advance(300)
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 10
    assert "5101" in _stored(db)


def test_a_thread_list_answering_an_error_code_backs_off_too(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _threads(bili, clock, 3)
    bili.script(THREADS, body={"code": -352, "message": "风控校验失败", "ttl": 1})
    service = make_bot().services.sources
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 1
    assert any("楼中楼回复列表请求失败（bilibili code -352: 风控校验失败）" in note for note in _row(service).notes)
    clock.advance(300)
    service.poll("bili")
    assert len(bili.calls(THREADS)) == 1
    clock.advance(300)
    service.poll("bili")
    assert len(bili.calls(THREADS)) == 1 + 3
    assert {"5000", "5001", "5002"} <= set(_stored(db))
    assert _row(service).notes == []


def test_a_thread_list_timing_out_backs_off(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _threads(bili, clock, 3)

    def quick(sources):
        next(s for s in sources if s["id"] == "bili")["timeout"] = 0.5

    service = make_bot(quick).services.sources
    held = bili.hold(THREADS, timeout=5.0)
    try:
        assert service.poll("bili").status == "ok"
    finally:
        held.release()
    assert len(bili.calls(THREADS)) == 1
    assert any("楼中楼回复列表请求失败（timeout" in note for note in _row(service).notes), _row(service).notes
    clock.advance(300)
    service.poll("bili")
    assert len(bili.calls(THREADS)) == 1
    clock.advance(300)
    service.poll("bili")
    assert len(bili.calls(THREADS)) == 1 + 3
    assert {"5000", "5001", "5002"} <= set(_stored(db))


def test_a_deleted_thread_leaves_only_that_thread_without_a_note(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _threads(bili, clock, 3)
    bili.script(THREADS, body={"code": 12022, "message": "已经被删除了", "ttl": 1})
    service = make_bot().services.sources
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 3  # the other threads are read in the same poll
    row = _row(service)
    assert row.health == "ok" and row.notes == []
    assert {"5000", "5001"} <= set(_stored(db)) and "5002" not in _stored(db)  # the newest thread was asked first
    clock.advance(300)
    service.poll("bili")
    assert len(bili.calls(THREADS)) == 4  # only the thread not read yet
    assert "5002" in _stored(db)


def test_risk_control_and_rate_limits_on_the_thread_list_still_stop_the_poll_without_a_note(
    make_bot, fakes, clock, db
):
    bili = fakes["bilibili"]
    _threads(bili, clock, 3)
    bili.script(THREADS, status=412, body={"code": -412, "message": "请求被拦截"})
    service = make_bot().services.sources
    outcome = service.poll("bili")
    assert outcome.status == "failed" and outcome.reason.startswith("risk_control"), outcome
    assert len(bili.calls(THREADS)) == 1
    assert _row(service).notes == []

    bili.script(THREADS, status=429, body={}, headers={"Retry-After": "120"})
    clock.advance(7 * 24 * 3600)
    outcome = service.poll("bili")
    assert outcome.status == "failed" and outcome.reason.startswith("rate_limited"), outcome
    assert _row(service).notes == []


def test_a_missing_thread_list_keeps_its_six_hour_pause_without_a_note(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _threads(bili, clock, 3)
    bili.missing.add(THREADS)
    service = make_bot().services.sources
    assert service.poll("bili").status == "ok"
    assert len(bili.calls(THREADS)) == 1
    row = _row(service)
    assert row.health == "ok" and row.notes == []
    bili.missing.discard(THREADS)
    clock.advance(3600)
    service.poll("bili")
    assert len(bili.calls(THREADS)) == 1  # still within the 6 h pause
    clock.advance(6 * 3600)
    service.poll("bili")
    assert len(bili.calls(THREADS)) == 1 + 3
    assert {"5000", "5001", "5002"} <= set(_stored(db))


def test_switching_thread_replies_off_drops_the_note(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    _threads(bili, clock, 2)
    bili.script(THREADS, status=503, body={})
    service = make_bot().services.sources
    assert service.poll("bili").status == "ok"
    assert _row(service).notes

    def off(sources):
        next(s for s in sources if s["id"] == "bili")["settings"]["fetch_replies"] = False

    service = make_bot(off).services.sources
    clock.advance(300)
    assert service.poll("bili").status == "ok"
    row = _row(service)
    assert row.health == "ok" and row.notes == []


def test_crisisbot_poll_and_sources_say_the_thread_replies_are_not_read(fakes, clock, db, env, tmp_path,
                                                                         monkeypatch):
    from datetime import UTC, datetime

    import yaml
    from typer.testing import CliRunner

    from bot.cli import app
    from tests.integration.pollers.conftest import source_configs

    clock.set(datetime.now(UTC))  # the commands run on the system clock
    bili = fakes["bilibili"]
    _threads(bili, clock, 3)
    bili.script(THREADS, status=503, body={}, times=3)
    source = next(s for s in source_configs(fakes) if s["id"] == "bili")
    config = {"default_channel": "console:general", "timezone": "Asia/Shanghai", "feeds": {"sources": [source]}}
    path = tmp_path / "crisisbot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    url = db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", url)

    polled = CliRunner().invoke(app, ["poll", "bili"])
    assert polled.exit_code == 0, polled.output
    assert "bili: ok | 读取 read 3 | 新增 new 3" in polled.output
    assert f"注意 note: {NOTE_ZH}" in polled.output
    assert len(bili.calls(THREADS)) == 1
    listed = CliRunner().invoke(app, ["sources"])
    assert listed.exit_code == 0, listed.output
    assert "bili [bilibili] 警告 warning" in listed.output
    assert f"注意 note: {NOTE_ZH}" in listed.output
    assert NOTE_EN in listed.output
