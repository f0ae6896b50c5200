"""Found by an acceptance probe of spike alerts: names instead of ids, how the log names the bot and says
it was cut, Chinese punctuation on the console, and a mute that must not page a team already on it.

Real database (SQLite, and PostgreSQL when configured), the real dispatcher and console port, a FakeClock.
"""

from __future__ import annotations

from datetime import timedelta

from bot.adapters.console.render import render_text
from bot.alerts.render import alert_message
from tests.integration.alerts.test_alert_service import (
    episodes,
    escalations,
    live,
    load_history,
    unmuted_notices,
)


def primary(db):
    return [e for e in episodes(db) if not e.stats.get("merged_into")]


def alert_cards(bot):
    return [m for m in bot.console.messages("lanji") if (m.meta or {}).get("kind") == "alert"]


def test_watch_replies_and_list_name_the_account_not_its_id(bot, clock, run_command):
    start = clock.now().astimezone(bot.services.config.zone())
    until = start + timedelta(hours=2)
    [surge] = run_command(f"/watch surge lanji_official --from \"{start:%Y-%m-%d %H:%M}\" "
                          f"--until \"{until:%Y-%m-%d %H:%M}\"")
    [term] = run_command("/watch add 过敏 --account douyin:lanji_official")
    [listed] = run_command("/watch list")
    for reply in (surge, term, listed):
        assert "澜肌官方旗舰店（抖音）" in reply.text, reply.text
        assert "douyin:lanji_official" not in reply.text and "lanji_official" not in reply.text, reply.text


def test_the_alert_names_the_platform_as_the_reply_queue_does(bot, clock, db):
    from bot.i18n import PLATFORM_ZH

    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    card = alert_cards(bot)[-1]
    where = card.text.splitlines()[0]
    assert where.startswith(f"**澜肌官方旗舰店**（{PLATFORM_ZH['douyin']}）"), where
    assert "（douyin）" not in card.text


def test_the_log_names_the_bot_and_says_when_earlier_entries_are_left_out(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [ep] = primary(db)
    press_button("alert.mute", ep.episode_key)
    log = [s.text for s in alert_cards(bot)[-1].sections if s.text.startswith("记录：")]
    assert log and "机器人 告警" in log[0] and "bot" not in log[0], log
    assert "…（共" not in log[0]
    # four more presses that each change something: six entries, the log shows the last four
    for button in ("alert.ack", "alert.mute", "alert.ack", "alert.mute"):
        press_button(button, ep.episode_key)
    [ep] = primary(db)
    assert len(ep.history) == 6
    [log] = [s.text for s in alert_cards(bot)[-1].sections if s.text.startswith("记录：")]
    assert log.startswith("记录：…（共 6 条）；"), log
    assert log.count("alice") == 4 and "机器人" not in log
    # in English: the bot is crisisbot
    view = {"episode_key": ep.episode_key, "platform": ep.platform, "account_id": ep.account_id,
            "severity": ep.severity, "status": ep.status, "stats": ep.stats,
            "started_at": ep.started_at.isoformat(), "history": ep.history[:2]}
    [english] = [s.text for s in alert_message(view, lang="en", zone=bot.services.config.zone()).sections
                 if s.text.startswith("Log: ")]
    assert "crisisbot alerted" in english and "bot " not in english.replace("crisisbot", ""), english


def test_console_fields_use_a_full_width_colon_after_a_chinese_label(bot, clock, db):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    text = render_text(alert_cards(bot)[-1])
    for label in ("严重程度", "状态", "开始"):
        assert f"  {label}：" in text and f"{label}: " not in text, text
    [ep] = primary(db)
    view = {"episode_key": ep.episode_key, "platform": ep.platform, "account_id": ep.account_id,
            "severity": ep.severity, "status": ep.status, "stats": ep.stats,
            "started_at": ep.started_at.isoformat(), "history": ep.history}
    english = render_text(alert_message(view, lang="en", zone=bot.services.config.zone()))
    assert "  Status: " in english and "Status：" not in english


def test_an_acknowledged_alert_muted_for_an_hour_comes_back_acknowledged_without_paging(bot, clock, db,
                                                                                      press_button):
    """静默 1 小时 on an acknowledged alert (say, with its playbook running) ends as 已确认: no reminder, no
    escalation. It was: back to 待处理, a loud reminder and escalation restarting, paging the team on it."""
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [ep] = primary(db)
    press_button("alert.ack", ep.episode_key)
    press_button("alert.mute", ep.episode_key)
    live(bot, clock, 70, per_minute=12)  # the pile-on goes on past the hour
    [after] = [e for e in primary(db) if e.episode_key == ep.episode_key]
    assert after.recovered_at is None, "precondition: still going on when the mute ends"
    assert after.status == "acknowledged" and after.history[-1]["action"] == "unmuted"
    assert unmuted_notices(db) == []
    live(bot, clock, 60, per_minute=12)  # well past escalation.after_minutes
    assert escalations(db) == []
    assert [e for e in primary(db) if e.episode_key == ep.episode_key][0].status == "acknowledged"
    # its message shows it acknowledged again
    assert any(f.label == "状态" and f.value == "已确认" for f in alert_cards(bot)[-1].fields)


def test_an_open_alert_muted_for_an_hour_still_comes_back_open(bot, clock, db, press_button):
    load_history(bot, clock)
    live(bot, clock, 10, per_minute=12)
    [ep] = primary(db)
    press_button("alert.mute", ep.episode_key)
    live(bot, clock, 70, per_minute=12)
    [after] = [e for e in primary(db) if e.episode_key == ep.episode_key]
    assert after.status == "open" and len(unmuted_notices(db)) == 1
