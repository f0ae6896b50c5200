"""An alert held in a channel's quiet hours is not escalated while nobody can see it. The escalation pass
counted reminders for it all night (no channel had it, so none was sent, yet each was logged as
"升级提醒（提醒 oncall1）" and counted against max_notifications): in the morning the alert came out with
its escalations already used up, and nobody was ever reminded."""

from __future__ import annotations

from datetime import timedelta

from bot.app import build_app
from bot.config import parse_config
from tests.integration.alerts.test_alert_service import (
    alert_posts,
    episodes,
    escalations,
    grumbling_days,
    live,
    tick,
)


def test_a_held_alert_escalates_only_after_it_is_posted(db, settings, clock):
    # 12:00 UTC is 20:00 in Shanghai: inside 19:00-08:00 quiet hours, where sev2 and sev3 wait
    config = parse_config({
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji", "quiet_hours": {"start": "19:00", "end": "08:00"}}],
        "alerts": {"hold_in_quiet_hours": ["sev2", "sev3"], "per_content": False,
                   "escalation": {"after_minutes": 15, "max_notifications": 2, "severities": ["sev1", "sev2", "sev3"],
                                  "rota": ["console:oncall1", "console:oncall2"]}},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        app.services.ingest.ingest_records(grumbling_days(clock.now()), source="history")
        tick(app)
        live(app, clock, 65, per_minute=2)
        held = [e for e in episodes(db) if e.channels]
        assert held and held[0].severity in ("sev2", "sev3")  # precondition: held, not sev1
        live(app, clock, 4 * 60, step=timedelta(minutes=5))  # deep in the night
        assert alert_posts(db) == []
        [episode] = held
        episode = next(e for e in episodes(db) if e.id == episode.id)
        assert episode.escalations == 0
        assert not [h for h in episode.history if h["action"] == "escalated"]
        live(app, clock, 8 * 60 + 30, step=timedelta(minutes=5))  # past 08:00 local: posted
        assert len(alert_posts(db)) == 1
        if next(e for e in episodes(db) if e.id == episode.id).status == "open":
            live(app, clock, 20, step=timedelta(minutes=1))
            if next(e for e in episodes(db) if e.id == episode.id).status == "open":
                reminders = escalations(db)
                assert reminders and "oncall1" in reminders[0].payload["mentions"]
    finally:
        app.stop()
