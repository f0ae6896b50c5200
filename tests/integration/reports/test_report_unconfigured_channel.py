"""/report in a chat not listed under channels: says so and gives the address to paste into the config (an
empty report there read as if the client had had no comments)."""

from __future__ import annotations


def test_report_in_an_unlisted_channel_says_it_is_not_configured(run_command):
    (answer,) = run_command("/report 7d", channel="console:unlisted")
    assert "channels:" in answer.text and "console:unlisted" in answer.text and answer.ephemeral
    (bad,) = run_command("/report 7x", channel="console:unlisted")  # the period is still checked first
    assert "channels:" not in bad.text
    (listed,) = run_command("/report 7d", channel="console:lanji")
    assert "channels:" not in (listed.text or "")  # a listed channel's report as before
