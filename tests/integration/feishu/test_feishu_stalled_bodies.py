"""Bodies that never end, sent to the running bot's /feishu/events over a raw loopback socket: one that
stalls is answered 408 at the deadline and its connection closed (it held up to 1 MiB for ever); one
whose sender hangs up mid-body leaves no "Exception in ASGI application" traceback in the log. Nothing
is handled or stored, and signed, encrypted events still work.
"""

from __future__ import annotations

import pytest

from bot.adapters.feishu import inbound
from bot.storage.models import InboundItem, ProcessedEvent
from tests.integration.feishu.support import FeishuEvents, post_event, stored, wait_until
from tests.support.stalled_body import hang_up_mid_body, stalled_body_answer, uvicorn_errors

pytestmark = pytest.mark.slow

JSON = {"Content-Type": "application/json"}
# The endpoint reads its body deadline (10 s in production) when each request comes in; 3 s here keeps the
# same behaviour (a stalled body answered 408 at the deadline, the connection let go) without the long wait.
SHORT_DEADLINE_S = 3.0


def assert_only_the_good_command_was_handled(bot, url, client, fake, clock) -> None:
    events = FeishuEvents(clock)
    payload = events.message("/help")
    assert post_event(client, url, events, payload).status_code == 200
    message_id = payload["event"]["message"]["message_id"]
    wait_until(lambda: [m for m in fake.sent() if m.parent_id == message_id], what="the /help reply")
    bot.services.dispatcher.shutdown()
    assert stored(bot, ProcessedEvent) == 1
    assert len(fake.sent()) == 1


def test_a_stalled_body_is_answered_408_at_the_deadline_and_the_connection_closed(served_bot, clock, monkeypatch):
    bot, url, client, fake = served_bot
    assert inbound.BODY_DEADLINE_S > SHORT_DEADLINE_S  # the shortened deadline, not the production one
    monkeypatch.setattr(inbound, "BODY_DEADLINE_S", SHORT_DEADLINE_S)
    status, took, closed = stalled_body_answer(url + "/feishu/events", JSON, timeout=SHORT_DEADLINE_S + 10)
    assert status == 408
    assert SHORT_DEADLINE_S - 1 <= took <= SHORT_DEADLINE_S + 5
    assert closed, "the connection (and the body read so far) must be let go"
    assert stored(bot, InboundItem) == 0 and stored(bot, ProcessedEvent) == 0
    assert_only_the_good_command_was_handled(bot, url, client, fake, clock)


def test_a_sender_hanging_up_mid_body_leaves_no_traceback(served_bot, clock):
    bot, url, client, fake = served_bot
    with uvicorn_errors() as errors:
        for _ in range(3):
            hang_up_mid_body(url + "/feishu/events", JSON)
        assert_only_the_good_command_was_handled(bot, url, client, fake, clock)
    assert [r.getMessage() for r in errors] == []
