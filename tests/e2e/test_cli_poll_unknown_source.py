"""`crisisbot poll NAME` with a name that is not configured: exit 2, in both languages (the list of
configured sources was labelled in English only)."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app as cli


def test_an_unknown_source_is_refused_with_the_configured_ones_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("accounts: [{platform: douyin, account_id: lanji_official}]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["poll", "nosuch"], env={
        "CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"})
    assert result.exit_code == 2, result.output
    assert "未知数据源 / unknown source: nosuch（已配置 / configured: -）" in result.output
