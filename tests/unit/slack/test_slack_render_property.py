"""Any neutral Message renders to Block Kit that slack_sdk's models accept (lengths, counts, shapes)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.slack.render import block_kit_problems, build_modal, form_spec_for, render_message
from bot.messages import Button, Field, Image, Message, Section

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
short = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=120)
ids = st.from_regex(r"[a-z]{1,8}\.[a-z_]{1,10}(:[0-9]{1,4})?", fullmatch=True)
buttons = st.builds(Button, label=short, action_id=ids, value=st.text(max_size=3000),
                    style=st.sampled_from(["default", "primary", "danger"]),
                    url=st.none() | st.just("https://example.com/x"))
fields = st.builds(Field, label=short, value=text)
sections = st.builds(Section, text=text, buttons=st.lists(buttons, max_size=30).map(tuple),
                     fields=st.lists(fields, max_size=12).map(tuple))
images = st.builds(Image, title=short, url=st.just("https://example.com/a.png"))
messages = st.builds(
    Message,
    text=text | st.text(min_size=2990, max_size=3500),
    title=st.none() | st.text(max_size=300),
    fields=st.lists(fields, max_size=25).map(tuple),
    sections=st.lists(sections, max_size=30).map(tuple),
    buttons=st.lists(buttons, max_size=30).map(tuple),
    images=st.lists(images, max_size=3).map(tuple),
    severity=st.none() | st.integers(0, 5),
    mentions=st.lists(st.sampled_from(["here", "all", "slack:U0ABC123", "U0XYZ99", "feishu:ou_1"]), max_size=3).map(tuple),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(messages)
def test_every_message_renders_to_valid_block_kit(message):
    payload = render_message(message)
    assert payload["text"].strip()
    assert block_kit_problems(payload) == []


def test_modals_are_valid_block_kit():
    for action_id in ("crisis.skip", "crisis.assign", "comments.relabel", "reply.done:3", "reply.reject:3"):
        view = build_modal(form_spec_for(action_id), {"action_id": action_id})
        assert block_kit_problems({"blocks": view["blocks"]}) == []


def test_text_holding_the_link_markers_renders():
    # the kept links are marked with NUL-number-NUL: a value that already held such a marker raised IndexError
    from bot.adapters.slack.render import to_mrkdwn

    assert to_mrkdwn("\x000\x00 [官网](https://example.com) \x007\x00") == "0 <https://example.com|官网> 7"
