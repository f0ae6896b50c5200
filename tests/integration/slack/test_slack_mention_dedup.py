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


def test_an_event_id_delivered_again_with_another_message_ts_is_answered_once_also_after_a_restart(
        fake_slack, sqlite_db, app_config, clock, slack_harness):
    # "duplicate event ids are processed once" (issue #8): the envelope's event_id is a key of its own, not
    # only the message (channel, ts) it carries
    settings = slack_harness.settings(fake_slack)
    with slack_harness.running_bot(settings, app_config, sqlite_db, clock) as (bot, base_url):
        sender = SlackSender(base_url + "/slack/events", slack_harness.secret, fake_slack)
        assert sender.mention("<@UBOT> /help", event_id="EvDUP1", ts="1700000800.000100").status_code == 200
        assert sender.mention("<@UBOT> /help", event_id="EvDUP1", ts="1700000800.000200").status_code == 200
        assert sender.mention("<@UBOT> /help", event_id="EvDUP1", ts="1700000800.000300",
                              retry_num=1).status_code == 200
        fake_slack.wait_for("chat.postMessage")
        bot.services.dispatcher.shutdown()
        sender.close()
    with slack_harness.running_bot(settings, app_config, sqlite_db, clock) as (bot, base_url):
        sender = SlackSender(base_url + "/slack/events", slack_harness.secret, fake_slack)
        assert sender.mention("<@UBOT> /help", event_id="EvDUP1", ts="1700000800.000400").status_code == 200
        assert sender.mention("<@UBOT> /help", event_id="EvOTHER", ts="1700000900.000100").status_code == 200
        fake_slack.wait_for("chat.postMessage", 2)
        bot.services.dispatcher.shutdown()
        sender.close()
    assert len(fake_slack.successful("chat.postMessage")) == 2
