"""`sentiment.permissions.fix` in the config: role names of `roles:`, as `playbooks.permissions` takes them.
`config check` refuses a misspelt key or a non-list, and warns (exit 0) about roles that are undefined or have
no members, worded as for the playbooks' keys. The shipped config has the key, empty (anyone)."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from bot.config import REPO_ROOT, config_warnings, parse_config

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


def _fix_warnings(data: dict) -> list[str]:
    return [w for w in config_warnings(parse_config(data, source="c.yaml")) if w.startswith("sentiment.")]


def test_a_fix_permission_naming_an_undefined_role_is_named_by_config_check(tmp_path, monkeypatch):
    result = _check(tmp_path, monkeypatch, {"roles": {}, "sentiment": {"permissions": {"fix": ["reviewer"]}}})
    assert result.exit_code == 0, result.output
    assert "注意 / warning: sentiment.permissions.fix:" in result.stderr and "'reviewer'" in result.stderr
    assert "没有任何人能更正评论的情感标签" in result.stderr and "nobody could relabel a comment's sentiment" in result.stderr


def test_roles_with_no_members_and_typos_are_warned_about_as_for_playbooks():
    (nobody,) = _fix_warnings({"roles": {"lead": []}, "sentiment": {"permissions": {"fix": ["reviewer", "lead"]}}})
    assert "'reviewer' 未在 roles: 中定义" in nobody and "'lead' 没有成员" in nobody
    (typo,) = _fix_warnings({"roles": {"reviewer": ["console:bob"]},
                             "sentiment": {"permissions": {"fix": ["reviewer", "reveiwer"]}}})
    assert typo.startswith("sentiment.permissions.fix: 角色 'reveiwer' 未在 roles: 中定义（可能拼错）")
    assert "only members of reviewer may relabel" in typo
    assert _fix_warnings({"roles": {"reviewer": ["console:bob"]},
                          "sentiment": {"permissions": {"fix": ["reviewer"]}}}) == []
    assert _fix_warnings({"roles": {}, "sentiment": {"permissions": {"fix": []}}}) == []


def test_a_misspelt_key_or_a_bare_name_is_refused(tmp_path, monkeypatch):
    result = _check(tmp_path, monkeypatch, {"sentiment": {"permissions": {"fixx": ["reviewer"]}}})
    assert result.exit_code == 2 and "sentiment.permissions.fixx" in result.output + result.stderr
    result = _check(tmp_path, monkeypatch, {"sentiment": {"permissions": {"fix": "reviewer"}}})
    assert result.exit_code == 2 and "sentiment.permissions.fix" in result.output + result.stderr


def test_the_shipped_config_has_the_key_empty_and_documents_it():
    path = REPO_ROOT / "config" / "crisisbot.yaml"
    config = parse_config(yaml.safe_load(path.read_text(encoding="utf-8")), source=str(path))
    assert config.sentiment.permissions.fix == []
    text = path.read_text(encoding="utf-8")
    assert "permissions: {fix: []}" in text and "/sentiment fix" in text
