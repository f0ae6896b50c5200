"""Source timings that `config check` used to accept and that then crashed `sources` / `poll` (infinite,
NaN, huge, negative durations; a backoff whose max is below its base) are refused by the settings model,
all listed at once with a duplicate source id."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app

ANNOUNCEMENTS = '{{id: {id}, type: announcements, base_url: "http://127.0.0.1:9/feed", {extra}}}'

BAD = {
    "inf": ("interval: .inf", "interval: 时长必须是有限的数"),
    "nan": ("interval: .nan", "interval: 时长必须是有限的数"),
    "huge": ("interval: 99999999999d", "interval: 时长不能超过 365 天"),
    "week": ("interval: 8d", "interval: 轮询间隔应在 1 秒到 7 天之间"),
    "timeout": ("timeout: -1", "timeout: 时长不能为负"),
    "timeout0": ("timeout: 0", "timeout: 请求超时应大于 0"),
    "zero": ("backoff: {base: 0, max: 60}", "backoff.base: 必须大于 0"),
    "negmax": ("backoff: {base: 30, max: -1}", "backoff.max: 时长不能为负"),
    "below": ("backoff: {base: 60, max: 30}", "backoff: max (30s) 不能小于 base (60s)"),
    "jitter": ("jitter: .inf", "jitter: 时长必须是有限的数"),
}


def config_file(tmp_path, entries: list[str]):
    path = tmp_path / "crisisbot.yaml"
    path.write_text("feeds:\n  sources:\n" + "".join(f"    - {e}\n" for e in entries), encoding="utf-8")
    return {"CRISISBOT_CONFIG": str(path), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}


def test_config_check_lists_every_bad_timing_and_the_duplicate_id(tmp_path):
    entries = [ANNOUNCEMENTS.format(id=name, extra=setting) for name, (setting, _) in BAD.items()]
    entries.append(ANNOUNCEMENTS.format(id="inf", extra="interval: 5m"))  # same id as the first
    result = CliRunner().invoke(app, ["config", "check"], env=config_file(tmp_path, entries))
    assert result.exit_code == 2, result.output
    for index, (_setting, message) in enumerate(BAD.values()):
        assert f"feeds.sources[{index}].{message}" in result.output, message
    assert f"feeds.sources[{len(BAD)}].id: 数据源 id 重复 / duplicate id 'inf'" in result.output


@pytest.mark.parametrize("command", [["sources"], ["poll", "s"]])
@pytest.mark.parametrize("setting", ["interval: .inf", "interval: .nan", "interval: 99999999999d",
                                     "timeout: -1", "backoff: {base: 0, max: -1}"])
def test_sources_and_poll_refuse_the_config_instead_of_crashing(tmp_path, command, setting):
    env = config_file(tmp_path, [ANNOUNCEMENTS.format(id="s", extra=setting)])
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 2, result.output
    assert "feeds.sources[0]" in result.output


def test_sane_timings_still_pass(tmp_path):
    entries = [ANNOUNCEMENTS.format(id="ok", extra="interval: 7d, timeout: 600, jitter: 0, "
                                                   "backoff: {base: 1, max: 1, risk_control: 1h}")]
    result = CliRunner().invoke(app, ["config", "check"], env=config_file(tmp_path, entries))
    assert result.exit_code == 0, result.output
