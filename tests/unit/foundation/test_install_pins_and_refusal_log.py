"""The pieces under the inbound hardening: RefusalLog's pace (first line, then one a minute with the count
left out), the pins' env settings as `config check` sees them (nothing new unless malformed), and the
Slack pin's decision on the ids Slack sends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from typer.testing import CliRunner

from bot.adapters.slack.inbound import InstallPins
from bot.clock import FakeClock, ReplayClock
from bot.log_limits import RefusalLog

PINS = ("SLACK_TEAM_ID", "SLACK_APP_ID", "FEISHU_TENANT_KEY")


def _log(caplog, clock, **kw) -> tuple[RefusalLog, callable]:
    logger = logging.getLogger("tests.refusals")
    caplog.set_level(logging.WARNING, logger="tests.refusals")
    return RefusalLog(logger, clock=clock, **kw), lambda: [r.getMessage() for r in caplog.records
                                                          if r.name == "tests.refusals"]


def test_each_endpoint_and_reason_has_its_own_first_line_then_one_a_minute(caplog):
    clock = FakeClock(datetime(2026, 12, 6, tzinfo=UTC))
    refusals, lines = _log(caplog, clock)
    assert refusals.refused("/a", "bad", "refused %s", 1)
    assert not refusals.refused("/a", "bad", "refused %s", 2)
    assert refusals.refused("/a", "stale", "stale %s", 3)  # another reason
    assert refusals.refused("/b", "bad", "b refused %s", 4)  # another endpoint
    clock.advance(timedelta(seconds=59.9))
    assert not refusals.refused("/a", "bad", "refused %s", 5)
    clock.advance(timedelta(seconds=0.1))
    assert refusals.refused("/a", "bad", "refused %s", 6)
    clock.advance(timedelta(minutes=5))
    assert refusals.refused("/a", "bad", "refused %s", 7)  # nothing left out since: a plain line
    assert lines() == ["refused 1", "stale 3", "b refused 4",
                       "refused 6 (2 more refused like it in the last 60 s; /metrics counts all)", "refused 7"]


def test_a_clock_set_back_does_not_silence_a_reason(caplog):
    clock = FakeClock(datetime(2026, 12, 6, 12, tzinfo=UTC))
    refusals, lines = _log(caplog, clock)
    refusals.refused("/a", "bad", "one")
    clock.set(datetime(2026, 12, 6, 11, tzinfo=UTC))
    assert refusals.refused("/a", "bad", "two")
    assert lines() == ["one", "two"]


def test_keys_are_bounded_and_a_forgotten_one_logs_in_full_again(caplog):
    clock = FakeClock(datetime(2026, 12, 6, tzinfo=UTC))
    refusals, lines = _log(caplog, clock, max_keys=2)
    for team in ("T1", "T2", "T3"):
        refusals.refused("slack", team, "team %s", team)
    assert refusals.refused("slack", "T1", "team %s", "T1")  # forgotten (oldest), so new again
    assert not refusals.refused("slack", "T3", "team %s", "T3")


def test_the_demo_replay_clock_is_paced_in_real_time(caplog):
    real = FakeClock(datetime(2026, 12, 6, tzinfo=UTC))
    replay = ReplayClock(datetime(2026, 1, 1, tzinfo=UTC), speed=1000, real=real)
    refusals, _ = _log(caplog, replay)
    refusals.refused("/a", "bad", "one")
    real.advance(timedelta(seconds=1))  # 1000 s of feed time, one real second
    assert not refusals.refused("/a", "bad", "two")


@pytest.mark.parametrize("kwargs, refused", [
    ({"team_id": "T1", "enterprise_id": None, "api_app_id": "A1"}, None),
    ({"team_id": "T2", "enterprise_id": "E1", "api_app_id": "A1"}, None),  # a workspace of our org
    ({"team_id": "T9", "enterprise_id": None, "api_app_id": "A1"}, ("other_workspace", "T9")),
    ({"team_id": None, "enterprise_id": "E9", "api_app_id": None}, ("other_workspace", "E9")),
    ({"team_id": None, "enterprise_id": None, "api_app_id": None}, None),  # names none
    ({"team_id": "T1", "enterprise_id": None, "api_app_id": "A9"}, ("other_app", "A9")),
    ({"team_id": {"id": "T1"}, "enterprise_id": None, "api_app_id": "A1"}, ("other_workspace", "dict")),
])
def test_slack_pins_refuse_what_names_another_installation(kwargs, refused):
    pins = InstallPins(team_ids=frozenset({"T1", "E1"}), app_ids=frozenset({"A1"}))
    assert pins.refusal(**kwargs) == refused
    assert InstallPins().refusal(**kwargs) is None  # unset: any


def _config_check(tmp_path, monkeypatch, **env):
    from bot.cli import app

    for name in PINS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({}), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    return CliRunner().invoke(app, ["config", "check"])


def test_config_check_says_nothing_new_about_well_formed_pins(tmp_path, monkeypatch):
    plain = _config_check(tmp_path, monkeypatch)
    pinned = _config_check(tmp_path, monkeypatch, SLACK_TEAM_ID="T0123ABCD, E0456EFGH", SLACK_APP_ID="A0123ABCD",
                           FEISHU_TENANT_KEY="736588c9260f175d")
    assert pinned.exit_code == plain.exit_code == 0
    assert pinned.output == plain.output


@pytest.mark.parametrize("name, value", [("SLACK_TEAM_ID", "myteam"), ("SLACK_APP_ID", "T0123"),
                                         ("FEISHU_TENANT_KEY", "a b")])
def test_config_check_names_a_malformed_pin(tmp_path, monkeypatch, name, value):
    result = _config_check(tmp_path, monkeypatch, **{name: value})
    assert result.exit_code != 0
    assert name in result.output and "不是有效的 ID" in result.output
