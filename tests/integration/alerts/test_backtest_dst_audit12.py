"""`crisisbot backtest` and the alert service read "the same time of day" in the configured zone (audit 12).

A series with an evening peak kept in Berlin local time across 2026-03-29 gave a false alert every evening of
the week after the clocks changed (the profile was in UTC). The backtest now profiles the series in the
standard time of the configured `timezone` (or `--tz`), the service in its accounts' channel zone; for
Asia/Shanghai (no DST) the output is byte for byte what it was (the digest below was taken before the change).
"""

from __future__ import annotations

import csv
import hashlib
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.alerts.cli import app
from bot.app import build_app
from bot.config import parse_config
from tests.unit.alerts.streams import burst, daily_shape, negbin

BERLIN = ZoneInfo("Europe/Berlin")


def _berlin_csv(path, days: int = 42, seed: int = 0):
    """Steady Poisson counts, evening peak at 20:30 Berlin local time, 2026-03-01 for `days` days (the
    clocks go forward on 03-29), as the audit's generator wrote them."""
    rng = np.random.default_rng(seed)
    t = datetime(2026, 3, 1, tzinfo=UTC)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write("timestamp,value\n")
        for _ in range(days * 288):
            local = t.astimezone(BERLIN)
            h = local.hour + local.minute / 60
            mu = 1.5 + 25 * math.exp(-((h - 20.5) ** 2) / (2 * 1.2 ** 2)) + 6 * math.exp(-((h - 12.5) ** 2) / 8)
            handle.write(f"{t:%Y-%m-%dT%H:%M:%SZ},{rng.poisson(mu)}\n")
            t += timedelta(minutes=5)
    return path


def _alerts(out) -> list[str]:
    with open(out, encoding="utf-8", newline="") as handle:
        return [row["timestamp"] for row in csv.DictReader(handle) if row["alert"] == "1"]


