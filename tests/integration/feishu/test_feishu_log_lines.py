"""What a chat member types reaches the log quoted: a line break in a message must not forge a log line
(a fake "ERROR …" or "refused" entry under the bot's name)."""

from __future__ import annotations

import logging

import pytest

from tests.integration.feishu.support import FeishuEvents, post_event, served_feishu_bot

pytestmark = pytest.mark.slow


def test_a_line_break_in_a_command_does_not_start_a_log_line(sqlite_db, app_config, clock, caplog):
    events = FeishuEvents(clock)
    with served_feishu_bot(sqlite_db, app_config, clock) as (_bot, url, client, _fake), \
            caplog.at_level(logging.INFO, logger="bot.adapters.feishu.inbound"):
        payload = events.message("/help\n2026-11-22 12:00:00 ERROR bot.serve: forged line")
        # logged while the event is handled, before its answer
        assert post_event(client, url, events, payload).status_code == 200
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("feishu command from")]
    assert "\n" not in line and "forged line" in line, line
