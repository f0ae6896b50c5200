"""A request signed with the signing secret but outside Slack's 300 s window is refused (401) as before, and
its log line says so, with how far the timestamp is from this server's clock: every request refused as a
"missing, forged or stale signature" sent an operator whose server clock had drifted to check the secret, and
the line for a forged one now names the setting to check when every request is refused so."""

from __future__ import annotations

import logging
import re
import time

import pytest

pytestmark = pytest.mark.slow

FORM = "application/x-www-form-urlencoded"
LOGGER = "crisisbot.slack"


def _signature_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == LOGGER and r.levelno == logging.WARNING and "signature" in r.getMessage()]


def test_a_correctly_signed_stale_request_is_logged_with_its_clock_difference(slack_bot, caplog):
    _bot, sender = slack_bot
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = sender.post(sender.command_body("/help"), FORM, timestamp=int(time.time()) - 600)
    assert response.status_code == 401 and response.json() == {"error": "invalid signature"}
    (line,) = _signature_lines(caplog)
    assert "signed with the signing secret" in line and "check its time sync" in line, line
    assert re.search(r"timestamp is -(59[5-9]|60[0-5]) s from this server's clock", line), line


def test_a_forged_signature_with_a_stale_timestamp_is_still_called_forged(slack_bot, caplog):
    _bot, sender = slack_bot
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = sender.post(sender.command_body("/help"), FORM, timestamp=int(time.time()) - 600,
                               signature="v0=" + "0" * 64)
    assert response.status_code == 401
    (line,) = _signature_lines(caplog)
    assert "missing, forged or stale signature" in line and "signed with the signing secret" not in line, line
    # what a wrong secret looks like from here: every request refused so
    assert "SLACK_SIGNING_SECRET is not the app's Signing Secret" in line, line
