"""Shared fixtures: the network guard, a fresh database per test on SQLite and PostgreSQL, a wired bot."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.clock import FakeClock
from bot.config import AppConfig, Settings, parse_config
from bot.storage.db import Database

POSTGRES_URL = os.environ.get("CRISISBOT_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


# ---- no test may reach a non-loopback address ----------------------------------------------------
class NetworkAccessBlocked(RuntimeError):
    pass


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        try:
            resolved = socket.gethostbyname(host)
        except OSError:
            return False
        return ipaddress.ip_address(resolved).is_loopback


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkAccessBlocked(f"test tried to reach non-loopback address {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkAccessBlocked(f"test tried to reach non-loopback address {address!r}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


# ---- databases -----------------------------------------------------------------------------------
def _backends() -> list:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory) -> Path:
    """One SQLite file migrated to the newest schema, copied for each test: running the migrations for
    every test cost about 0.2 s each, a few minutes of the suite. (The migrations themselves are tested
    on their own, and on PostgreSQL every test still migrates its own schema.)"""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    template = Database(f"sqlite:///{path}")
    template.upgrade()
    template.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


def _fresh_sqlite(template: Path, tmp_path: Path) -> Database:
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return Database(f"sqlite:///{target}")


@pytest.fixture(params=_backends())
def db(request, tmp_path, migrated_sqlite_file) -> Iterator[Database]:
    """A fresh, migrated database: SQLite, and PostgreSQL when CRISISBOT_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        database = _fresh_sqlite(migrated_sqlite_file, tmp_path)
        yield database
        database.dispose()
        return
    with postgres_schema() as database:
        database.upgrade()
        yield database


@contextmanager
def postgres_schema() -> Iterator[Database]:
    """A database in a schema of its own on the test server, no tables yet, dropped afterwards. Skips the
    test without CRISISBOT_TEST_POSTGRES_URL (fails it in CI, where a skipped PostgreSQL test is a hole)."""
    if not POSTGRES_URL:
        message = "PostgreSQL tests need CRISISBOT_TEST_POSTGRES_URL"
        if IN_CI:
            pytest.fail(message + " (CI=true: a skipped PostgreSQL test is a failure)")
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(POSTGRES_URL, schema=schema)
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_db(tmp_path, migrated_sqlite_file) -> Iterator[Database]:
    database = _fresh_sqlite(migrated_sqlite_file, tmp_path)
    yield database
    database.dispose()


# ---- a wired bot ---------------------------------------------------------------------------------
TEST_CONFIG = {
    "timezone": "Asia/Shanghai",
    "default_channel": "console:general",
    "clients": [{"id": "lanji", "name": "澜肌护肤"}, {"id": "xiaochu", "name": "小厨科技"}],
    "accounts": [
        {"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店", "client": "lanji"},
        {"platform": "bilibili", "account_id": "xiaochu_kitchen", "name": "小厨科技官方", "client": "xiaochu"},
    ],
    "channels": [
        {"id": "console:lanji", "client": "lanji"},
        {"id": "console:xiaochu", "client": "xiaochu"},
    ],
}


@pytest.fixture
def app_config() -> AppConfig:
    return parse_config(TEST_CONFIG, source="tests")


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, ingest_token="test-ingest-token")  # type: ignore[call-arg]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


@pytest.fixture
def bot(db, settings, app_config, clock):
    """The whole bot wired on the test database with a fake clock (not started: no threads)."""
    from bot.app import build_app

    app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    yield app
    app.stop()


@pytest.fixture
def run_command(bot):
    """errbot-style one-liner: `run_command("/crisis status", channel="console:lanji")` -> reply messages.

    Goes through the real dispatcher (dedup, parsing, handler, outbox) and delivers the outbox to the
    console port, so the replies are also in `bot.console.messages(channel_id)`.
    """
    from bot.messages import Command

    counter = iter(range(1, 10**9))

    def run(text: str, *, channel: str = "console:lanji", user: str = "console:alice", user_name: str | None = None):
        event_id = f"test-{next(counter)}"
        command = Command("console", channel, user, text, user_name=user_name or user.partition(":")[2], event_id=event_id)
        replies = bot.dispatcher.handle(command)
        bot.services.outbox.drain()
        return replies

    return run


@pytest.fixture
def press_button(bot):
    """Press a button as a user would: `press_button("alert.ack", "12", channel=...)` -> replies."""
    from bot.messages import Action

    counter = iter(range(1, 10**9))

    def press(action_id: str, value: str = "", *, channel: str = "console:lanji", user: str = "console:alice",
              message_ref: str | None = None, form: dict[str, str] | None = None):
        action = Action("console", channel, user, action_id, value, message_ref=message_ref,
                        user_name=user.partition(":")[2], form=form or {}, event_id=f"press-{next(counter)}")
        replies = bot.dispatcher.handle(action)
        bot.services.outbox.drain()
        return replies

    return press
