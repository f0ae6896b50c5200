"""Escalation counts from when people could see the alert. During a chat outage the alert waits in the
outbox; counted from when it was queued, the alert and both escalations ("无人确认已 N 分钟") arrived
together when the outage ended (found by killing serve during a Slack outage)."""

from __future__ import annotations

from datetime import timedelta

from bot.app import build_app
from bot.config import parse_config
from tests.integration.alerts.test_alert_service import (
    alert_posts,
    episodes,
    escalations,
    live,
    load_history,
    pile_on_until_alerted,
)


def ticks_only(app, clock, minutes, *, per_minute=0):
    """Like `live`, but nothing is delivered: the chat platform is down, the outbox keeps everything."""
    from tests.integration.alerts.test_alert_service import NEGATIVE, comment

    end = clock.now() + timedelta(minutes=minutes)
    while clock.now() < end:
        clock.advance(timedelta(seconds=20))
        now = clock.now()
        if per_minute and now.second < 20:
            app.services.ingest.ingest_records([comment(now, text=NEGATIVE) for _ in range(per_minute)],
                                               source="test")
        for fn in app.wiring.ticks:
            fn()


def test_escalation_waits_until_the_alert_was_delivered_and_then_after_minutes(db, settings, clock):
    config = parse_config({
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji"}],
        "alerts": {"escalation": {"after_minutes": 10, "rota": ["console:oncall1", "console:oncall2"]}},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        load_history(app, clock)
        pile_on_until_alerted(app, clock, db, step=ticks_only)  # the platform is down
        assert [p.status for p in alert_posts(db)] == ["pending"]
        assert any(e.severity in ("sev1", "sev2") for e in episodes(db))
        ticks_only(app, clock, 25)  # 25 minutes of outage: before, esc1 and esc2 were queued by now
        assert escalations(db) == []

        live(app, clock, 1)  # the platform is back: the alert goes out now
        assert [p.status for p in alert_posts(db)] == ["sent"]
        live(app, clock, 8)
        assert escalations(db) == []  # nobody could have acknowledged it yet
        live(app, clock, 3)
        first = escalations(db)
        assert len(first) == 1 and "oncall1" in first[0].payload["mentions"]
        live(app, clock, 11)
        assert len(escalations(db)) == 2  # the next one counts from when the first went out
    finally:
        app.stop()


def test_a_channel_that_never_delivers_does_not_hold_escalation_in_the_channel_that_did(db, settings, clock):
    """The account's alerts go to the console and to Slack, and Slack is not enabled (its copy waits for
    ever): the console saw the alert, so the console escalates as usual."""
    config = parse_config({
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji"}, {"id": "slack:C0LANJI", "client": "lanji"}],
        "alerts": {"escalation": {"after_minutes": 10, "rota": ["console:oncall1"]}},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        load_history(app, clock)
        pile_on_until_alerted(app, clock, db)
        assert {p.channel: p.status for p in alert_posts(db)} == {"console:lanji": "sent", "slack:C0LANJI": "pending"}
        live(app, clock, 12)
        assert sorted(e.channel for e in escalations(db)) == ["console:lanji", "slack:C0LANJI"]
    finally:
        app.stop()
