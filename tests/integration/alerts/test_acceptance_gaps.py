"""Gaps found by acceptance testing issue #5 from the outside: each test names the requirement it checks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from bot.app import build_app
from bot.clock import ensure_aware
from bot.config import parse_config
from bot.storage.models import OutboxMessage
from tests.integration.alerts.test_alert_service import (
    NEGATIVE,
    alert_posts,
    comment,
    episodes,
    grumbling_days,
    live,
    tick,
)


def quiet_days(now, *, negative_every: int | None = 3) -> list[dict]:
    """Three quiet days before `now`: three neutral comments a bucket, a negative one every few buckets."""
    records = []
    for b in range(3 * 288):
        at = now - timedelta(days=3) + timedelta(minutes=5 * b, seconds=20)
        records += [comment(at + timedelta(seconds=30 * i)) for i in range(3)]
        if negative_every and b % negative_every == 0:
            records.append(comment(at + timedelta(seconds=100), text=NEGATIVE))
    return records


def test_a_held_sev3_that_grows_to_sev1_in_quiet_hours_is_posted_at_once(db, settings, clock):
    """"Quiet hours per channel hold sev3 until morning; sev1 ignores them": an episode held as sev3 that
    grows worse at night (to a severity that is not held) must not wait for the morning."""
    config = parse_config({
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji", "quiet_hours": {"start": "19:00", "end": "08:00"}}],
        "alerts": {"escalation": {"enabled": False}, "per_content": False},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        # three days of background with a few negative comments every bucket (12:00 UTC = 20:00 in Shanghai)
        now = clock.now()
        records = grumbling_days(now)
        app.services.ingest.ingest_records(records, source="history")
        tick(app)
        # about twice the usual negative count for an hour: a notable (sev3) episode, held for the night
        live(app, clock, 65, per_minute=2)
        held = [e for e in episodes(db) if e.channels]
        assert held and held[0].severity == "sev3", [(e.severity, e.channels) for e in episodes(db)]
        assert alert_posts(db) == []
        # then it explodes: sev1 ignores quiet hours
        live(app, clock, 15, per_minute=30)
        [episode] = [e for e in episodes(db) if e.channels]
        assert episode.severity in ("sev1", "sev2")  # neither is held by default (hold_in_quiet_hours: [sev3])
        posts = alert_posts(db)
        assert len(posts) == 1 and posts[0].created_at.astimezone(config.zone()).hour < 23
        assert ("一级" if episode.severity == "sev1" else "二级") in (posts[0].payload.get("title") or "")
    finally:
        app.stop()


def test_a_history_file_imported_in_batches_is_judged_whole(bot, clock, db):
    """`crisisbot ingest FILE` sends 1,000 rows a batch. Closing every stream up to now after the first
    batch judged the rest of the history as empty buckets (the detector never saw it) and carried the
    last half hour's spike, as "late" comments, into the current bucket: no alert for a crisis at the end
    of the file. The tick (serve) must judge the whole file in order and page for the live spike."""
    from bot.importer import BATCH

    now = clock.now()
    records = quiet_days(now)  # a few neutral comments, a negative one now and then
    for b in range(5):  # the last 25 minutes: a pile-on
        at = now - timedelta(minutes=25) + timedelta(minutes=5 * b, seconds=10)
        records += [comment(at + timedelta(seconds=15 * i), text=NEGATIVE) for i in range(15)]
    assert len(records) > 2 * BATCH
    for start in range(0, len(records), BATCH):  # what bot.importer.import_files does
        bot.services.ingest.ingest_records(records[start:start + BATCH], source="file")
    from bot.alerts.models import AlertBucket
    from bot.alerts.service import floor_bucket

    expected: dict = {}
    for r in records:
        start = floor_bucket(datetime.fromisoformat(r["created_at"]), timedelta(minutes=5))
        if start >= now - timedelta(hours=1):
            expected[start] = expected.get(start, 0) + 1
    with db.session() as session:
        rows = session.exec(select(AlertBucket).where(
            AlertBucket.content_id == "", AlertBucket.bucket_start >= now - timedelta(hours=1))).all()
    # every comment counts in its own bucket (none was "late": its bucket had not been judged yet)
    assert {ensure_aware(r.bucket_start): r.total for r in rows} == expected
    tick(bot)  # serve's first tick
    posts = alert_posts(db)
    assert len(posts) == 1, [p.key for p in posts]


def test_a_crisis_that_began_in_imported_history_and_goes_on_now_is_alerted(bot, clock, db):
    """Buckets closed over 30 minutes ago are judged silently (history), so the detector may open an
    episode there; when that episode is still alarming in the live buckets, the team must hear of it
    (was: no alert at all, the stream blind until recovery plus the 12-hour cooldown)."""
    now = clock.now()
    records = quiet_days(now)
    for b in range(12):  # a pile-on that began an hour ago and goes on
        at = now - timedelta(minutes=60) + timedelta(minutes=5 * b, seconds=10)
        records += [comment(at + timedelta(seconds=15 * i), text=NEGATIVE) for i in range(15)]
    records.sort(key=lambda r: r["created_at"])
    bot.services.ingest.ingest_records(records, source="file")
    tick(bot)
    posts = alert_posts(db)
    assert len(posts) == 1, [p.key for p in posts]
    live(bot, clock, 10, per_minute=3)  # it goes on: still one message
    assert len(alert_posts(db)) == 1


def test_the_negative_share_covers_the_window_the_headline_counts(bot, clock, db):
    """"47 negative in 15 min, baseline 3, x15; negative share 62% vs 8%": the share is of the same
    window as the count. It was the last bucket's alone ("60 分钟内负面评论 17 条 … 负面占比 73%" while
    the hour's share was far lower)."""
    from bot.alerts.models import AlertBucket

    now = clock.now()
    records = quiet_days(now)
    bot.services.ingest.ingest_records(records, source="history")
    tick(bot)
    live(bot, clock, 20, per_minute=3)
    [episode] = [e for e in episodes(db) if not e.stats.get("merged_into")]
    stats = episode.stats
    start, end = datetime.fromisoformat(stats["window_start"]), datetime.fromisoformat(stats["window_end"])
    assert stats["window_minutes"] > 5  # the hour-long sum caught it: the window holds calm buckets too
    with db.session() as session:
        rows = session.exec(select(AlertBucket).where(
            AlertBucket.content_id == episode.content_id, AlertBucket.bucket_start >= start,
            AlertBucket.bucket_start < end)).all()
    assert sum(r.negative for r in rows) == stats["window_observed"]
    assert stats["share"] == sum(r.negative for r in rows) / sum(r.total for r in rows)
    with db.session() as session:
        latest = session.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).all()
    latest = next(r for r in latest if (r.payload.get("meta") or {}).get("kind") == "alert")
    assert f"{stats['window_minutes']} 分钟内" in latest.payload["text"]
    assert f"负面占比 {100 * stats['share']:.0f}%" in latest.payload["text"]


