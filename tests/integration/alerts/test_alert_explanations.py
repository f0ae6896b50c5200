"""What an alert says about its own incident: quotes and keywords from the window the headline counts, one
alert per incident (merged episodes follow their message), the channel's time zone, and honest button replies.

Real database (SQLite, and PostgreSQL when configured), the real dispatcher and console port, a FakeClock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.config import parse_config
from bot.storage.models import OutboxMessage
from tests.integration.alerts.test_alert_service import (
    _action,
    comment,
    episodes,
    escalations,
    live,
    load_history,
    tick,
)

ALLERGY = ["用了这个面霜脸上过敏起红疹，太坑了", "烂脸了，客服也不理人，垃圾产品", "质量太差了，退货！",
           "假货吧，和专柜的完全不一样，差评", "用完过敏，脸又红又痒，要求退款"]


def calm_history(bot, clock, *, hours=24, until_ago=timedelta(minutes=35), per_bucket=2):
    """Calm comments for `hours` ending `until_ago` before now, ingested at once and judged silently."""
    end = clock.now() - until_ago
    records = []
    buckets = hours * 12
    for b in range(buckets):
        at = end - timedelta(minutes=5 * (buckets - b)) + timedelta(seconds=30)
        records.extend(comment(at + timedelta(seconds=60 * i)) for i in range(per_bucket))
    bot.services.ingest.ingest_records(records, source="test-history")
    tick(bot)


def primary(db):
    """The episodes with a message of their own (not merged into another one's)."""
    return [e for e in episodes(db) if not e.stats.get("merged_into")]


def test_a_slow_ramp_quotes_and_mines_the_hour_its_headline_counts(bot, clock, db):
    """A ramp that starts slowly (the most-liked comments come first) fires on the hour-long window: the
    quotes and keywords cover that hour, and the keywords' "usual" is the day before it (no 过敏 at all)."""
    calm_history(bot, clock, until_ago=timedelta(minutes=0))
    sent = []  # (created_at, text)
    for minute in range(90):
        clock.advance(timedelta(minutes=1))
        n = (1 if minute % 4 == 0 else 0) if minute < 24 else 1 + (minute - 24) // 8
        records = []
        for _ in range(n):
            i = len(sent)
            at = clock.now() - timedelta(seconds=5)
            text = f"{ALLERGY[i % 5]}（第{i}条）"
            records.append(comment(at, text=text, likes={0: 900, 1: 450, 2: 300}.get(i, i % 40)))
            sent.append((at, text))
        bot.services.ingest.ingest_records(records, source="test")
        tick(bot)
        if primary(db):
            break
    [ep] = primary(db)
    stats = ep.stats
    assert stats["window_minutes"] == 60  # precondition: the hour-long window fired, 20+ minutes in
    assert [c["likes"] for c in stats["top_comments"]] == [900, 450, 300]
    start, end = (datetime.fromisoformat(stats[k]) for k in ("window_start", "window_end"))
    in_window = [text for at, text in sent if start <= at < end]
    assert len(in_window) == stats["window_observed"]  # the quotes' window is the headline's
    keywords = {k["term"]: k for k in stats.get("keywords") or []}
    assert "过敏" in keywords, keywords
    assert keywords["过敏"] == {"term": "过敏", "count": sum("过敏" in t for t in in_window), "baseline_count": 0}
    message = bot.console.messages("lanji")[-1]
    assert "900" in str(message.sections)


def test_a_merged_episode_follows_its_message_and_counts_once(bot, clock, db, press_button):
    """The account-level and the video's episode of one pile-on share one message: escalation comes once,
    误报 on the message covers both, and the client report counts one alert."""
    from bot.reports.service import ReportRequest

    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [message_ep] = primary(db)
    merged = [e for e in episodes(db) if e.stats.get("merged_into") == message_ep.episode_key]
    assert merged, "precondition: the video's episode was merged into the account's message"
    live(bot, clock, 20, per_minute=12)  # unacknowledged past escalation.after_minutes
    assert escalations(db), "precondition: the incident escalated"
    for ep in episodes(db):
        escalated = [h for h in ep.history if h["action"] == "escalated"]
        if ep.stats.get("merged_into"):
            assert escalated == [] and ep.escalations == 0
        else:
            assert len(escalated) == len(escalations(db))
    replies = press_button("alert.false_positive", message_ep.episode_key)
    assert "误报" in replies[0].text
    assert {e.status for e in episodes(db)} == {"false_positive"}
    assert all(e.stats["feedback"]["label"] == "false_positive" for e in episodes(db))
    report = bot.services.extra["reports"].build(
        ReportRequest("console:lanji", clock.now() - timedelta(days=1), clock.now() + timedelta(minutes=1)))
    assert [a.status for a in report.data.alerts] == ["false_positive"]


def test_a_video_merged_into_an_acknowledged_alert_is_acknowledged_too(bot, clock, db, press_button):
    """Acknowledging the message stops escalation for the whole incident, merged episodes included."""
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [message_ep] = primary(db)
    press_button("alert.ack", message_ep.episode_key)
    assert {e.status for e in episodes(db)} == {"acknowledged"}
    live(bot, clock, 30, per_minute=12)
    assert escalations(db) == []
    assert all(not any(h["action"] == "escalated" for h in e.history) for e in episodes(db))


def test_alert_and_notice_times_are_in_the_channels_own_zone(db, settings, clock):
    """A channel with its own time zone reads alert times (started, log, muted until) and notice windows
    in that zone, as its reports and playbooks do; the config's zone is Asia/Shanghai (UTC+8)."""
    config = parse_config({
        "timezone": "Asia/Shanghai",
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji", "timezone": "Europe/London"}],
        "alerts": {"watch_terms": [{"term": "过敏"}]},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)  # 2026-11-22 12:00 UTC = London
    try:
        load_history(app, clock)
        live(app, clock, 10, per_minute=12)
        [ep] = primary(db)
        started = ep.started_at.astimezone(ZoneInfo("Europe/London")).strftime("%m-%d %H:%M")
        assert started.startswith("11-22 12:")  # precondition: London shows 12:xx, Shanghai 20:xx
        app.dispatcher.handle(_action("alert.mute", ep.episode_key))
        app.services.outbox.drain()
        alert = [m for m in app.console.messages("lanji") if (m.meta or {}).get("kind") == "alert"][-1]
        fields = {f.label: f.value for f in alert.fields}
        assert fields["开始"] == started
        assert fields["静默至"].startswith("11-22 13:")
        log_line = alert.sections[-1].text
        assert "20:" not in log_line and " 12:" in log_line, log_line
        notice = [m for m in app.console.messages("lanji") if (m.meta or {}).get("kind") == "risk_notice"][-1]
        assert "11-22 12:00 起收到" in notice.text, notice.text
    finally:
        app.stop()


def _alert_updates(db):
    with db.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.update_of.is_not(None))).all()


