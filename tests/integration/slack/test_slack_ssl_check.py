"""Slack's unsigned certificate probe (`ssl_check=1&token=…`) gets 200; nothing else passes unsigned."""

from __future__ import annotations

import pytest


def test_slacks_ssl_check_probe_is_answered_200_and_does_nothing(slack_bot, fake_slack):
    bot, sender = slack_bot
    answer = sender.post("ssl_check=1&token=legacy-verification-token", "application/x-www-form-urlencoded",
                         signed=False)
    assert answer.status_code == 200 and answer.content == b""
    bot.services.dispatcher.shutdown()  # anything handed over would be done by now
    assert fake_slack.calls() == []


@pytest.mark.parametrize("body", [
    "ssl_check=1&token=t&command=%2Fcrisis&text=cancel+1&channel_id=C1&user_id=U1",  # a command riding along
    "ssl_check=true&token=t",
    "ssl_check=1&payload=%7B%22type%22%3A%22block_actions%22%7D",
])
def test_anything_more_than_the_probe_still_needs_a_signature(slack_bot, body):
    _, sender = slack_bot
    assert sender.post(body, "application/x-www-form-urlencoded", signed=False).status_code == 401