def _config(tmp_path, text: str):
    path = tmp_path / "crisisbot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def no_config(tmp_path, monkeypatch):
    """No config file (the built-in default zone, Asia/Shanghai), whatever the caller's environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("CRISISBOT_CONFIG", "CRISISBOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)


def test_a_berlin_series_does_not_alert_after_the_change_with_the_configured_zone(tmp_path, no_config, monkeypatch):
    series = _berlin_csv(tmp_path / "berlin.csv")
    # the default zone (Asia/Shanghai, no DST): the evenings after 03-29 alert, as the audit found
    result = CliRunner().invoke(app, ["backtest", str(series), "--out", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    before = _alerts(tmp_path / "a.csv")
    assert len(before) >= 2 and all("2026-03-29" <= t < "2026-04-06" for t in before), before

    monkeypatch.setenv("CRISISBOT_CONFIG", str(_config(tmp_path, "timezone: Europe/Berlin\n")))
    result = CliRunner().invoke(app, ["backtest", str(series), "--out", str(tmp_path / "b.csv")])
    assert result.exit_code == 0, result.output
    assert _alerts(tmp_path / "b.csv") == []
    assert "12096 行，0 次告警" in result.output
    # one output row per input row still
    assert sum(1 for _ in open(tmp_path / "b.csv", encoding="utf-8")) == 12096 + 1


def test_tz_option_overrides_the_configured_zone(tmp_path, no_config, monkeypatch):
    series = _berlin_csv(tmp_path / "berlin.csv")
    result = CliRunner().invoke(app, ["backtest", str(series), "--out", str(tmp_path / "o.csv"), "--tz", "Europe/Berlin"])
    assert result.exit_code == 0, result.output
    assert _alerts(tmp_path / "o.csv") == []
    monkeypatch.setenv("CRISISBOT_CONFIG", str(_config(tmp_path, "timezone: Europe/Berlin\n")))
    result = CliRunner().invoke(app, ["backtest", str(series), "--out", str(tmp_path / "o.csv"), "--tz", "Asia/Shanghai"])
    assert result.exit_code == 0, result.output
    assert len(_alerts(tmp_path / "o.csv")) >= 2


def test_an_unknown_tz_is_refused_chinese_first(tmp_path, no_config):
    series = _berlin_csv(tmp_path / "s.csv", days=1)
    result = CliRunner().invoke(app, ["backtest", str(series), "--out", str(tmp_path / "o.csv"), "--tz", "Mars/Olympus"])
    assert result.exit_code == 2
    assert result.output.startswith("错误 / error: --tz: 未知的时区 / unknown time zone 'Mars/Olympus'"), result.output
    assert not (tmp_path / "o.csv").exists()
    result = CliRunner().invoke(app, ["backtest", "--comments", str(series), "--tz", "Europe/Berlin"])
    assert result.exit_code == 2 and "--tz is for SERIES.csv only" in result.output, result.output


def test_an_unreadable_config_still_backtests_in_utc_and_says_so(tmp_path, no_config, monkeypatch):
    series = _berlin_csv(tmp_path / "s.csv", days=2)
    monkeypatch.setenv("CRISISBOT_CONFIG", str(_config(tmp_path, "timezone: Nowhere/Land\n")))
    result = CliRunner().invoke(app, ["backtest", str(series), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    assert "注意 / note: 配置无法读取" in result.output and "time-of-day slots are in UTC" in result.output


# ---------------------------------------------------------------- Asia/Shanghai: byte for byte as before

def _shanghai_csv(path):
    """Four weeks of an evening rhythm in Shanghai local time (written with +08:00), growth and two incidents."""
    n = 28 * 288
    start = datetime(2026, 3, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    shape = daily_shape(n, 0.9)
    mu = 6.0 * shape * np.linspace(1.0, 1.5, n) * burst(n, 9 * 288 + 150, 7.0, 30) * burst(n, 20 * 288 + 40, 3.5, 60)
    values = negbin(mu, 0.15, seed=21)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write("timestamp,value\n")
        for i, v in enumerate(values):
            handle.write(f"{(start + timedelta(minutes=5 * i)).isoformat()},{int(v)}\n")
    return path


#: `crisisbot backtest` output for _shanghai_csv, computed once with the code before the change
SHANGHAI_OUT_SHA256 = "439e059e05c2c907f731897b2c085c8dc12cd0c7e516f308e8ac635b72300df1"
SHANGHAI_ALERTS = ["2026-03-11T12:35:00+08:00", "2026-03-22T04:05:00+08:00"]


@pytest.mark.parametrize("how", ["default", "config", "tz"])
def test_shanghai_output_is_byte_for_byte_what_it_was(tmp_path, no_config, monkeypatch, how):
    series = _shanghai_csv(tmp_path / "sh.csv")
    args = ["backtest", str(series), "--out", str(tmp_path / "o.csv")]
    if how == "config":
        monkeypatch.setenv("CRISISBOT_CONFIG", str(_config(tmp_path, "timezone: Asia/Shanghai\n")))
    elif how == "tz":
        args += ["--tz", "Asia/Shanghai"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _alerts(tmp_path / "o.csv") == SHANGHAI_ALERTS
    assert hashlib.sha256((tmp_path / "o.csv").read_bytes()).hexdigest() == SHANGHAI_OUT_SHA256


# ---------------------------------------------------------------- the service: which zone a stream uses

def test_the_service_profiles_each_account_in_its_channels_zone(db, settings, clock):
    config = parse_config({
        "timezone": "Asia/Shanghai",
        "default_channel": "console:general",
        "accounts": [{"platform": "douyin", "account_id": "berlin", "client": "eu"},
                     {"platform": "douyin", "account_id": "both", "client": "mixed"},
                     {"platform": "douyin", "account_id": "plain"}],
        "clients": [{"id": "eu"}, {"id": "mixed"}],
        "channels": [{"id": "console:eu", "client": "eu", "timezone": "Europe/Berlin"},
                     {"id": "console:mixed_eu", "client": "mixed", "timezone": "Europe/Berlin"},
                     {"id": "console:mixed_cn", "client": "mixed"}],
    }, source="test")
    bot = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        service = bot.services.extra["alerts"]
        at = clock.now() - timedelta(minutes=20)
        records = [{"platform": "douyin", "account_id": account, "content_id": "v1", "comment_id": f"{account}{i}",
                    "text": "今天直播几点开始呀", "created_at": (at + timedelta(minutes=i)).isoformat()}
                   for account in ("berlin", "both", "plain") for i in range(3)]
        bot.services.ingest.ingest_records(records, source="test")
        clock.advance(timedelta(minutes=10))
        for fn in bot.wiring.ticks:
            fn()
        zones = {key.split("|")[0]: str(det.zone) for key, _closed, det in service._detectors.values()}
        # one channel in Berlin: Berlin; channels in two zones: the configured zone; no channel: the
        # default channel's zone (the configured one)
        assert zones == {"douyin:berlin": "Europe/Berlin", "douyin:both": "Asia/Shanghai",
                         "douyin:plain": "Asia/Shanghai"}, zones
    finally:
        bot.stop()
