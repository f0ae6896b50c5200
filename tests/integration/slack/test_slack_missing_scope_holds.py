"""A scope the Slack app lacks (`missing_scope`) holds the messages that need it instead of failing them: they
go out, in order and once, when the scope is added and the app reinstalled (no restart). A missing
files:write holds charts only, never text alerts; channel errors (not_in_channel) still fail at once."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.slack.port import SlackChatPort
from bot.messages import Image, Message
from bot.outbox import MAX_BACKOFF_S, Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack, ScriptedAnswer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def slack(clock):
    # Message ts follow the test clock, so the duplicate check's `oldest` means the same to both.
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        yield fake


def _outbox(db, clock, slack: FakeSlack) -> Outbox:
    outbox = Outbox(db, clock)
    outbox.register_port(SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None))
    return outbox


def _rows(db) -> dict[str, OutboxMessage]:
    with db.session() as session:
        return {r.key: r for r in session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()}


def _texts(slack: FakeSlack, channel: str) -> list[str]:
    return [c.args.get("text") for c in slack.successful("chat.postMessage") if c.args.get("channel") == channel]


def test_a_missing_chat_write_scope_holds_every_post_until_the_app_is_reinstalled_with_it(db, clock, slack, caplog):
    slack.missing_scopes["chat.postMessage"] = "chat:write"
    outbox = _outbox(db, clock, slack)
    outbox.send(channel="slack:C1", message=Message(text="告警 0"), key="alert:0")
    outbox.send(channel="slack:C2", message=Message(text="周报"), key="report:1")
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        for n in range(60):  # an hour without the scope
            clock.advance(timedelta(minutes=1))
            outbox.deliver_due()
            if n < 2:
                outbox.send(channel="slack:C1", message=Message(text=f"告警 {n + 1}"), key=f"alert:{n + 1}")

    rows = _rows(db)
    assert {r.status for r in rows.values()} == {"pending"}  # held, not failed
    assert all(r.attempts == 0 for r in rows.values())  # a refusal for a missing scope is no attempt
    assert "missing_scope" in rows["alert:0"].last_error and "chat:write" in rows["alert:0"].last_error
    assert _texts(slack, "C1") == [] and _texts(slack, "C2") == []
    # One probe after a capped backoff, not one call per message per minute.
    assert 1 <= len(slack.calls("chat.postMessage")) <= 25
    # Loud, with what to fix (Chinese first), but once per period.
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert 1 <= len(lines) <= 7
    assert lines[0].index("缺少权限") < lines[0].index("lacks a permission")
    assert "chat:write" in lines[0] and "重新安装" in lines[0] and "无需重启" in lines[0]

    # The admin adds chat:write and reinstalls: no restart, everything held goes out in order, once.
    del slack.missing_scopes["chat.postMessage"]
    clock.advance(timedelta(seconds=MAX_BACKOFF_S + 1))
    outbox.drain()
    assert _texts(slack, "C1") == ["告警 0", "告警 1", "告警 2"]
    assert _texts(slack, "C2") == ["周报"]
    assert {r.status for r in _rows(db).values()} == {"sent"}
    outbox.drain()
    assert len(slack.successful("chat.postMessage")) == 4


def test_a_missing_files_write_scope_holds_charts_while_text_alerts_still_go_out(db, clock, slack, caplog):
    slack.missing_scopes["files.getUploadURLExternal"] = "files:write"
    outbox = _outbox(db, clock, slack)
    outbox.send(channel="slack:C2", message=Message(images=(Image("趋势图", png=PNG, filename="trend.png"),)),
                key="chart:1")
    outbox.send(channel="slack:C3", message=Message(text="周报", images=(Image("周报图", png=PNG),)), key="report:1")
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        for n in range(30):
            outbox.send(channel="slack:C1", message=Message(text=f"告警 {n}"), key=f"alert:{n}")
            clock.advance(timedelta(minutes=1))
            outbox.deliver_due()

    rows = _rows(db)
    # Text alerts are not held behind the missing upload scope.
    assert _texts(slack, "C1") == [f"告警 {n}" for n in range(30)]
    assert rows["chart:1"].status == "pending" and rows["report:1"].status == "pending"
    assert rows["chart:1"].attempts == 0 and "files:write" in rows["chart:1"].last_error
    assert _texts(slack, "C3") == ["周报"]  # the report's text went out once; its chart waits
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert 2 <= len(lines) <= 8 and all("files:write" in line for line in lines)

    # files:write added, app reinstalled: the charts go out, the report's text is not posted again.
    del slack.missing_scopes["files.getUploadURLExternal"]
    clock.advance(timedelta(seconds=MAX_BACKOFF_S + 1))
    outbox.drain()
    rows = _rows(db)
    assert {r.status for r in rows.values()} == {"sent"}
    assert len(slack.successful("files.completeUploadExternal")) == 2
    assert _texts(slack, "C3") == ["周报"]


def test_a_chart_held_for_its_scope_does_not_hold_later_alerts_in_the_same_channel(db, clock, slack):
    """The held chart blocked its channel like any waiting row: ten crisis alerts queued behind a report's
    chart until someone granted files:write."""
    slack.missing_scopes["files.getUploadURLExternal"] = "files:write"
    outbox = _outbox(db, clock, slack)
    outbox.send(channel="slack:C1", message=Message(text="日报", images=(Image("日报图", png=PNG),)), key="report:1")
    for n in range(10):
        outbox.send(channel="slack:C1", message=Message(text=f"告警 {n}"), key=f"alert:{n}")
        clock.advance(timedelta(minutes=1))
        outbox.deliver_due()
    assert _texts(slack, "C1") == ["日报", *[f"告警 {n}" for n in range(10)]]
    assert _rows(db)["report:1"].status == "pending"
    del slack.missing_scopes["files.getUploadURLExternal"]
    clock.advance(timedelta(seconds=MAX_BACKOFF_S + 1))
    outbox.drain()
    assert _rows(db)["report:1"].status == "sent" and _texts(slack, "C1").count("日报") == 1


def test_a_report_whose_text_went_out_before_its_chart_was_refused_is_not_posted_twice_after_a_restart(
        db, clock, slack):
    slack.missing_scopes["files.getUploadURLExternal"] = "files:write"
    outbox = _outbox(db, clock, slack)
    outbox.send(channel="slack:C3", message=Message(text="周报", images=(Image("周报图", png=PNG),)), key="report:1")
    outbox.drain()
    assert _texts(slack, "C3") == ["周报"] and _rows(db)["report:1"].status == "pending"

    # Scope added; the operator restarts crisisbot too (the new process knows nothing of the first's progress).
    del slack.missing_scopes["files.getUploadURLExternal"]
    clock.advance(timedelta(minutes=1))
    restarted = _outbox(db, clock, slack)
    restarted.drain()
    assert _rows(db)["report:1"].status == "sent"
    assert _texts(slack, "C3") == ["周报"]  # found in the channel by its outbox key, not posted again
    assert len(slack.successful("files.completeUploadExternal")) == 1


def test_channel_errors_still_fail_at_once_while_a_missing_scope_holds(db, clock, slack):
    slack.not_in_channels.add("CX")
    outbox = _outbox(db, clock, slack)
    outbox.send(channel="slack:CX", message=Message(text="无法送达"), key="x:1")
    outbox.send(channel="slack:C1", message=Message(text="告警"), key="a:1")
    outbox.drain()
    rows = _rows(db)
    assert rows["x:1"].status == "failed" and "not_in_channel" in rows["x:1"].last_error
    assert rows["a:1"].status == "sent"


def test_a_token_of_the_wrong_type_holds_slack_like_a_refused_token(db, clock, slack):
    slack.script("chat.postMessage", ScriptedAnswer(200, {"ok": False, "error": "not_allowed_token_type"}))
    outbox = _outbox(db, clock, slack)
    outbox.send(channel="slack:C1", message=Message(text="告警"), key="a:1")
    outbox.drain()
    row = _rows(db)["a:1"]
    assert row.status == "pending" and row.attempts == 0 and "xoxb-" in row.last_error
    clock.advance(timedelta(seconds=MAX_BACKOFF_S + 1))
    outbox.drain()
    assert _rows(db)["a:1"].status == "sent"
