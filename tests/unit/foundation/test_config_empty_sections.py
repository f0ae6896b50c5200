"""A section whose lines are all commented out is YAML null. `feeds:` with the shipped examples commented
out (as the README suggests for sources that reach the internet) must mean "no sources", not a refusal
reading "Input should be a valid dictionary or instance of FeedsConfig"."""

from __future__ import annotations

import pytest
import yaml

from bot.config import ConfigError, parse_config

TEXT = """
clients:
accounts:
channels:
retention:
alerts:
feeds:
  sources:
#    - {id: rules-example, type: announcements, base_url: https://example.com/rules.rss}
"""


def test_sections_with_everything_commented_out_take_their_defaults():
    config = parse_config(yaml.safe_load(TEXT), source="c.yaml")
    assert config.feeds.sources == [] and config.channels == [] and config.retention.raw_payload_days == 90
    assert parse_config({"feeds": None}, source="c.yaml").feeds.sources == []


def test_a_null_plain_value_is_still_refused():
    with pytest.raises(ConfigError) as caught:
        parse_config({"timezone": None}, source="c.yaml")
    assert caught.value.problems == ["c.yaml: timezone: 应为文本 / Input should be a valid string"]


def test_retention_windows_past_a_century_are_refused():
    # 99999999 days passed `config check`, then the scheduled purge and `purge --expired` failed on every
    # run with "OverflowError: date value out of range": nothing was ever purged
    data = {"retention": {"raw_payload_days": 99999999, "author_identifiers_days": 36500,
                          "outbox_days": 10**9, "processed_event_hours": 10**11}}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="c.yaml")
    assert caught.value.problems == [
        "c.yaml: retention.raw_payload_days: 数值太大，应不大于 36500 / Input should be less than or equal to 36500",
        "c.yaml: retention.outbox_days: 数值太大，应不大于 36500 / Input should be less than or equal to 36500",
        "c.yaml: retention.processed_event_hours: 数值太大，应不大于 876000 / Input should be less than or equal to 876000",
    ]


def test_the_longest_retention_windows_purge_without_error(sqlite_db):
    from datetime import UTC, datetime

    from bot.config import RetentionConfig
    from bot.retention import purge_expired

    longest = RetentionConfig(raw_payload_days=36500, author_identifiers_days=36500, outbox_days=36500,
                              processed_event_hours=876000)
    assert purge_expired(sqlite_db, datetime.now(UTC), longest)["raw_payloads"] == 0
