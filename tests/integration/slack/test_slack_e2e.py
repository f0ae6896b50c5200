"""End to end: real signed HTTP into the running bot's /slack/events, Web API calls captured by a fake Slack.

The whole bot is wired by `build_app` (as `crisisbot serve` does) and served by uvicorn on 127.0.0.1;
the dispatcher, the SQLite database and the durable outbox are the real ones.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from bot.messages import Button, Message
from bot.storage.models import OutboxMessage, ProcessedEvent
from tests.fakes.slack_api import ScriptedAnswer, SlackSender, rate_limited

pytestmark = pytest.mark.slow


def posted_text(call) -> str:
    return json.dumps({k: call.args.get(k) for k in ("text", "blocks")}, ensure_ascii=False)


def test_help_command_is_acked_at_once_and_answered_in_the_channel(slack_bot, fake_slack):
    bot, sender = slack_bot
    response = sender.command("/help")
    assert response.status_code == 200
    (call,) = fake_slack.wait_for("chat.postMessage")
    assert call.args["channel"] == "C1"
    assert call.token == "xoxb-test-token"
    assert "/help" in posted_text(call) and "命令" in posted_text(call)
    assert call.args["blocks"][0]["type"] == "header"


def test_every_registered_command_family_answers_in_slack(slack_bot, fake_slack):
    bot, sender = slack_bot
    names = sorted(bot.services.registry.commands)
    assert "help" in names
    for name in names:
        assert sender.command(f"/{name}", "help").status_code == 200
    calls = fake_slack.wait_for("chat.postMessage", len(names))
    for name in names:
        assert any(f"/{name}" in posted_text(c) for c in calls), name


def test_every_registered_button_family_answers_in_slack(slack_bot, fake_slack):
    bot, sender = slack_bot
    prefixes = sorted(bot.services.registry.actions)
    for prefix in prefixes:  # a stale/unknown target still gets an answer, never silence
        action_id = prefix + "ack" if prefix.endswith(".") else prefix
        assert sender.button(action_id, "999999 neg").status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answers = [c for m in ("chat.postMessage", "response_url", "chat.postEphemeral")
                   for c in fake_slack.successful(m)]
        if len(answers) >= len(prefixes):
            break
        time.sleep(0.02)  # replies are delivered by the outbox worker thread
    assert len(answers) >= len(prefixes), prefixes


def test_unknown_command_gets_an_ephemeral_answer_through_response_url(slack_bot, fake_slack):
    _, sender = slack_bot
    assert sender.command("/nosuchcommand", "x").status_code == 200
    (call,) = fake_slack.wait_for("response_url")
    assert call.args["response_type"] == "ephemeral"
    assert "nosuchcommand" in json.dumps(call.args, ensure_ascii=False)


def test_mention_is_handled_like_the_command_it_contains(slack_bot, fake_slack):
    _, sender = slack_bot
    assert sender.mention("<@UBOT> /help", channel="C7").status_code == 200
    (call,) = fake_slack.wait_for("chat.postMessage")
    assert call.args["channel"] == "C7" and "/help" in posted_text(call)


def test_a_mention_inside_a_thread_is_answered_in_that_thread(slack_bot, fake_slack):
    _, sender = slack_bot
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> help", "ts": "1700000801.000200",
             "thread_ts": "1700000800.000100", "channel": "C1", "event_ts": "1700000801.000200"}
    assert sender.post(sender.event_body(event), "application/json").status_code == 200
    (call,) = fake_slack.wait_for("chat.postMessage")
    assert call.args["thread_ts"] == "1700000800.000100"


def test_button_press_reaches_its_action_handler_and_its_reply_is_posted(slack_bot, fake_slack):
    bot, sender = slack_bot
    seen = []

    def on_ack(ctx, action):
        seen.append(action)
        return Message(text=f"已确认 by {ctx.user}")

    bot.services.registry.add_action("e2e.", on_ack)
    assert sender.button("e2e.ack", "episode-7", message_ts="1700000099.000100").status_code == 200
    (call,) = fake_slack.wait_for("chat.postMessage")
    (action,) = seen
    assert (action.action_id, action.value, action.user, action.channel, action.message_ref) == (
        "e2e.ack", "episode-7", "slack:U1", "slack:C1", "1700000099.000100")
    assert "已确认 by <@U1>" in posted_text(call) and "slack:U1" not in posted_text(call)


def test_a_card_is_updated_in_place_when_its_button_is_pressed(slack_bot, fake_slack):
    bot, sender = slack_bot
    card = Message(title="预案进行中", text="第 1 步：确认事实", buttons=(Button("完成", "e2ecard.done", "step1"),))
    bot.services.outbox.send(channel="slack:C1", message=card, key="card:run1")
    (posted,) = fake_slack.wait_for("chat.postMessage")
    card_ts = posted.answer["ts"]

    def on_done(ctx, action):
        done = Message(title="预案进行中", text=f"第 1 步：确认事实 ✅ {ctx.user_name}")
        ctx.services.outbox.send(channel=ctx.channel, message=done, key=f"card:run1:{action.event_id}",
                                 update_of="card:run1")
        return None

    bot.services.registry.add_action("e2ecard.", on_done)
    assert sender.button("e2ecard.done", "step1", message_ts=card_ts).status_code == 200
    (update,) = fake_slack.wait_for("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("C1", card_ts)
    assert "✅" in update.args["text"]
    assert len(fake_slack.calls("chat.postMessage")) == 1  # never re-posted


def test_unknown_button_is_answered_not_dropped(slack_bot, fake_slack):
    _, sender = slack_bot
    assert sender.button("nobody.handles.this", "1").status_code == 200
    (call,) = fake_slack.wait_for("response_url")
    assert call.args["response_type"] == "ephemeral"


def open_skip_form(slack_bot, fake_slack):
    """Press a skip button: (actions handled so far, the sender, the modal Slack was asked to open)."""
    bot, sender = slack_bot
    seen = []
    bot.services.registry.add_action("e2eplay.", lambda ctx, action: seen.append(action) or Message(text="已跳过"))
    assert sender.button("e2eplay.step.skip", "run1:3").status_code == 200
    (opened,) = fake_slack.wait_for("views.open")
    view = opened.args["view"] if isinstance(opened.args["view"], dict) else json.loads(opened.args["view"])
    return seen, sender, view


def test_skip_button_opens_a_modal_and_the_submission_carries_the_reason(slack_bot, fake_slack):
    seen, sender, view = open_skip_form(slack_bot, fake_slack)
    assert view["type"] == "modal" and view["blocks"][0]["block_id"] == "reason"
    assert seen == []  # nothing runs until the form is submitted
    response = sender.view_submission(view, {"reason": {"reason": {"type": "plain_text_input", "value": "已私信"}}})
    assert response.status_code == 200
    fake_slack.wait_for("chat.postMessage")
    (action,) = seen
    assert (action.action_id, action.value, action.form) == ("e2eplay.step.skip", "run1:3", {"reason": "已私信"})


def test_a_skip_form_with_only_spaces_stays_open_and_says_what_is_missing(slack_bot, fake_slack):
    """Slack's own check lets "   " through; the form closed and the refusal came as a separate message.
    Now the form answers with an error on the field and nothing is handed over."""
    seen, sender, view = open_skip_form(slack_bot, fake_slack)
    response = sender.view_submission(view, {"reason": {"reason": {"type": "plain_text_input", "value": " \u3000 "}}})
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors" and "请填写" in answer["errors"]["reason"]
    time.sleep(0.5)  # anything handed over would have run by now
    assert seen == []
    response = sender.view_submission(view, {"reason": {"reason": {"type": "plain_text_input", "value": "已私信"}}})
    assert response.status_code == 200 and not response.content.strip(b"{} ")
    fake_slack.wait_for("chat.postMessage")
    assert [a.form for a in seen] == [{"reason": "已私信"}]


def nothing_processed(bot) -> bool:
    with bot.services.db.session() as session:
        return not session.exec(select(ProcessedEvent)).all() and not session.exec(select(OutboxMessage)).all()


@pytest.mark.parametrize("how", ["forged", "stale", "unsigned", "future", "junk-timestamp"])
def test_bad_signatures_get_401_and_change_nothing(slack_bot, fake_slack, how):
    bot, sender = slack_bot
    body = sender.command_body("/help")
    now = int(time.time())
    if how == "forged":
        response = sender.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    elif how == "stale":
        response = sender.post(body, "application/x-www-form-urlencoded", timestamp=now - 301)
    elif how == "future":
        response = sender.post(body, "application/x-www-form-urlencoded", timestamp=now + 301)
    elif how == "unsigned":
        response = sender.post(body, "application/x-www-form-urlencoded", signed=False)
    else:
        response = sender.http.post(sender.events_url, content=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": "soon",
            "X-Slack-Signature": "v0=abc"})
    assert response.status_code == 401
    # a signed request sent after it is handled, so the forged one would have been handled by now too
    assert sender.command("/help").status_code == 200
    fake_slack.wait_for("chat.postMessage")
    bot.services.dispatcher.shutdown()
    with bot.services.db.session() as session:
        assert len(session.exec(select(ProcessedEvent)).all()) == 1


def test_signed_with_another_secret_is_refused(slack_bot, fake_slack):
    bot, sender = slack_bot
    other = SlackSender(sender.events_url, "not-the-secret", fake_slack)
    try:
        assert other.command("/help").status_code == 401
        assert other.mention("<@UBOT> /help").status_code == 401
    finally:
        other.close()
    bot.services.dispatcher.shutdown()
    assert nothing_processed(bot)


def test_url_verification_challenge_is_answered_when_signed(slack_bot):
    _, sender = slack_bot
    response = sender.post(json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}),
                           "application/json")
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}


def count_rows(db, model) -> int:
    with db.session() as session:
        return len(session.exec(select(model)).all())


def test_retried_event_is_processed_once_also_after_a_restart(fake_slack, db, app_config, clock, slack_harness):
    settings = slack_harness.settings(fake_slack)
    running_bot, SIGNING_SECRET = slack_harness.running_bot, slack_harness.secret  # noqa: N806
    with running_bot(settings, app_config, db, clock) as (bot, base_url):
        sender = SlackSender(base_url + "/slack/events", SIGNING_SECRET, fake_slack)
        assert sender.mention("<@UBOT> /help", event_id="EvRETRY1", ts="1700000500.000100").status_code == 200
        assert sender.mention("<@UBOT> /help", event_id="EvRETRY1", ts="1700000500.000100",
                              retry_num=1).status_code == 200
        # Slack has also been seen re-sending one message under a new event id
        assert sender.mention("<@UBOT> /help", event_id="EvRETRY1-dup", ts="1700000500.000100").status_code == 200
        fake_slack.wait_for("chat.postMessage")
        sender.close()
    # a new process: the in-memory filter is gone, the dispatcher's stored event ids remain
    with running_bot(settings, app_config, db, clock) as (bot, base_url):
        sender = SlackSender(base_url + "/slack/events", SIGNING_SECRET, fake_slack)
        assert sender.mention("<@UBOT> /help", event_id="EvRETRY1", ts="1700000500.000100",
                              retry_num=2).status_code == 200
        assert sender.mention("<@UBOT> /help", event_id="EvOTHER").status_code == 200  # a new one is handled
        fake_slack.wait_for("chat.postMessage", 2)
        bot.services.dispatcher.shutdown()
        sender.close()
    assert count_rows(db, OutboxMessage) == 2
    assert len(fake_slack.successful("chat.postMessage")) == 2


def test_a_short_429_is_retried_in_place_honouring_retry_after(slack_bot, fake_slack):
    _, sender = slack_bot
    fake_slack.script("chat.postMessage", rate_limited(0))
    assert sender.command("/help").status_code == 200
    fake_slack.wait_for("chat.postMessage")
    statuses = [c.status for c in fake_slack.calls("chat.postMessage")]
    assert statuses == [429, 200]


def test_a_long_429_goes_back_to_the_outbox_and_is_delivered_after_retry_after(slack_bot, fake_slack, clock):
    bot, sender = slack_bot
    fake_slack.script("chat.postMessage", rate_limited(30))
    assert sender.command("/help").status_code == 200
    fake_slack.wait_for("chat.postMessage", ok_only=False)
    row = wait_for_row(bot, lambda r: r.attempts >= 1 and r.status == "pending" and r.last_error)
    assert "retry after 30" in row.last_error
    assert (row.next_attempt_at - clock.now()) >= timedelta(seconds=29)
    clock.advance(31)
    bot.services.outbox.notify()
    fake_slack.wait_for("chat.postMessage")
    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [429, 200]


def wait_for_row(bot, predicate, timeout: float = 10.0) -> OutboxMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with bot.services.db.session() as session:
            for row in session.exec(select(OutboxMessage)).all():
                if predicate(row):
                    return row
        time.sleep(0.02)  # polling the database for a state change, not waiting for time to pass
    raise AssertionError("outbox row never reached the expected state")


def test_slack_outage_then_recovery_loses_nothing(slack_bot, fake_slack, clock):
    bot, sender = slack_bot
    fake_slack.down = True
    for _ in range(3):
        assert sender.command("/help").status_code == 200  # acks do not depend on Slack's Web API
    assert sender.mention("<@UBOT> /help").status_code == 200
    wait_for_row(bot, lambda r: r.attempts >= 1 and r.last_error)
    assert fake_slack.successful("chat.postMessage") == []
    fake_slack.down = False
    for _ in range(12):  # move time past every backoff; the worker delivers everything due
        clock.advance(300)
        bot.services.outbox.notify()
        if len(fake_slack.successful("chat.postMessage")) >= 4:
            break
        try:
            fake_slack.wait_for("chat.postMessage", 4, timeout=1)
        except AssertionError:
            continue
    assert len(fake_slack.wait_for("chat.postMessage", 4)) == 4
    wait_for_row(bot, lambda r: r.status == "sent")
    deadline = time.monotonic() + 10
    while bot.services.outbox.pending_count() and time.monotonic() < deadline:
        time.sleep(0.02)  # the worker marks the last row sent just after Slack answered
    assert bot.services.outbox.pending_count() == 0


def test_channel_errors_are_explained_in_the_channel_through_response_url(slack_bot, fake_slack):
    bot, sender = slack_bot
    fake_slack.not_in_channels.add("CPRIVATE")
    assert sender.command("/help", channel="CPRIVATE").status_code == 200
    (call,) = fake_slack.wait_for("response_url")
    assert call.args["response_type"] == "in_channel"
    assert "/invite @crisisbot" in json.dumps(call.args, ensure_ascii=False)


def test_an_unreachable_channel_is_reported_to_the_operator_in_the_default_channel(slack_bot, fake_slack):
    bot, _ = slack_bot
    fake_slack.unknown_channels.add("CGONE")
    bot.services.outbox.send(channel="slack:CGONE", message=Message(text="告警"), key="alert:1")
    bot.services.outbox.send(channel="slack:CGONE", message=Message(text="告警 2"), key="alert:2")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(bot.console.messages("general")) < 1:
        time.sleep(0.02)  # the outbox worker delivers in its own thread
    notices = bot.console.messages("general")
    assert len(notices) == 1  # once per channel, error and hour
    assert "CGONE" in notices[0].text and "channel_not_found" in notices[0].text


def test_ack_is_sent_before_the_work_finishes_while_the_database_is_slow(slack_bot, fake_slack):
    bot, sender = slack_bot
    order: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def slow_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT") and "processed_event" in statement.lower():
            order.append("database busy")
            entered.set()
            release.wait(10)

    engine = bot.services.db.engine
    event.listen(engine, "before_cursor_execute", slow_insert)
    try:
        response = sender.command("/help")
        order.append(f"ack {response.status_code}")
        assert entered.wait(10)
        assert fake_slack.calls("chat.postMessage") == []
        order.append("database released")
        release.set()
        fake_slack.wait_for("chat.postMessage")
        order.append("reply posted")
    finally:
        release.set()
        event.remove(engine, "before_cursor_execute", slow_insert)
    assert order.index("ack 200") < order.index("database released") < order.index("reply posted")


def test_a_slow_web_api_does_not_delay_acks(slack_bot, fake_slack):
    _, sender = slack_bot
    fake_slack.hold("chat.postMessage")
    try:
        first = sender.command("/help")
        fake_slack.script("chat.postMessage", ScriptedAnswer(200, {"ok": True, "ts": "1.1"}))
        second = sender.command("/help")
        assert (first.status_code, second.status_code) == (200, 200)
        assert fake_slack.successful("chat.postMessage") == []
    finally:
        fake_slack.release("chat.postMessage")
    fake_slack.wait_for("chat.postMessage", 2)
