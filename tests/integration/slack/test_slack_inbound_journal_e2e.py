"""Acceptance, outside in: commands acknowledged over signed HTTP survive a `kill -9` of `crisisbot serve`.

A real `crisisbot serve` process (SQLite file) with Slack and Feishu over HTTP, both Open APIs faked on
127.0.0.1. Two Feishu commands hold the two dispatcher workers (Feishu's contact lookup, the first thing a
worker does for a Feishu command, is made slow), so the signed Slack slash commands and button press sent
next are acknowledged and journalled but not begun; serve is killed with SIGKILL, then started again.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.clock import SystemClock
from tests.fakes.feishu_api import FakeFeishuApi
from tests.fakes.slack_api import VALID_BOT_TOKEN, SlackSender
from tests.integration.feishu.support import ENCRYPT_KEY, VERIFICATION_TOKEN, FeishuEvents, post_event
from tests.support.serve_process import free_port, wait_until_listening
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
SECRET = "journal-e2e-secret"
CONFIG = """
clients:
  - {id: lanji, name: 澜肌护肤}
channels:
  - {id: 'slack:C0JRNL', client: lanji}
  - {id: 'feishu:oc_ops', client: lanji}
"""

# `crisisbot serve` (bot.cli's main, as `python -m bot.cli` runs it) with the inbound journal's waits
# shortened: a row a killed process had begun is settled once its heartbeat has stood still for
# max(INBOUND_STALE_HEARTBEATS x heartbeat interval, grace) -- 15 s in production, 1.5 s here -- so the restart
# tells the interrupted senders without the test sitting out the production wait. The same knobs the
# in-process journal tests turn (tests/integration/foundation/test_inbound_journal.py); nothing else changes.
SERVE_WITH_SHORT_JOURNAL_WAITS = """
import sys
import bot.dispatcher as dispatcher
for name, value in (("INBOUND_HEARTBEAT_INTERVAL_S", 0.5), ("INBOUND_INTERRUPTED_GRACE_S", 1.0)):
    assert hasattr(dispatcher, name), f"bot.dispatcher.{name} is gone: update this test"
    setattr(dispatcher, name, value)
