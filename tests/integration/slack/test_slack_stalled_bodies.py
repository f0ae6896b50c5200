"""Bodies that never end, sent to the running bot's /slack/events over a raw loopback socket: one that
stalls is answered 408 at the deadline and its connection closed (it held up to 1 MiB for ever, and a few
hundred such connections held hundreds of MB); one whose sender hangs up mid-body leaves no "Exception in
ASGI application" traceback in the log. Nothing is handled or stored, and signed commands still work.
"""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from bot.adapters.slack import inbound_app
from bot.storage.models import InboundItem, ProcessedEvent
from tests.support.stalled_body import hang_up_mid_body, stalled_body_answer, uvicorn_errors

pytestmark = pytest.mark.slow

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# The endpoint reads its body deadline (10 s in production) when each request comes in; 3 s here keeps the
# same behaviour (a stalled body answered 408 at the deadline, the connection let go) without the long wait.
SHORT_DEADLINE_S = 3.0


def stored(bot, model) -> int:
    with bot.services.db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def assert_only_the_good_command_was_handled(bot, sender, fake_slack) -> None:
    assert sender.command("/help").status_code == 200
    fake_slack.wait_for("chat.postMessage")
    bot.services.dispatcher.shutdown()
    assert stored(bot, ProcessedEvent) == 1
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_a_stalled_body_is_answered_408_at_the_deadline_and_the_connection_closed(slack_bot, fake_slack,
                                                                                   monkeypatch):
    bot, sender = slack_bot
    assert inbound_app.BODY_DEADLINE_S > SHORT_DEADLINE_S  # the shortened deadline, not the production one
    monkeypatch.setattr(inbound_app, "BODY_DEADLINE_S", SHORT_DEADLINE_S)
    status, took, closed = stalled_body_answer(sender.events_url, FORM, timeout=SHORT_DEADLINE_S + 10)
    assert status == 408
    assert SHORT_DEADLINE_S - 1 <= took <= SHORT_DEADLINE_S + 5
    assert closed, "the connection (and the body read so far) must be let go"
    assert stored(bot, InboundItem) == 0 and stored(bot, ProcessedEvent) == 0
    assert_only_the_good_command_was_handled(bot, sender, fake_slack)


def test_a_sender_hanging_up_mid_body_leaves_no_traceback(slack_bot, fake_slack):
    bot, sender = slack_bot
    with uvicorn_errors() as errors:
        for _ in range(3):
            hang_up_mid_body(sender.events_url, FORM)
        assert_only_the_good_command_was_handled(bot, sender, fake_slack)
    assert [r.getMessage() for r in errors] == []
