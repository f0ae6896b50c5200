"""People as the playbook feature shows them (run card, timeline, review). Pure.

Its own module so that the review (which the run card's module imports) names people the way the card does
without importing the card's module.
"""

from __future__ import annotations

# Platforms whose adapters show a user's address ('slack:U1', 'feishu:ou_x') as the person (a mention, the
# Feishu name): their addresses stay in texts. Others ('console:alice') show as the name after the colon,
# which is what the bot's replies call the person ("alice 完成了 …").
_NAMED_BY_ADAPTER = frozenset({"slack", "feishu"})


def person(user: str | None) -> str:
    """A user as shown to people: 'console:alice' -> 'alice'; Slack/Feishu addresses and '@小王' as they are."""
    if not user:
        return ""
    platform, sep, name = user.partition(":")
    if sep and name and platform.isascii() and platform.isalnum() and platform not in _NAMED_BY_ADAPTER:
        return name
    return user
