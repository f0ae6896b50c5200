"""The forms buttons need (bot/adapters/forms.py) in a channel's language: the same keys and kinds, their words
English alone in a channel set to English, Chinese first with English otherwise (as they always were)."""

from __future__ import annotations

import pytest

from bot.adapters.forms import FORM_SPECS, form_spec_for
from bot.adapters.slack.render import build_modal

ACTIONS = ["crisis.skip", "crisis.assign", "reply.skip:42", "reply.done:42", "reply.reject:7", "comments.relabel",
           "crisis.cancel"]


@pytest.mark.parametrize("action_id", ACTIONS)
def test_an_english_form_asks_for_the_same_thing_in_english(action_id):
    zh, en = form_spec_for(action_id), form_spec_for(action_id, "en")
    assert (en.kind, en.key, en.optional) == (zh.kind, zh.key, zh.optional)
    assert zh.lang == "zh" and zh in FORM_SPECS.values()
    assert en.lang == "en" and "/" not in en.title + en.label
    assert all(ord(c) < 0x2E80 for c in en.title + en.label + en.placeholder), en


def test_buttons_without_a_form_have_none_in_either_language():
    assert form_spec_for("crisis.done", "en") is None and form_spec_for("crisis.done") is None


def test_an_english_relabel_modal_offers_the_labels_in_english():
    view = build_modal(form_spec_for("comments.relabel", "en"), {"action_id": "comments.relabel"})
    options = view["blocks"][0]["element"]["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [("neg", "negative"), ("neu", "neutral"),
                                                                   ("pos", "positive")]
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == ("Relabel", "Submit", "Cancel")
    chinese = build_modal(form_spec_for("comments.relabel"), {"action_id": "comments.relabel"})
    assert [o["text"]["text"] for o in chinese["blocks"][0]["element"]["options"]][0] == "负面 / negative"
    assert chinese["submit"]["text"] == "提交 / Submit"
