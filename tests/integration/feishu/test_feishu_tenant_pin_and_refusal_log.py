"""FEISHU_TENANT_KEY pins the tenants whose events are taken, and refused requests cannot fill the log.

An app other tenants installed (a store app) gets their events signed with the same keys: with the pin set,
an event or card press naming another tenant (`header.tenant_key`; v1 `event.tenant_key`) is refused with
403, as another app's is, and runs nothing; unset, nothing changes. Refusals of one kind are logged once,
then at most once a minute with how many were left out, while the metric counts each one. Real encrypted,
signed HTTP into the served bot; the log's pace follows the injected clock.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import httpx
import pytest

from bot.messages import Message
from tests.integration.feishu.support import (
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    FeishuEvents,
    post_event,
    served_feishu_bot,
    wait_until,
)

pytestmark = pytest.mark.slow

LOGGER = "bot.adapters.feishu.inbound"


def _refusal_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and "refused" in r.getMessage()]


def _metric(url: str, outcome: str) -> float:
    text = httpx.get(url + "/metrics").text
    found = re.search(rf'^crisisbot_feishu_inbound_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def _of_tenant(payload: dict, tenant: str) -> dict:
    payload["header"]["tenant_key"] = tenant
    return payload


def test_with_a_tenant_pin_another_tenants_events_and_presses_are_refused(sqlite_db, app_config, clock, caplog):
    with served_feishu_bot(sqlite_db, app_config, clock, feishu_tenant_key="tenant-1, tenant-2") as served:
        bot, url, client, fake = served
        pressed = []
        bot.services.registry.add_action("e2e.", lambda ctx, action: pressed.append(action) or Message(text="ok"))
        events = FeishuEvents(clock)
        before = _metric(url, "other_tenant")
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            message = _of_tenant(events.message("/help"), "tenant-other")
            press = _of_tenant(events.card_action("e2e.claim", "1", message_id="om_foreign"), "tenant-other")
            for payload in (message, press):
                response = post_event(client, url, events, payload)
                assert response.status_code == 403, response.text
                assert "another Feishu tenant" in response.json()["msg"]
        assert _metric(url, "other_tenant") == before + 2  # both counted ...
        [line] = _refusal_lines(caplog)  # ... one line for the tenant (the second left out, see below)
        assert "tenant-other" in line and "(403)" in line
        assert not any(secret in caplog.text for secret in (VERIFICATION_TOKEN, ENCRYPT_KEY, "e2e-secret"))

        # a listed tenant (either of the two) and an event naming none are handled as before
        ours = events.message("/help")
        second = _of_tenant(events.message("/help"), "tenant-2")
        unnamed = events.message("/help")
        del unnamed["header"]["tenant_key"]
        for payload in (ours, second, unnamed):
            assert post_event(client, url, events, payload).status_code == 200
        good_press = events.card_action("e2e.claim", "7", message_id="om_ours")
        assert post_event(client, url, events, good_press).json()["toast"]["type"] == "info"
        for payload in (ours, second, unnamed):
            message_id = payload["event"]["message"]["message_id"]
            wait_until(lambda m=message_id: [s for s in fake.sent() if s.parent_id == m], what=f"answer to {message_id}")
        wait_until(lambda: pressed, what="our press")
        bot.services.dispatcher.shutdown()
        assert [a.value for a in pressed] == ["7"]  # the other tenant's press never ran


def test_the_tenant_pin_holds_on_the_long_connection(sqlite_db, app_config, clock, caplog):
    with served_feishu_bot(sqlite_db, app_config, clock, feishu_tenant_key="tenant-1") as served:
        bot, url, _client, fake = served
        handler = bot.services.extra["feishu"].build_dispatcher("", "")  # as longconn.LongConnection builds it
        events = FeishuEvents(clock)
        before = _metric(url, "other_tenant")
        foreign = _of_tenant(events.message("/help"), "tenant-other")
        foreign_press = _of_tenant(events.card_action("e2e.claim", "1", message_id="om_foreign"), "tenant-other")
        ours = events.message("/help")
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            handler._do_without_validation(json.dumps(foreign).encode())  # what lark.ws.Client calls
            answer = handler._do_without_validation(json.dumps(foreign_press).encode())
            handler._do_without_validation(json.dumps(ours).encode())
        assert answer.toast is None and answer.card is None  # nothing for another tenant's person
        ours_id = ours["event"]["message"]["message_id"]
        wait_until(lambda: [s for s in fake.sent() if s.parent_id == ours_id], what="our answer")
        bot.services.dispatcher.shutdown()
        assert not [s for s in fake.sent() if s.parent_id == foreign["event"]["message"]["message_id"]]
        assert _metric(url, "other_tenant") == before + 2
        [line] = [r.getMessage() for r in caplog.records if "another tenant" in r.getMessage()]
        assert "tenant-other" in line


def test_without_a_tenant_pin_any_tenant_is_taken(served_bot, clock):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    payload = _of_tenant(events.message("/help"), "tenant-anyone")
    assert post_event(client, url, events, payload).status_code == 200
    message_id = payload["event"]["message"]["message_id"]
    wait_until(lambda: [s for s in fake.sent() if s.parent_id == message_id], what="the answer")
    bot.services.dispatcher.shutdown()


def test_forged_requests_write_one_line_then_one_summary_a_minute_while_all_are_counted(served_bot, clock, caplog):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    before = _metric(url, "unauthenticated")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(5):
            assert post_event(client, url, events, events.message("/help"), forge=True).status_code == 401
        assert len(_refusal_lines(caplog)) == 1  # the first in full, four left out
        clock.advance(timedelta(seconds=30))
        assert post_event(client, url, events, events.message("/help"), forge=True).status_code == 401
        assert len(_refusal_lines(caplog)) == 1  # still within the minute
        clock.advance(timedelta(seconds=31))
        assert post_event(client, url, events, events.message("/help"), forge=True).status_code == 401
        # another reason has its own first line at once
        assert post_event(client, url, events, events.message("/help"), age_s=3600).status_code == 401
    lines = _refusal_lines(caplog)
    assert len(lines) == 3, lines
    assert "bad signature" in lines[1] and "5 more refused like it in the last 61 s" in lines[1]
    assert "stale timestamp" in lines[2] and "more refused" not in lines[2]
    assert _metric(url, "unauthenticated") == before + 8  # every refusal counted
