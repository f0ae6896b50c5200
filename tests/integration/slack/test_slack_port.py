"""SlackChatPort against the fake Slack Web API: what it sends, how it retries, how errors are mapped."""

from __future__ import annotations

import logging

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from bot.adapters.slack.port import SlackChatPort
from bot.adapters.slack.wiring import load_credentials, wire
from bot.config import Settings
from bot.messages import Button, CredentialChatError, Image, Message, PermanentChatError, TransientChatError
from bot.wiring import Wiring
from tests.fakes.slack_api import VALID_BOT_TOKEN, ScriptedAnswer, rate_limited, server_error


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def port(fake_slack, sleeps):
    return SlackChatPort(VALID_BOT_TOKEN, base_url=fake_slack.base_url.rstrip("/"), sleep=sleeps.append)


def test_post_sends_block_kit_with_the_bot_token_and_returns_the_ts(port, fake_slack):
    ts = port.post("C1", Message(title="标题", text="**正文**", buttons=(Button("确认", "a.ack", "1"),)),
                   idempotency_key="k1")
    (call,) = fake_slack.calls("chat.postMessage")
    assert call.headers["Authorization"] == "Bearer " + VALID_BOT_TOKEN
    assert call.args["channel"] == "C1" and call.args["text"].startswith("标题")
    assert [b["type"] for b in call.args["blocks"]] == ["header", "section", "actions"]
    assert ts == fake_slack.successful("chat.postMessage")[0].answer["ts"]


def test_update_edits_the_message_in_place(port, fake_slack):
    ts = port.post("C1", Message(text="第一版"), idempotency_key="k1")
    port.update("C1", ts, Message(text="第二版"))
    (update,) = fake_slack.calls("chat.update")
    assert (update.args["channel"], update.args["ts"], update.args["text"]) == ("C1", ts, "第二版")
    with pytest.raises(PermanentChatError) as error:
        port.update("C1", "999.000", Message(text="x"))
    assert error.value.code == "message_not_found"


def test_png_images_are_uploaded_with_files_upload_v2_once_even_when_the_post_is_retried(port, fake_slack):
    message = Message(text="复盘", images=(Image("趋势图", png=b"\x89PNG-bytes", filename="trend.png"),))
    fake_slack.script("files.completeUploadExternal", server_error(503), server_error(503), server_error(503))
    with pytest.raises(TransientChatError):
        port.post("C1", message, idempotency_key="review-1")
    port.post("C1", message, idempotency_key="review-1")  # the outbox retries the whole post
    assert len(fake_slack.calls("chat.postMessage")) == 1
    uploads = fake_slack.calls("upload")
    assert uploads[-1].args["bytes"] == b"\x89PNG-bytes"
    (complete,) = fake_slack.successful("files.completeUploadExternal")
    assert complete.args["channel_id"] == "C1"
    file_id = port.upload("C1", Image("图", png=b"\x89PNG2"), idempotency_key="u2")
    assert file_id.startswith("F")


def test_short_rate_limit_is_waited_out_in_place(port, fake_slack, sleeps):
    fake_slack.script("chat.postMessage", rate_limited(2))
    port.post("C1", Message(text="x"), idempotency_key="k")
    assert sleeps == [2.0]
    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [429, 200]


def test_long_rate_limit_goes_back_to_the_outbox_with_retry_after(port, fake_slack, sleeps):
    fake_slack.script("chat.postMessage", rate_limited(45))
    with pytest.raises(TransientChatError) as error:
        port.post("C1", Message(text="x"), idempotency_key="k")
    assert error.value.retry_after == 45 and error.value.code == "ratelimited"
    assert not error.value.maybe_delivered  # a 429 is a refusal before anything was stored
    assert sleeps == []


def test_server_errors_are_retried_in_place_except_for_new_posts(port, fake_slack, sleeps):
    ts = port.post("C1", Message(text="x"), idempotency_key="k")
    fake_slack.script("chat.update", server_error(500), ScriptedAnswer(502, "bad gateway"))
    port.update("C1", ts, Message(text="y"))
    assert [c.status for c in fake_slack.calls("chat.update")] == [500, 502, 200]
    assert len(sleeps) == 2  # short backoffs, through the injected sleep
    # A 5xx may come after Slack stored a new message: no blind retry here, the outbox retries after a check.
    fake_slack.script("chat.postMessage", server_error(500))
    with pytest.raises(TransientChatError) as error:
        port.post("C1", Message(text="x"), idempotency_key="k2")
    assert error.value.code == "http_500" and error.value.maybe_delivered
    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [200, 500]
    fake_slack.down = True
    with pytest.raises(TransientChatError) as error:
        port.update("C1", ts, Message(text="z"))
    assert error.value.code == "http_503"


def test_connection_refused_is_transient_and_surely_not_delivered(sleeps):
    dead = SlackChatPort(VALID_BOT_TOKEN, base_url="http://127.0.0.1:9/api/", sleep=sleeps.append)
    with pytest.raises(TransientChatError) as error:
        dead.post("C1", Message(text="x"), idempotency_key="k")
    assert error.value.code == "connection_error"
    assert not error.value.maybe_delivered  # refused: nothing reached Slack, so no history check next time
    assert len(sleeps) == 1  # and so it was safe to retry once in place


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda fake: fake.unknown_channels.add("CGONE"), "channel_not_found"),
        (lambda fake: fake.not_in_channels.add("CGONE"), "not_in_channel"),
        (lambda fake: fake.archived_channels.add("CGONE"), "is_archived"),
    ],
)
def test_channel_errors_are_permanent_with_a_clear_log_line(port, fake_slack, caplog, setup, code):
    setup(fake_slack)
    with caplog.at_level(logging.ERROR, logger="crisisbot.slack"), pytest.raises(PermanentChatError) as error:
        port.post("CGONE", Message(text="x"), idempotency_key="k")
    assert error.value.code == code
    (line,) = [r.getMessage() for r in caplog.records if r.name == "crisisbot.slack"]
    assert code in line and "CGONE" in line


