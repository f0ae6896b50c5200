"""A command that meets a busy database waits and tries again instead of being lost."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from bot.dispatcher import BUSY_RETRY_DELAYS_S, _retrying_while_busy


def _locked() -> OperationalError:
    return OperationalError("INSERT INTO processed_event ...", {}, sqlite3.OperationalError("database is locked"))


def test_a_busy_database_is_waited_for():
    attempts, slept = [], []

    def work():
        attempts.append(1)
        if len(attempts) < 3:
            raise _locked()
        return "done"

    assert _retrying_while_busy(work, sleep=slept.append) == "done"
    assert slept == list(BUSY_RETRY_DELAYS_S[:2])


def test_it_gives_up_after_the_last_delay_and_other_errors_are_not_retried():
    slept = []
    with pytest.raises(OperationalError):
        _retrying_while_busy(lambda: (_ for _ in ()).throw(_locked()), sleep=slept.append)
    assert slept == list(BUSY_RETRY_DELAYS_S)
    other = OperationalError("SELECT x", {}, sqlite3.OperationalError("no such column: x"))
    slept.clear()
    with pytest.raises(OperationalError):
        _retrying_while_busy(lambda: (_ for _ in ()).throw(other), sleep=slept.append)
    assert slept == []
