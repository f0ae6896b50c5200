"""A secret written directly under a source's `credentials:` is refused Chinese first, the English kept,
the value never echoed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.feeds.settings import FeedsConfig


def test_a_pasted_secret_is_refused_chinese_first_with_the_english_kept():
    with pytest.raises(ValidationError) as info:
        FeedsConfig.model_validate({"sources": [
            {"id": "x", "type": "douyin", "account": {"platform": "douyin", "account_id": "1"}, "targets": ["2"],
             "credentials": {"access_token": "act.SecretTokenValue"}}]})
    message = " ".join(error["msg"] for error in info.value.errors())
    assert "credentials.access_token" in message
    assert "环境变量的名字" in message and "不要直接填密钥" in message
    assert "must be the NAME of an environment variable" in message
    assert message.index("环境变量") < message.index("must be the NAME")
    assert "act.SecretTokenValue" not in message
