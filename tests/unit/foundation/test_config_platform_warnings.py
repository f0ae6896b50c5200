"""`config check` warns (Chinese first, exit 0) about chat setups that validate but cannot work:
half-set credentials (the platform stays off), Feishu over HTTP without its verification token (every
event answered 503), and channels on a platform that is off (their messages would wait for good)."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

ENV = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET",
       "FEISHU_VERIFICATION_TOKEN", "FEISHU_ENCRYPT_KEY", "CRISISBOT_DEFAULT_CHANNEL", "CRISISBOT_FEISHU_MODE",
       "CRISISBOT_DATABASE_URL", "DATABASE_URL")


def _check(tmp_path, monkeypatch, data: dict | None = None, **env: str):
    from bot.cli import app

    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data or {}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output  # warnings only: the bot can run
    return [line.removeprefix("注意 / warning: ") for line in result.stderr.splitlines()
            if line.startswith("注意 / warning: ")]


def test_a_slack_bot_token_alone_is_reported(tmp_path, monkeypatch):
    (warning,) = _check(tmp_path, monkeypatch, SLACK_BOT_TOKEN="xoxb-1")
    assert warning.startswith("Slack 未开启：只设置了 SLACK_BOT_TOKEN")
    assert "SLACK_SIGNING_SECRET" in warning and "SLACK_APP_TOKEN" in warning and "Slack stays off" in warning


def test_a_signing_secret_without_the_bot_token_is_reported(tmp_path, monkeypatch):
    (warning,) = _check(tmp_path, monkeypatch, SLACK_SIGNING_SECRET="s", SLACK_APP_TOKEN="xapp-1")
    assert "Slack 未开启" in warning and "SLACK_SIGNING_SECRET、SLACK_APP_TOKEN" in warning


def test_complete_slack_credentials_are_quiet(tmp_path, monkeypatch):
    assert _check(tmp_path, monkeypatch, {"channels": [{"id": "slack:C1"}]},
                  SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s") == []
    assert _check(tmp_path, monkeypatch, {"channels": [{"id": "slack:C1"}]},
                  SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1") == []


def test_feishu_over_http_without_the_verification_token_is_reported(tmp_path, monkeypatch):
    (warning,) = _check(tmp_path, monkeypatch, FEISHU_APP_ID="cli_1", FEISHU_APP_SECRET="x")
    assert warning.startswith("飞书事件收不到") and "FEISHU_VERIFICATION_TOKEN" in warning and "503" in warning
    assert "CRISISBOT_FEISHU_MODE=ws" in warning
    # the long connection needs no verification token; with the token (and the encrypt key) HTTP works
    assert _check(tmp_path, monkeypatch, FEISHU_APP_ID="cli_1", FEISHU_APP_SECRET="x", CRISISBOT_FEISHU_MODE="ws") == []
    assert _check(tmp_path, monkeypatch, FEISHU_APP_ID="cli_1", FEISHU_APP_SECRET="x",
                  FEISHU_VERIFICATION_TOKEN="v", FEISHU_ENCRYPT_KEY="k") == []


def test_half_set_feishu_credentials_are_reported(tmp_path, monkeypatch):
    (warning,) = _check(tmp_path, monkeypatch, FEISHU_APP_ID="cli_1")
    assert warning.startswith("飞书未开启：只设置了 FEISHU_APP_ID") and "FEISHU_APP_SECRET" in warning


def test_channels_on_a_platform_that_is_off_are_reported(tmp_path, monkeypatch):
    data = {"channels": [{"id": "console:ops"}, {"id": "slack:C1"}, {"id": "feishu:oc_1"}]}
    warnings = _check(tmp_path, monkeypatch, data)
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("channels[1] (slack:C1): Slack 未开启") and "发件箱" in warnings[0]
    assert warnings[1].startswith("channels[2] (feishu:oc_1): 飞书 Feishu 未开启")
    # with Slack on only the Feishu channel is left
    (warning,) = _check(tmp_path, monkeypatch, data, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    assert warning.startswith("channels[2] (feishu:oc_1)")


def test_a_default_channel_on_a_platform_that_is_off_is_reported(tmp_path, monkeypatch):
    (warning,) = _check(tmp_path, monkeypatch, CRISISBOT_DEFAULT_CHANNEL="slack:ZZZ")
    assert warning.startswith("CRISISBOT_DEFAULT_CHANNEL (slack:ZZZ): Slack 未开启"), warning
    (warning,) = _check(tmp_path, monkeypatch, {"default_channel": "feishu:oc_9"})
    assert warning.startswith("default_channel (feishu:oc_9): 飞书 Feishu 未开启"), warning
    # listed under channels: too: said once
    (warning,) = _check(tmp_path, monkeypatch, {"default_channel": "slack:C1", "channels": [{"id": "slack:C1"}]})
    assert warning.startswith("channels[0] (slack:C1)")


def test_the_console_only_default_is_quiet(tmp_path, monkeypatch):
    assert _check(tmp_path, monkeypatch) == []


def test_a_sources_notify_channel_on_a_platform_that_is_off_is_reported(tmp_path, monkeypatch):
    source = {"id": "rules", "type": "announcements", "base_url": "https://example.com/feed.xml",
              "notify_channel": "feishu:oc_rules"}
    warnings = _check(tmp_path, monkeypatch, {"feeds": {"sources": [source]}})
    assert [w for w in warnings if w.startswith("feeds.sources[0].notify_channel (feishu:oc_rules): 飞书 Feishu 未开启")]


def test_feishu_over_http_without_an_encrypt_key_is_said_to_be_unsigned(tmp_path, monkeypatch):
    """Without an Encrypt Key Feishu signs nothing: the verification token in every event body is the only
    check, so whoever saw one event can forge others."""
    feishu = dict(FEISHU_APP_ID="cli_a", FEISHU_APP_SECRET="s", FEISHU_VERIFICATION_TOKEN="v")
    (warning,) = _check(tmp_path, monkeypatch, **feishu)
    assert warning.startswith("飞书事件未签名") and "FEISHU_ENCRYPT_KEY" in warning and "not signed" in warning
    assert _check(tmp_path, monkeypatch, FEISHU_ENCRYPT_KEY="k", **feishu) == []
    assert _check(tmp_path, monkeypatch, CRISISBOT_FEISHU_MODE="ws", **feishu) == []  # no HTTP events to forge


def test_a_short_comment_webhook_token_is_reported(tmp_path, monkeypatch):
    monkeypatch.delenv("CRISISBOT_INGEST_TOKEN", raising=False)
    (warning,) = _check(tmp_path, monkeypatch, CRISISBOT_INGEST_TOKEN="secret1")
    assert warning.startswith("CRISISBOT_INGEST_TOKEN 只有 7 个字符") and "easy to guess" in warning
    assert _check(tmp_path, monkeypatch, CRISISBOT_INGEST_TOKEN="x" * 24) == []
