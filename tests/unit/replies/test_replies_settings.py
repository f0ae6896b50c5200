"""`replies:` settings: a webhook address the bot cannot POST to is refused when the config is read."""

from __future__ import annotations

import pytest
import yaml

from bot.config import ConfigError, parse_config


@pytest.mark.parametrize("url", ["127.0.0.1:9000/replies", "not a url", "ftp://example.com/replies", "http://"])
def test_a_webhook_url_without_http_scheme_and_host_is_refused(url):
    """A typo used to pass `config check`; every reply was then retried forever while showing as replied."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"replies": {"posting": {"webhook_url": url}}}, source="c.yaml")
    problem = "\n".join(caught.value.problems)
    assert "replies.posting.webhook_url" in problem and "http://" in problem and repr(url) in problem


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/replies", "https://bridge.example.com/replies"])
def test_http_and_https_webhook_urls_are_accepted(url):
    assert parse_config({"replies": {"posting": {"webhook_url": url}}}, source="c.yaml").replies.posting.webhook_url == url


def test_an_empty_webhook_url_means_no_webhook():
    assert parse_config({"replies": {"posting": {"webhook_url": ""}}}, source="c.yaml").replies.posting.webhook_url is None


ACCOUNTS = ("clients: [{id: lanji, name: 澜肌护肤}]\n"
            "accounts: [{platform: douyin, account_id: lanji_official, name: 澜肌官方旗舰店, client: lanji}]\n")


def test_a_typo_that_turns_a_safeguard_off_is_warned_about():
    from bot.replies.wiring import config_warnings

    config = parse_config(yaml.safe_load(ACCOUNTS + (
        "roles: {approvers: ['console:bob']}\n"
        "replies:\n"
        "  approval: {accounts: ['douyin:lanji_offical'], role: approver}\n"
        "  posting: {webhook_url: 'http://127.0.0.1:9/replies', accounts: ['douyin:lanji_official']}\n"
    )), source="c.yaml")
    warnings = config_warnings(config, environ={})
    assert any("replies.approval.accounts" in w and "'douyin:lanji_offical'" in w for w in warnings)
    assert any("replies.approval.role" in w and "'approver'" in w for w in warnings)
    assert any("CRISISBOT_REPLY_WEBHOOK_SECRET" in w for w in warnings)
    assert not any("replies.posting.accounts" in w for w in warnings)  # that one is spelled right
    assert config_warnings(config, environ={"CRISISBOT_REPLY_WEBHOOK_SECRET": "s"}) == warnings[:2]


def test_plain_http_to_another_host_is_warned_about_but_loopback_is_not():
    from bot.replies.wiring import config_warnings

    def warnings_for(url: str) -> list[str]:
        config = parse_config(yaml.safe_load(ACCOUNTS + f"replies: {{posting: {{webhook_url: '{url}'}}}}\n"),
                              source="c.yaml")
        return [w for w in config_warnings(config, environ={"CRISISBOT_REPLY_WEBHOOK_SECRET": "s"})
                if "webhook_url" in w]

    (warning,) = warnings_for("http://bridge.example.com/replies")
    assert "http://" in warning and "https://" in warning and "unencrypted" in warning
    assert warnings_for("http://10.0.0.5:8080/replies") != []
    for fine in ("https://bridge.example.com/replies", "http://127.0.0.1:9/replies", "http://localhost/r",
                 "http://[::1]:9/r"):
        assert warnings_for(fine) == [], fine


def test_the_shipped_replies_settings_need_no_warning():
    from bot.replies.wiring import config_warnings

    assert config_warnings(parse_config(yaml.safe_load(ACCOUNTS), source="c.yaml"), environ={}) == []


def test_config_check_prints_the_replies_warnings_and_still_passes(tmp_path):
    from typer.testing import CliRunner

    from bot.cli import app

    config = tmp_path / "c.yaml"
    config.write_text(ACCOUNTS + "replies: {approval: {accounts: ['douyin:lanji_offical']}}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check"], env={
        "CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"})
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output and "'douyin:lanji_offical'" in result.output


@pytest.mark.parametrize("replies", [{"history_after_hours": 1}, {"history_after_hours": 2},
                                     {"sla_minutes": 600, "history_after_hours": 10}])
def test_a_history_cutoff_inside_the_reply_deadline_is_refused(replies):
    """Comments would leave the queue as history before anyone was even late answering them."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"replies": replies}, source="c.yaml")
    problem = "\n".join(caught.value.problems)
    assert "replies" in problem and "history_after_hours" in problem and "回复时限" in problem


def test_the_history_cutoff_defaults_to_three_days_and_null_turns_it_off():
    assert parse_config({}, source="c.yaml").replies.history_after_hours is None
    assert parse_config({"replies": {"history_after_hours": 3}}, source="c.yaml").replies.history_after_hours == 3
    assert parse_config({"replies": {"history_after_hours": None}}, source="c.yaml").replies.history_after_hours is None
