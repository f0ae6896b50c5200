"""`crisisbot serve` with options out of range: exit 2 with a message, before anything starts (a port
over 65535 ended in an OverflowError traceback from bind(); a --speed of 0 or below made the demo's
feed time stand still or run backwards)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli


@pytest.mark.parametrize("port", ["65536", "99999", "-5"])
def test_a_port_out_of_range_is_refused(tmp_path, monkeypatch, port):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--port", port])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--port'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "var").exists()  # refused before any database was opened


@pytest.mark.parametrize("speed", ["0", "-1"])
def test_a_replay_speed_of_zero_or_below_is_refused(tmp_path, monkeypatch, speed):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--demo", "--speed", speed, "--exit-after-replay"])
    assert result.exit_code == 2, result.output
    assert f"错误 / error: --speed 应大于 0 / --speed must be above 0 (got {float(speed):g})" in result.output
    assert not (tmp_path / "var").exists()
