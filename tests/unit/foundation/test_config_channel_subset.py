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
