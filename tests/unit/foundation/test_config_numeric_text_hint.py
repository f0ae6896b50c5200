"""`account_id: 1234567` (Douyin and Bilibili ids are digits) is read by YAML as a number, and the config was
refused with pydantic's "Input should be a valid string" alone: the problem now says to quote it. Other
values that are no text (a list, a null) read as before."""

from __future__ import annotations

import pytest
import yaml

from bot.config import ConfigError, parse_config


def test_a_numeric_account_id_is_refused_with_how_to_write_it():
    data = yaml.safe_load("accounts:\n  - {platform: douyin, account_id: 1234567}\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="c.yaml")
    assert caught.value.problems == [
        "c.yaml: accounts[0].account_id: 应为文本：数字请加引号，如 '1234567'（不加引号时 YAML 把它读成数值）/ Input should "
        "be a valid string: put a number in quotes, e.g. '1234567' (unquoted, YAML reads it as a number)"]
    quoted = yaml.safe_load("accounts:\n  - {platform: douyin, account_id: '1234567'}\n")
    assert parse_config(quoted, source="c.yaml").accounts[0].account_id == "1234567"


@pytest.mark.parametrize("value", [None, True, ["x"]])
def test_other_values_that_are_no_text_read_as_before(value):
    with pytest.raises(ConfigError) as caught:
        parse_config({"timezone": value}, source="c.yaml")
    assert caught.value.problems == ["c.yaml: timezone: 应为文本 / Input should be a valid string"]
