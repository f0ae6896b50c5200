"""End to end: the bot's ASGI app under uvicorn, real encrypted and signed Feishu events, replies through
the real dispatcher and outbox to the local fake Open API (through the real lark-oapi client)."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from bot.app import build_app
from bot.messages import Message
from bot.storage.models import OutboxMessage
from tests.fakes.feishu_api import FakeFeishuApi, FakeFeishuGateway
from tests.integration.feishu.support import (
    FeishuEvents,
    feishu_settings,
    post_event,
    private_answers,
    running_server,
    wait_until,
)

pytestmark = pytest.mark.slow


def register_test_action(app) -> list:
    """A button handler the way features register theirs (the foundation ships none)."""
    pressed = []

    def on_press(ctx, action):
        pressed.append(action)
        return Message(text=f"已认领 #{action.value} / claimed by {ctx.user_name}")

    app.services.registry.add_action("e2e.", on_press)
    return pressed


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


@pytest.fixture
def bot_app(db, app_config, clock, fake):
    app = build_app(feishu_settings(fake), app_config, clock=clock, db=db, upgrade=False)
    yield app
    app.stop()


@pytest.fixture
def served(bot_app):
    with running_server(bot_app.web) as url, httpx.Client(timeout=10) as client:
        yield url, client


@pytest.fixture
def events(clock):
    return FeishuEvents(clock)


def replies_to(fake: FakeFeishuApi, message_id: str) -> list:
    return [m for m in fake.sent() if m.parent_id == message_id]


def card_text(message) -> str:
    return json.dumps(message.card, ensure_ascii=False)


def test_url_verification_challenge(served, events):
    url, client = served
    response = post_event(client, url, events, events.challenge("c-42"))
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-42"}


def test_forged_challenge_is_refused_with_401(served, events):
    url, client = served
    assert post_event(client, url, events, events.challenge(), forge=True).status_code == 401


def test_every_registered_command_answers_in_the_chat(served, events, bot_app, fake):
    url, client = served
    names = sorted(bot_app.services.registry.commands)
    assert "help" in names
    sent = {}
    for name in names:
        payload = events.message(f"/{name} help")
        assert post_event(client, url, events, payload).status_code == 200
        sent[name] = payload["event"]["message"]["message_id"]
    for name, message_id in sent.items():
        reply = wait_until(lambda m=message_id: replies_to(fake, m), what=f"/{name} reply")
        assert len(reply) == 1
        assert f"/{name}" in card_text(reply[0])
        assert reply[0].msg_type == "interactive"
    # the tenant token is reused for every reply: only the first two concurrent callers (the outbox
    # worker and a dispatcher worker looking up the sender's name) may each fetch one
    assert len(fake.calls("token")) <= 2 < len(names)


def _callback_buttons(card: dict) -> list[dict]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("tag") == "button":
                for behavior in node.get("behaviors", []):
                    if behavior.get("type") == "callback":
                        found.append(behavior["value"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def test_crisis_run_started_in_feishu_and_driven_by_its_card_button(served, events, bot_app, fake):
    if "crisis" not in bot_app.services.registry.commands:
        pytest.skip("the playbooks feature is not wired on this branch")
    url, client = served
    start = events.message('/crisis start 负面舆情爆发 "面霜过敏" --severity 1', chat_id="oc_ops")
    assert post_event(client, url, events, start).status_code == 200
    cards = wait_until(
        lambda: [m for m in fake.sent("oc_ops") if m.msg_type == "interactive" and _callback_buttons(m.card)],
        what="the run card with buttons",
    )
    run_card = cards[0]
    assert run_card.card["header"]["template"] == "red"  # severity 1
    value = next(v for v in _callback_buttons(run_card.card) if v["action_id"] == "crisis.done")
    press = events.card_action(value["action_id"], value["value"], chat_id="oc_ops",
                               message_id=run_card.message_id, open_id="ou_alice")
    response = post_event(client, url, events, press)
    assert response.status_code == 200 and response.json()["toast"]["type"] == "info"
    reply = wait_until(lambda: replies_to(fake, run_card.message_id), what="the button's reply")
    assert "完成了" in card_text(reply[0])
    # the run card is updated in place (im.v1.message.patch), not posted again
    patched = wait_until(lambda: fake.messages[run_card.message_id].updates, what="the run card patched")
    assert json.loads(patched[-1])["config"]["update_multi"] is True


def test_help_in_a_direct_chat_and_unknown_command(served, events, fake):
    url, client = served
    help_event = events.message("/help", chat_type="p2p", chat_id="oc_dm", mention_bot=False)
    unknown = events.message("/nosuchcommand")
    post_event(client, url, events, help_event)
    post_event(client, url, events, unknown)
    help_reply = wait_until(lambda: replies_to(fake, help_event["event"]["message"]["message_id"]))
    assert "crisisbot" in card_text(help_reply[0])
    # in a group, the hint is for the one who typed it: a card only they see
    unknown_reply = wait_until(lambda: private_answers(fake, "ou_alice"), what="the hint")
    assert "未知命令" in unknown_reply[0]
    assert replies_to(fake, unknown["event"]["message"]["message_id"]) == []


def test_group_chatter_gets_no_answer(served, events, bot_app, fake):
    url, client = served
    chatter = events.message("大家辛苦了", mention_bot=False)
    assert post_event(client, url, events, chatter).status_code == 200
    marker = events.message("/help")
    post_event(client, url, events, marker)
    wait_until(lambda: replies_to(fake, marker["event"]["message"]["message_id"]))
    assert replies_to(fake, chatter["event"]["message"]["message_id"]) == []


def test_card_button_is_answered_with_a_toast_then_a_reply(served, events, bot_app, fake):
    pressed = register_test_action(bot_app)
    url, client = served
    response = post_event(client, url, events, events.card_action("e2e.claim", "42", message_id="om_card_9"))
    assert response.status_code == 200
    toast = response.json()["toast"]
    assert toast["type"] == "info" and toast["i18n"]["en_us"]
    reply = wait_until(lambda: replies_to(fake, "om_card_9"), what="button reply")
    assert "已认领 #42" in card_text(reply[0])
    assert pressed[0].user == "feishu:ou_bob" and pressed[0].channel == "feishu:oc_ops"
    # ou_bob is outside the app's contact range (the fake knows no one): the open_id stands in
    assert "claimed by ou_bob" in card_text(reply[0])


def test_people_are_named_from_the_contact_api(served, events, bot_app, fake):
    fake.users["ou_alice"] = "王芳"
    pressed = register_test_action(bot_app)
    url, client = served
    for n, message_id in enumerate(("om_card_1", "om_card_2")):
        press = events.card_action("e2e.claim", str(n), message_id=message_id, open_id="ou_alice")
        assert post_event(client, url, events, press).status_code == 200
        reply = wait_until(lambda m=message_id: replies_to(fake, m), what="button reply")
        assert "claimed by 王芳" in card_text(reply[0])
    assert pressed[0].user == "feishu:ou_alice" and pressed[0].user_name == "王芳"
    assert len(fake.calls("contact.user.get")) == 1  # cached


def test_a_slow_button_handler_does_not_delay_the_answer(served, events, bot_app, fake):
    release = threading.Event()

    def slow(ctx, action):
        release.wait(20)  # the work behind the click outlives the HTTP answer
        return Message(text="慢操作完成 / slow work done")

    bot_app.services.registry.add_action("slow.", slow)
    url, client = served
    response = post_event(client, url, events, events.card_action("slow.run", "1", message_id="om_slow"))
    assert response.status_code == 200 and response.json()["toast"]["type"] == "info"
    assert replies_to(fake, "om_slow") == []  # answered while the handler is still working
    release.set()
    wait_until(lambda: replies_to(fake, "om_slow"), what="slow handler's reply")


def test_forged_replayed_and_unencrypted_events_are_refused(served, events, bot_app, fake):
    url, client = served
    forged = events.message("/help")
    old = events.message("/help")
    plain = events.message("/help")
    assert post_event(client, url, events, forged, forge=True).status_code == 401
    assert post_event(client, url, events, old, age_s=400).status_code == 401
    assert post_event(client, url, events, plain, encrypt=False).status_code == 401
    wrong_token = FeishuEvents(events.clock, token="not-the-token")
    assert post_event(client, url, wrong_token, wrong_token.message("/help")).status_code == 401
    marker = events.message("/help")
    post_event(client, url, events, marker)
    wait_until(lambda: replies_to(fake, marker["event"]["message"]["message_id"]))
    assert len(fake.sent()) == 1  # only the genuine one was answered


def test_duplicate_event_id_is_answered_once_even_after_a_restart(db, app_config, clock, fake, events):
    settings = feishu_settings(fake)  # first: the event names the app (header.app_id)
    payload = events.message("/help", event_id="ev-dup-1")
    message_id = payload["event"]["message"]["message_id"]
    first = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    with running_server(first.web) as url, httpx.Client(timeout=10) as client:
        assert post_event(client, url, events, payload).status_code == 200
        assert post_event(client, url, events, payload).status_code == 200  # Feishu's retry
        wait_until(lambda: replies_to(fake, message_id))
    first.stop()
    clock.advance(timedelta(hours=1))  # Feishu's third retry comes after an hour
    second = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    with running_server(second.web) as url, httpx.Client(timeout=10) as client:
        assert post_event(client, url, events, payload).status_code == 200
        marker = events.message("/help")
        post_event(client, url, events, marker)
        wait_until(lambda: replies_to(fake, marker["event"]["message"]["message_id"]))
    second.stop()
    assert len(replies_to(fake, message_id)) == 1


def _outbox_rows(db):
    with db.session() as session:
        return session.exec(select(OutboxMessage)).all()


def test_frequency_limit_then_success(served, events, bot_app, fake, clock, db):
    url, client = served
    fake.fail_next("message.reply", "rate_limit", seconds=5)
    payload = events.message("/help")
    post_event(client, url, events, payload)
    wait_until(lambda: any(r.last_error and "99991400" in r.last_error for r in _outbox_rows(db)), what="limit hit")
    assert fake.sent() == []
    clock.advance(timedelta(seconds=30))
    bot_app.services.outbox.notify()
    reply = wait_until(lambda: replies_to(fake, payload["event"]["message"]["message_id"]), what="retried reply")
    assert len(reply) == 1
    assert len(fake.calls("message.reply")) == 2
    uuids = {r.body["uuid"] for r in fake.calls("message.reply")}
    assert len(uuids) == 1  # the retry carried the same idempotency uuid


def test_outage_then_recovery_loses_nothing(served, events, bot_app, fake, clock, db):
    url, client = served
    fake.outage = True
    payloads = [events.message("/help") for _ in range(3)]
    for payload in payloads:
        assert post_event(client, url, events, payload).status_code == 200
    wait_until(lambda: len(_outbox_rows(db)) == 3 and any(r.last_error for r in _outbox_rows(db)), what="outage hit")
    assert fake.sent() == []
    fake.outage = False
    for _ in range(12):  # move past the backoff of every row
        clock.advance(timedelta(seconds=60))
        bot_app.services.outbox.notify()
        if len(fake.sent()) == 3:
            break
        wait_until(lambda: True)
    wait_until(lambda: len(fake.sent()) == 3, what="all three replies after the outage")
    for payload in payloads:
        assert len(replies_to(fake, payload["event"]["message"]["message_id"])) == 1


def test_oversized_and_garbage_bodies(served, events):
    url, client = served
    assert client.post(url + "/feishu/events", content=b"x" * (1024 * 1024 + 1)).status_code == 413
    headers, body = events.request(events.challenge())
    assert client.post(url + "/feishu/events", content=b"{not json", headers=headers).status_code == 401
    assert client.get(url + "/feishu/events").status_code == 405


def test_unknown_event_types_are_acknowledged_and_ignored(served, events):
    url, client = served
    payload = {"schema": "2.0", "header": {**events.message("/x")["header"], "event_type": "im.chat.updated_v1"},
               "event": {}}
    response = post_event(client, url, events, payload)
    assert response.status_code == 200 and response.json() == {"msg": "ignored"}


def test_long_connection_against_a_fake_gateway(db, app_config, clock, fake, events):
    with FakeFeishuGateway(fake) as gateway:
        settings = feishu_settings(fake, feishu_mode="ws")
        app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
        register_test_action(app)
        app.start(scheduler=False)
        try:
            assert gateway.wait_connected(), "lark.ws.Client did not connect"
            payload = events.message("/help")
            answer = gateway.push_event(payload)
            assert answer["code"] == 200
            wait_until(lambda: replies_to(fake, payload["event"]["message"]["message_id"]), what="ws reply")
            card_answer = gateway.push_event(events.card_action("e2e.claim", "7", message_id="om_card_ws"))
            assert card_answer["code"] == 200
            toast = json.loads(base64.b64decode(card_answer["data"]))["toast"]
            assert toast["type"] == "info"
            wait_until(lambda: replies_to(fake, "om_card_ws"), what="ws button reply")
            # lark-oapi 1.7.5 drops "card" frames unanswered (upstream #126); ours answers them too
            card_frame = gateway.push_event(events.card_action("e2e.claim", "8", message_id="om_card_ws2"),
                                            frame_type="card")
            assert card_frame["code"] == 200
            assert json.loads(base64.b64decode(card_frame["data"]))["toast"]["type"] == "info"
            wait_until(lambda: replies_to(fake, "om_card_ws2"), what="card-frame button reply")
        finally:
            app.stop()
        assert not app.services.extra["feishu_long_connection"].running


def test_long_connection_with_a_wrong_secret_keeps_retrying_and_stops_cleanly(db, app_config, clock, caplog):
    with FakeFeishuApi(apps={"cli_right": "right"}) as fake, FakeFeishuGateway(fake) as gateway:
        settings = feishu_settings(fake, feishu_mode="ws", feishu_app_id="cli_right", feishu_app_secret="wrong")
        app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
        app.start(scheduler=False)
        connection = app.services.extra["feishu_long_connection"]
        try:
            wait_until(lambda: fake.calls("ws.endpoint"), what="the refused long connection")
            time.sleep(0.5)
            # Not given up: waiting for the next attempt (5 s doubling to 5 min) while the app runs.
            assert connection.running and not gateway.wait_connected(0.1)
            started = time.monotonic()
        finally:
            app.stop()
        assert not connection.running and time.monotonic() - started < 3.0  # stop() ends the wait at once
    errors = [r.getMessage() for r in caplog.records
              if r.name == "bot.adapters.feishu.longconn" and r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "FEISHU_APP_SECRET" in errors[0] and "重试" in errors[0]
