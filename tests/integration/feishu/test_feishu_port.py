"""FeishuChatPort against the local fake Open API, through the real lark-oapi client."""

from __future__ import annotations

import json
import logging
import socket
import uuid

import pytest

from bot.adapters.feishu.port import FeishuChatPort, feishu_uuid
from bot.adapters.feishu.settings import FeishuSettings
from bot.messages import Button, CredentialChatError, Image, Message, PermanentChatError, TransientChatError
from tests.fakes.feishu_api import FakeFeishuApi

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


def make_port(fake: FakeFeishuApi, **kw) -> FeishuChatPort:
    # a fresh app id per test: the SDK caches tenant tokens process-wide, keyed by app id
    app_id = kw.pop("app_id", f"cli_{uuid.uuid4().hex[:12]}")
    if fake.apps is not None:
        fake.apps.setdefault(app_id, "secret")
    settings = FeishuSettings(app_id, kw.pop("app_secret", "secret"), domain=kw.pop("domain", fake.url))
    return FeishuChatPort(settings, **kw)


def test_post_creates_a_card_in_the_chat_with_the_idempotency_uuid(fake):
    port = make_port(fake)
    message = Message(title="告警", text="负面激增", severity=1, buttons=(Button("认领", "alert.ack", "7"),))
    message_id = port.post("oc_ops", message, idempotency_key="alert:1")
    create = fake.calls("message.create")[-1]
    assert create.query == {"receive_id_type": "chat_id"}
    assert create.body["receive_id"] == "oc_ops"
    assert create.body["msg_type"] == "interactive"
    assert create.body["uuid"] == "alert:1"
    assert create.headers["Authorization"].startswith("Bearer t-")
    card = json.loads(create.body["content"])
    assert card["schema"] == "2.0" and card["config"]["update_multi"] is True
    assert fake.messages[message_id].chat_id == "oc_ops"


def test_tenant_token_is_fetched_once_then_reused(fake):
    port = make_port(fake)
    for i in range(3):
        port.post("oc_ops", Message(text=f"#{i}"), idempotency_key=f"k{i}")
    assert len(fake.calls("token")) == 1
    assert len({r.headers["Authorization"] for r in fake.calls("message.create")}) == 1


def test_a_retried_post_does_not_post_twice(fake):
    port = make_port(fake)
    first = port.post("oc_ops", Message(text="once"), idempotency_key="same-key")
    second = port.post("oc_ops", Message(text="once"), idempotency_key="same-key")
    assert first == second
    assert len(fake.sent("oc_ops")) == 1


def test_long_idempotency_keys_fit_feishus_uuid_limit():
    key = "reply:feishu:" + "e" * 80 + ":0"
    assert len(feishu_uuid(key)) <= 50
    assert feishu_uuid(key) == feishu_uuid(key) != feishu_uuid(key + "1")
    assert feishu_uuid("short") == "short"


def test_answer_to_a_command_is_a_reply_to_its_message(fake):
    port = make_port(fake)
    message = Message(text="已开始", meta={"reply": {"message_id": "om_cmd"}})
    port.post("oc_ops", message, idempotency_key="reply:1")
    assert fake.calls("message.create") == []
    reply = fake.calls("message.reply")[-1]
    assert reply.path == "/open-apis/im/v1/messages/om_cmd/reply"
    assert reply.body["uuid"] == "reply:1"


def test_reply_to_a_withdrawn_message_goes_to_the_chat(fake):
    port = make_port(fake)
    fake.withdrawn.add("om_gone")
    message_id = port.post("oc_ops", Message(text="x", meta={"reply": {"message_id": "om_gone"}}), idempotency_key="r2")
    assert fake.messages[message_id].chat_id == "oc_ops"


@pytest.mark.parametrize("kind", ["not_found", "code"])
def test_a_reply_that_cannot_be_made_is_posted_in_the_chat(fake, kind):
    port = make_port(fake)
    fake.fail_next("message.reply", kind, code=230002)
    message_id = port.post("oc_ops", Message(text="x", meta={"reply": {"message_id": "om_c"}}), idempotency_key="r3")
    assert fake.messages[message_id].chat_id == "oc_ops" and fake.messages[message_id].parent_id is None
    assert len(fake.calls("message.reply")) == 1 and len(fake.calls("message.create")) == 1


