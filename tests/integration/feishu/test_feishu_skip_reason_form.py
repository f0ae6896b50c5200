"""Skipping a playbook step from the Feishu run card: the reason is typed into a form on the card.

The card's 跳过 is the submit button of a JSON 2.0 form holding a required input; Feishu's card.action.trigger
callback carries what was typed in `action.form_value`. Through the real /feishu/events endpoint with
encrypted, signed callbacks: a reason skips the step as `/crisis skip STEP 原因` does (the same timeline
entry, the run card patched); a blank one is answered with an error toast and skips nothing; a form from a
chat that does not hold the run is refused as the command would be.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.playbooks.models import CrisisTimelineEntry
from bot.storage.models import InboundItem, ProcessedEvent
from tests.fakes.feishu_api import card_nodes
from tests.integration.feishu.support import FeishuEvents, post_event, private_answers, wait_until

pytestmark = pytest.mark.slow

START = '/crisis start 负面舆情爆发 "面霜过敏" --severity 1'




def _skip_forms(card: dict) -> list[tuple[str, dict]]:
    """(input name, submit button's callback value) of each skip form on the card, checking the form's shape:
    at the card's root, a required input, the 跳过 button submitting it."""
    found = []
    for form in (e for e in card["body"]["elements"] if e.get("tag") == "form"):
        if '"crisis.skip"' not in json.dumps(form):
            continue  # the other forms of the card (指派's person picker)
        inputs = [n for n in card_nodes(form) if n.get("tag") == "input"]
        buttons = [n for n in card_nodes(form) if n.get("tag") == "button"]
        assert len(inputs) == 1 and inputs[0]["required"] is True, form
        assert len(buttons) == 1 and buttons[0]["form_action_type"] == "submit", form
        assert buttons[0]["text"]["content"] == "跳过"
        (callback,) = [b["value"] for b in buttons[0]["behaviors"] if b["type"] == "callback"]
        found.append((inputs[0]["name"], callback))
    return found


def _plain_skip_buttons(card: dict) -> list[dict]:
    """crisis.skip buttons outside any form (the old card had one per step)."""
    outside = [e for e in card["body"]["elements"] if e.get("tag") != "form"]
    return [n for n in card_nodes(outside) if n.get("tag") == "button"
            and any(b.get("value", {}).get("action_id") == "crisis.skip" for b in n.get("behaviors", []))]


def _skips(bot) -> list[tuple[str, str, str]]:
    with bot.services.db.session() as session:
        rows = session.exec(select(CrisisTimelineEntry).where(CrisisTimelineEntry.kind == "skip")).all()
        return [(r.step_id, r.actor, r.text) for r in rows]


def _status(bot, step: str) -> str:
    return bot.services.playbooks.get(1).state.step(step).status.value


def _start_run(url: str, client: httpx.Client, events: FeishuEvents, fake) -> Any:
    assert post_event(client, url, events, events.message(START, chat_id="oc_ops")).status_code == 200
    return wait_until(lambda: next((m for m in fake.sent("oc_ops") if m.msg_type == "interactive"
                                    and any(e.get("tag") == "form" for e in m.card["body"]["elements"])), None),
                      what="the run card with its skip forms")


def _handed_over(bot, event_id: str) -> bool:
    """Whether the dispatcher got the event: journalled (the 200 waits for that) or begun."""
    with bot.services.db.session() as session:
        keys = session.exec(select(ProcessedEvent.key)).all()
        payloads = session.exec(select(InboundItem.payload)).all()
    return any(event_id in key for key in keys) or any(event_id in json.dumps(p) for p in payloads)


def _replies(fake, message_id: str) -> list[str]:
    return [json.dumps(m.card, ensure_ascii=False) for m in fake.sent() if m.parent_id == message_id]


def test_a_reason_typed_on_the_card_skips_the_step_as_the_command_does(served_bot, clock):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    card = _start_run(url, client, events, fake)
    forms = _skip_forms(card.card)
    assert forms and not _plain_skip_buttons(card.card)
    name, value = forms[0]
    step = value["value"].split(":")[1]
    assert value["action_id"] == "crisis.skip" and value["form"] == {name: "reason"}

    press = events.card_action("crisis.skip", value["value"], chat_id="oc_ops", message_id=card.message_id,
                               open_id="ou_alice", button_value=value, form_value={name: "已由客服私信处理"})
    response = post_event(client, url, events, press)
    assert response.status_code == 200 and response.json()["toast"]["type"] == "info"
    reply = wait_until(lambda: _replies(fake, card.message_id), what="the skip's reply")
    assert f"跳过了 {step}：已由客服私信处理" in reply[0]
    assert _status(bot, step) == "skipped"
    ((skipped, actor, text),) = _skips(bot)
    assert (skipped, actor) == (step, "feishu:ou_alice") and text.endswith("（原因：已由客服私信处理）"), text
    # the run card is patched in place: the skipped step and its form are gone from it
    patched = wait_until(lambda: fake.messages[card.message_id].updates, what="the run card patched")
    assert all(v["value"] != value["value"] for _, v in _skip_forms(json.loads(patched[-1])))

    # the typed command leaves the same timeline entry
    name2, value2 = forms[1]
    step2 = value2["value"].split(":")[1]
    command = events.message(f"/crisis skip {step2} 已由客服私信处理", chat_id="oc_ops", open_id="ou_alice")
    assert post_event(client, url, events, command).status_code == 200
    wait_until(lambda: len(_skips(bot)) == 2, what="the typed skip")
    skipped2, actor2, text2 = _skips(bot)[1]
    assert (skipped2, actor2) == (step2, "feishu:ou_alice") and text2.endswith("（原因：已由客服私信处理）"), text2


@pytest.mark.parametrize("typed", [None, "", "   ", "\u3000\u3000", '""', "「」"])
def test_a_blank_reason_is_answered_with_a_toast_and_skips_nothing(served_bot, clock, typed):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    card = _start_run(url, client, events, fake)
    name, value = _skip_forms(card.card)[0]
    step = value["value"].split(":")[1]
    press = events.card_action("crisis.skip", value["value"], chat_id="oc_ops", message_id=card.message_id,
                               button_value=value, form_value={} if typed is None else {name: typed})
    response = post_event(client, url, events, press)
    assert response.status_code == 200
    toast = response.json()["toast"]
    assert toast["type"] == "error"
    assert toast["content"] == toast["i18n"]["zh_cn"] and "跳过原因" in toast["content"] and "未跳过" in toast["content"]
    assert "reason" in toast["i18n"]["en_us"]
    # nothing was handed over: no journal row, no reply, the step open, nothing on the timeline
    assert not _handed_over(bot, press["header"]["event_id"])
    marker = events.message("/crisis status", chat_id="oc_ops")
    post_event(client, url, events, marker)
    wait_until(lambda: _replies(fake, marker["event"]["message"]["message_id"]), what="the status reply")
    assert _replies(fake, card.message_id) == []
    assert _status(bot, step) == "open" and _skips(bot) == []


def test_a_skip_form_from_another_chat_is_refused_as_the_command_is(served_bot, clock):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    card = _start_run(url, client, events, fake)
    name, value = _skip_forms(card.card)[0]
    step = value["value"].split(":")[1]
    press = events.card_action("crisis.skip", value["value"], chat_id="oc_other", message_id="om_elsewhere",
                               button_value=value, form_value={name: "已由客服私信处理"})
    assert post_event(client, url, events, press).status_code == 200
    # both refusals are for the one who pressed or typed: cards only they see
    refusal = wait_until(lambda: private_answers(fake, "ou_bob", "oc_other"), what="the refusal")
    command = events.message(f"/crisis skip #1 {step} 已由客服私信处理", chat_id="oc_other")
    post_event(client, url, events, command)
    typed = wait_until(lambda: private_answers(fake, "ou_alice", "oc_other"), what="the command's answer")
    assert "跳过了" not in refusal[0] and "跳过了" not in typed[0]
    assert _status(bot, step) == "open" and _skips(bot) == []
