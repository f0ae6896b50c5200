"""A brand-new account whose comment section is already a pile-on when the bot starts watching it: an
alert within the hour that says there is no baseline yet (it used to learn the pile-on as normal)."""

from __future__ import annotations

from datetime import timedelta

from .test_alert_service import CALM, NEGATIVE, alert_posts, comment, episodes, tick


def pile_on(bot, clock, minutes, *, negative_per_minute, calm_per_minute):
    for _ in range(minutes):
        clock.advance(timedelta(minutes=1))
        now = clock.now()
        records = [comment(now, text=NEGATIVE) for _ in range(negative_per_minute)]
        records += [comment(now, text=CALM) for _ in range(calm_per_minute)]
        bot.services.ingest.ingest_records(records, source="test")
        tick(bot)


def test_a_new_account_in_a_pile_on_alerts_within_the_hour_and_says_there_is_no_baseline(bot, clock, db):
    pile_on(bot, clock, 40, negative_per_minute=3, calm_per_minute=1)
    assert len(alert_posts(db)) == 1
    alert = next(m for m in bot.console.messages("lanji") if "激增" in (m.title or ""))
    assert "刚开始监测，尚无基线" in alert.text and "基线 " not in alert.text.replace("尚无基线", "")
    assert "负面占比 75%" in alert.text
    eps = episodes(db)
    assert eps and all(e.reason == "no_baseline" for e in eps) and eps[0].severity == "sev2"


def test_a_new_account_with_ordinary_comments_does_not_alert(bot, clock, db):
    pile_on(bot, clock, 60, negative_per_minute=1, calm_per_minute=3)
    assert alert_posts(db) == []
