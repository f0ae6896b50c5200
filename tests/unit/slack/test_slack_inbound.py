import json

from bot.adapters.slack.inbound import (
    action_from_view_submission,
    actions_from_block_actions,
    command_from_mention,
    command_from_slash,
    command_text_from_mention,
    form_metadata,
    mention_duplicate_key,
)
from bot.adapters.slack.render import build_modal, form_spec_for


def slash(**overrides):
    body = {"command": "/crisis", "text": "status", "channel_id": "C1", "user_id": "U1", "user_name": "ann",
            "trigger_id": "123.456.abc", "response_url": "https://hooks.slack.test/commands/1", "team_id": "T1"}
    body.update(overrides)
    return body


def test_slash_command_becomes_a_neutral_command_with_reply_info():
    command = command_from_slash(slash(text="start 负面舆情爆发 &quot;x&quot; &lt;y&gt;"))
    assert command.platform == "slack" and command.channel == "slack:C1" and command.user == "slack:U1"
    assert command.text == "/crisis start 负面舆情爆发 &quot;x&quot; <y>"
    assert command.user_name == "ann"
    assert command.reply["response_url"] == "https://hooks.slack.test/commands/1"
    assert command.event_id.startswith("cmd:")
    assign = command_from_slash(slash(text="assign 2 <@U77|bo> <#C9|ops> <https://x.test/a|x.test/a>"))
    assert assign.text == "/crisis assign 2 slack:U77 #C9 https://x.test/a"


def test_event_ids_are_stable_per_delivery_and_differ_between_invocations():
    assert command_from_slash(slash()).event_id == command_from_slash(slash()).event_id
    assert command_from_slash(slash()).event_id != command_from_slash(slash(trigger_id="other")).event_id
    no_trigger = slash(trigger_id=None)
    first = command_from_slash(no_trigger, request_timestamp="1700000000")
    assert first.event_id == command_from_slash(no_trigger, request_timestamp="1700000000").event_id
    assert first.event_id != command_from_slash(no_trigger, request_timestamp="1700000001").event_id


def test_mentions_are_handled_like_the_command_they_contain():
    assert command_text_from_mention("<@UBOT> /crisis status") == "/crisis status"
    assert command_text_from_mention("<@UBOT|crisisbot>：/reply-queue list") == "/reply-queue list"
    assert command_text_from_mention("<@UBOT> help") == "/help"
    assert command_text_from_mention("<@UBOT>") == "/help"
    assert command_text_from_mention("<@UBOT> ／crisis status") == "／crisis status"
    assert command_text_from_mention("<@UBOT> /watch add <https://v.douyin.com/x|v.douyin.com/x>") == (
        "/watch add https://v.douyin.com/x"
    )
    envelope = {"event_id": "Ev9", "event": {"type": "app_mention", "user": "U2", "channel": "C3", "ts": "1.5",
                                            "text": "<@UBOT> /crisis status"}}
    command = command_from_mention(envelope)
    assert (command.text, command.channel, command.user, command.event_id) == (
        "/crisis status", "slack:C3", "slack:U2", "msg:C3:1.5")
    again = {**envelope, "event_id": "Ev10"}  # Slack re-sent the same message under another event id
    assert mention_duplicate_key(again) == mention_duplicate_key(envelope)
    # the stored event id is the message's too, so a re-send under a new id is caught after a restart
    assert command_from_mention(again).event_id == command.event_id


def block_actions(action_id="alert.ack", value="42", trigger="t1"):
    return {
        "type": "block_actions", "trigger_id": trigger, "user": {"id": "U1", "username": "ann"},
        "channel": {"id": "C1"}, "container": {"type": "message", "message_ts": "5.5", "channel_id": "C1"},
        "response_url": "https://hooks.slack.test/actions/1",
        "actions": [{"action_id": action_id, "value": value, "block_id": "b", "action_ts": "9.9", "type": "button"}],
    }


def test_button_press_becomes_an_action_with_the_message_reference():
    (action,) = actions_from_block_actions(block_actions("queue.claim~~2", "c7"))
    assert action.action_id == "queue.claim" and action.value == "c7"
    assert action.channel == "slack:C1" and action.user == "slack:U1" and action.message_ref == "5.5"
    assert action.event_id.startswith("act:")
    assert actions_from_block_actions(block_actions("crisisbot.link.2", "")) == []
    select = block_actions()
    select["actions"] = [{"action_id": "sentiment.set", "selected_option": {"value": "neg"}, "action_ts": "1"}]
    assert actions_from_block_actions(select)[0].value == "neg"


def test_a_submitted_modal_rebuilds_the_action_with_the_form_values():
    (action,) = actions_from_block_actions(block_actions("playbook.step.skip", "run1:3"))
    view = build_modal(form_spec_for(action.action_id), form_metadata(action))
    submission = {
        "type": "view_submission", "user": {"id": "U5", "username": "bo"}, "trigger_id": "t9",
        "view": {**view, "id": "V1", "hash": "h1",
                 "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": "已私信处理"}}}}},
    }
    rebuilt = action_from_view_submission(submission)
    assert rebuilt.action_id == "playbook.step.skip" and rebuilt.value == "run1:3"
    assert rebuilt.form == {"reason": "已私信处理"} and rebuilt.channel == "slack:C1" and rebuilt.user == "slack:U5"
    assert rebuilt.reply["response_url"] == "https://hooks.slack.test/actions/1"
    assign = {"type": "view_submission", "user": {"id": "U5"},
              "view": {"callback_id": "crisisbot.form", "private_metadata": json.dumps({"action_id": "crisis.assign"}),
                       "state": {"values": {"user": {"user": {"selected_user": "U77"}}}}}}
    assert action_from_view_submission(assign).form == {"user": "slack:U77"}
    assert action_from_view_submission({"view": {"callback_id": "other"}}) is None


def test_a_link_button_click_is_not_an_action_whatever_its_action_id():
    # Slack sends block_actions for URL buttons as well; "feeds:open" (an announcement's 查看详情 button)
    # reached the dispatcher and was answered "这个按钮已失效 / This button is no longer active".
    click = block_actions("feeds:open", "")
    click["actions"][0]["url"] = "https://rules.example/notice/1"
    assert actions_from_block_actions(click) == []
