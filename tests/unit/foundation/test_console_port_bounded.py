"""The console port keeps a bounded transcript: a long-running serve posted reminders and notices for ever
and kept every one in memory (~11 KB a message, bench/soak)."""

from __future__ import annotations

from bot.adapters.console.port import ConsolePort
from bot.messages import Message


def test_only_the_last_messages_are_kept_and_updates_of_forgotten_ones_still_show():
    port = ConsolePort(keep=3)
    ids = [port.post("general", Message(text=f"第 {n} 条"), idempotency_key=f"k{n}") for n in range(10)]
    assert [m.text for m in port.messages()] == ["第 7 条", "第 8 条", "第 9 条"]
    assert len(port.entries) == len(port.order) == 3
    port.update("general", ids[0], Message(text="第 0 条（已更新）"))  # a card updated long after it was posted
    assert [m.text for m in port.messages()] == ["第 8 条", "第 9 条", "第 0 条（已更新）"]
    assert set(port.entries) == set(port.order)


def test_the_default_keeps_enough_for_a_demo_and_stays_bounded():
    port = ConsolePort()
    for n in range(port.keep + 500):
        port.post("general", Message(text=str(n)), idempotency_key=str(n))
    assert len(port.messages()) == port.keep >= 1000
