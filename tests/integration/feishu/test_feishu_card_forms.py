"""Every button Slack answers with a modal asks for the same input on the Feishu card, in a form of its own.

The forms come from the same specs as Slack's modals (bot/adapters/forms.py): a person picker for 指派, text
inputs (required for a reply-queue 跳过, optional for 已回复 and 驳回), a select of the labels for a relabel
button. Through the real /feishu/events endpoint with encrypted, signed card.action.trigger callbacks carrying
`action.form_value`; the fake Open API accepts a card only when its forms follow Feishu's documented rules.
The handlers get the same Action.form keys as from Slack's modal ("user" as "feishu:ou_x", "text", "reason",
"label").
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.messages import Action, Button, Message
from bot.replies.models import ReplyDraft, ReplyQueueItem
from tests.conftest import TEST_CONFIG
from tests.fakes.feishu_api import card_nodes
from tests.integration.feishu.support import FeishuEvents, post_event, served_feishu_bot, wait_until
from tests.integration.replies.conftest import ago, rec

pytestmark = pytest.mark.slow

START = '/crisis start 负面舆情爆发 "面霜过敏" --severity 1'
FIELD_TAGS = ("input", "select_static", "select_person")




def _forms(card: dict, action_id_prefix: str) -> list[tuple[dict, dict]]:
    """(field, submit button's callback value) of the card's forms whose button's action id starts so."""
    found = []
    for form in (e for e in card["body"]["elements"] if e.get("tag") == "form"):
        (field,) = [n for n in card_nodes(form) if n.get("tag") in FIELD_TAGS]
        (button,) = [n for n in card_nodes(form) if n.get("tag") == "button"]
        assert button["form_action_type"] == "submit"
        (value,) = [b["value"] for b in button["behaviors"] if b["type"] == "callback"]
        if value["action_id"].startswith(action_id_prefix):
            assert value["form"] == {field["name"]: value["form"][field["name"]]}
            found.append((field, value))
    return found


def _replies(fake, message_id: str) -> list[str]:
    return [json.dumps(m.card, ensure_ascii=False) for m in fake.sent() if m.parent_id == message_id]


def _submit(client, url, events, card, value: dict, form_value: dict, *, open_id: str = "ou_alice") -> dict:
    press = events.card_action(value["action_id"], value["value"], chat_id="oc_ops", message_id=card.message_id,
                               open_id=open_id, button_value=value, form_value=form_value)
    response = post_event(client, url, events, press)
    assert response.status_code == 200
    return response.json()


def _card_with(fake, needle: str):
    return wait_until(lambda: next((m for m in fake.sent() if m.msg_type == "interactive"
                                    and needle in json.dumps(m.card, ensure_ascii=False)), None),
                      what=f"a card with {needle}")


# ---- a person picker: 指派 on the run card ----------------------------------------------------------------

def test_assign_picks_a_person_on_the_run_card(served_bot, clock):
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    assert post_event(client, url, events, events.message(START, chat_id="oc_ops")).status_code == 200
    card = _card_with(fake, '"crisis.assign"')
    forms = _forms(card.card, "crisis.assign")
    assert forms, "指派 is a form on the card"
    (field, value), (_, other) = forms[0], forms[1]
    assert field["tag"] == "select_person" and field["required"] is True and "options" not in field
    assert value["form"] == {field["name"]: "user"}
    step = value["value"].split(":")[1]

    # picked nobody (a forged or old client's submission): a toast, nothing assigned, nothing handed over
    toast = _submit(client, url, events, card, other, {})["toast"]
    assert toast["type"] == "error" and "指派给" in toast["content"] and "未指派" in toast["content"]

    toast = _submit(client, url, events, card, value, {field["name"]: "ou_zhang"})["toast"]
    assert toast["type"] == "info"
    reply = wait_until(lambda: _replies(fake, card.message_id), what="the assignment's answer")
    assert step in reply[0] and "→" in reply[0]
    run = bot.services.playbooks.get(1)
    assert run.state.step(step).assignee == "feishu:ou_zhang"  # the neutral address, as from Slack "slack:U1"
    other_step = other["value"].split(":")[1]
    assert run.state.step(other_step).assignee is None


# ---- the reply queue: 跳过 (reason required), 已回复 (text optional), 驳回 (reason optional) --------------------

@pytest.fixture
def queue_bot(sqlite_db, clock):
    """(bot, url, client, fake) with lanji's Douyin account answered in oc_ops, bob approving its replies."""
    data = dict(TEST_CONFIG)
    data["channels"] = [*TEST_CONFIG["channels"], {"id": "feishu:oc_ops", "client": "lanji"}]
    data["replies"] = {"approval": {"accounts": ["douyin:lanji_official"]}}
    data["roles"] = {"approver": ["feishu:ou_bob"]}
    with served_feishu_bot(sqlite_db, parse_config(data, source="tests"), clock) as served:
        bot = served[0]
        bot.services.ingest.ingest_records([rec("a", ago(clock, 10), "用了过敏"), rec("b", ago(clock, 20))],
                                           source="test")
        yield served


def _items(bot) -> dict[str, ReplyQueueItem]:
    with bot.services.db.session() as session:
        return {i.comment_id: i for i in session.exec(select(ReplyQueueItem)).all()}


def _queue_card(client, url, events, fake, bot):
    ids = {c: i.id for c, i in _items(bot).items()}
    assert post_event(client, url, events, events.message("/reply-queue", chat_id="oc_ops")).status_code == 200
    return ids, _card_with(fake, f"reply.skip:{ids['a']}")


def test_a_reply_queue_skip_takes_its_reason_on_the_card(queue_bot, clock):
    bot, url, client, fake = queue_bot
    events = FeishuEvents(clock)
    ids, card = _queue_card(client, url, events, fake, bot)
    skips = {v["action_id"]: (f, v) for f, v in _forms(card.card, "reply.skip:")}
    field, value = skips[f"reply.skip:{ids['a']}"]
    assert field["tag"] == "input" and field["required"] is True  # as Slack's modal: a skip needs a reason
    assert value["form"] == {field["name"]: "reason"}

    toast = _submit(client, url, events, card, value, {field["name"]: "\u3000 "})["toast"]
    assert toast["type"] == "error" and "跳过原因" in toast["content"] and "reason" in toast["i18n"]["en_us"]
    assert _items(bot)["a"].state == "open"

    assert _submit(client, url, events, card, value, {field["name"]: "广告，无需回复"})["toast"]["type"] == "info"
    wait_until(lambda: _items(bot)["a"].state == "skipped", what="the item skipped")
    assert _items(bot)["a"].skip_reason == "广告，无需回复"
    patched = wait_until(lambda: fake.messages[card.message_id].updates, what="the queue card patched")
    assert f"reply.skip:{ids['a']}\"" not in patched[-1] and f"reply.skip:{ids['b']}\"" in patched[-1]


def test_replied_text_and_a_reject_reason_are_optional_fields_on_the_cards(queue_bot, clock):
    bot, url, client, fake = queue_bot
    events = FeishuEvents(clock)
    ids, card = _queue_card(client, url, events, fake, bot)
    done = {v["action_id"]: (f, v) for f, v in _forms(card.card, "reply.done:")}
    field, value = done[f"reply.done:{ids['a']}"]
    assert field["tag"] == "input" and field["required"] is False and value["form"] == {field["name"]: "text"}

    # alice writes the reply in 已回复's field: it waits for bob's approval, with an approval card
    assert _submit(client, url, events, card, value, {field["name"]: "非常抱歉，请私信我们订单号。"})["toast"]["type"] == "info"
    approval = _card_with(fake, "reply.reject:")
    with bot.services.db.session() as session:
        draft = session.exec(select(ReplyDraft)).one()
    assert draft.text == "非常抱歉，请私信我们订单号。" and draft.written_by == "feishu:ou_alice"

    (reject_field, reject), = _forms(approval.card, "reply.reject:")
    assert reject_field["tag"] == "input" and reject_field["required"] is False
    assert reject["form"] == {reject_field["name"]: "reason"}
    assert not _forms(approval.card, "reply.approve:")  # 批准 needs nothing: a plain button
    response = _submit(client, url, events, approval, reject, {reject_field["name"]: "语气太生硬"}, open_id="ou_bob")
    assert response["toast"]["type"] == "info"

    def rejected():
        with bot.services.db.session() as session:
            return session.exec(select(ReplyDraft)).one().reject_reason

    assert wait_until(rejected, what="the draft rejected") == "语气太生硬"


# ---- a select of static options: a relabel button ---------------------------------------------------------

def test_a_relabel_button_offers_the_labels_and_hands_over_the_chosen_one(served_bot, clock):
    # No shipped card has a relabel button yet (/sentiment review offers one button per label); a feature
    # that adds one gets the select Slack's modal shows. A stand-in handler records what arrives.
    bot, url, client, fake = served_bot
    events = FeishuEvents(clock)
    received: list[Action] = []

    def relabel(ctx, action: Action) -> Message:
        received.append(action)
        return Message(text=f"已更正为 {action.form.get('label')}")

    bot.services.registry.add_action("comments.", relabel)
    bot.services.outbox.send(channel="feishu:oc_ops", key="relabel-card", message=Message(
        text="「用了过敏」", buttons=(Button("更正 Relabel", "comments.relabel", "douyin:c1"),)))
    bot.services.outbox.drain()
    card = _card_with(fake, '"comments.relabel"')
    ((field, value),) = _forms(card.card, "comments.relabel")
    assert field["tag"] == "select_static" and field["required"] is True
    assert [o["value"] for o in field["options"]] == ["neg", "neu", "pos"]
    assert value["form"] == {field["name"]: "label"}

    toast = _submit(client, url, events, card, value, {field["name"]: "neg"})["toast"]
    assert toast["type"] == "info"
    wait_until(lambda: received, what="the relabel action")
    (action,) = received
    assert (action.action_id, action.value, action.form) == ("comments.relabel", "douyin:c1", {"label": "neg"})
