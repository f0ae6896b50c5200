"""`crisisbot console --channel lanji` beside `crisisbot serve` on one SQLite file, two real processes: an
alert posted to console:lanji shows in the console exactly once (and in serve's terminal, serve being the
one that delivers it); a `quit` in the console's piped input says the lines after it were not run.

Before, whichever process's outbox worker claimed the row printed it: usually serve, so the alert showed
in serve's terminal and never in the console the user was looking at.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from bot.clock import SystemClock
from bot.messages import Message
from bot.outbox import Outbox
from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from tests.conftest import TEST_CONFIG
from tests.support.serve_process import free_port, stop, wait_until_listening

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
ALERT = "E2E 负面评论激增 / negative spike (lanji)"
OTHER = "E2E xiaochu only"
WAIT_S = 90  # an upper bound for a slow machine: the test waits for output, never for time to pass



def environment(tmp_path: Path, db_url: str) -> dict[str, str]:
    config = tmp_path / "crisisbot.yaml"
    config.write_text(yaml.safe_dump(TEST_CONFIG, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": db_url}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET",
                 "DATABASE_URL", "CRISISBOT_INGEST_TOKEN", "HTTP_PROXY", "http_proxy"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


class Output:
    """A process's stdout, collected by a thread, so the test can wait for a piece of it."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for chunk in iter(lambda: os.read(self.process.stdout.fileno(), 65536), b""):
            self._chunks.append(chunk)

    @property
    def text(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")

    def wait_for(self, piece: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while piece not in self.text:  # waiting for output to appear, not for time to pass
            assert self.process.poll() is None and time.monotonic() < deadline, self.text
            time.sleep(0.1)

    def finish(self) -> str:
        self.process.wait(WAIT_S)
        self._thread.join(WAIT_S)
        return self.text



def wait_until_sent(db: Database, key: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:  # waiting for serve's worker, not for time to pass
        with db.session() as session:
            status = session.exec(select(OutboxMessage.status).where(OutboxMessage.key == key)).one()
        if status == "sent":
            return
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def test_an_alert_for_the_open_channel_shows_once_in_the_console_beside_serve(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'crisisbot.db'}"
    env = environment(tmp_path, db_url)
    port = free_port()
    serve_log = tmp_path / "serve.log"
    with open(serve_log, "w") as log:
        serve = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path,
                                 env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    console = None
    try:
        wait_until_listening(serve, f"http://127.0.0.1:{port}", serve_log, timeout=120)
        console = subprocess.Popen([sys.executable, "-m", "bot.cli", "console", "--channel", "lanji"], cwd=tmp_path,
                                   env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = Output(console)
        output.wait_for("[lanji]> ")  # the console reads: what is posted from now on is its channel's news

        # The alert service's way of posting (the outbox, in its own transaction), from a third process
        # on the same file: serve's worker delivers it; the console must show it although it did not.
        db = Database(db_url)
        try:
            outbox = Outbox(db, SystemClock())
            outbox.send(channel="console:lanji", message=Message(title=ALERT, severity=1, text="评论 5 分钟内 +40"),
                        key="e2e-alert-lanji")
            outbox.send(channel="console:xiaochu", message=Message(title=OTHER), key="e2e-alert-xiaochu")
            output.wait_for(ALERT)
            wait_until_sent(db, "e2e-alert-lanji")
        finally:
            db.dispose()

        console.stdin.write(b"/help crisis\nquit\n/crisis list\n")
        console.stdin.close()
        text = output.finish()
    finally:
        if console is not None:
            stop(console)
        stop(serve)
    assert console.returncode == 0, text
    assert text.count(ALERT) == 1, text  # shown once, though serve delivered it
    assert OTHER not in text  # another channel's news stays out of this one
    assert text.count("#lanji") == 2, text  # the alert and the answer to /help crisis, once each
    assert "已退出：输入中 quit 之后的 1 行未执行 / quit: the 1 line(s) after it in the input were not run" in text
    assert "Traceback" not in text
    # serve stays the one that delivers, so its terminal shows the channel's messages as before
    assert ALERT in serve_log.read_text(encoding="utf-8")


def test_a_console_alone_shows_what_waited_for_its_channel_and_leaves_other_channels_queued(tmp_path):
    """Notices a `poll` or an `ingest` queued with no serve running: the console opened on their channel shows
    them (it used to mark them delivered unseen after 10 s), and another console channel's notices stay
    queued for whoever opens that channel (they were marked delivered too, printing nothing)."""
    db_url = f"sqlite:///{tmp_path / 'crisisbot.db'}"
    env = environment(tmp_path, db_url)
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    db = Database(db_url)
    try:
        outbox = Outbox(db, SystemClock())
        outbox.send(channel="console:lanji", message=Message(title="平台规则更新: E2E 新规"), key="waiting-lanji")
        outbox.send(channel="console:xiaochu", message=Message(title=OTHER), key="waiting-xiaochu")
    finally:
        db.dispose()
    console = subprocess.Popen([sys.executable, "-m", "bot.cli", "console", "--channel", "lanji"], cwd=tmp_path,
                               env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output = Output(console)
        output.wait_for("[lanji]> ")
        console.stdin.write(b"/help crisis\n")
        console.stdin.close()
        text = output.finish()
    finally:
        stop(console)
    assert console.returncode == 0, text
    assert text.count("平台规则更新: E2E 新规") == 1, text
    assert OTHER not in text
    db = Database(db_url)
    try:
        with db.session() as session:
            status = dict(session.exec(select(OutboxMessage.key, OutboxMessage.status)).all())
    finally:
        db.dispose()
    assert status["waiting-lanji"] == "sent"  # shown, then delivered by the console at exit
    assert status["waiting-xiaochu"] == "pending"  # not this console's channel: still waiting for its reader
