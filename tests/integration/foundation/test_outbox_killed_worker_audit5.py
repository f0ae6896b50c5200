"""A worker killed mid-delivery (kill -9) holds its channel back for seconds, not minutes (audit 5, a2).

A real second process delivers through SlackChatPort to the fake Slack Web API, which holds the answer; the
test kills it with SIGKILL mid-call. Its claim then ends by itself after the short lease (renewed only
while a live worker delivers), and a fresh outbox delivers the row and the channel's next one, once each.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.adapters.slack.port import SlackChatPort
from bot.clock import FakeClock
from bot.messages import Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack

WORKER = """
import sys
from bot.adapters.slack.port import SlackChatPort
from bot.clock import SystemClock
from bot.outbox import Outbox
from bot.storage.db import Database
url, schema, base_url, token = sys.argv[1:5]
outbox = Outbox(Database(url, schema=schema or None), SystemClock())
outbox.register_port(SlackChatPort(token, base_url=base_url, timeout=60))
outbox.drain()
"""


def rows(db) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_a_killed_workers_claim_ends_after_the_short_lease(db):
    url = db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"
    with FakeSlack(now=time.time) as slack:
        Outbox(db, FakeClock(datetime.now(UTC))).send(channel="slack:C1", message=Message(text="第一条"), key="k:1")
        Outbox(db, FakeClock(datetime.now(UTC))).send(channel="slack:C1", message=Message(text="第二条"), key="k:2")
        slack.hold("chat.postMessage")  # the worker's post hangs in the call, as in an outage
        worker = subprocess.Popen([sys.executable, "-c", WORKER, url, db.schema or "", slack.base_url,
                                   VALID_BOT_TOKEN], cwd=os.getcwd())
        try:
            deadline = time.monotonic() + 60
            while rows(db)[0].attempts == 0:  # claimed: the call is under way
                assert time.monotonic() < deadline and worker.poll() is None, "the worker never claimed"
                time.sleep(0.1)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        slack.release("chat.postMessage")
        slack.wait_for("chat.postMessage")  # Slack stored the killed worker's post after all
        claimed = rows(db)[0]
        assert claimed.status == "pending" and claimed.maybe_sent_since is not None

        # Half a minute later (the old claim held it for two): the row is due again.
        later = FakeClock(datetime.now(UTC) + timedelta(seconds=30))
        restarted = Outbox(db, later)
        restarted.register_port(SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url, sleep=lambda _s: None))
        restarted.drain()

        assert [r.status for r in rows(db)] == ["sent", "sent"]
        texts = [m["text"] for m in slack.channel_messages("C1")]
        assert texts.count("第一条") == 1 and texts.count("第二条") == 1, texts
