"""Audit 12, item 6, end to end: a run card deleted in Slack comes back at the run's next change, with its
buttons, and the changes after that edit the card that came back.

Before, every later `/crisis done` left a `crisis:1:card:vN` row failed with `message_not_found`, and the
card stayed gone for the rest of the run. The whole bot (build_app, as `crisisbot serve`) against the fake
Slack Web API.
"""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from bot.storage.models import OutboxMessage

pytestmark = pytest.mark.slow


def card_key(call) -> str:
    metadata = call.args.get("metadata") or {}
    return (metadata.get("event_payload") or {}).get("key", "")


def has_run_buttons(call) -> bool:
    return any(element.get("type") == "button" and str(element.get("action_id", "")).startswith("crisis.")
               for block in call.args.get("blocks") or [] for element in block.get("elements") or [])


def wait_until(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_deleted_run_card_comes_back_at_the_next_change(crisis_slack, fake_slack, sqlite_db):
    _bot, sender = crisis_slack
    assert sender.command("/crisis", 'start 负面舆情爆发 "面霜过敏" --severity 1', user="ULEAD").status_code == 200
    card = wait_until(lambda: [c for c in fake_slack.successful("chat.postMessage") if has_run_buttons(c)],
                      "the run card")[0]
    card_ts = card.answer["ts"]
    assert fake_slack.delete_message("C1", card_ts)  # someone deleted the run card

    assert sender.command("/crisis", "done triage", user="UOPS").status_code == 200
    back = wait_until(lambda: [c for c in fake_slack.successful("chat.postMessage")
                               if has_run_buttons(c) and c.answer["ts"] != card_ts], "the card posted again")
    (reposted,) = back
    assert card_key(reposted).startswith(card_key(card) + ":")  # the update's own key, for the dedup check
    new_ts = reposted.answer["ts"]

    edits_before = len(fake_slack.successful("chat.update"))
    assert sender.command("/crisis", "done monitor", user="UOPS").status_code == 200
    edit = wait_until(lambda: fake_slack.successful("chat.update")[edits_before:], "the card edited")[-1]
    assert edit.args["ts"] == new_ts  # the card that came back is the one edited now

    assert [m["ts"] for m in fake_slack.channel_messages("C1") if m["ts"] in (card_ts, new_ts)] == [new_ts]
    with sqlite_db.session() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert [(row.key, row.last_error) for row in failed] == []
