"""`playbooks.permissions` names roles of the top-level `roles:`. A list naming only roles that are not
defined (or have no members) lets nobody start, resolve or cancel; an undefined role beside one with
members is probably a typo. `config check` warns about both (exit 0: a monitoring bot must not refuse to
run over a playbook permission)."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from bot.config import config_warnings, parse_config

ENV = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET",
       "FEISHU_VERIFICATION_TOKEN", "FEISHU_ENCRYPT_KEY", "CRISISBOT_DEFAULT_CHANNEL", "CRISISBOT_FEISHU_MODE",
       "CRISISBOT_DATABASE_URL", "DATABASE_URL")


def _check(tmp_path, monkeypatch, data: dict):
    from bot.cli import app

    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    return CliRunner().invoke(app, ["config", "check"])


def test_a_start_permission_naming_an_undefined_role_is_named_by_config_check(tmp_path, monkeypatch):
    result = _check(tmp_path, monkeypatch, {"roles": {}, "playbooks": {"permissions": {"start": ["commander"]}}})
    assert result.exit_code == 0, result.output
    assert "注意 / warning: playbooks.permissions.start:" in result.stderr and "'commander'" in result.stderr
    assert "没有任何人能启动预案" in result.stderr and "nobody could start a playbook" in result.stderr


@pytest.mark.parametrize("action, words", [("start", "启动预案"), ("resolve", "解除事件"), ("cancel", "取消预案"),
                                           ("reopen", "重开步骤")])
def test_any_permission_that_locks_everyone_out_is_warned_about(action, words):
    # resolve/cancel too: a run nobody may resolve or cancel stays active, and its reminders never stop
    data = {"roles": {"lead": []}, "playbooks": {"permissions": {action: ["commander", "lead"]}}}
    (problem,) = [w for w in config_warnings(parse_config(data, source="c.yaml")) if w.startswith("playbooks.")]
    assert problem.startswith(f"playbooks.permissions.{action}: ")
    assert "'commander' 未在 roles: 中定义" in problem and "'lead' 没有成员" in problem and words in problem


def test_an_undefined_role_beside_a_staffed_one_is_a_warning(tmp_path, monkeypatch):
    data = {"roles": {"commander": ["console:lead"]},
            "playbooks": {"permissions": {"start": ["commander", "comander"], "resolve": ["commander"]}}}
    (warning,) = [w for w in config_warnings(parse_config(data, source="c.yaml")) if w.startswith("playbooks.")]
    assert warning.startswith("playbooks.permissions.start: ") and "'comander'" in warning
    result = _check(tmp_path, monkeypatch, data)
    assert result.exit_code == 0, result.output
    assert "注意 / warning: playbooks.permissions.start:" in result.stderr


def test_empty_lists_and_staffed_roles_are_quiet():
    data = {"roles": {"commander": ["console:lead"], "oncall": ["console:lead"]},
            "playbooks": {"permissions": {"start": [], "resolve": ["commander"], "cancel": ["commander"]}}}
    assert config_warnings(parse_config(data, source="c.yaml")) == []
    assert config_warnings(parse_config({}, source="c.yaml")) == []
