"""A refused Slack bot token (invalid_auth, token_revoked ...) holds Slack's messages instead of failing
them: alerts raised while the token was wrong go out, in order and once, when the token works again."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import select

from bot.adapters.console.port import ConsolePort
from bot.adapters.slack.port import SlackChatPort
from bot.messages import Message
from bot.outbox import MAX_BACKOFF_S, Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack

BAD_TOKEN = "xoxb-revoked-token"


def _outbox(db, clock, slack: FakeSlack, token: str) -> tuple[Outbox, ConsolePort]:
    outbox = Outbox(db, clock)
    outbox.register_port(SlackChatPort(token, base_url=slack.base_url, sleep=lambda _s: None))
    console = ConsolePort()
    outbox.register_port(console)
    return outbox, console


def _rows(db) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_messages_queued_while_the_token_is_refused_go_out_after_a_restart_with_the_fixed_token(db, clock, caplog):
    with FakeSlack() as slack:
        outbox, console = _outbox(db, clock, slack, BAD_TOKEN)
        for n in range(3):
            outbox.send(channel="slack:C1", message=Message(text=f"告警 {n}"), key=f"alert:{n}")
        outbox.send(channel="slack:C2", message=Message(text="周报"), key="report:1")
        outbox.send(channel="console:ops", message=Message(text="值班提醒"), key="console:1")
        with caplog.at_level(logging.ERROR, logger="bot.outbox"):
            for _ in range(60):  # an hour with the wrong token
                clock.advance(timedelta(minutes=1))
                outbox.deliver_due()
                outbox.send(channel="slack:C1", message=Message(text=f"告警 {3 + _}"), key=f"alert:{3 + _}") \
                    if _ < 2 else None

        rows = _rows(db)
        slack_rows = [r for r in rows if r.channel.startswith("slack:")]
        assert {r.status for r in slack_rows} == {"pending"}  # held, not failed
        assert all(r.attempts == 0 for r in slack_rows)  # a refused credential is no attempt (crash cap intact)
        assert "invalid_auth" in slack_rows[0].last_error
        assert [m.text for m in console.messages("ops")] == ["值班提醒"]  # other platforms unaffected
        # Probing backs off up to the cap instead of calling Slack once a minute per message.
        refused = slack.calls("chat.postMessage")
        assert 1 <= len(refused) <= 25  # about one probe per 5 minutes once backed off, not 6 a minute
        # Loud, with what to fix, but once per period, not once per message or per probe.
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert 1 <= len(lines) <= 7
        assert "SLACK_BOT_TOKEN" in lines[0] and "重启" in lines[0]

        # The admin fixes SLACK_BOT_TOKEN and restarts: everything held goes out at once, in order, once.
        restarted, _console = _outbox(db, clock, slack, VALID_BOT_TOKEN)
        restarted.drain()
        posted = [(c.args["channel"], c.args["text"]) for c in slack.successful("chat.postMessage")]
        assert [t for ch, t in posted if ch == "C1"] == [f"告警 {n}" for n in range(5)]
        assert [t for ch, t in posted if ch == "C2"] == ["周报"]
        assert {r.status for r in _rows(db)} == {"sent"}
        restarted.drain()
        assert len(slack.successful("chat.postMessage")) == 6  # nothing posted twice


def test_a_token_that_works_again_releases_the_held_messages_within_the_backoff_cap(db, clock):
    with FakeSlack() as slack:
        outbox, _console = _outbox(db, clock, slack, BAD_TOKEN)
        outbox.send(channel="slack:C1", message=Message(text="一"), key="k1")
        for _ in range(20):
            clock.advance(timedelta(minutes=1))
            outbox.deliver_due()
        outbox.send(channel="slack:C1", message=Message(text="二"), key="k2")
        assert slack.successful("chat.postMessage") == []
        slack.bot_tokens.add(BAD_TOKEN)  # e.g. the workspace admin re-activated the bot's account
        clock.advance(timedelta(seconds=MAX_BACKOFF_S + 1))
        outbox.drain()
        assert [c.args["text"] for c in slack.successful("chat.postMessage")] == ["一", "二"]
        assert {r.status for r in _rows(db)} == {"sent"}