def test_a_rate_limited_reply_is_retried_as_a_reply(fake):
    port = make_port(fake)
    fake.fail_next("message.reply", "rate_limit")
    with pytest.raises(TransientChatError):
        port.post("oc_ops", Message(text="x", meta={"reply": {"message_id": "om_c"}}), idempotency_key="r4")
    assert fake.calls("message.create") == []


def test_update_patches_the_card(fake):
    port = make_port(fake)
    message_id = port.post("oc_ops", Message(title="运行中", text="步骤 1"), idempotency_key="run:1")
    port.update("oc_ops", message_id, Message(title="运行中", text="步骤 2"))
    patch = fake.calls("message.patch")[-1]
    assert patch.method == "PATCH" and patch.path.endswith(message_id)
    assert "步骤 2" in json.dumps(fake.messages[message_id].card, ensure_ascii=False)


def test_images_are_uploaded_and_shown(fake):
    port = make_port(fake)
    message_id = port.post("oc_ops", Message(text="复盘", images=(Image("趋势", png=PNG),)), idempotency_key="img:1")
    upload = fake.calls("image.create")[-1]
    assert upload.body["image_type"] == "message" and upload.body["image"] == PNG
    card = fake.messages[message_id].card
    keys = [e.get("img_key") for e in card["body"]["elements"] if e["tag"] == "img"]
    assert keys and keys[0] in fake.images
    upload_id = port.upload("oc_ops", Image("趋势", png=PNG), idempotency_key="img:2")
    assert fake.messages[upload_id].msg_type == "image"


def test_frequency_limit_is_transient_with_retry_after_then_succeeds(fake):
    port = make_port(fake)
    fake.fail_next("message.create", "rate_limit", seconds=3)
    with pytest.raises(TransientChatError) as caught:
        port.post("oc_ops", Message(text="x"), idempotency_key="rl")
    assert caught.value.code == "99991400" and caught.value.retry_after == 3
    assert port.post("oc_ops", Message(text="x"), idempotency_key="rl")
    assert len(fake.sent("oc_ops")) == 1


@pytest.mark.parametrize("kind", ["server_error", "bad_gateway"])
def test_5xx_is_transient(fake, kind):
    port = make_port(fake)
    fake.fail_next("message.create", kind)
    with pytest.raises(TransientChatError):
        port.post("oc_ops", Message(text="x"), idempotency_key="k")


def test_outage_of_the_token_endpoint_is_transient(fake):
    port = make_port(fake)
    fake.outage = True
    with pytest.raises(TransientChatError):
        port.post("oc_ops", Message(text="x"), idempotency_key="k")
    fake.outage = False
    assert port.post("oc_ops", Message(text="x"), idempotency_key="k")


def test_unreachable_api_is_transient():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port_number = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    settings = FeishuSettings(f"cli_{uuid.uuid4().hex[:8]}", "s", domain=f"http://127.0.0.1:{port_number}")
    with pytest.raises(TransientChatError):
        FeishuChatPort(settings).post("oc_ops", Message(text="x"), idempotency_key="k")


def test_slow_answer_times_out_as_transient(fake):
    port = make_port(fake, timeout_s=0.3)
    port.post("oc_ops", Message(text="warm"), idempotency_key="warm")  # token fetched
    fake.fail_next("message.create", "slow", seconds=1.0)
    with pytest.raises(TransientChatError):
        port.post("oc_ops", Message(text="x"), idempotency_key="slow")


def test_revoked_token_is_refreshed_once(fake):
    port = make_port(fake)
    port.post("oc_ops", Message(text="a"), idempotency_key="a")
    fake.revoke_tokens()
    port.post("oc_ops", Message(text="b"), idempotency_key="b")
    assert len(fake.calls("token")) == 2
    codes = [r.headers.get("Authorization") for r in fake.calls("message.create")]
    assert len(codes) == 3  # a, b refused with 99991663, b again with the new token