def test_a_raised_alert_quotes_the_comments_of_its_new_window(bot, clock, db):
    """When the episode grows worse, the headline counts a new (wider or later) window; the quoted
    comments and keywords were still those of the first window (👍7 quoted beside "60 分钟内 228 条"
    while comments with 999 likes were in that hour)."""
    now = clock.now()
    records = quiet_days(now, negative_every=None)
    bot.services.ingest.ingest_records(records, source="history")
    tick(bot)
    live(bot, clock, 5, per_minute=3)  # a first burst: serious, not yet explosive
    live(bot, clock, 1)  # its bucket closes
    [first] = [e for e in episodes(db) if not e.stats.get("merged_into")]
    assert first.severity == "sev2", first.severity
    bot.services.ingest.ingest_records([comment(clock.now(), text=NEGATIVE, likes=999)], source="test")
    live(bot, clock, 4, per_minute=10)
    live(bot, clock, 1)  # that bucket closes: the episode is raised, nothing else has happened since
    [episode] = [e for e in episodes(db) if e.id == first.id]
    assert episode.severity == "sev1"
    start = datetime.fromisoformat(episode.stats["window_start"])
    assert start <= clock.now() - timedelta(minutes=5)
    assert episode.stats["top_comments"][0]["likes"] == 999
    with db.session() as session:
        latest = session.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).all()
    latest = next(r for r in latest if (r.payload.get("meta") or {}).get("alert_episode") == episode.episode_key
                  and (r.payload.get("meta") or {}).get("kind") == "alert")
    assert "一级" in latest.payload["title"] and "999" in str(latest.payload)


