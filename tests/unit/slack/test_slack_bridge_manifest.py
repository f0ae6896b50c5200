import asyncio
import threading
from concurrent.futures import Future
from pathlib import Path

import yaml

from bot.adapters.slack.inbound_app import InboundBridge
from bot.messages import Command

REPO = Path(__file__).resolve().parents[3]


def command(event_id: str) -> Command:
    return Command("slack", "slack:C1", "slack:U1", "/help", event_id=event_id)


def test_bridge_hands_each_delivery_over_once():
    submitted: list[str] = []

    def submit(item):
        submitted.append(item.event_id)
        future: Future = Future()
        future.set_result([])
        return future

    bridge = InboundBridge(submit)

    async def deliver():
        results = [await bridge.hand_over(command(f"e{i}"), kind="command") for i in range(3)]
        results.append(await bridge.hand_over(command("e0"), kind="command"))  # a retry
        results.append(await bridge.hand_over(command("e9"), kind="mention", extra_keys=["slack:msg:C1:1.0"]))
        results.append(await bridge.hand_over(command("e10"), kind="mention", extra_keys=["slack:msg:C1:1.0"]))
        return results

    assert asyncio.run(deliver()) == [True, True, True, False, True, False]
    assert submitted == ["e0", "e1", "e2", "e9"]


class JournalledLater(Future):
    """A dispatcher submission whose journal row is written when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.journalled: Future = Future()


def test_hand_over_returns_only_once_the_item_is_journalled():
    submissions: list[JournalledLater] = []

    def submit(item):
        submissions.append(JournalledLater())
        return submissions[-1]

    bridge = InboundBridge(submit, journal_wait_s=5)

    async def deliver():
        handing = asyncio.ensure_future(bridge.hand_over(command("e1"), kind="command"))
        await asyncio.sleep(0.2)
        waiting = not handing.done()  # the listener has not acknowledged yet
        threading.Timer(0.1, submissions[0].journalled.set_result, args=(7,)).start()
        return waiting, await asyncio.wait_for(handing, 2)

    assert asyncio.run(deliver()) == (True, True)


def test_hand_over_gives_up_waiting_for_a_busy_journal_so_slack_still_gets_its_ack(caplog):
    bridge = InboundBridge(lambda item: JournalledLater(), journal_wait_s=0.2)

    async def deliver():
        started = asyncio.get_running_loop().time()
        handed = await bridge.hand_over(command("e1"), kind="command")
        return handed, asyncio.get_running_loop().time() - started

    handed, waited = asyncio.run(deliver())
    assert handed is True and 0.2 <= waited < 2
    assert "not journalled within" in caplog.text


def test_a_failing_submit_is_logged_not_raised(caplog):
    def submit(item):
        raise RuntimeError("dispatcher gone")

    bridge = InboundBridge(submit)
    assert asyncio.run(bridge.hand_over(command("x"), kind="command")) is True
    assert "could not hand" in caplog.text


def test_manifest_declares_the_six_commands_and_only_the_scopes_used():
    manifest = yaml.safe_load((REPO / "config" / "slack-manifest.yaml").read_text(encoding="utf-8"))
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/crisis", "/reply-queue", "/watch", "/precheck", "/sentiment", "/report"]
    assert all(c["url"].endswith("/slack/events") and c["should_escape"] for c in commands)
    # the history scopes let a retry find a post whose answer was lost instead of posting it twice;
    # users:read shows people named in texts by name instead of a mention that notifies them
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == ["app_mentions:read", "channels:history",
                                                                 "chat:write", "commands", "files:write",
                                                                 "groups:history", "users:read"]
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")


def test_a_delivery_the_dispatcher_failed_is_accepted_again_when_slack_retries():
    calls: list[str] = []

    def submit(item):
        calls.append(item.event_id)
        future: Future = Future()
        if len(calls) == 1:
            future.set_exception(RuntimeError("database is down"))
        else:
            future.set_result([])
        return future

    bridge = InboundBridge(submit)

    async def deliver():
        return [await bridge.hand_over(command("Ev1"), kind="mention") for _ in range(3)]

    assert asyncio.run(deliver()) == [True, True, False]
    assert calls == ["Ev1", "Ev1"]


def test_building_the_bolt_app_does_not_warn_that_our_own_token_is_unused(monkeypatch, caplog):
    """Bolt reads SLACK_BOT_TOKEN itself and warned at every start that it "will be unused" (we hand it
    the token through `authorize`): a warning an operator can do nothing about."""
    import logging

    from bot.adapters.slack.inbound_app import build_bolt_app

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    with caplog.at_level(logging.INFO):
        build_bolt_app(bot_token="xoxb-test", signing_secret="secret", bridge=InboundBridge(lambda item: None))
    assert "will be unused" not in caplog.text and "will be ignored" not in caplog.text
