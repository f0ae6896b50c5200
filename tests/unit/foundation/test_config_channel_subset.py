"""A channel mapped to a client may narrow it to some of its accounts (`accounts:`), never add another
client's: config check refuses that, since the channel would see that client's data."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config

BASE = {
    "clients": [{"id": "lanji"}, {"id": "xiaochu"}],
    "accounts": [
        {"platform": "douyin", "account_id": "lanji_official", "client": "lanji"},
        {"platform": "douyin", "account_id": "lanji_outlet", "client": "lanji"},
        {"platform": "bilibili", "account_id": "xiaochu_kitchen", "client": "xiaochu"},
        {"platform": "weibo", "account_id": "loose"},
    ],
}


def test_a_client_channel_naming_another_clients_account_is_refused():
    data = {**BASE, "channels": [{"id": "console:lanji", "client": "lanji",
                                  "accounts": ["douyin:lanji_outlet", "bilibili:xiaochu_kitchen", "weibo:loose"]}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="c.yaml")
    problems = caught.value.problems
    assert len(problems) == 2, problems
    assert "c.yaml: channels[0].accounts[1]:" in problems[0] and "belongs to client 'xiaochu'" in problems[0]
    assert "c.yaml: channels[0].accounts[2]:" in problems[1] and "belongs to no client" in problems[1]


def test_a_subset_of_the_clients_accounts_and_a_clientless_account_list_are_fine():
    data = {**BASE, "channels": [
        {"id": "console:lanji", "client": "lanji", "accounts": ["douyin:lanji_outlet"]},
        {"id": "console:ops", "accounts": ["bilibili:xiaochu_kitchen", "weibo:loose"]},
    ]}
    config = parse_config(data, source="c.yaml")
    assert [c.id for c in config.channels] == ["console:lanji", "console:ops"]


def _source(account_id: str, **extra) -> dict:
    return {"id": f"src-{account_id}", "type": "bilibili", "account": {"platform": "bilibili", "account_id": account_id},
            "targets": ["170001"], **extra}


def test_an_enabled_source_for_an_account_missing_from_accounts_is_a_warning():
    # valid, but a typo ("xiaochu_kichen") sends the source's comments to the default channel, under no client
    from bot.config import config_warnings

    data = {**BASE, "feeds": {"sources": [_source("xiaochu_kitchen"), _source("xiaochu_kichen"),
                                          _source("12345678", enabled=False)]}}
    (warning,) = config_warnings(parse_config(data, source="c.yaml"))
    assert warning.startswith("feeds.sources[1] (src-xiaochu_kichen):") and "'bilibili:xiaochu_kichen'" in warning
    # no accounts configured at all: every source goes to the default channel on purpose
    assert config_warnings(parse_config({"feeds": {"sources": [_source("12345678")]}}, source="c.yaml")) == []


def test_config_check_prints_the_warning_and_still_passes(tmp_path, monkeypatch):
    import yaml
    from typer.testing import CliRunner

    from bot.cli import app

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, "feeds": {"sources": [_source("xiaochu_kichen")]}}), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "注意 / warning: feeds.sources[0] (src-xiaochu_kichen)" in result.stderr
