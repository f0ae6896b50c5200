"""Pure parts added after the second acceptance audit: which lease holders count as dead, the memory
store's takeover, and the announcement notice's pinned headline."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from bot.feeds.pollers.announcements import NOTICE_PREFIX, notice_headline
from bot.feeds.pollers.store import (
    NAMESPACE_TAG,
    Lease,
    MemoryStateStore,
    holder_is_dead,
    holder_name,
    process_holder,
    take_token,
)

HOST = socket.gethostname()[:80]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(30)
    return process.pid


def test_take_tokens_name_this_process_and_carry_the_namespace_tag():
    token = take_token()
    assert holder_name(token) == process_holder() == f"{HOST}:{os.getpid()}"
    assert token.endswith(f"@{NAMESPACE_TAG}")
    assert take_token() != token  # one token per take


def test_only_a_gone_process_of_this_host_and_namespace_is_dead():
    dead = _dead_pid()
    assert holder_is_dead(f"{HOST}:{dead}")
    assert holder_is_dead(f"{HOST}:{dead}#abc")
    assert holder_is_dead(f"{HOST}:{dead}#abc@{NAMESPACE_TAG}")
    assert not holder_is_dead(f"{HOST}:{dead}#abc@{'0' * 8 if NAMESPACE_TAG != '0' * 8 else '1' * 8}")
    assert not holder_is_dead(f"{HOST}:{os.getpid()}#abc")  # this process
    assert not holder_is_dead(f"{HOST}:1#abc")  # alive (or not ours to signal: PermissionError)
    assert not holder_is_dead(f"elsewhere.invalid:{dead}#abc")  # another host: cannot tell
    for malformed in (None, "", "no-pid", f"{HOST}:", f"{HOST}:x1", f"{HOST}:-5", f"{HOST}:99999999999999999999"):
        assert not holder_is_dead(malformed), malformed


def test_memory_store_takes_over_a_dead_holders_lease_only():
    store = MemoryStateStore()
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    until = now + timedelta(seconds=120)
    live = f"{HOST}:{os.getpid()}#a"
    assert store.take_lease("s", live, now, until) is None
    assert store.take_lease("s", "x#b", now, until) == Lease(live, until)
    store.release_lease("s", live)
    dead = f"{HOST}:{_dead_pid()}#c"
    assert store.take_lease("s", dead, now, until) is None
    assert store.take_lease("s", "x#d", now, until) is None  # taken over before it expired


def test_notice_headline_starts_with_the_pinned_prefix_and_the_title():
    assert NOTICE_PREFIX == "平台规则更新: "
    assert notice_headline("新规", None, changed=False) == "平台规则更新: 新规"
    assert notice_headline("新规", "抖音", changed=False) == "平台规则更新: 新规（抖音）"
    assert notice_headline("新规", None, changed=True) == "平台规则更新: 新规（已修改）"
    assert notice_headline("新规", "抖音", changed=True) == "平台规则更新: 新规（抖音，已修改）"
