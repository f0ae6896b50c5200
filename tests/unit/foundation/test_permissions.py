"""`bot.permissions`: one wording for every role-restricted action (playbooks.permissions.*,
sentiment.permissions.fix), in the refusal a person sees and in config check's warnings."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.handlers import registry
from bot.i18n import in_language
from bot.permissions import PermissionDenied, Restricted, refusal, role_list_problem

START = Restricted("playbooks.permissions.start", "启动预案", "start a playbook")
ROLES = {"commander": ["slack:U2", "slack:U1"], "empty": []}


def test_no_roles_listed_lets_anyone_act_and_a_member_acts():
    assert refusal(START, [], ROLES, "slack:U9") is None
    assert refusal(START, ["commander"], ROLES, "slack:U1") is None


def test_the_refusal_names_the_roles_their_members_and_the_key():
    refused = refusal(START, ["commander"], ROLES, "slack:U9")
    assert isinstance(refused, PermissionDenied)
    assert str(refused) == ("只有角色 commander（slack:U1、slack:U2）可以启动预案（playbooks.permissions.start）/ only "
                            "commander (slack:U1, slack:U2) may start a playbook (playbooks.permissions.start)")
    # an English channel's half is carried, not cut out of the bilingual text
    assert refused.en == "Only commander (slack:U1, slack:U2) may start a playbook (playbooks.permissions.start)"
    assert in_language(refused, "en") == refused.en and in_language(refused, "zh") == str(refused)


def test_roles_without_members_are_said_to_lock_everyone_out():
    refused = refusal(START, ["empty", "ghost"], ROLES, "slack:U1")
    assert str(refused) == (
        "只有角色 empty、ghost 可以启动预案（playbooks.permissions.start），但这些角色在配置的 roles: 中没有成员（未配置成员），"
        "请管理员补上 / only empty, ghost may start a playbook (playbooks.permissions.start), and no one is configured "
        "in those roles (nobody configured): ask an admin to add members under roles:")
    assert refused.en == ("Only empty, ghost may start a playbook (playbooks.permissions.start), and no one is "
                          "configured in those roles (nobody configured): ask an admin to add members under roles:")


def test_handlers_catch_the_one_refusal_the_services_raise():
    """bot.handlers.registry re-exports the class: `except PermissionDenied` in the dispatcher and the
    handlers catches what the services raise."""
    assert registry.PermissionDenied is PermissionDenied


def test_no_service_imports_a_handler_module_for_its_refusal():
    """handlers -> services -> pure logic: the services that refuse by role take PermissionDenied from
    bot.permissions, not from bot.handlers."""
    root = Path(__file__).resolve().parents[3] / "bot"
    for module in ("playbooks/service.py", "sentiment/corrections.py", "permissions.py"):
        tree = ast.parse((root / module).read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        assert not {name for name in imported if name.startswith("bot.handlers")}, (module, imported)


def test_config_problems_tell_a_lockout_from_a_typo():
    assert role_list_problem(START, [], ROLES) is None
    assert role_list_problem(START, ["commander"], ROLES) is None
    message, nobody = role_list_problem(START, ["empty", "ghost"], ROLES)
    assert nobody and "角色 'ghost' 未在 roles: 中定义，角色 'empty' 没有成员：没有任何人能启动预案" in message
    message, nobody = role_list_problem(START, ["commander", "comander"], ROLES)
    assert not nobody and "(a typo?)" in message and "only members of commander may start a playbook" in message
