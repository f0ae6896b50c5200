"""Commands one person sends one after another land in that order (audit 12: /crisis notes sent in a burst,
each acknowledged before the next, came out as …14, 16, 17, 15, … on the crisis timeline, also after a
`kill -9` and the journal's replay).

The whole bot (build_app, as `crisisbot serve` wires it) is served by uvicorn on 127.0.0.1 with Slack over
HTTP, the Slack API faked on 127.0.0.1; signed slash commands go in over real HTTP. The first note is sent with
a command of the test's own (`/slow`, the real /crisis handler behind a gate the test opens), so it is still
running while the burst behind it is acknowledged and journalled. Before, the second worker ran the burst
beside it: every later note was on the timeline before the first one. Now the items of one channel run in
journal order (button presses too), while a channel of its own is not held up by the slow one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict

import pytest

from bot.app import build_app
from bot.config import Settings, parse_config
from bot.messages import Command
from bot.playbooks.machine import Note
from bot.storage.models import InboundItem
from tests.conftest import TEST_CONFIG
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack, SlackSender
from tests.support.asgi_server import running_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

SECRET = "order-audit12-signing-secret"
BURST = 30


@pytest.fixture
def two_channels():
    config = json.loads(json.dumps(TEST_CONFIG))
    config["channels"] += [{"id": "slack:C1", "client": "lanji"}, {"id": "slack:C2", "client": "lanji"}]
    return parse_config(config, source="tests")


def slack_settings(fake: FakeSlack) -> Settings:
    return Settings(_env_file=None, slack_bot_token=VALID_BOT_TOKEN, slack_api_url=fake.base_url,  # type: ignore[call-arg]
                    slack_signing_secret=SECRET)


class Gate:
    """`/slow …` runs `/crisis …` once the test opens the gate (the test's own command, not the product's)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()

    def register(self, bot) -> None:
        registry = bot.services.registry
        crisis = registry.commands["crisis"]

        def slow(ctx, parsed):
            self.entered.set()
            assert self.open.wait(60), "the test never opened the gate"
            return crisis.handler(ctx, parsed)

        def press(ctx, action):  # a button of the test's own: a note through the real crisis service
            ctx.services.playbooks.transition(int(action.value), Note(f"button-{action.action_id}", ctx.user))

        registry.add_action("order.", press)
        registry.add_command("slow", slow, summary_zh="慢", summary_en="slow", usage=crisis.usage,
                             flags=crisis.flags, options=crisis.options,
                             sub_options={sub: grammar for sub, grammar in crisis.sub_options.items()})


def notes(bot, run_id: int) -> list[str]:
    return [entry.text for entry in bot.services.playbooks.timeline(run_id) if entry.kind == "note"]


def run_started(bot, run_id: int) -> bool:
    try:
        return bool(bot.services.playbooks.timeline(run_id))
    except Exception:  # noqa: BLE001 - not there yet
        return False


def test_a_burst_in_one_channel_lands_in_order_and_another_channel_is_not_held_up(db, two_channels, clock):
    gate = Gate()
    with FakeSlack() as fake:
        bot = build_app(slack_settings(fake), two_channels, clock=clock, db=db, upgrade=False)
        gate.register(bot)
        bot.dispatcher.lane_hold_max_s = 300  # far past this test, however slow the machine (see the bound's test)
        try:
            with running_server(bot.web) as url:
                sender = SlackSender(url + "/slack/events", SECRET, fake)
                try:
                    assert sender.command("/crisis", "start 负面舆情爆发 顺序测试", channel="C1").status_code == 200
                    wait_until(lambda: run_started(bot, 1), what="the crisis in C1")

                    assert sender.command("/slow", "note first #1", channel="C1").status_code == 200
                    assert gate.entered.wait(30)
                    # the burst: each one acknowledged (journalled) before the next is sent, as a person types
                    for i in range(BURST):
                        assert sender.command("/crisis", f"note burst-{i} #1", channel="C1").status_code == 200
                    # and two presses of buttons on one message of that channel
                    for button in ("order.a", "order.b"):
                        assert sender.button(button, "1", channel="C1", message_ts="1700000001.000100").status_code == 200

                    # another channel goes on while C1 waits for its slow command
                    assert sender.command("/crisis", "start 负面舆情爆发 另一个频道", channel="C2").status_code == 200
                    wait_until(lambda: run_started(bot, 2), timeout=20, what="the crisis in C2 (held up by C1?)")
                    # nothing of the burst ran before the note sent first
                    assert notes(bot, 1) == []

                    gate.open.set()
                    wait_until(lambda: len(notes(bot, 1)) == BURST + 3, what="all the notes")
                    assert notes(bot, 1) == (["first"] + [f"burst-{i}" for i in range(BURST)]
                                             + ["button-order.a", "button-order.b"])
                finally:
                    gate.open.set()
                    sender.close()
        finally:
            gate.open.set()
            bot.stop()


