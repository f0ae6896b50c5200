"""A chat not listed under channels: is told so, with its address to paste, not "nothing waiting 🎉".

Found outside-in on Feishu: /reply-queue in an unlisted group answered "（本频道没有可见账号 / no accounts）：没有
待回复的评论 🎉" while comments were waiting (for the channels that may see them). The same holds on every platform.
"""

from __future__ import annotations

from bot.config import parse_config
from bot.scope import ChannelScope
from tests.conftest import TEST_CONFIG


def test_an_unlisted_channel_is_named_with_its_address_and_listed_ones_are_not():
    scope = ChannelScope(parse_config(TEST_CONFIG, source="tests"))
    text = scope.not_configured("feishu:oc_unlisted")
    assert text is not None and "channels:" in text and "feishu:oc_unlisted" in text
    assert scope.not_configured("console:lanji") is None  # listed
    assert scope.not_configured("console:general") is None  # the default channel
    # a fresh install (no channels listed at all): every channel sees the unassigned accounts
    assert ChannelScope(parse_config({"default_channel": "console:general"}, source="t")).not_configured("slack:C1") is None
