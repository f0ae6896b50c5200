"""Alerts probe: `alerts.playbooks: {sev1: no-such-playbook}` passed `crisisbot config check` without a word,
and the alert's 启动预案 then failed with "unknown playbook". It is a warning (exit 0) naming the missing
playbook and the ones that exist."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from bot.config import config_warnings, parse_config
from tests.unit.foundation.test_config_playbook_permissions import ENV


def test_config_check_warns_about_a_suggested_playbook_that_does_not_exist(tmp_path, monkeypatch):
    from bot.cli import app

    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"alerts": {"playbooks": {"sev1": "no-such-playbook"}}}), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    (line,) = [w for w in result.stderr.splitlines() if "alerts.playbooks" in w]
    assert line.startswith("注意 / warning: alerts.playbooks.sev1: 预案 'no-such-playbook' 不存在"), line
    assert "negative-outbreak、" in line and "rumor" in line  # the ones there are, in both languages
    assert "no playbook 'no-such-playbook'" in line and "available: " in line
    assert line.index("不存在") < line.index("no playbook")  # Chinese first


def test_any_name_a_playbook_answers_to_is_quiet():
    # the id, the Chinese name or the English title, as 启动预案 finds it; the default suggestions exist
    assert not [w for w in config_warnings(parse_config({}, source="c.yaml")) if "alerts.playbooks" in w]
    data = {"alerts": {"playbooks": {"sev1": "negative-outbreak", "sev2": "NEGATIVE-OUTBREAK", "sev3": "rumor"}}}
    assert not [w for w in config_warnings(parse_config(data, source="c.yaml")) if "alerts.playbooks" in w]
    data = {"alerts": {"playbooks": {"sev2": "nope", "sev3": "nope2"}}}
    warnings = [w for w in config_warnings(parse_config(data, source="c.yaml")) if "alerts.playbooks" in w]
    assert [w.split(":", 1)[0] for w in warnings] == ["alerts.playbooks.sev2", "alerts.playbooks.sev3"]
