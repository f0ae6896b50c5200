"""/reply-queue in a chat not listed under channels: says so and gives the address to paste into the config."""

from __future__ import annotations


def test_reply_queue_in_an_unlisted_channel_says_it_is_not_configured(run_command):
    (answer,) = run_command("/reply-queue", channel="console:unlisted")
    assert "channels:" in answer.text and "console:unlisted" in answer.text
    assert "🎉" not in answer.text and answer.ephemeral
    (listed,) = run_command("/reply-queue", channel="console:lanji")
    assert "channels:" not in listed.text  # a listed channel's queue as before