def test_a_press_that_changes_nothing_says_so_and_logs_nothing(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [ep] = primary(db)
    press_button("alert.false_positive", ep.episode_key)
    before = [e for e in episodes(db) if e.episode_key == ep.episode_key][0]
    updates = len(_alert_updates(db))
    for button in ("alert.mute", "alert.ack", "alert.false_positive"):
        [reply] = press_button(button, ep.episode_key)
        assert reply.text.startswith("状态未变：该告警已标记为误报 / unchanged: already marked a false alarm"), reply.text
        assert "alice" not in reply.text
    after = [e for e in episodes(db) if e.episode_key == ep.episode_key][0]
    assert after.status == "false_positive" and after.muted_until is None
    assert after.history == before.history
    assert len(_alert_updates(db)) == updates  # the message was not edited either


def test_a_second_mute_says_until_when_in_the_channels_zone(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [ep] = primary(db)
    press_button("alert.mute", ep.episode_key)
    [reply] = press_button("alert.mute", ep.episode_key)
    until = [e for e in episodes(db) if e.episode_key == ep.episode_key][0].muted_until
    local = until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")
    assert reply.text == f"状态未变：该告警已静默至 {local} / unchanged: already muted until {local}"


def test_starting_the_playbook_twice_names_the_run_already_going(bot, clock, db, press_button):
    from bot.playbooks.models import CrisisRun

    if "playbooks" not in bot.services.extra:  # pragma: no cover - the playbooks feature ships with the bot
        pytest.skip("playbooks are not enabled")
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [ep] = primary(db)
    [first] = press_button("alert.playbook", ep.episode_key)
    with db.session() as session:
        [run] = session.exec(select(CrisisRun)).all()
    assert "已启动预案" in first.text and f"#{run.id}" in first.text
    logged = [e for e in episodes(db) if e.episode_key == ep.episode_key][0].history
    [again] = press_button("alert.playbook", ep.episode_key)
    assert again.text.startswith(f"已有预案 #{run.id}"), again.text
    assert f"a run #{run.id} already exists for this alert" in again.text
    assert "已启动预案" not in again.text
    assert [e for e in episodes(db) if e.episode_key == ep.episode_key][0].history == logged
    with db.session() as session:
        assert len(session.exec(select(CrisisRun)).all()) == 1


def test_the_playbook_button_after_a_false_alarm_changes_nothing_and_names_crisis_start(bot, clock, db, press_button):
    """As 确认 and 静默 after 误报: 启动预案 leaves the alert a false alarm (the feedback kept for tuning) and
    starts nothing; the reply says so and how to start a run on purpose. It was: a run started, the alert
    set to 已确认 and the false-alarm feedback dropped."""
    from bot.playbooks.models import CrisisRun

    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [ep] = primary(db)
    press_button("alert.false_positive", ep.episode_key)
    marked = [e for e in episodes(db) if e.episode_key == ep.episode_key][0]
    [reply] = press_button("alert.playbook", ep.episode_key)
    zh, _, en = reply.text.partition("\n")
    assert zh.startswith("状态未变：该告警已标记为误报"), reply.text
    assert "/crisis start" in zh and "--account douyin:lanji_official" in zh
    assert "false alarm" in en and "/crisis start" in en and "--account douyin:lanji_official" in en
    assert "已启动预案" not in reply.text
    after = [e for e in episodes(db) if e.episode_key == ep.episode_key][0]
    assert after.status == "false_positive" and after.stats["feedback"]["label"] == "false_positive"
    assert after.history == marked.history  # nothing happened, nothing logged
    with db.session() as session:
        assert session.exec(select(CrisisRun)).all() == []


def test_a_new_alert_for_an_account_whose_run_is_going_joins_that_run(bot, clock, db, press_button, run_command):
    from bot.playbooks.models import CrisisRun, CrisisTimelineEntry

    [started] = run_command("/crisis start product-complaint --account douyin:lanji_official", channel="console:lanji")
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [ep] = primary(db)
    with db.session() as session:
        [run] = session.exec(select(CrisisRun)).all()
    for _ in range(2):  # a second press (or the reminder job's own linking) adds nothing twice
        [reply] = press_button("alert.playbook", ep.episode_key)
        assert reply.text.startswith(f"该账号已有进行中的预案 #{run.id}"), reply.text
        assert f"Run #{run.id}" in reply.text and "/crisis start" in reply.text
    bot.services.extra["playbooks"].tick()
    with db.session() as session:
        assert len(session.exec(select(CrisisRun)).all()) == 1  # no second run for the same incident
        lines = [e.text for e in session.exec(select(CrisisTimelineEntry).where(
            CrisisTimelineEntry.run_id == run.id, CrisisTimelineEntry.kind == "alert")).all()]
    assert [line for line in lines if ep.episode_key in line] == [f"关联告警 {ep.episode_key}：{ep.severity}，alice 按下启动预案"]
    assert [e for e in episodes(db) if e.episode_key == ep.episode_key][0].status == "acknowledged"


def test_a_risk_notice_says_received_and_quotes_the_most_liked_first(bot, clock, db, run_command):
    """The notice's window is by arrival (an import delivers older comments now), and its examples are
    the most-liked of the window, most-liked first."""
    run_command("/watch add 过敏")
    now = clock.now()
    batch = [comment(now - timedelta(minutes=20), text=f"用了过敏了 {likes}", likes=likes)
             for likes in (3, 120, 7, 950, 1, 2, 0)]
    for record in batch:  # one by one: each updates the same notice
        bot.services.ingest.ingest_records([record], source="test")
    bot.services.outbox.drain()
    notice = [m for m in bot.console.messages("lanji")
              if (m.meta or {}).get("notice", "").startswith("notice:term:")][-1]
    head, *rows = notice.text.split("\n")
    assert "起收到 7 条评论提到「过敏」" in head, head
    assert [row.split("（👍 ")[1].split("）")[0] for row in rows] == ["950", "120", "7"]