def test_a_command_that_holds_its_channel_too_long_lets_the_next_one_run(db, two_channels, clock):
    """The bound: a command still running after `lane_hold_max_s` no longer holds its channel."""
    gate = Gate()
    bot = build_app(Settings(_env_file=None), two_channels, clock=clock, db=db, upgrade=False)
    gate.register(bot)
    bot.dispatcher.lane_hold_max_s = 0.5
    try:
        bot.dispatcher.handle(Command("console", "console:lanji", "console:alice", "/crisis start 负面舆情爆发 卡住"))
        first = bot.dispatcher.submit(Command("console", "console:lanji", "console:alice", "/slow note stuck #1",
                                              event_id="Ev-stuck"))
        assert gate.entered.wait(30)
        later = [bot.dispatcher.submit(Command("console", "console:lanji", "console:alice", f"/crisis note n{i} #1",
                                               event_id=f"Ev-{i}")) for i in range(3)]
        assert all(future.result(timeout=30) for future in later)  # without the gate opening
        assert notes(bot, 1) == ["n0", "n1", "n2"]
        assert not first.done()
        gate.open.set()
        assert first.result(timeout=30)
        assert notes(bot, 1) == ["n0", "n1", "n2", "stuck"]
    finally:
        gate.open.set()
        bot.stop()


def test_the_journal_left_by_a_crash_is_replayed_in_order_per_channel(db, settings, two_channels, clock):
    """What a killed process left in the journal runs at the next start in journal order per channel (the
    first one slow), while another channel's row behind them in the journal is not held up."""
    gate = Gate()
    bot = build_app(settings, two_channels, clock=clock, db=db, upgrade=False)
    gate.register(bot)
    bot.dispatcher.lane_hold_max_s = 300
    try:
        bot.dispatcher.handle(Command("console", "console:lanji", "console:alice", "/crisis start 负面舆情爆发 重放"))
        bot.dispatcher.handle(Command("console", "console:xiaochu", "console:alice", "/crisis start 负面舆情爆发 别处"))
        texts = ["/slow note first #1"] + [f"/crisis note replay-{i} #1" for i in range(BURST)]
        items = [Command("console", "console:lanji", "console:alice", text, event_id=f"Ev-r{n}")
                 for n, text in enumerate(texts)]
        items.append(Command("console", "console:xiaochu", "console:bob", "/crisis note elsewhere #2", event_id="Ev-o"))
        with db.session() as session:  # as the killed process left them: journalled, none begun
            for item in items:
                session.add(InboundItem(kind="command", platform="console", payload=asdict(item),
                                        received_at=clock.now()))
                session.flush()  # one at a time: the ids in this order
        bot.start(scheduler=False, replay_inbound=True)
        assert gate.entered.wait(30)
        wait_until(lambda: notes(bot, 2) == ["elsewhere"], timeout=20, what="the other channel's note")
        assert notes(bot, 1) == []
        gate.open.set()
        wait_until(lambda: len(notes(bot, 1)) == BURST + 1, what="all the replayed notes")
        assert notes(bot, 1) == ["first"] + [f"replay-{i}" for i in range(BURST)]
        wait_until(lambda: not _journal(db), what="the journal to empty")
    finally:
        gate.open.set()
        bot.stop()


def _journal(db) -> list[int]:
    from sqlmodel import select

    with db.session() as session:
        return list(session.exec(select(InboundItem.id)).all())
