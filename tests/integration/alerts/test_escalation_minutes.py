"""The reminder says how long people have had the alert without acknowledging it: counted from when the
alert reached the channel, not from when it was detected. After a chat outage (or a night held in quiet
hours) "告警已 37 分钟无人确认" about a message delivered 11 minutes ago blamed the team for the outage."""

from __future__ import annotations

import re

from bot.app import build_app
from bot.config import parse_config
from tests.integration.alerts.test_alert_service import (
    alert_posts,
    escalations,
    live,
    load_history,
    pile_on_until_alerted,
)
from tests.integration.alerts.test_escalation_after_delivery import ticks_only


def test_the_reminder_counts_the_minutes_since_the_alert_was_delivered(db, settings, clock):
    config = parse_config({
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji"}],
        "alerts": {"escalation": {"after_minutes": 10, "rota": ["console:oncall1"]}},
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        load_history(app, clock)
        pile_on_until_alerted(app, clock, db, step=ticks_only)  # the platform is down
        ticks_only(app, clock, 25)
        live(app, clock, 1)  # back: the alert goes out now
        [post] = alert_posts(db)
        assert post.status == "sent"
        live(app, clock, 12)
        [first] = escalations(db)
        minutes = int(re.search(r"告警已 (\d+) 分钟无人确认", first.payload["text"]).group(1))
        seen = (first.created_at - post.sent_at).total_seconds() / 60
        assert abs(minutes - seen) <= 1, (minutes, seen, first.payload["text"])
    finally:
        app.stop()