def test_bot_not_in_chat_is_permanent(fake):
    port = make_port(fake)
    fake.member_chats = {"oc_ops"}
    with pytest.raises(PermanentChatError) as caught:
        port.post("oc_elsewhere", Message(text="x"), idempotency_key="k")
    assert caught.value.code == "230002"


def test_wrong_app_secret_is_a_credential_error_that_names_the_fix():
    with FakeFeishuApi(apps={"cli_known": "right"}) as fake:
        port = make_port(fake, app_id=f"cli_{uuid.uuid4().hex[:8]}", app_secret="wrong")
        fake.apps[port.settings.app_id] = "right"
        with pytest.raises(CredentialChatError) as caught:
            port.post("oc_ops", Message(text="x"), idempotency_key="k")
        assert caught.value.code == "10014" and "FEISHU_APP_SECRET" in str(caught.value)


@pytest.mark.parametrize("code", [99991663, 99991664, 99991661])
def test_a_fresh_token_refused_again_is_a_credential_error(fake, code):
    port = make_port(fake)
    fake.fail_next("message.create", "code", code=code, times=2)
    with pytest.raises(CredentialChatError) as caught:
        port.post("oc_ops", Message(text="x"), idempotency_key="k")
    assert caught.value.code == str(code)
    assert len(fake.calls("token")) == 2  # it did fetch a new token once before giving up


def test_the_fake_answers_like_feishu_without_a_token_or_fields(fake):
    import requests

    base = fake.url + "/open-apis/im/v1/messages"
    assert requests.post(base, json={}, timeout=5).json()["code"] == 99991661
    bad = requests.post(base, json={}, headers={"Authorization": "Bearer t-forged"}, timeout=5).json()
    assert bad["code"] == 99991663
    token = requests.post(
        fake.url + "/open-apis/auth/v3/tenant_access_token/internal", json={"app_id": "a", "app_secret": "b"}, timeout=5
    ).json()["tenant_access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    missing = requests.post(base, json={"receive_id": "oc"}, headers=auth, timeout=5).json()
    assert missing["code"] == 99992402
    assert requests.post(fake.url + "/open-apis/auth/v3/tenant_access_token/internal", json={}, timeout=5).json()[
        "code"
    ] == 10003


def test_display_name_from_the_contact_api_is_cached(fake):
    fake.users["ou_wang"] = "王芳"
    port = make_port(fake)
    assert port.display_name("ou_wang") == "王芳"
    assert port.display_name("ou_wang") == "王芳"
    lookups = fake.calls("contact.user.get")
    assert len(lookups) == 1
    assert lookups[0].path == "/open-apis/contact/v3/users/ou_wang"
    assert lookups[0].query["user_id_type"] == "open_id"


def test_display_name_is_none_outside_the_contact_range_and_not_asked_again_at_once(fake, caplog):
    port = make_port(fake)
    assert port.display_name("ou_stranger") is None
    assert port.display_name("ou_stranger") is None
    assert len(fake.calls("contact.user.get")) == 1
    assert "contact:user.base:readonly" in caplog.text
    # One warning that names the scope; no ERROR line blaming "the chat id or the bot's membership".
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_display_name_during_an_outage_is_none_and_nothing_raises(fake):
    fake.users["ou_wang"] = "王芳"
    port = make_port(fake)
    fake.fail_next("contact.user.get", "server_error")
    assert port.display_name("ou_wang") is None


def test_people_named_by_address_in_a_message_show_by_name(fake):
    fake.users["ou_zhang"] = "张三"
    port = make_port(fake)
    port.post("oc_ops", Message(text="👤 verify → feishu:ou_zhang"), idempotency_key="assign")
    (sent,) = fake.sent("oc_ops")
    assert sent.card["body"]["elements"][0]["content"] == "👤 verify → 张三"


def test_a_name_lookup_with_a_wrong_secret_does_not_blame_the_contact_scope(caplog):
    with FakeFeishuApi(apps={}) as fake:
        port = make_port(fake, app_id=f"cli_{uuid.uuid4().hex[:8]}", app_secret="wrong")
        fake.apps[port.settings.app_id] = "right"
        assert port.display_name("ou_wang") is None
        assert "contact:user.base:readonly" not in caplog.text
