"""Importing history (`crisisbot ingest` of last month's export, a backlog fetched after downtime).

The rule (docs/alerts.md): comments whose bucket closed over 30 minutes ago are history, judged silently
to warm the baseline. A spike that is over in that history posts nothing, however recent; a crisis that
began in it and goes on now is alerted on the live bucket and says when it began; an episode nobody was
told about does not hold back the next live alert with its cooldown. Comments already a day old on arrival
post no risk-term or liked notice. Also here: comments dated ahead of the clock, and a stored detector state
that cannot be read.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.alerts.service import IMPORT_SETTLE
from bot.app import build_app
from tests.integration.alerts.test_acceptance_gaps import quiet_days
from tests.integration.alerts.test_alert_service import NEGATIVE, alert_posts, comment, episodes, live, tick


def pile_on(end, *, minutes=30, per_bucket=15, content="v1") -> list[dict]:
    """`per_bucket` negative comments in every 5-minute bucket of the `minutes` before `end`."""
    start = end - timedelta(minutes=minutes)
    return [comment(start + timedelta(minutes=5 * b, seconds=10 + 15 * i), text=NEGATIVE, content=content)
            for b in range(minutes // 5) for i in range(per_bucket)]


def import_file(bot, clock, records) -> None:
    """What `crisisbot ingest` then serve do: 1,000-row batches, then serve's tick once the import settled."""
    from bot.importer import BATCH

    records = sorted(records, key=lambda r: r["created_at"])
    for start in range(0, len(records), BATCH):
        bot.services.ingest.ingest_records(records[start:start + BATCH], source="file")
    clock.advance(IMPORT_SETTLE + timedelta(seconds=1))
    tick(bot)


def a_month(now) -> list[dict]:
    """Last month's export: a comment every half hour for 27 days, then three quiet days (quiet_days)."""
    month = [comment(now - timedelta(days=30) + timedelta(minutes=30 * k, seconds=40)) for k in range(27 * 48)]
    return month + quiet_days(now)


def drizzle(bot, clock, minutes, *, every=timedelta(minutes=2, seconds=30)):
    """A live rise too small for a sev1: one negative comment every 2.5 minutes, serve ticking."""
    end = clock.now() + timedelta(minutes=minutes)
    due = clock.now()
    while clock.now() < end:
        clock.advance(timedelta(seconds=20))
        if clock.now() >= due:
            bot.services.ingest.ingest_records([comment(clock.now(), text=NEGATIVE)], source="live")
            due += every
        tick(bot)


def test_last_months_spikes_post_nothing_even_one_over_only_45_minutes_ago(bot, clock, db):
    """An import of last month with its pile-ons: 25 and 5 days ago, yesterday, and one that ended 45
    minutes before the import (all of it history: nothing has come since). That last one was posted "now"
    as "60 分钟内负面评论 94 条": the hour-long window sum of the first live bucket still held it."""
    now = clock.now()
    records = a_month(now)
    for ago in (timedelta(days=25), timedelta(days=5), timedelta(hours=20), timedelta(minutes=45)):
        records += pile_on(now - ago)
    import_file(bot, clock, records)
    live(bot, clock, 75)  # an hour and more of serve with no new comment: the last one recovers quietly
    assert alert_posts(db) == [] and episodes(db) == []


def test_a_spike_over_in_history_does_not_hold_back_a_live_alert(bot, clock, db):
    """A pile-on that ended three hours before the import opened (and closed) an episode in the detector
    that nobody was told about; its 12-hour cooldown then swallowed a real sev2 rise an hour later (only
    a sev1 gets through a cooldown)."""
    now = clock.now()
    import_file(bot, clock, quiet_days(now) + pile_on(now - timedelta(hours=3)))
    assert alert_posts(db) == []
    live(bot, clock, 40)
    drizzle(bot, clock, 90)
    posts = alert_posts(db)
    assert len(posts) == 1, [p.key for p in posts]
    [episode] = [e for e in episodes(db) if e.channels]
    assert episode.severity != "sev1" and "began_in_history" not in episode.stats


def test_a_crisis_that_began_in_history_says_when_it_began(bot, clock, db):
    """Going on now (15 negative comments a bucket for the last hour, the import included): alerted on the
    live bucket, and the message says it began an hour ago in the imported comments."""
    now = clock.now()
    import_file(bot, clock, quiet_days(now) + pile_on(now, minutes=60))
    [post] = alert_posts(db)
    [episode] = [e for e in episodes(db) if e.channels]
    began = episode.stats["began_in_history"]
    assert now - timedelta(minutes=65) <= datetime.fromisoformat(began) < now - timedelta(minutes=30)
    assert "始于" in post.payload["text"] and "仍在持续" in post.payload["text"]


def notices(db) -> list:
    from sqlmodel import select

    from bot.storage.models import OutboxMessage

    with db.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.update_of.is_(None))).all()
    return [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "risk_notice"]


