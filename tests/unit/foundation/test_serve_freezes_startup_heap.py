"""`serve` moves its start-up heap out of the cyclic garbage collector's reach once started (gc.freeze): a full
collection walking the ~480,000 start-up objects held the GIL ~240 ms in the first minute of serving, and the
Feishu acknowledgement waiting on its journal row behind it took ~290 ms (bench.feishu_ack's p99)."""

from __future__ import annotations

import gc
import weakref

import pytest

from bot.serve import freeze_startup_heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen_afterwards():
    yield
    gc.unfreeze()  # the test process is not a server: give its objects back to the collector


def test_freeze_collects_start_ups_garbage_then_freezes_what_lives(unfrozen_afterwards):
    gc.unfreeze()
    living = Node()
    garbage = Node()
    garbage.other = Node()
    garbage.other.other = garbage  # a cycle only the collector can free
    gone = weakref.ref(garbage)
    del garbage

    freeze_startup_heap()

    # freed, not frozen for ever: frozen objects are never collected, even once they become garbage
    assert gone() is None
    assert gc.get_freeze_count() > 0
    # what lived is out of every generation a collection walks
    assert not any(obj is living for obj in gc.get_objects())
