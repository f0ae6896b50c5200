"""One @mention, one answer: also when Slack re-sends the message under a new event id after a restart."""

from __future__ import annotations

from tests.fakes.slack_api import SlackSender


def test_a_mention_resent_under_a_new_event_id_after_a_restart_is_answered_once(fake_slack, sqlite_db, app_config,
                                                                                clock, slack_harness):
    settings = slack_harness.settings(fake_slack)
    with slack_harness.running_bot(settings, app_config, sqlite_db, clock) as (bot, base_url):
        sender = SlackSender(base_url + "/slack/events", slack_harness.secret, fake_slack)
        assert sender.mention("<@UBOT> /help", event_id="EvFIRST", ts="1700000600.000100").status_code == 200
        fake_slack.wait_for("chat.postMessage")
        bot.services.dispatcher.shutdown()
        sender.close()
    # A new process (nothing in memory): the same message arrives again under another event id.
    with slack_harness.running_bot(settings, app_config, sqlite_db, clock) as (bot, base_url):
        sender = SlackSender(base_url + "/slack/events", slack_harness.secret, fake_slack)
        assert sender.mention("<@UBOT> /help", event_id="EvRESENT", ts="1700000600.000100").status_code == 200
        assert sender.mention("<@UBOT> /help", event_id="EvNEXT", ts="1700000700.000100").status_code == 200
        fake_slack.wait_for("chat.postMessage", 2)  # the next message is answered ...
        bot.services.dispatcher.shutdown()  # ... and all handed-over work is done
        sender.close()
    assert len(fake_slack.successful("chat.postMessage")) == 2
