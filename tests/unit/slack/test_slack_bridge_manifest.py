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


def test_bridge_hands_each_delivery_over_once_and_bounds_the_work_in_flight():
    futures: list[Future] = []
    submitted: list[str] = []
    two_in = threading.Event()

    def submit(item):
        submitted.append(item.event_id)
        future: Future = Future()
        futures.append(future)
        if len(futures) == 2:
            two_in.set()
        elif len(futures) > 2:
            future.set_result([])  # later ones finish at once
        return future

    bridge = InboundBridge(submit, max_in_flight=2)

    async def deliver():
        results = [await bridge.hand_over(command(f"e{i}"), kind="command") for i in range(4)]
        results.append(await bridge.hand_over(command("e0"), kind="command"))  # a retry
        results.append(await bridge.hand_over(command("e9"), kind="mention", extra_keys=["slack:msg:C1:1.0"]))
        results.append(await bridge.hand_over(command("e10"), kind="mention", extra_keys=["slack:msg:C1:1.0"]))
        return results

    assert asyncio.run(deliver()) == [True, True, True, True, False, True, False]
    assert two_in.wait(5)
    assert submitted == ["e0", "e1"]  # two in flight, the rest wait for a slot
    futures[0].set_result([])
    futures[1].set_result([])
    bridge.close()
    assert submitted == ["e0", "e1", "e2", "e3", "e9"]


def test_a_failing_submit_is_logged_not_raised(caplog):
    def submit(item):
        raise RuntimeError("dispatcher gone")

    bridge = InboundBridge(submit, max_in_flight=None)
    assert asyncio.run(bridge.hand_over(command("x"), kind="command")) is True
    assert "could not hand" in caplog.text


def test_manifest_declares_the_six_commands_and_only_the_scopes_used():
    manifest = yaml.safe_load((REPO / "config" / "slack-manifest.yaml").read_text(encoding="utf-8"))
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/crisis", "/reply-queue", "/watch", "/precheck", "/sentiment", "/report"]
    assert all(c["url"].endswith("/slack/events") and c["should_escape"] for c in commands)
    # the history scopes let a retry find a post whose answer was lost instead of posting it twice
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == ["app_mentions:read", "channels:history",
                                                                 "chat:write", "commands", "files:write",
                                                                 "groups:history"]
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

    bridge = InboundBridge(submit, max_in_flight=None)

    async def deliver():
        return [await bridge.hand_over(command("Ev1"), kind="mention") for _ in range(3)]

    assert asyncio.run(deliver()) == [True, True, False]
    assert calls == ["Ev1", "Ev1"]
