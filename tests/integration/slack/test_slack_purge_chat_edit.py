"""`purge --author … --chat` against the fake Slack Web API: the reply-queue card that quoted the person is
edited in place (chat.update of its ts) to the redacted text, an outage keeps the edit waiting in the outbox
until Slack answers again, a card someone deleted is not posted again, and a card whose post had an unknown
outcome when the purge ran is still corrected once it turns out to be there.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.slack.port import SlackChatPort
from bot.app import build_app
from bot.config import parse_config
from bot.messages import Command
from bot.outbox import REDACTION, SUPERSEDED
from bot.redaction import REDACTED
from bot.retention import purge_author
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack, lost_response

CONFIG = {
    "clients": [{"id": "lanji", "name": "澜肌护肤"}],
    "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店", "client": "lanji"}],
    "channels": [{"id": "slack:C1", "client": "lanji"}],
}
VICTIM, VICTIM_NAME = "victim-slack-1", "王小受Wxs"
VICTIM_TEXT = "用了这款面霜第三天整张脸过敏红肿刺痛，客服一直推脱不给退款，大家千万别买"


@pytest.fixture
def slack(clock):
    # message ts follow the test clock, so the history lookup after an unknown outcome means the same to both
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        yield fake


@pytest.fixture
def app(db, settings, clock, slack):
    bot = build_app(settings, parse_config(CONFIG, source="test"), clock=clock, db=db, upgrade=False)
    bot.services.outbox.register_port(SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None))
    yield bot
    bot.stop()


def _queue_card(app, clock) -> None:
    now = clock.now()
    app.services.ingest.ingest_records([
        {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": "vic-1",
         "text": VICTIM_TEXT, "created_at": (now - timedelta(minutes=5)).isoformat(), "like_count": 40,
         "author_id": VICTIM, "author_name": VICTIM_NAME},
    ], source="test")
    app.dispatcher.handle(Command("slack", "slack:C1", "slack:U1", "/reply-queue", event_id="slack-purge-1"))


def _card_ts(slack) -> str:
    (card,) = [c for c in slack.successful("chat.postMessage")
               if VICTIM_TEXT[:20] in json.dumps(c.args, ensure_ascii=False)]
    return card.answer["ts"]


def _shown(slack, ts: str) -> str:
    return json.dumps(slack.messages[("C1", ts)], ensure_ascii=False)


def _edit_row(db) -> OutboxMessage:
    with db.session() as session:
        (edit,) = session.exec(select(OutboxMessage).where(OutboxMessage.kind == REDACTION)).all()
    return edit


def _retry_round(app, clock) -> None:
    clock.advance(timedelta(minutes=6))  # past any backoff
    app.services.outbox.drain()


def test_the_delivered_card_is_edited_with_chat_update(app, db, clock, slack):
    _queue_card(app, clock)
    app.services.outbox.drain()
    ts = _card_ts(slack)

    assert purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)["chat_edits"] == 1
    app.services.outbox.drain()

    (update,) = slack.successful("chat.update")
    assert update.args["channel"] == "C1" and update.args["ts"] == ts
    shown = _shown(slack, ts)
    assert VICTIM_TEXT[:20] not in shown and VICTIM_NAME not in shown and REDACTED in shown
    assert len(slack.successful("chat.postMessage")) == 1  # edited, not posted again
    assert VICTIM_TEXT[:20] not in json.dumps(_edit_row(db).payload, ensure_ascii=False)


def test_without_chat_slack_is_not_called(app, db, clock, slack):
    _queue_card(app, clock)
    app.services.outbox.drain()
    ts = _card_ts(slack)
    calls = len(slack.calls())
    purge_author(db, "douyin", VICTIM, now=clock.now())
    app.services.outbox.drain()
    assert len(slack.calls()) == calls
    assert VICTIM_TEXT[:20] in _shown(slack, ts)


def test_an_outage_keeps_the_edit_waiting_until_slack_answers(app, db, clock, slack):
    _queue_card(app, clock)
    app.services.outbox.drain()
    ts = _card_ts(slack)
    slack.down = True
    purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
    _retry_round(app, clock)
    _retry_round(app, clock)
    edit = _edit_row(db)
    assert edit.status == "pending" and edit.attempts >= 2
    assert VICTIM_TEXT[:20] in _shown(slack, ts)

    slack.down = False
    _retry_round(app, clock)
    assert _edit_row(db).status == "sent"
    assert REDACTED in _shown(slack, ts) and VICTIM_TEXT[:20] not in _shown(slack, ts)


def test_a_card_deleted_in_slack_is_not_posted_again(app, db, clock, slack):
    _queue_card(app, clock)
    app.services.outbox.drain()
    ts = _card_ts(slack)
    assert slack.delete_message("C1", ts)  # someone deleted the card: nothing of theirs is left to show
    purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
    app.services.outbox.drain()
    assert [c.args["ts"] for c in slack.calls("chat.update")] == [ts]  # answered message_not_found
    assert len(slack.calls("chat.postMessage")) == 1
    assert _edit_row(db).status == SUPERSEDED


def test_a_card_whose_post_may_be_out_is_corrected_after_the_purge(app, db, clock, slack):
    # The card's post reached Slack but its answer was lost: the row still waits (maybe sent) when the purge
    # runs. The purge redacts the waiting row, but its retry finds the card already there and sends nothing:
    # the edit queued behind it corrects what the channel shows.
    slack.script("chat.postMessage", lost_response())
    _queue_card(app, clock)
    app.services.outbox.drain()
    (posted,) = slack.channel_messages("C1")
    assert VICTIM_TEXT[:20] in json.dumps(posted, ensure_ascii=False)

    counts = purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
    assert counts["outbox_redacted"] == 1 and counts["chat_edits"] == 1
    _retry_round(app, clock)

    (shown,) = slack.channel_messages("C1")  # not posted twice
    text = json.dumps(shown, ensure_ascii=False)
    assert VICTIM_TEXT[:20] not in text and REDACTED in text
    assert _edit_row(db).status == "sent"
