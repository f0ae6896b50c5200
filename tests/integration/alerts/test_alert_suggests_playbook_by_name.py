"""First-run audit: the alert's 建议预案 named the playbook by its id (negative-outbreak); it names it as its
file does (负面舆情爆发 / Negative sentiment outbreak). Real database, service and playbooks."""

from __future__ import annotations

from bot.alerts.render import alert_message
from tests.integration.alerts.test_alert_service import episodes, live, load_history


def suggestion(message):
    return [s.text for s in message.sections if "预案" in s.text or "playbook" in s.text]


def test_the_alert_suggests_the_playbook_by_its_name(bot, clock, db):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    card = [m for m in bot.console.messages("lanji") if (m.meta or {}).get("kind") == "alert"][-1]
    assert suggestion(card) == ["**建议预案**：负面舆情爆发"], suggestion(card)
    # the button still starts it by id
    assert any(b.action_id == "alert.playbook" for b in card.buttons)
    ep = next(e for e in episodes(db) if not e.stats.get("merged_into"))
    view = bot.services.extra["alerts"]._episode_view(ep)
    english = alert_message(view, lang="en", zone=bot.services.config.zone())
    assert suggestion(english) == ["**Suggested playbook**: Negative sentiment outbreak"], suggestion(english)


def test_a_playbook_no_file_defines_is_shown_by_its_id(bot, clock, db):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    ep = next(e for e in episodes(db) if not e.stats.get("merged_into"))
    view = {**bot.services.extra["alerts"]._episode_view(ep), "playbook_titles": None}
    assert suggestion(alert_message(view, zone=bot.services.config.zone())) == ["**建议预案**：negative-outbreak"]
