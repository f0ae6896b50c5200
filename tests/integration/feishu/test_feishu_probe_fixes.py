"""Found driving `crisisbot serve` from outside with real encrypted, signed Feishu events (end to end here:
the ASGI app under uvicorn, the real dispatcher and outbox, the fake Open API)."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.app import build_app
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import (
    FeishuEvents,
    post_event,
    private_answers,
    running_server,
    wait_until,
)
from tests.integration.feishu.test_feishu_e2e import feishu_settings, replies_to

pytestmark = pytest.mark.slow


@pytest.fixture
def served(sqlite_db, app_config, clock):
    with FakeFeishuApi() as fake:
        app = build_app(feishu_settings(fake), app_config, clock=clock, db=sqlite_db, upgrade=False)
        try:
            with running_server(app.web) as url, httpx.Client(timeout=10) as client:
                yield url, client, fake
        finally:
            app.stop()


def _answer(fake: FakeFeishuApi, payload: dict) -> str:
    message_id = payload["event"]["message"]["message_id"]
    (reply,) = wait_until(lambda: replies_to(fake, message_id), what="the answer")
    return json.dumps(reply.card, ensure_ascii=False)


def test_a_group_message_mentioning_the_bot_without_a_slash_is_answered(served, clock):
    # "@crisisbot help" in a group got no answer at all (only "/..." counted), while Slack answers it.
    url, client, fake = served
    events = FeishuEvents(clock)
    payload = events.message("help")
    payload["event"]["message"]["mentions"][0]["mentioned_type"] = "bot"  # as Feishu marks the bot's @
    assert post_event(client, url, events, payload).status_code == 200
    assert "/crisis" in _answer(fake, payload)  # the command list of /help


def test_a_usage_error_is_said_once(served, clock):
    # "用法有误：X\nBad usage: X" repeated the handler's (already bilingual) message after each label.
    url, client, fake = served
    events = FeishuEvents(clock)
    payload = events.message("/reply-queue --limit x")
    assert post_event(client, url, events, payload).status_code == 200
    # a usage error is for the one who typed it: a card only they see in the group
    answer = json.loads(wait_until(lambda: private_answers(fake, "ou_alice"), what="the answer")[0])[
        "body"]["elements"][0]["content"]
    first_line = answer.splitlines()[0]
    assert first_line.startswith("用法有误 / Bad usage：")
    assert answer.count(first_line.partition("：")[2]) == 1
