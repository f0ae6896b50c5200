"""A mention inside a thread is answered in that thread, ephemeral answers included."""

from __future__ import annotations


def test_an_ephemeral_answer_to_a_mention_in_a_thread_stays_in_the_thread(slack_bot, fake_slack):
    _, sender = slack_bot
    # "/crisis status" with no run answers only the person who asked (chat.postEphemeral: a mention has
    # no response_url); shown outside the thread it would land in the channel's main view.
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> /crisis status", "ts": "1700000901.000200",
             "thread_ts": "1700000900.000100", "channel": "C1", "event_ts": "1700000901.000200"}
    assert sender.post(sender.event_body(event), "application/json").status_code == 200
    (call,) = fake_slack.wait_for("chat.postEphemeral")
    assert call.args["user"] == "U1" and call.args["thread_ts"] == "1700000900.000100"
