"""The review of a resolved or cancelled run counts lateness up to the close, not up to when it is asked for:
`/crisis report` a few hours after a cancel counted steps that were not yet due at the close as late and grew
the open steps' lateness with every hour since."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.playbooks.helpers import CrisisDriver, review_markdown

START = "/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official"


def _row(markdown: str, step_id: str) -> str:
    (row,) = [line for line in markdown.splitlines() if line.startswith(f"| {step_id} ")]
    return row


@pytest.mark.parametrize("close", ["/crisis cancel 演练", "/crisis resolve 已平息"])
def test_a_review_asked_for_later_reads_as_at_the_close(bot, clock, close):
    d = CrisisDriver(bot)
    d.run(START)
    clock.advance(timedelta(minutes=25))  # triage (15m) 10 minutes late; monitor and pause_content (30m) not yet due
    d.run(close)
    at_close = review_markdown([m for m in d.channel_messages() if (m.title or "").startswith("复盘报告")][-1]) \
        if "resolve" in close else None
    clock.advance(timedelta(hours=3))
    (report,) = d.run("/crisis report")
    markdown = review_markdown(report)
    assert "超时步骤 / Late steps：1" in report.text and "超时步骤 / Late steps：1" in markdown
    assert "超时 10 分钟 / 10 min overdue（未完成 / not done）" in _row(markdown, "triage")
    assert _row(markdown, "monitor").endswith("| 未完成 / not done |")
    assert "monitor 建立监测与数据播报：未完成 / not done" in markdown
    if at_close is not None:  # the review posted at the resolve and the one asked for later agree
        strip = [line for line in markdown.splitlines() if not line.startswith("*生成于")]
        assert strip == [line for line in at_close.splitlines() if not line.startswith("*生成于")]
