"""`/watch surge` with a window already over was recorded ("已登记预期高峰 #7") without a word, then never shown
in `/watch list`. It is still recorded (surges apply by bucket time: history of that window imported later is
judged with it), and the answer now says the end has passed, Chinese first, in the channel's zone. The test
clock is 2026-11-22 12:00 UTC (20:00 in Asia/Shanghai)."""

from __future__ import annotations

from sqlmodel import select

from bot.alerts.models import AlertWatch


def _surges(db) -> list[AlertWatch]:
    with db.session() as session:
        return list(session.exec(select(AlertWatch).where(AlertWatch.kind == "surge")).all())


def test_a_window_entirely_in_the_past_is_recorded_with_a_note(bot, db, run_command):
    (reply,) = run_command("/watch surge lanji_official --from 2026-11-11T20:00 --until 2026-11-11T23:00")
    assert "已登记预期高峰" in reply.text
    assert reply.text.index("已经过去") < reply.text.index("has already passed"), reply.text
    assert "11-11 23:00（Asia/Shanghai）" in reply.text, reply.text
    assert "现在 11-22 20:00" in reply.text, reply.text  # the channel's zone, not UTC
    assert len(_surges(db)) == 1


def test_a_window_ending_last_year_shows_the_year(bot, db, run_command):
    (reply,) = run_command("/watch surge lanji_official --from 2025-12-05T20:00 --until 2025-12-05T22:00")
    assert "2025-12-05 22:00（Asia/Shanghai）" in reply.text and "已经过去" in reply.text, reply.text


def test_a_window_ending_exactly_now_is_noted_and_one_ending_later_is_not(bot, db, run_command):
    (now,) = run_command("/watch surge lanji_official --from 2026-11-22T18:00 --until 2026-11-22T20:00")
    assert "已经过去" in now.text and len(_surges(db)) == 1
    (running,) = run_command("/watch surge lanji_official --from 2026-11-22T18:00 --until 2026-11-22T22:00")
    assert "已登记预期高峰" in running.text and "已经过去" not in running.text, running.text
    assert len(_surges(db)) == 2
    (listed,) = run_command("/watch list")
    assert "11-22 18:00–11-22 22:00" in listed.text, listed.text


def test_the_end_is_shown_in_the_channels_own_zone(db, settings, clock):
    # the channel's zone decides how "--until" is read and shown: a New York channel's 11-22 06:00 is over
    from bot.app import build_app
    from bot.config import parse_config
    from bot.messages import Command

    config = parse_config({
        "timezone": "Asia/Shanghai",
        "accounts": [{"platform": "douyin", "account_id": "lanji_official", "client": "lanji"}],
        "clients": [{"id": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji", "timezone": "America/New_York"}],
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        [reply] = app.dispatcher.handle(Command(
            "console", "console:lanji", "console:alice",
            "/watch surge lanji_official --from 2026-11-22T05:00 --until 2026-11-22T06:00", event_id="ny1"))
        assert "11-22 06:00（America/New_York）" in reply.text and "现在 11-22 07:00" in reply.text, reply.text
    finally:
        app.stop()
    assert len(_surges(db)) == 1
