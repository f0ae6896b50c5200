"""The alert service end to end: ingest -> buckets -> detector -> episode -> outbox -> console.

Real database (SQLite, and PostgreSQL when configured), the real dispatcher and console port, a FakeClock
moved by the test. Spike comments are plainly negative and background ones plainly neutral, so the
alert fires whether a sentiment model is installed (negative counts) or not (all comments).
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from sqlmodel import select

from bot.alerts.models import AlertEpisode
from bot.app import build_app
from bot.config import parse_config
from bot.storage.models import OutboxMessage

ACCOUNT = {"platform": "douyin", "account_id": "lanji_official"}
NEGATIVE = "垃圾产品，用了烂脸过敏，退款！太差了，再也不买"
CALM = "今天直播几点开始呀"
_ids = count(1)


def comment(at, *, text=CALM, content="v1", likes=0):
    return {**ACCOUNT, "content_id": content, "comment_id": f"c{next(_ids)}", "text": text,
            "created_at": at.isoformat(), "like_count": likes, "content_title": "新品面霜",
            "content_url": f"https://www.douyin.com/video/{content}"}



def grumbling_days(now) -> list[dict]:
    """Three days with four negative comments in every bucket (of six): a usual level to rise above."""
    records = []
    for b in range(3 * 288):
        at = now - timedelta(minutes=5 * (3 * 288 - b)) + timedelta(seconds=30)
        records += [comment(at + timedelta(seconds=40 * i), text=NEGATIVE if i < 4 else CALM) for i in range(6)]
    return records

def load_history(bot, clock, days=1.0, per_bucket=2):
    """Quiet background comments over the past `days`, ingested at once (judged silently)."""
    now = clock.now()
    records = []
    buckets = int(days * 288)
    for b in range(buckets):
        at = now - timedelta(minutes=5 * (buckets - b)) + timedelta(seconds=30)
        records.extend(comment(at + timedelta(seconds=60 * i)) for i in range(per_bucket))
    bot.services.ingest.ingest_records(records, source="test-history")
    tick(bot)


def tick(bot):
    for fn in bot.wiring.ticks:
        fn()
    bot.services.outbox.drain()


def live(bot, clock, minutes, *, per_minute=0, text=NEGATIVE, step=timedelta(seconds=20)):
    """Move the clock through `minutes`, ingesting `per_minute` comments each minute, ticking often."""
    end = clock.now() + timedelta(minutes=minutes)
    while clock.now() < end:
        clock.advance(step)
        now = clock.now()
        if per_minute and now.second < step.total_seconds():
            bot.services.ingest.ingest_records([comment(now, text=text) for _ in range(per_minute)], source="test")
        tick(bot)


def pile_on_until_alerted(app, clock, db, *, step=None) -> None:
    """20 negative comments a minute until the alert is queued (at most 15 minutes); `step` moves the clock
    one minute (default: `live`, which also delivers)."""
    for _ in range(15):
        (step or live)(app, clock, 1, per_minute=20)
        if alert_posts(db):
            return


def alert_posts(db):
    with db.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.update_of.is_(None))).all()
    return [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "alert"]


def escalations(db):
    with db.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    return [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "escalation"]


def episodes(db):
    with db.session() as session:
        return list(session.exec(select(AlertEpisode).order_by(AlertEpisode.id)).all())


def test_spike_alerts_once_and_updates_in_place(bot, clock, db):
    load_history(bot, clock)
    live(bot, clock, 20)
    assert alert_posts(db) == []
    live(bot, clock, 15, per_minute=12)
    posts = alert_posts(db)
    assert len(posts) == 1, [p.key for p in posts]
    assert posts[0].channel == "console:lanji"
    message = bot.console.messages("lanji")[-1]
    assert "激增" in (message.title or "")
    assert {b.action_id for b in message.buttons} == {"alert.playbook", "alert.ack", "alert.mute", "alert.false_positive"}
    # calm again: the same message is updated to "resolved"; still one post
    live(bot, clock, 120)
    assert len(alert_posts(db)) == 1
    eps = [e for e in episodes(db) if not e.stats.get("merged_into")]
    assert len(eps) == 1 and eps[0].status == "resolved" and eps[0].recovered_at is not None
    texts = [m.title or "" for m in bot.console.messages("lanji")]
    assert any("已恢复" in t for t in texts)


def test_alert_quotes_the_most_liked_comments_that_lean_negative(bot, clock, db):
    load_history(bot, clock)
    live(bot, clock, 20)
    # the most-liked "neg" comment is one the model leans positive on: it is counted, never quoted
    bot.services.ingest.ingest_records([comment(clock.now(), text="三连了，求抽奖[星星眼]", likes=5000),
                                        comment(clock.now(), text=NEGATIVE, likes=300)], source="test")
    live(bot, clock, 15, per_minute=12)
    [post] = alert_posts(db)
    quoted = str(post.payload)
    assert NEGATIVE in quoted and "三连" not in quoted


def test_restart_mid_episode_neither_duplicates_nor_loses(db, settings, app_config, clock):
    first = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    load_history(first, clock)
    live(first, clock, 10, per_minute=12)
    assert len(alert_posts(db)) == 1
    first.stop()
    # a new process on the same database: the detector state and the episode come back from the tables
    second = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    try:
        live(second, clock, 10, per_minute=12)
        assert len(alert_posts(db)) == 1  # no duplicate
        live(second, clock, 150)
        eps = [e for e in episodes(db) if not e.stats.get("merged_into")]
        assert len(eps) == 1 and eps[0].status == "resolved"  # recovery seen by the new process
        # every update targets the one post
        with db.session() as session:
            updates = session.exec(select(OutboxMessage).where(OutboxMessage.update_of.is_not(None))).all()
        assert updates and {u.update_of for u in updates} <= {alert_posts(db)[0].key}
    finally:
        second.stop()


def test_unacknowledged_alert_escalates_to_the_rota_then_stops_when_acknowledged(db, settings, clock, press_button):
    config = parse_config({
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji"}],
        "alerts": {"escalation": {"after_minutes": 10, "rota": ["console:oncall1", "console:oncall2"]}},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        load_history(app, clock)
        pile_on_until_alerted(app, clock, db)
        live(app, clock, 5, per_minute=20)
        eps = [e for e in episodes(db) if not e.stats.get("merged_into")]
        assert eps and eps[0].severity in ("sev1", "sev2")
        assert escalations(db) == []
        live(app, clock, 6)
        first = escalations(db)
        assert len(first) == 1 and "oncall1" in first[0].payload["mentions"]
        if eps[0].severity == "sev1" or any(e.severity == "sev1" for e in episodes(db)):
            assert "here" in first[0].payload["mentions"]
        live(app, clock, 10)
        second = escalations(db)
        assert len(second) == 2 and "oncall2" in second[-1].payload["mentions"]
        # acknowledge through the dispatcher: escalation stops
        app.dispatcher.handle(_action("alert.ack", eps[0].episode_key))
        live(app, clock, 30)
        assert len(escalations(db)) == 2
        ep = [e for e in episodes(db) if e.episode_key == eps[0].episode_key][0]
        assert ep.status == "acknowledged"
        assert any(h["action"] == "acknowledged" and h["user"] == "console:alice" for h in ep.history)
    finally:
        app.stop()


def _action(action_id, value):
    from bot.messages import Action

    return Action("console", "console:lanji", "console:alice", action_id, value, user_name="alice",
                  event_id=f"act-{next(_ids)}")


@pytest.mark.parametrize("button,status", [("alert.mute", "muted"), ("alert.false_positive", "false_positive")])
def test_buttons_record_who_and_when(bot, clock, db, press_button, button, status):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    ep = [e for e in episodes(db) if not e.stats.get("merged_into")][0]
    replies = press_button(button, ep.episode_key)
    assert replies and "alice" in replies[0].text
    ep = [e for e in episodes(db) if e.episode_key == ep.episode_key][0]
    assert ep.status == status
    assert ep.history[-1]["user"] == "console:alice" and ep.history[-1]["at"]
    if status == "muted":
        assert ep.muted_until is not None
    else:
        assert ep.stats["feedback"]["label"] == "false_positive"
    # the message in the channel shows the new state (updated in place)
    assert any(("误报" in (m.title or "")) or any("静默" in f.value or "已静默" in f.value for f in m.fields)
               for m in bot.console.messages("lanji"))


def test_playbook_button_without_playbooks_says_so(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    ep = [e for e in episodes(db) if not e.stats.get("merged_into")][0]
    replies = press_button("alert.playbook", ep.episode_key)
    if "playbooks" in bot.services.extra:
        assert "已启动预案" in replies[0].text, replies[0].text
        ep = [e for e in episodes(db) if e.episode_key == ep.episode_key][0]
        assert ep.status == "acknowledged" and ep.history[-1]["action"] == "playbook"
        # pressing again does not start a second run (the playbooks service keys runs by alert id)
        press_button("alert.playbook", ep.episode_key)
    else:
        assert "预案功能尚未启用" in replies[0].text


def test_other_clients_channel_cannot_press_the_buttons(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    ep = [e for e in episodes(db) if not e.stats.get("merged_into")][0]
    # another client's alert reads exactly as one that does not exist: its key tells the presser nothing
    made_up = press_button("alert.ack", "douyin:nobody|*@20261122T1215", channel="console:xiaochu")
    for button in ("alert.ack", "alert.playbook"):
        replies = press_button(button, ep.episode_key, channel="console:xiaochu")
        assert replies and "找不到这条告警" in replies[0].text and replies[0].text == made_up[0].text
    assert [e for e in episodes(db) if e.episode_key == ep.episode_key][0].status == "open"


def test_planned_surge_does_not_page(bot, clock, db, run_command):
    load_history(bot, clock)
    start = clock.now().astimezone(bot.services.config.zone())
    until = start + timedelta(hours=2)
    replies = run_command(f"/watch surge lanji_official --from \"{start:%Y-%m-%d %H:%M}\" "
                          f"--until \"{until:%Y-%m-%d %H:%M}\" --factor 10")
    assert "已登记" in replies[0].text
    # 3x the usual volume of ordinary comments, inside the declared window
    live(bot, clock, 30, per_minute=1, text=CALM)
    assert alert_posts(db) == []
    listed = run_command("/watch list")
    assert "surge" in listed[0].text


def test_watched_term_posts_one_grouped_notice(bot, clock, db, run_command):
    replies = run_command("/watch add 过敏")
    assert "过敏" in replies[0].text
    now = clock.now()
    bot.services.ingest.ingest_records([comment(now, text="用了过敏了")], source="test")
    bot.services.outbox.drain()
    bot.services.ingest.ingest_records([comment(now, text="我也过敏")], source="test")
    bot.services.outbox.drain()
    with db.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    notices = [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "risk_notice"]
    posts = [r for r in notices if r.update_of is None]
    assert len(posts) == 1 and len(notices) == 2  # one message, then updated with the count
    assert "2 条" in notices[-1].payload["text"]
    assert "过敏" in run_command("/watch list")[0].text
    assert "已取消" in run_command("/watch remove 过敏")[0].text
    assert "暂无" in run_command("/watch list")[0].text


def test_watch_usage_errors_are_explained(run_command):
    assert "用法" in run_command("/watch surge")[0].text
    replies = run_command("/watch surge nobody --from 2026-11-11T20:00 --until 2026-11-11T23:00")
    assert "找不到" in replies[0].text
    replies = run_command("/watch surge lanji_official --from 2026-11-11T20:00 --until 2026-11-11T19:00")
    assert "晚于" in replies[0].text


def test_quiet_hours_hold_the_alert_until_morning(db, settings, clock):
    # 12:00 UTC is 20:00 in Shanghai: inside 19:00-08:00 quiet hours, where sev2 and sev3 wait (sev1 never does)
    config = parse_config({
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji", "quiet_hours": {"start": "19:00", "end": "08:00"}}],
        "alerts": {"hold_in_quiet_hours": ["sev2", "sev3"], "escalation": {"enabled": False}, "per_content": False},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        # three days with a few negative comments every bucket, then about twice the usual for an hour
        now = clock.now()
        app.services.ingest.ingest_records(grumbling_days(now), source="history")
        tick(app)
        live(app, clock, 65, per_minute=2)
        assert alert_posts(db) == []  # held, not lost
        held = [e for e in episodes(db) if e.channels]
        assert held and held[0].severity in ("sev2", "sev3") and not held[0].channels["console:lanji"]["posted"]
        live(app, clock, 12 * 60 + 30, step=timedelta(minutes=5))  # past 08:00 local
        posts = alert_posts(db)
        assert len(posts) == 1
        assert posts[0].created_at.astimezone(config.zone()).hour == 8
    finally:
        app.stop()


def test_highly_liked_negative_comment_posts_a_notice_once(bot, clock, db):
    now = clock.now()
    record = comment(now, text=NEGATIVE, likes=800)
    bot.services.ingest.ingest_records([record], source="test")
    with db.session() as session:
        from bot.storage.models import Comment

        stored = session.exec(select(Comment).where(Comment.comment_id == record["comment_id"])).one()
    if stored.sentiment_label != "neg":
        pytest.skip("no sentiment model installed: nothing is labelled negative")
    bot.services.ingest.ingest_records([{**record, "like_count": 900}], source="test")  # an update
    with db.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    notices = [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "risk_notice"]
    assert len([n for n in notices if n.update_of is None]) == 1


def test_a_liked_comment_the_model_leans_positive_on_is_not_announced_as_negative(bot, clock, db):
    # The model calls "neg" from P(neg) >= 0.30 even when P(pos) is higher (recall for spike counts);
    # a single comment quoted to people as negative must lean negative.
    from bot.storage.models import Comment

    near_tie = comment(clock.now(), text="三连了，求抽奖[星星眼]", likes=900)
    clear = comment(clock.now(), text=NEGATIVE, likes=600)
    bot.services.ingest.ingest_records([near_tie, clear], source="test")
    with db.session() as session:
        stored = {c.comment_id: c for c in session.exec(select(Comment)).all()}
    tie = stored[near_tie["comment_id"]]
    assert tie.sentiment_label == "neg" and tie.sentiment_neg < tie.sentiment_score, "precondition: a near-tie"
    assert not tie.shows_as_negative and stored[clear["comment_id"]].shows_as_negative
    with db.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    notices = [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "risk_notice"]
    quoted = " ".join(str(n.payload) for n in notices)
    assert len(notices) == 1 and "垃圾产品" in quoted and "三连" not in quoted


class FlakyChat:
    """A chat platform that is down for its first few calls (a fake of the outside world)."""

    platform = "console"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.posted: list[tuple[str, str]] = []
        self.updated: list[str] = []

    def post(self, channel_id, message, *, idempotency_key, maybe_sent_since=None):
        from bot.messages import TransientChatError

        if self.failures > 0:
            self.failures -= 1
            raise TransientChatError("platform unavailable", retry_after=30)
        self.posted.append((channel_id, idempotency_key))
        return f"m{len(self.posted)}"

    def update(self, channel_id, message_id, message):
        self.updated.append(message_id)

    def upload(self, channel_id, image, *, idempotency_key, maybe_sent_since=None):  # pragma: no cover - alerts upload nothing
        return self.post(channel_id, None, idempotency_key=idempotency_key)


def test_alert_waits_out_a_chat_outage_and_is_delivered_once(bot, clock, db):
    load_history(bot, clock)
    flaky = FlakyChat(failures=3)
    bot.services.outbox.register_port(flaky)
    live(bot, clock, 10, per_minute=12)  # alert enqueued; deliveries fail, then succeed after backoff
    live(bot, clock, 10)
    alert_keys = {p.key for p in alert_posts(db)}
    delivered = [key for _, key in flaky.posted if key in alert_keys]
    assert len(alert_keys) == 1 and delivered == list(alert_keys)  # exactly once, despite the failures
    assert flaky.failures == 0  # the outage really happened
    assert flaky.updated  # later updates edit that message in place


def unmuted_notices(db):
    with db.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    return [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "unmuted"]


def test_mute_lasts_one_hour_then_an_ongoing_episode_alerts_again(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    ep = [e for e in episodes(db) if not e.stats.get("merged_into")][0]
    press_button("alert.mute", ep.episode_key)
    # the pile-on goes on: within the hour nothing alerts again
    live(bot, clock, 50, per_minute=12)
    assert unmuted_notices(db) == []
    assert [e for e in episodes(db) if e.episode_key == ep.episode_key][0].status == "muted"
    live(bot, clock, 15, per_minute=12)  # the hour is over, still going on
    ep = [e for e in episodes(db) if e.episode_key == ep.episode_key][0]
    assert ep.status == "open" and ep.history[-1]["action"] == "unmuted"
    notices = unmuted_notices(db)
    assert len(notices) == 1 and notices[0].channel == "console:lanji"
    assert "静默 1 小时已结束" in notices[0].payload["text"]
    assert len(alert_posts(db)) == 1  # the same episode: no second alert post
    live(bot, clock, 10, per_minute=12)
    assert len(unmuted_notices(db)) == 1  # once


def test_after_the_mute_hour_a_new_episode_alerts(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    for ep in episodes(db):
        if not ep.stats.get("merged_into"):
            press_button("alert.mute", ep.episode_key)
    posts_before = len(alert_posts(db))
    live(bot, clock, 120)  # calm: the hour passes and it recovers
    assert all(e.recovered_at is not None for e in episodes(db))
    live(bot, clock, 15, per_minute=80)  # an explosive pile-on (a sev1 may break the cooldown)
    assert len(alert_posts(db)) > posts_before
    assert any(e.status == "open" and e.recovered_at is None for e in episodes(db))


def test_two_workers_taking_turns_judge_every_bucket_once(db, settings, app_config, clock):
    """Each process caches its detectors between ticks; a bucket the other worker closed is picked up
    from the database, so the stored state is exactly one detector fed every bucket once."""
    from bot.alerts.detector import SpikeDetector
    from bot.alerts.models import AlertBucket, AlertStream

    first = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    second = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    try:
        load_history(first, clock, days=0.5)
        for minute in range(90):
            clock.advance(timedelta(seconds=60))
            worker = first if (minute // 7) % 2 else second  # ingest listener and ticks of one process
            worker.services.ingest.ingest_records([comment(clock.now()) for _ in range(1 + minute % 3)], source="t")
            for fn in worker.wiring.ticks:
                fn()
        svc = first.services.extra["alerts"]
        with db.session() as session:
            stream = session.exec(select(AlertStream).where(AlertStream.stream_key == "douyin:lanji_official|*")).one()
            buckets = session.exec(select(AlertBucket).where(AlertBucket.content_id == "")
                                   .order_by(AlertBucket.bucket_start)).all()
        detector = SpikeDetector(settings=svc.detector_settings)
        start = min(b.bucket_start for b in buckets)
        counts = {b.bucket_start: b for b in buckets}
        all_comments = svc._uses_placeholder_sentiment()
        at = start
        while at <= stream.last_closed:
            row = counts.get(at)
            value = (row.total if all_comments else row.negative) if row else 0
            detector.observe(at, float(value), total=None if all_comments else float(row.total if row else 0))
            at += svc.bucket
        assert stream.state == detector.to_state()
    finally:
        first.stop()
        second.stop()


def test_late_comments_count_in_the_next_evaluation(bot, clock, db):
    from bot.alerts.models import AlertBucket, AlertStream
    from bot.alerts.service import floor_bucket

    load_history(bot, clock)
    live(bot, clock, 10)
    svc = bot.services.extra["alerts"]
    key = "douyin:lanji_official|*"

    def stream():
        with db.session() as session:
            return session.exec(select(AlertStream).where(AlertStream.stream_key == key)).one()

    def bucket_total(start):
        with db.session() as session:
            row = session.exec(select(AlertBucket).where(AlertBucket.content_id == "",
                                                         AlertBucket.bucket_start == start)).first()
            return row.total if row else 0

    judged = stream().last_closed
    assert judged == floor_bucket(clock.now() - svc.grace, svc.bucket) - svc.bucket
    before = bucket_total(judged)
    # comments of the judged bucket arrive late: they count in the next bucket, which is still open
    bot.services.ingest.ingest_records([comment(judged + timedelta(seconds=90), text=NEGATIVE) for _ in range(6)],
                                       source="late")
    assert bucket_total(judged) == before
    assert bucket_total(judged + svc.bucket) >= 6
    # and the next evaluation judges them (the detector saw that bucket with them)
    live(bot, clock, 6)
    after = stream()
    assert after.last_closed >= judged + svc.bucket
    steps_back = int((after.last_closed - judged) / svc.bucket)
    assert after.state["recent_obs"][-steps_back] >= 6
    # comments older than STALE_AFTER are history: they stay in their own bucket
    old = judged - timedelta(hours=3)
    old_before = bucket_total(old)
    bot.services.ingest.ingest_records([comment(old + timedelta(seconds=30)) for _ in range(2)], source="late")
    assert bucket_total(old) == old_before + 2


def test_importing_a_sparse_history_skips_runs_of_empty_buckets(bot, clock, db):
    from bot.alerts.models import AlertStream
    from bot.alerts.service import IDLE_OBSERVED, IMPORT_SETTLE

    now = clock.now()
    # one comment every 6 hours over 8 days, imported at once
    records = [comment(now - timedelta(days=8) + timedelta(hours=6 * i, seconds=30)) for i in range(32)]
    bot.services.ingest.ingest_records(records, source="history")
    # history is closed by the tick, once the import has settled (its later batches may be on their way)
    clock.advance(IMPORT_SETTLE + timedelta(seconds=1))
    tick(bot)
    with db.session() as session:
        st = session.exec(select(AlertStream).where(AlertStream.stream_key == "douyin:lanji_official|*")).one()
    # judged up to now, but only the counted buckets and IDLE_OBSERVED empty ones after each were observed
    assert st.last_closed >= now - timedelta(minutes=10)
    assert st.state["n"] <= 32 * (IDLE_OBSERVED + 1) + 12
    # live operation after the import is unchanged: a pile-on alerts once
    load_history(bot, clock)
    live(bot, clock, 15, per_minute=12)
    assert len(alert_posts(db)) == 1
