"""The SQLite file holds commenters' personal data and the platform tokens the bot keeps: a new one is
readable by its owner only, whatever the umask (SQLite created it 0644, readable by every user of the
machine). A file that already exists keeps the mode its operator gave it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.db import Database


@pytest.fixture
def open_umask():
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_file_and_its_wal_are_for_the_owner_only(tmp_path, open_umask):
    path = tmp_path / "var" / "crisisbot.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.engine.connect() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            connection.commit()
            wal = path.with_name(path.name + "-wal")
            assert wal.exists() and _mode(wal) & 0o077 == 0, oct(_mode(wal))
        assert _mode(path) == 0o600, oct(_mode(path))
    finally:
        db.dispose()


def test_an_existing_database_file_keeps_its_mode(tmp_path, open_umask):
    path = tmp_path / "shared.db"
    Database(f"sqlite:///{path}").dispose()  # nothing connected yet: no file
    assert not path.exists()
    path.touch(mode=0o640)
    path.chmod(0o640)
    db = Database(f"sqlite:///{path}")
    try:
        assert db.ping()
        assert _mode(path) == 0o640
    finally:
        db.dispose()