sys.argv[0] = "crisisbot"
from bot.cli import main
main()
"""


def query(db_path: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


@contextmanager
def serve(tmp_path: Path, fake_slack, fake_feishu, log_name: str):
    """`crisisbot serve --port N` in its own process; yields (process, base url); SIGKILLed on the way out."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_CONFIG": str(tmp_path / "crisisbot.yaml"),
           "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
           "SLACK_BOT_TOKEN": VALID_BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "CRISISBOT_SLACK_API_URL": fake_slack.base_url,
           "FEISHU_APP_ID": "cli_journal_e2e", "FEISHU_APP_SECRET": "e2e-secret",
           "FEISHU_VERIFICATION_TOKEN": VERIFICATION_TOKEN, "FEISHU_ENCRYPT_KEY": ENCRYPT_KEY,
           "CRISISBOT_FEISHU_DOMAIN": fake_feishu.url, "CRISISBOT_FEISHU_MODE": "http"}
    for name in ("SLACK_APP_TOKEN", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    log_path = tmp_path / log_name
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-c", SERVE_WITH_SHORT_JOURNAL_WAITS, "serve", "--port", str(port)],
                                   cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(process, base, log_path)
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(30)


def slack_answers(fake_slack) -> list[str]:
    """Every successful reply the fake Slack received, as text (posts and response_url answers)."""
    return [json.dumps(call.args, ensure_ascii=False)
            for method in ("chat.postMessage", "chat.postEphemeral", "response_url")
            for call in fake_slack.successful(method)]


def restart_until_answered(tmp_path: Path, fake_slack, fake_feishu, *, slack: int, feishu: int) -> None:
    """Start serve again on the same database until the journal is empty and the Slack answers and Feishu
    messages came, and a little longer: anything sent twice would arrive then."""
    db_path = tmp_path / "bot.db"
    with serve(tmp_path, fake_slack, fake_feishu, "serve-2.log"):
        wait_until(lambda: query(db_path, "SELECT id FROM inbound_item") == [], what="the journal to empty")
        wait_until(lambda: len(slack_answers(fake_slack)) >= slack, what=f"{slack} Slack answers")
        # answers for one person are cards only they see (ephemeral.v1.send): counted too
        wait_until(lambda: len(fake_feishu.sent()) + len(fake_feishu.ephemerals) >= feishu,
                   what=f"{feishu} Feishu messages")
        time.sleep(2)


HELD_S = 8


def hold_both_workers(fake_feishu, base: str, events, db_path: Path) -> float:
    """Two Feishu commands whose workers get stuck in Feishu's contact lookup (one person each, so no cached
    name): until they time out, whatever is delivered next is journalled but not begun. Returns when (monotonic)
    the fake's slow answers are over at the latest."""
    fake_feishu.fail_next("contact.user.get", "slow", times=2, seconds=HELD_S)
    with httpx.Client(timeout=10) as client:
        for n in (1, 2):
            assert post_event(client, base, events, events.message(
                "/help", open_id=f"ou_held{n}", event_id=f"ev-held-{n}")).status_code == 200
    wait_until(lambda: len(query(db_path, "SELECT key FROM processed_event WHERE key LIKE 'feishu:%'")) == 2,
               what="both workers to begin the Feishu commands")
    return time.monotonic() + HELD_S  # the lookups begin right after the event ids are recorded


def let_the_slow_answers_end(over_at: float) -> None:
    """The fake Feishu answers the held lookups (to the killed serve: a broken pipe it prints) only after
    HELD_S; wait for that inside the test, so its traceback is not printed into whichever test runs next."""
    time.sleep(max(0.0, over_at - time.monotonic()) + 0.5)


def test_commands_acked_over_http_are_answered_once_after_serve_is_killed(tmp_path, fake_slack):
    (tmp_path / "crisisbot.yaml").write_text(CONFIG, encoding="utf-8")
    db_path = tmp_path / "bot.db"
    events = FeishuEvents(SystemClock(), app_id="cli_journal_e2e")  # serve's FEISHU_APP_ID
    with FakeFeishuApi() as fake_feishu:
        with serve(tmp_path, fake_slack, fake_feishu, "serve-1.log") as (process, base):
            slow_over_at = hold_both_workers(fake_feishu, base, events, db_path)
            sender = SlackSender(base + "/slack/events", SECRET, fake_slack)
            try:
                acked = [sender.command("/reply-queue", channel="C0JRNL"),
                         sender.command("/crisis", "status", channel="C0JRNL"),
                         sender.command("/help", channel="C0JRNL"),
                         sender.button("nobody.handles.this", "7", channel="C0JRNL")]
            finally:
                sender.close()
            assert [r.status_code for r in acked] == [200] * 4
            wait_until(lambda: len(query(db_path, "SELECT id FROM inbound_item")) == 6,
                       what="the six items to be journalled")
            process.send_signal(signal.SIGKILL)
            process.wait(30)

        # what the crash left: 2 Feishu items begun, 3 Slack commands and a button press not begun
        left = query(db_path, "SELECT platform, kind FROM inbound_item ORDER BY id")
        assert left == [("feishu", "command")] * 2 + [("slack", "command")] * 3 + [("slack", "action")]
        assert query(db_path, "SELECT key FROM processed_event WHERE key LIKE 'slack:%'") == []
        assert slack_answers(fake_slack) == []

        # 3 commands on chat.postMessage / response_url, the unknown button on response_url; 2 Feishu notices
        restart_until_answered(tmp_path, fake_slack, fake_feishu, slack=4, feishu=2)
        answers = slack_answers(fake_slack)
        # each acknowledged Slack item answered exactly once, none of them with the "restarted" notice
        expected = {"/reply-queue": "回复队列 / Reply queue", "/help": "crisisbot 命令 / Commands",
                    "/crisis status": "本频道没有进行中的预案", "button": "未知按钮 nobody.handles.this"}
        assert {what: sum(marker in a for a in answers) for what, marker in expected.items()} == dict.fromkeys(
            expected, 1), answers
        assert len(answers) == 4 and not any("重启" in a for a in answers), answers
        notices = [json.dumps(m.__dict__, ensure_ascii=False, default=str) for m in fake_feishu.sent()]
        assert len(notices) == 2, notices
        # the two Feishu commands a worker had begun are not run again: each sender is @-asked to check
        for n in (1, 2):
            assert sum(f"<at id=ou_held{n}></at>" in x and "机器人在处理你的操作「/help」时重启了" in x
                       for x in notices) == 1, notices
        assert query(db_path, "SELECT id FROM inbound_item") == []
        let_the_slow_answers_end(slow_over_at)


def test_items_acked_while_the_database_is_busy_are_journalled_before_the_ack(tmp_path, fake_slack):
    """Another writer holds SQLite's lock (a big webhook batch) while Slack and Feishu deliver; serve is
    killed the moment the last ack arrives. Each ack came only after its journal row was written, so the
    next start answers every one of them exactly once."""
    (tmp_path / "crisisbot.yaml").write_text(CONFIG, encoding="utf-8")
    db_path = tmp_path / "bot.db"
    events = FeishuEvents(SystemClock(), app_id="cli_journal_e2e")  # serve's FEISHU_APP_ID
    with FakeFeishuApi() as fake_feishu:
        with serve(tmp_path, fake_slack, fake_feishu, "serve-1.log") as (process, base):
            slow_over_at = hold_both_workers(fake_feishu, base, events, db_path)  # nothing below begun before the kill

            def slack(send):
                sender = SlackSender(base + "/slack/events", SECRET, fake_slack)
                try:
                    return send(sender).status_code
                finally:
                    sender.close()

            def feishu():
                with httpx.Client(timeout=10) as client:
                    return post_event(client, base, events, events.message(
                        "/crisis status", open_id="ou_carol", event_id="ev-busy")).status_code

            deliveries = [lambda: slack(lambda s: s.command("/reply-queue", channel="C0JRNL")),
                          lambda: slack(lambda s: s.command("/help", channel="C0JRNL")),
                          lambda: slack(lambda s: s.mention("<@UBOT> /crisis status", channel="C0JRNL")),
                          feishu]
            busy = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)
            busy.execute("BEGIN IMMEDIATE")  # e.g. a 12,000-comment webhook batch holds the write lock
            release = threading.Timer(1.0, lambda: busy.execute("ROLLBACK"))
            release.start()
            try:
                with ThreadPoolExecutor(len(deliveries)) as pool:
                    acked = list(pool.map(lambda deliver: deliver(), deliveries))
                process.send_signal(signal.SIGKILL)  # the moment the last ack is in
                process.wait(30)
            finally:
                release.join()
                busy.close()
            assert acked == [200] * 4  # "received": neither platform will send these again

        left = query(db_path, "SELECT platform, kind FROM inbound_item ORDER BY id")
        assert sorted(left) == [("feishu", "command")] * 3 + [("slack", "command")] * 3, left

        restart_until_answered(tmp_path, fake_slack, fake_feishu, slack=3, feishu=3)  # a Feishu answer, 2 notices
        answers = slack_answers(fake_slack)
        expected = {"/reply-queue": "回复队列 / Reply queue", "/help": "crisisbot 命令 / Commands",
                    "mention /crisis status": "本频道没有进行中的预案"}
        assert {what: sum(marker in a for a in answers) for what, marker in expected.items()} == dict.fromkeys(
            expected, 1), answers
        assert len(answers) == 3 and not any("重启" in a for a in answers), answers
        feishu_sent = [json.dumps(m.__dict__, ensure_ascii=False, default=str) for m in fake_feishu.sent()] + [
            json.dumps(e, ensure_ascii=False) for e in fake_feishu.ephemerals]
        assert sum("本频道没有进行中的预案" in x for x in feishu_sent) == 1, feishu_sent
        assert len(feishu_sent) == 3, feishu_sent
        let_the_slow_answers_end(slow_over_at)