def test_last_months_comments_post_no_risk_or_liked_notice_but_a_backlog_does(bot, clock, db, run_command):
    """Ten comments naming a watched term, one with 900 likes, all from three weeks ago, imported now:
    they were announced as "11-22 20:00 起收到 10 条评论提到「过敏」" and a liked-negative notice, as news.
    Comments a few hours late (a poller's backlog after an outage) are still announced."""
    run_command("/watch add 过敏")
    now = clock.now()
    old = [comment(now - timedelta(days=21) + timedelta(hours=i), text=NEGATIVE, likes=900 if i == 3 else 0)
           for i in range(10)]
    import_file(bot, clock, old)
    assert notices(db) == []
    backlog = [comment(clock.now() - timedelta(hours=3) + timedelta(minutes=i), text=NEGATIVE,
                       likes=900 if i == 3 else 0) for i in range(5)]
    bot.services.ingest.ingest_records(backlog, source="poll")
    tick(bot)
    titles = sorted(n.payload["title"] for n in notices(db))
    assert len(titles) == 2 and any("过敏" in t for t in titles) and any("高赞" in t for t in titles), titles
    assert "5 条评论提到「过敏」" in " ".join(n.payload["text"] for n in notices(db))


def test_an_old_negative_comment_dug_up_now_is_announced_but_a_re_imported_file_is_not(bot, clock, db):
    """The history rule skipped re-deliveries too: a negative comment from yesterday that a poller now sees
    with 5,000 likes (an old post dug up, a classic start of a crisis) went unannounced. A live source's
    re-delivery is news; the same file imported again is not."""
    now = clock.now()
    quiet = comment(now - timedelta(hours=30), text=NEGATIVE, likes=20)
    bot.services.ingest.ingest_records([quiet], source="poller:douyin-main")
    exported = comment(now - timedelta(hours=40), text=NEGATIVE, likes=900)
    import_file(bot, clock, [exported])
    assert notices(db) == []
    clock.advance(timedelta(minutes=10))
    import_file(bot, clock, [exported])  # the same export again: nothing new happened
    assert notices(db) == []
    bot.services.ingest.ingest_records([{**quiet, "like_count": 5000}], source="poller:douyin-main")
    (notice,) = notices(db)
    assert "高赞" in notice.payload["title"]


def test_comments_dated_ahead_of_the_clock_count_when_they_arrive(bot, clock, db):
    """A feed that writes Beijing time with a UTC offset dates every comment 8 hours ahead (accepted: up to
    7 days ahead is clock skew). Counted in their own future buckets, a pile-on arriving now was judged 8
    hours later, and alerted then as if it were happening then; they count in the bucket they arrive in."""
    now = clock.now()
    import_file(bot, clock, quiet_days(now))
    for _ in range(15):
        at = clock.now() + timedelta(hours=8)
        bot.services.ingest.ingest_records([comment(at + timedelta(seconds=i), text=NEGATIVE) for i in range(20)],
                                           source="poll")
        live(bot, clock, 1)
        if alert_posts(db):
            break
    assert len(alert_posts(db)) == 1
    assert clock.now() - now < timedelta(minutes=20)
    # and the alert quotes them: they are the comments its headline counts
    [episode] = [e for e in episodes(db) if e.channels]
    assert episode.stats["top_comments"] and episode.stats["top_comments"][0]["text"] == NEGATIVE


def test_one_unreadable_detector_state_does_not_stop_every_streams_alerts(bot, clock, db, settings, app_config):
    """A stream whose stored detector state cannot be read (a state written by a newer version before a
    rollback, a row edited by hand) raised out of the tick on every tick: no stream was judged again and
    no alert went out anywhere. That stream starts afresh (and says so in the log); the others go on."""
    from sqlalchemy import update
    from sqlmodel import select

    from bot.alerts.models import AlertStream

    now = clock.now()
    records = quiet_days(now) + [{**comment(now - timedelta(days=3) + timedelta(minutes=5 * b, seconds=20)),
                                  "account_id": "other_account"} for b in range(3 * 288)]
    import_file(bot, clock, records)
    with db.session() as session:
        session.execute(update(AlertStream).where(AlertStream.account_id == "other_account",
                                                  ~AlertStream.stream_key.endswith("|curve"))
                        .values(state={"v": 99, "n": "garbage"}))
    bot.stop()
    restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)  # reads the stored states
    try:
        live(restarted, clock, 15, per_minute=20)
    finally:
        restarted.stop()
    assert len(alert_posts(db)) == 1
    with db.session() as session:
        other = session.exec(select(AlertStream).where(AlertStream.stream_key == "douyin:other_account|*")).one()
    assert other.state.get("v") != 99 and other.last_closed >= clock.now() - timedelta(minutes=10)
