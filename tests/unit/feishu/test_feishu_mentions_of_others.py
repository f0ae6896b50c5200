"""Whose @ a group message carries: only this bot's addresses it; @所有人 reads as "@所有人"."""

from __future__ import annotations

from bot.adapters.feishu.events import command_from_message_event, strip_mentions
from tests.unit.feishu.test_feishu_events import message_event

OURS = "ou_crisisbot"
WEATHER_BOT = [{"key": "@_user_1", "id": {"open_id": "ou_weatherbot"}, "name": "天气机器人", "mentioned_type": "bot"}]
CRISISBOT = [{"key": "@_user_1", "id": {"open_id": OURS}, "name": "crisisbot", "mentioned_type": "bot"}]


def test_a_message_to_another_bot_is_not_a_command_for_this_one():
    assert command_from_message_event(message_event("@_user_1 帮我查一下明天北京天气", mentions=WEATHER_BOT), OURS) is None
    assert command_from_message_event(message_event("@_user_1 help", mentions=WEATHER_BOT), OURS) is None


def test_this_bots_own_mention_still_addresses_it():
    command = command_from_message_event(message_event("@_user_1 help", mentions=CRISISBOT), OURS)
    assert command is not None and command.text == "/help"
    # typed after the command, our @ is no argument; another bot's is named like a person
    assert strip_mentions("/crisis status @_user_1 @_user_2", [*CRISISBOT, {**WEATHER_BOT[0], "key": "@_user_2"}],
                          OURS) == "/crisis status feishu:ou_weatherbot"


def test_while_the_open_id_is_unknown_any_bots_mention_counts_as_before():
    command = command_from_message_event(message_event("@_user_1 help", mentions=WEATHER_BOT))
    assert command is not None and command.text == "/help"


def test_at_all_reads_as_at_all_in_the_command_text():
    mentions = [*CRISISBOT, {"key": "@_all", "name": "所有人"}]
    command = command_from_message_event(message_event("@_user_1 /crisis note 请 @_all 注意口径", mentions=mentions), OURS)
    assert command is not None and command.text == "/crisis note 请 @所有人 注意口径"
    assert strip_mentions("/crisis note @_all 看这里", []) == "/crisis note @所有人 看这里"
