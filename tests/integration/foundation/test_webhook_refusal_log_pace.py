"""`POST /api/v1/comments`: anyone who can reach the port can send requests with a wrong token, and each
wrote a WARNING line. Now the first of each status and code is logged in full, then at most one line a
minute with how many were left out, while crisisbot_webhook_refused_total still counts every one. Real HTTP
into the served app; the log's pace follows the injected clock."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx

from tests.integration.foundation.test_webhook import record
from tests.integration.foundation.test_webhook_outside_in_audit import metric, url

LABELS = '{reason="unauthorized",status="401"}'


def _refusals(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.feeds.webhook" and "refused" in r.getMessage()]


def test_wrong_tokens_write_one_line_then_one_summary_a_minute_while_all_are_counted(base_url, clock, caplog):
    before = metric(base_url, "crisisbot_webhook_refused_total", LABELS)
    wrong = {"Authorization": "Bearer wrong-secret"}
    with caplog.at_level(logging.WARNING, logger="bot.feeds.webhook"):
        for _ in range(4):
            assert httpx.post(url(base_url), json=[record("1")], headers=wrong).status_code == 401
        assert len(_refusals(caplog)) == 1
        clock.advance(timedelta(seconds=60))
        assert httpx.post(url(base_url), json=[record("1")], headers=wrong).status_code == 401
        # another status and code is its own first line
        assert httpx.post(url(base_url), content=b"x", headers={"Authorization": "Bearer test-ingest-token",
                                                                "Content-Type": "text/plain"}).status_code == 415
    lines = _refusals(caplog)
    assert len(lines) == 3, lines
    assert "401 unauthorized" in lines[1] and "3 more refused like it in the last 60 s" in lines[1]
    assert "415 unsupported_media_type" in lines[2] and "more refused" not in lines[2]
    assert all("wrong-secret" not in line for line in lines)
    assert metric(base_url, "crisisbot_webhook_refused_total", LABELS) == before + 5
