"""`purge --author … --chat`: the messages the chat already shows are edited, through the outbox, to what they
say without the person; without --chat they stay as they are.

The whole bot on the console channel: a person's comment is ingested, the reply-queue card quotes it and is
delivered; the purge queues an edit (kind REDACTION) of that card computed from its stored copy before the
copy is emptied, and draining the outbox edits the card in place. The database keeps no copy of the original.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from sqlmodel import select
from typer.testing import CliRunner

from bot.app import build_app
from bot.config import parse_config
from bot.messages import Command, File, Message
from bot.outbox import REDACTION, SUPERSEDED
from bot.redaction import REDACTED
from bot.retention import ATTACHMENT_GONE, purge_author
from bot.storage.models import OutboxMessage
from tests.integration.foundation.test_purge_author import _all_rows_as_text

CONFIG = {
    "timezone": "Asia/Shanghai",
    "clients": [{"id": "lanji", "name": "澜肌护肤"}],
    "accounts": [{"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店", "client": "lanji"}],
    "channels": [{"id": "console:lanji", "client": "lanji"}],
}
VICTIM, VICTIM_NAME = "victim-chat-1", "王小受Wxs"
VICTIM_TEXT = "用了这款面霜第三天整张脸过敏红肿刺痛，客服一直推脱不给退款，大家千万别买"
OTHER_TEXT = "请问敏感肌能用吗？"


def _record(comment_id, author, name, text, at, likes):
    return {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": text, "created_at": at.isoformat(), "like_count": likes, "author_id": author,
            "author_name": name}


def _bot(db, settings, clock):
    return build_app(settings, parse_config(CONFIG, source="test"), clock=clock, db=db, upgrade=False)


def _deliver_queue_card(app, clock) -> str:
    """Ingest their comment and someone else's, show /reply-queue in console:lanji; the card's message id."""
    now = clock.now()
    app.services.ingest.ingest_records([
        _record("vic-1", VICTIM, VICTIM_NAME, VICTIM_TEXT, now - timedelta(minutes=5), 40),
        _record("oth-1", "other-1", "路人甲", OTHER_TEXT, now - timedelta(minutes=4), 30),
    ], source="test")
    app.dispatcher.handle(Command("console", "console:lanji", "console:alice", "/reply-queue", user_name="alice",
                                  event_id="chat-purge-1"))
    app.services.outbox.drain()
    (card,) = [e for e in app.console.entries.values() if VICTIM_TEXT[:20] in json.dumps(
        e.message.to_dict(), ensure_ascii=False)]
    return card.message_id


def _shown(app, message_id: str) -> str:
    return json.dumps(app.console.entries[message_id].message.to_dict(), ensure_ascii=False)


def _originals_in_db(db) -> list[str]:
    return [table for table, text in _all_rows_as_text(db).items()
            if VICTIM_TEXT[:20] in text or VICTIM_NAME in text or VICTIM in text]


def test_the_delivered_card_is_edited_to_the_redacted_text(db, settings, clock):
    app = _bot(db, settings, clock)
    try:
        card = _deliver_queue_card(app, clock)
        counts = purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
        assert counts["chat_edits"] == 1 and counts["chat_not_editable"] == 0
        assert counts["outbox_contents"] >= 1  # the stored copy of the card is emptied as before
        assert _originals_in_db(db) == []  # the queued edit holds the redacted version only

        assert app.services.outbox.drain() >= 1
        entry = app.console.entries[card]
        assert entry.updates == 1  # edited in place, not posted again
        shown = _shown(app, card)
        assert VICTIM_TEXT[:20] not in shown and REDACTED in shown
        assert OTHER_TEXT in shown  # the rest of the card stays
        with db.session() as session:
            (edit,) = session.exec(select(OutboxMessage).where(OutboxMessage.kind == REDACTION)).all()
        assert edit.status == "sent" and edit.platform_message_id == card
        assert _originals_in_db(db) == []
    finally:
        app.stop()


def test_without_chat_nothing_is_edited(db, settings, clock):
    app = _bot(db, settings, clock)
    try:
        card = _deliver_queue_card(app, clock)
        counts = purge_author(db, "douyin", VICTIM, now=clock.now())
        assert "chat_edits" not in counts
        assert app.services.outbox.drain() == 0
        assert app.console.entries[card].updates == 0
        assert VICTIM_TEXT[:20] in _shown(app, card)  # what the chat shows stays, as before
        with db.session() as session:
            assert session.exec(select(OutboxMessage).where(OutboxMessage.kind == REDACTION)).all() == []
    finally:
        app.stop()


def test_the_edit_is_delivered_by_the_next_process(db, settings, clock):
    # purge runs as a process of its own (the CLI): the edit waits in the database for a serve, even one
    # started after it
    first = _bot(db, settings, clock)
    try:
        card = _deliver_queue_card(first, clock)
    finally:
        first.stop()
    purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
    later = _bot(db, settings, clock)
    try:
        assert later.services.outbox.drain() == 1
        shown = _shown(later, card)  # the new console port was asked to edit the same message id
        assert later.console.entries[card].updates == 1 and REDACTED in shown and VICTIM_TEXT[:20] not in shown
    finally:
        later.stop()


def test_a_later_version_already_waiting_is_not_overwritten(db, settings, clock):
    # An update of the card still waits (queued before the purge): the purge redacts it, and it replaces what
    # the chat shows, so no edit goes after it with the older content.
    app = _bot(db, settings, clock)
    try:
        card = _deliver_queue_card(app, clock)
        with db.session() as session:
            original = session.exec(select(OutboxMessage).where(OutboxMessage.platform_message_id == card)).one()
        newer = Message(text=f"新版本 / newer: {VICTIM_TEXT}")
        app.services.outbox.send(channel="console:lanji", message=newer, key=f"{original.key}#later",
                                 update_of=original.key)
        counts = purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
        assert counts["chat_edits"] == 0 and counts["outbox_redacted"] == 1
        app.services.outbox.drain()
        shown = _shown(app, card)
        assert app.console.entries[card].updates == 1 and "新版本" in shown and VICTIM_TEXT[:20] not in shown
    finally:
        app.stop()


def test_files_cannot_be_edited_the_edit_says_so(db, settings, clock):
    app = _bot(db, settings, clock)
    try:
        _deliver_queue_card(app, clock)
        html = f"<p>{VICTIM_TEXT}</p>".encode()
        report = Message(title="日报 / daily report", text="负面占比 3%",
                         files=(File(name="report.html", content=html, mime="text/html"),))
        app.services.outbox.send(channel="console:lanji", message=report, key="report:test:1")
        app.services.outbox.send(channel="console:lanji", message=Message(files=(File(name="r.html", content=html),)),
                                 key="report:test:files-only")
        app.services.outbox.drain()
        counts = purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
        assert counts["chat_edits"] == 2  # the card and the report's text
        assert counts["chat_not_editable"] == 1  # a message of files alone has no text to edit
        with db.session() as session:
            edits = session.exec(select(OutboxMessage).where(OutboxMessage.kind == REDACTION)).all()
        (report_edit,) = [e for e in edits if e.update_of == "report:test:1"]
        assert report_edit.payload["text"] == f"负面占比 3%\n\n{ATTACHMENT_GONE}"
        assert "files" not in report_edit.payload  # the file is not stored again
        assert base64.b64encode(html).decode() not in json.dumps(_all_rows_as_text(db))
        app.services.outbox.drain()
        (shown,) = [e for e in app.console.entries.values() if e.message.title == "日报 / daily report"]
        assert shown.updates == 1 and ATTACHMENT_GONE in shown.message.text
    finally:
        app.stop()


def test_a_message_gone_meanwhile_is_not_posted_again(db, settings, clock):
    # the original row lost its message id (as after a failed original): nothing left to edit in the chat
    app = _bot(db, settings, clock)
    try:
        _deliver_queue_card(app, clock)
        purge_author(db, "douyin", VICTIM, now=clock.now(), chat=True)
        with db.session() as session:
            (edit,) = session.exec(select(OutboxMessage).where(OutboxMessage.kind == REDACTION)).all()
            original = session.exec(select(OutboxMessage).where(OutboxMessage.key == edit.update_of)).one()
            original.platform_message_id = None
            session.add(original)
        before = len(app.console.entries)
        app.services.outbox.drain()
        assert len(app.console.entries) == before  # not posted as a new message
        with db.session() as session:
            edit = session.get(OutboxMessage, edit.id)
        assert edit.status == SUPERSEDED and "nothing to edit" in edit.last_error
    finally:
        app.stop()


def _url(db) -> str:
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


def test_the_cli_queues_the_edits_and_says_serve_delivers_them(db, settings, clock, tmp_path, monkeypatch):
    (tmp_path / "crisisbot.yaml").write_text("default_channel: console:general\n", encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(tmp_path / "crisisbot.yaml"))
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", _url(db))
    from bot.cli import app as cli

    runner = CliRunner()
    refused = runner.invoke(cli, ["purge", "--expired", "--chat"])
    assert refused.exit_code == 2 and "--chat 只能与 --author 一起使用" in refused.output

    app = _bot(db, settings, clock)
    try:
        card = _deliver_queue_card(app, clock)
        result = runner.invoke(cli, ["purge", "--author", f"douyin:{VICTIM}", "--chat"])
        assert result.exit_code == 0, result.output
        assert "聊天消息修改 chat edits queued 1" in result.output
        assert "crisisbot serve" in result.output
        # the CLI's clock is the system's, later than the test's: the serve of the test catches up first
        clock.advance(timedelta(days=60))
        assert app.services.outbox.drain() == 1
        assert REDACTED in _shown(app, card) and VICTIM_TEXT[:20] not in _shown(app, card)
    finally:
        app.stop()


def test_after_the_edits_no_delivered_message_shows_their_words(db, settings, clock):
    # The copies of test_purge_author (an alert quoting them, the queue card, an escalated run's card, the
    # answer addressing them by name, a sentiment correction), delivered to console:lanji
    from tests.integration.foundation.test_purge_author import CONFIG as COPIES_CONFIG
    from tests.integration.foundation.test_purge_author import VICTIM as COPIES_VICTIM
    from tests.integration.foundation.test_purge_author import _make_copies, _traces

    app = build_app(settings, parse_config(COPIES_CONFIG, source="test"), clock=clock, db=db, upgrade=False)
    try:
        _make_copies(app, db, clock)
        fragments = ("王小受Wxs", "用了这款面霜第三天", "烂脸三周了客服装死")
        shown_before = [e.message_id for e in app.console.entries.values()
                        if any(f in json.dumps(e.message.to_dict(), ensure_ascii=False) for f in fragments)]
        assert len(shown_before) >= 3  # the alert, the queue card, the run card at least

        counts = purge_author(db, "douyin", COPIES_VICTIM, now=clock.now(), chat=True)
        assert counts["chat_edits"] >= len(shown_before)
        assert _traces(db) == []
        app.services.outbox.drain()
        still = [e.message_id for e in app.console.entries.values()
                 if any(f in json.dumps(e.message.to_dict(), ensure_ascii=False) for f in fragments)]
        assert still == []
        assert _traces(db) == []
    finally:
        app.stop()
