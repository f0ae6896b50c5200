"""`crisisbot serve --demo --speed nan|inf|1e300` ended in a traceback from ReplayClock.now() ("cannot convert
NaN to integer ratio", OverflowError): the check was `speed <= 0`, which nan and inf pass. Refused now with
exit 2 and a message, before anything starts; the clock itself refuses such a speed too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock, ReplayClock

MAX_SPEED = 100_000  # bot.clock.MAX_REPLAY_SPEED


@pytest.mark.parametrize("speed", ["nan", "inf", "-inf", "NaN", "Infinity"])
def test_a_non_finite_replay_speed_is_refused(tmp_path, monkeypatch, speed):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--demo", "--speed", speed, "--exit-after-replay"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "错误 / error: --speed 应为有限的数，例如 600 / --speed must be a finite number, e.g. 600" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "var").exists()  # refused before any database was opened


@pytest.mark.parametrize("speed", ["1e300", "1e12", str(MAX_SPEED * 2)])
def test_a_replay_speed_too_high_for_the_calendar_is_refused(tmp_path, monkeypatch, speed):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--demo", "--speed", speed, "--exit-after-replay"])
    assert result.exit_code == 2, result.output
    assert f"--speed 最多 {MAX_SPEED:g} / --speed is at most {MAX_SPEED:g}" in result.output
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("speed", [float("nan"), float("inf"), float("-inf"), 0.0, -1.0, 1e300])
def test_replay_clock_refuses_a_speed_it_cannot_run_at(speed):
    with pytest.raises(ValueError, match="回放倍速.* / the replay speed"):
        ReplayClock(datetime(2026, 1, 1, tzinfo=UTC), speed=speed)


def test_replay_clock_at_the_highest_speed_still_tells_the_time():
    from bot.clock import MAX_REPLAY_SPEED

    assert MAX_REPLAY_SPEED == MAX_SPEED
    real = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock = ReplayClock(datetime(2020, 1, 1, tzinfo=UTC), speed=MAX_REPLAY_SPEED, real=real)
    real.advance(24 * 3600)  # a day of real time: 274 years of feed time, still a date
    assert clock.now().year == 2020 + 273
