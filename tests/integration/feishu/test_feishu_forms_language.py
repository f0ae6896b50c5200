"""The skip and assign forms on a Feishu run card speak the chat's language: in a chat set to English the
fields say "Reason (required)" / "Assign to" alone; a Chinese chat beside it keeps its forms as before.
Through the real /feishu/events endpoint (encrypted, signed events), the bot served on 127.0.0.1 and the fake
Open API on loopback."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG
from tests.fakes.feishu_api import card_nodes
from tests.integration.feishu.support import FeishuEvents, post_event, served_feishu_bot, wait_until

pytestmark = pytest.mark.slow

FIELD_TAGS = ("input", "select_static", "select_person")


@pytest.fixture
def served(sqlite_db, clock):
    data = dict(TEST_CONFIG)
    data["channels"] = [*TEST_CONFIG["channels"], {"id": "feishu:oc_en", "client": "lanji", "language": "en"},
                        {"id": "feishu:oc_zh", "client": "lanji"}]
    with served_feishu_bot(sqlite_db, parse_config(data, source="tests"), clock) as running:
        yield running


def first_fields(fake, chat_id: str) -> dict[str, str]:
    """action id -> the placeholder of its field, for the first form of each kind on the chat's run card."""
    def card():
        return next((m.card for m in fake.sent(chat_id) if m.msg_type == "interactive" and "crisis.skip" in str(m.card)),
                    None)

    found: dict[str, str] = {}
    for form in (e for e in wait_until(card, what="the run card")["body"]["elements"] if e.get("tag") == "form"):
        (field,) = [n for n in card_nodes(form) if n.get("tag") in FIELD_TAGS]
        (button,) = [n for n in card_nodes(form) if n.get("tag") == "button"]
        (value,) = [b["value"] for b in button["behaviors"] if b["type"] == "callback"]
        found.setdefault(value["action_id"], field["placeholder"]["content"])
    return found


def test_the_forms_on_the_card_follow_the_chats_language(served, clock):
    _bot, url, client, fake = served
    events = FeishuEvents(clock)
    for chat_id, title in (("oc_en", "Cream"), ("oc_zh", "面霜")):
        message = events.message(f"/crisis start negative-outbreak {title} --severity 1", chat_id=chat_id)
        assert post_event(client, url, events, message).status_code == 200
    assert first_fields(fake, "oc_en") == {"crisis.skip": "Reason (required)", "crisis.assign": "Assign to"}
    assert first_fields(fake, "oc_zh") == {"crisis.skip": "跳过原因（必填） / Reason (required)",
                                           "crisis.assign": "指派给 / Assign to"}
