"""Review finding: a Douyin reply list that keeps failing (5xx, timeouts, other 4xx) is asked once per poll
at most, then left alone for a growing number of polls (kept across a restart), and `sources` says the
replies are not read; the threads left behind are read once it answers again. Driven against the local
fake Douyin server (tests/fakes/platforms.py)."""

from __future__ import annotations

from datetime import timedelta

from bot.feeds.pollers.commands import status_line
from tests.integration.pollers.helpers import comments

DY_REPLIES = "/item/comment/reply/list/"


def ts(clock, seconds_ago: float) -> int:
    return int((clock.now() - timedelta(seconds=seconds_ago)).timestamp())


def _threads(dy, clock, count: int = 6) -> None:
    """`count` comments, each with one reply in its thread."""
    for i in range(count):
        dy.add_comment("@item1", f"c{i}", user=f"fan{i}", content=f"评论{i}", create_time=ts(clock, 900 - i * 10))
        dy.add_reply("@item1", f"c{i}", f"r{i}", user="brand-user", content=f"回复{i}",
                     create_time=ts(clock, 300 - i * 10))


def _row(service):
    return next(r for r in service.status() if r.source_id == "dy")


def test_a_failing_reply_list_is_asked_once_per_poll_then_backs_off_and_recovers(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    _threads(dy, clock)
    dy.script(DY_REPLIES, status=503, body={"message": "busy"}, times=2)
    app = make_bot()
    service = app.services.sources

    # poll 1: the first thread's reply list fails: no other thread is asked; the comments are stored
    outcome = service.poll("dy")
    assert outcome.status == "ok", outcome
    assert len(dy.calls(DY_REPLIES)) == 1
    stored = {c.comment_id for c in comments(db, "douyin")}
    assert {f"c{i}" for i in range(6)} <= stored and not {f"r{i}" for i in range(6)} & stored
    row = _row(service)
    assert row.health == "warning" and row.warning is None
    assert any("评论回复列表请求失败（HTTP 503），回复暂未读取" in note and "the reply list failed (HTTP 503)" in note
               for note in row.notes), row.notes
    line = status_line(row, app.services.config.zone())
    assert "dy [douyin] 警告 warning" in line and "注意 note: 评论回复列表请求失败（HTTP 503）" in line
    assert "记录被拒收" not in line and "正常 ok" not in line
    assert "注意 note: 评论回复列表请求失败（HTTP 503）" in (outcome.reason or "")

    # poll 2, after a restart: the pause is kept, the reply list is not asked
    service = make_bot().services.sources
    clock.advance(300)
    assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 1

    # poll 3: asked again, once; it fails again: the pause doubles (2 polls)
    clock.advance(300)
    assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 2
    for _ in range(2):
        clock.advance(300)
        assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 2
    assert _row(service).health == "warning"

    # poll 6: it answers: every thread left behind is read, the note goes
    clock.advance(300)
    assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 2 + 6
    stored = {c.comment_id: c for c in comments(db, "douyin")}
    assert {f"r{i}" for i in range(6)} <= set(stored) and stored["r0"].parent_id == "c0"
    row = _row(service)
    assert row.health == "ok" and row.notes == []
    assert "注意 note" not in status_line(row, app.services.config.zone())

    # after the recovery a failure starts the pause over at one poll
    dy.add_reply("@item1", "c1", "r1b", user="fan7", content="还有吗", create_time=ts(clock, 5))
    dy.script(DY_REPLIES, status=502, body={})
    clock.advance(300)
    assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 9
    clock.advance(300)
    assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 9
    clock.advance(300)
    assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 10
    assert "r1b" in {c.comment_id for c in comments(db, "douyin")}


def test_a_reply_list_answering_busy_backs_off_too(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    _threads(dy, clock, 3)
    dy.script(DY_REPLIES, body={"data": {"error_code": 2100004, "description": "系统繁忙"}})
    service = make_bot().services.sources
    assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 1
    assert any("douyin error_code 2100004" in note for note in _row(service).notes)
    clock.advance(300)
    service.poll("dy")
    assert len(dy.calls(DY_REPLIES)) == 1
    clock.advance(300)
    service.poll("dy")
    assert len(dy.calls(DY_REPLIES)) == 1 + 3
    assert {"r0", "r1", "r2"} <= {c.comment_id for c in comments(db, "douyin")}


def test_a_rate_limited_reply_list_still_stops_the_poll_without_a_note(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    _threads(dy, clock, 3)
    dy.script(DY_REPLIES, status=429, body={}, headers={"Retry-After": "120"})
    service = make_bot().services.sources
    outcome = service.poll("dy")
    assert outcome.status == "failed" and outcome.reason.startswith("rate_limited"), outcome
    assert _row(service).notes == []


def test_crisisbot_poll_and_sources_say_the_replies_are_not_read(fakes, clock, db, env, tmp_path, monkeypatch):
    from datetime import UTC, datetime

    import yaml
    from typer.testing import CliRunner

    from bot.cli import app
    from tests.integration.pollers.conftest import source_configs

    clock.set(datetime.now(UTC))  # the commands run on the system clock
    dy = fakes["douyin"]
    _threads(dy, clock, 3)
    dy.script(DY_REPLIES, status=503, body={}, times=3)
    source = next(s for s in source_configs(fakes) if s["id"] == "dy")
    config = {"default_channel": "console:general", "timezone": "Asia/Shanghai", "feeds": {"sources": [source]}}
    path = tmp_path / "crisisbot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    url = db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", url)

    polled = CliRunner().invoke(app, ["poll", "dy"])
    assert polled.exit_code == 0, polled.output
    assert "dy: ok | 读取 read 3 | 新增 new 3" in polled.output
    assert "注意 note: 评论回复列表请求失败（HTTP 503），回复暂未读取" in polled.output
    assert len(dy.calls(DY_REPLIES)) == 1
    listed = CliRunner().invoke(app, ["sources"])
    assert listed.exit_code == 0, listed.output
    assert "dy [douyin] 警告 warning" in listed.output
    assert "注意 note: 评论回复列表请求失败（HTTP 503），回复暂未读取" in listed.output
    assert "the reply list failed (HTTP 503): replies not read yet" in listed.output


def test_the_reply_list_pause_is_at_most_about_an_hour_of_polls(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    _threads(dy, clock, 2)
    dy.script(DY_REPLIES, status=504, body={}, times=3)

    def slow(sources):
        next(s for s in sources if s["id"] == "dy")["interval"] = 7200  # one poll is longer than the cap

    service = make_bot(slow).services.sources
    asked = []
    for _ in range(6):
        assert service.poll("dy").status == "ok"
        asked.append(len(dy.calls(DY_REPLIES)))
        clock.advance(7200)
    # fails, pause 1 poll; fails, pause capped at 1 poll (not 2); fails; pause; then read (2 threads)
    assert asked == [1, 1, 2, 2, 3, 3]
    assert any("跳过 1 次轮询后重试（已连续失败 3 次）" in note for note in _row(service).notes)
    assert service.poll("dy").status == "ok"
    assert len(dy.calls(DY_REPLIES)) == 5 and _row(service).notes == []