def test_bad_or_missing_token_is_a_credential_error_that_names_the_fix(fake_slack):
    for token, code in (("xoxb-wrong", "invalid_auth"), ("", "not_authed")):
        port = SlackChatPort(token, base_url=fake_slack.base_url)
        with pytest.raises(CredentialChatError) as error:
            port.post("C1", Message(text="x"), idempotency_key="k")
        assert error.value.code == code and "SLACK_BOT_TOKEN" in str(error.value)


@pytest.mark.parametrize("code", ["token_revoked", "token_expired", "account_inactive"])
def test_revoked_expired_or_inactive_tokens_are_credential_errors(port, fake_slack, code):
    from tests.fakes.slack_api import ScriptedAnswer

    fake_slack.script("chat.postMessage", ScriptedAnswer(200, {"ok": False, "error": code}))
    with pytest.raises(CredentialChatError) as error:
        port.post("C1", Message(text="x"), idempotency_key="k")
    assert error.value.code == code


def test_ephemeral_answers_use_response_url_or_post_ephemeral(port, fake_slack):
    url = fake_slack.response_url("r1")
    message_id = port.post("C1", Message(text="只有你能看到", ephemeral=True, meta={"reply": {"response_url": url}}),
                           idempotency_key="k1")
    (call,) = fake_slack.calls("response_url")
    assert call.args["response_type"] == "ephemeral" and call.path == "/response/r1"
    port.update("C1", message_id, Message(text="更新"))
    assert fake_slack.calls("response_url")[-1].args["replace_original"] is True
    port.post("C1", Message(text="悄悄话", ephemeral=True, meta={"reply": {"user_id": "U3"}}), idempotency_key="k2")
    (eph,) = fake_slack.calls("chat.postEphemeral")
    assert eph.args["user"] == "U3"


def test_ephemeral_falls_back_to_post_ephemeral_when_response_url_fails_or_is_foreign(port, fake_slack):
    url = fake_slack.response_url("r3")
    fake_slack.script("response_url", ScriptedAnswer(404, "expired_url"))
    port.post("C1", Message(text="用法", ephemeral=True, meta={"reply": {"response_url": url},
                                                             "in_reply_to_user": "slack:U8"}), idempotency_key="e1")
    assert fake_slack.calls("chat.postEphemeral")[-1].args["user"] == "U8"
    port.post("C1", Message(text="用法", ephemeral=True,
                            meta={"reply": {"response_url": "https://evil.example/steal", "user_id": "U9"}}),
              idempotency_key="e2")
    assert fake_slack.calls("chat.postEphemeral")[-1].args["user"] == "U9"
    assert port.response_url_allowed("https://hooks.slack.com/commands/T1/1/x")
    assert not port.response_url_allowed("http://hooks.slack.com/commands/T1/1/x")
    # no way to answer privately: the answer goes to the channel rather than being lost
    port.post("C1", Message(text="用法", ephemeral=True), idempotency_key="e3")
    assert fake_slack.calls("chat.postMessage")[-1].args["text"] == "用法"


def test_response_url_failures_are_mapped(port, fake_slack):
    url = fake_slack.response_url("r2")
    fake_slack.script("response_url", ScriptedAnswer(404, "expired_url"))
    with pytest.raises(PermanentChatError):
        port.post("C1", Message(text="x", ephemeral=True, meta={"reply": {"response_url": url}}), idempotency_key="a")
    fake_slack.script("response_url", ScriptedAnswer(503, "down"), ScriptedAnswer(503, "down"),
                      ScriptedAnswer(503, "down"))
    with pytest.raises(TransientChatError):
        port.post("C1", Message(text="x", ephemeral=True, meta={"reply": {"response_url": url}}), idempotency_key="b")


def test_wire_turns_slack_on_only_with_credentials(bot, fake_slack):
    wiring = Wiring(services=bot.services, scheduler=BackgroundScheduler())
    bot.services.settings = Settings(_env_file=None)  # type: ignore[call-arg]
    wire(wiring)
    assert wiring.routes == [] and "slack" not in bot.services.outbox.ports
    bot.services.settings = Settings(_env_file=None, slack_bot_token=VALID_BOT_TOKEN,  # type: ignore[call-arg]
                                     slack_signing_secret="s", slack_api_url=fake_slack.base_url)
    wire(wiring)
    assert [r.path for r in wiring.routes] == ["/slack/events"]
    assert bot.services.outbox.ports["slack"].base_url == fake_slack.base_url
    assert wiring.on_start == []  # no Socket Mode without SLACK_APP_TOKEN
    creds = load_credentials(Settings(_env_file=None, slack_app_token="xapp-1", slack_bot_token="xoxb-1"))  # type: ignore[call-arg]
    assert creds.socket_mode_enabled and not creds.http_enabled