def test_a_posted_alert_that_rises_to_sev1_says_so_loudly_once(bot, clock, db):
    """Editing the message in place notifies nobody: a rise to sev1 must reach people as a first sev1 post
    does (@here), not only at the next escalation up to 15 minutes later."""
    now = clock.now()
    records = quiet_days(now, negative_every=None)
    bot.services.ingest.ingest_records(records, source="history")
    tick(bot)
    live(bot, clock, 5, per_minute=3)
    live(bot, clock, 1)
    [first] = [e for e in episodes(db) if not e.stats.get("merged_into")]
    assert first.severity == "sev2"
    [post] = alert_posts(db)
    assert list(post.payload.get("mentions") or []) == []  # a sev2 post is quiet

    def raised():
        with db.session() as session:
            rows = session.exec(select(OutboxMessage)).all()
        return [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "raised"]

    assert raised() == []
    live(bot, clock, 4, per_minute=10)
    live(bot, clock, 10, per_minute=10)  # it stays explosive: still one announcement
    [episode] = [e for e in episodes(db) if e.id == first.id]
    assert episode.severity == "sev1"
    [announcement] = raised()
    assert list(announcement.payload["mentions"]) == ["here"] and announcement.update_of is None
    assert announcement.payload["text"].startswith("🔺 已升级为一级·爆发：")
    assert announcement.status == "sent"


def test_a_history_file_imported_while_serve_ticks_is_judged_whole(bot, clock, db):
    """The same import with serve running: its tick (every 5 s) between two batches closed the stream up
    to now, so the later batches were judged as empty buckets and the spike at the end of the file
    never paged anyone."""
    from bot.importer import BATCH

    now = clock.now()
    records = quiet_days(now)
    for b in range(5):  # the last 25 minutes: a pile-on
        at = now - timedelta(minutes=25) + timedelta(minutes=5 * b, seconds=10)
        records += [comment(at + timedelta(seconds=15 * i), text=NEGATIVE) for i in range(15)]
    for start in range(0, len(records), BATCH):
        bot.services.ingest.ingest_records(records[start:start + BATCH], source="file")
        clock.advance(timedelta(seconds=1))
        tick(bot)  # serve's scheduler ticks meanwhile
    clock.advance(timedelta(seconds=5))
    tick(bot)
    posts = alert_posts(db)
    assert len(posts) == 1, [p.key for p in posts]


def test_watch_surge_times_are_in_the_channels_own_time_zone(db, settings, clock):
    """A team whose channel is in New York declares Black Friday evening: "20:00" is its 20:00, as every
    time its alerts, reports and quiet hours show (was the bot's default zone, Shanghai: 13 hours off)."""
    from bot.messages import Command

    config = parse_config({
        "timezone": "Asia/Shanghai",
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji", "timezone": "America/New_York"}],
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        replies = app.dispatcher.handle(Command(
            "console", "console:lanji", "console:alice",
            "/watch surge lanji_official --from 2026-11-27T20:00 --until 2026-11-27T23:00", event_id="e1"))
        assert "11-27 20:00 – 11-27 23:00" in replies[0].text
        [watch] = app.services.extra["alerts"].list_watches("console:lanji")
        assert ensure_aware(watch.starts_at) == datetime(2026, 11, 28, 1, 0, tzinfo=ensure_aware(clock.now()).tzinfo)
        listed = app.dispatcher.handle(Command("console", "console:lanji", "console:alice", "/watch list",
                                               event_id="e2"))
        assert "11-27 20:00–11-27 23:00" in listed[0].text
    finally:
        app.stop()
