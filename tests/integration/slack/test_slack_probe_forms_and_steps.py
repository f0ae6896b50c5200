"""Signed payloads found by an outside probe of POST /slack/events (real HTTP into the whole bot under uvicorn):
- a workflow-step payload without its `workflow_step` object: Bolt reads it for every middleware, and the
  KeyError escaped its error handler too (400, but an ERROR with a traceback for a bad request);
- a submission of our own form whose private_metadata names no Slack channel: acknowledged (200), then
  the dispatcher failed it with an ERROR ("channel address must look like 'platform:id'").
"""

from __future__ import annotations

import json

import pytest

from tests.integration.slack.test_slack_hostile_requests import assert_still_working
from tests.integration.slack.test_slack_payload_shapes import BASE, FORM, errors_logged, interaction, trigger

pytestmark = pytest.mark.slow

STEPS = {
    "workflow_step_edit": {**BASE, "type": "workflow_step_edit", "callback_id": "step", "trigger_id": "1.2.3"},
    "workflow_step-view_submission": {
        **BASE, "type": "view_submission", "trigger_id": "1.2.3",
        "view": {"id": "V1", "type": "workflow_step", "callback_id": "step", "state": {"values": {}}}},
}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_a_workflow_step_payload_without_its_step_is_400_without_an_error_logged(slack_bot, fake_slack, caplog, name):
    bot, sender = slack_bot
    response = sender.post(interaction(STEPS[name]), FORM)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "malformed payload"}
    assert not errors_logged(caplog), [r.getMessage() for r in errors_logged(caplog)]
    assert_still_working(bot, sender, fake_slack)


@pytest.mark.parametrize("metadata", [{"action_id": "reply.skip:1"},
                                      {"action_id": "reply.skip:1", "channel": "slack:"},
                                      {"action_id": "reply.skip:1", "channel": "console:lanji"}])
def test_our_form_submitted_without_a_slack_channel_is_acknowledged_and_nothing_runs(
        slack_bot, fake_slack, caplog, metadata):
    bot, sender = slack_bot
    payload = {**BASE, "type": "view_submission", "trigger_id": trigger(),
               "view": {"id": "V1", "hash": "h", "type": "modal", "callback_id": "crisisbot.form",
                        "private_metadata": json.dumps(metadata),
                        "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": "x"}}}}}}
    response = sender.post(interaction(payload), FORM)
    assert response.status_code == 200, response.text
    assert response.content == b""  # a plain ack: the modal closes
    # the command after it is the only thing handled, and nothing failed in the dispatcher
    assert_still_working(bot, sender, fake_slack)
    assert not errors_logged(caplog), [r.getMessage() for r in errors_logged(caplog)]
