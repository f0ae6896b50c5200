"""`/watch surge` windows: at most 14 days (a year's typo silenced volume alerts for a year while the
answer read like a two-hour surge), and the year shown whenever the window is longer than a day or not in
this year, in the confirmation and in `/watch list`. The test clock is 2026-11-22 12:00 UTC."""

from __future__ import annotations

from sqlmodel import select

from bot.alerts.models import AlertWatch


def _surges(db) -> list[AlertWatch]:
    with db.session() as session:
        return list(session.exec(select(AlertWatch).where(AlertWatch.kind == "surge")).all())


def test_a_surge_of_a_year_or_to_9999_is_refused(bot, db, run_command):
    for until in ("2027-12-05T22:00", "9999-12-31T23:59"):
        (reply,) = run_command(f"/watch surge lanji_official --from 2026-12-05T20:00 --until {until} --factor 100")
        assert reply.ephemeral and "最长 14 天" in reply.text and "at most 14 days" in reply.text, reply.text
        assert "已登记" not in reply.text
    (reply,) = run_command("/watch surge lanji_official --from 2026-12-05T20:00 --until 2027-12-05T22:00")
    assert "365 天 2 小时" in reply.text and "2026-12-05 20:00" in reply.text and "2027-12-05 22:00" in reply.text
    assert _surges(db) == []


def test_fourteen_days_are_accepted_and_one_minute_more_is_not(bot, db, run_command):
    (refused,) = run_command("/watch surge lanji_official --from 2026-12-01T00:00 --until 2026-12-15T00:01")
    assert "最长 14 天" in refused.text and _surges(db) == []
    (reply,) = run_command("/watch surge lanji_official --from 2026-12-01T00:00 --until 2026-12-15T00:00")
    assert "已登记预期高峰" in reply.text
    assert "2026-12-01 00:00 – 2026-12-15 00:00" in reply.text, reply.text  # longer than a day: dates with years
    (listed,) = run_command("/watch list")
    assert "2026-12-01 00:00–2026-12-15 00:00" in listed.text, listed.text


def test_a_short_window_this_year_keeps_the_short_form(bot, run_command):
    (reply,) = run_command("/watch surge lanji_official --from 2026-12-05T20:00 --until 2026-12-05T22:00 --factor 5")
    assert "澜肌官方旗舰店（抖音） 12-05 20:00 – 12-05 22:00，预期 x5" in reply.text, reply.text
    (listed,) = run_command("/watch list")
    assert "12-05 20:00–12-05 22:00 x5" in listed.text and "2026-12-05" not in listed.text


def test_a_short_window_in_another_year_shows_the_year(bot, run_command):
    (reply,) = run_command("/watch surge lanji_official --from 2027-12-05T20:00 --until 2027-12-05T22:00")
    assert "2027-12-05 20:00 – 2027-12-05 22:00" in reply.text, reply.text
    # crossing new year's eve: both ends carry their year
    (reply,) = run_command("/watch surge lanji_official --from 2026-12-31T23:00 --until 2027-01-01T01:00")
    assert "2026-12-31 23:00 – 2027-01-01 01:00" in reply.text, reply.text
    (listed,) = run_command("/watch list")
    assert "2027-12-05 20:00–2027-12-05 22:00" in listed.text
    assert "2026-12-31 23:00–2027-01-01 01:00" in listed.text


def test_a_time_past_the_last_day_is_a_usage_error(bot, db, run_command):
    (reply,) = run_command("/watch surge lanji_official --from 9999-12-31T20:00-12:00 --until 9999-12-31T23:59-12:00")
    assert "超出范围" in reply.text and reply.ephemeral, reply.text
    assert _surges(db) == []
