"""`bot.permissions`: one wording for every role-restricted action (playbooks.permissions.*,
sentiment.permissions.fix), in the refusal a person sees and in config check's warnings."""

from __future__ import annotations

from bot.permissions import Restricted, refusal, role_list_problem

START = Restricted("playbooks.permissions.start", "启动预案", "start a playbook")
ROLES = {"commander": ["slack:U2", "slack:U1"], "empty": []}


def test_no_roles_listed_lets_anyone_act_and_a_member_acts():
    assert refusal(START, [], ROLES, "slack:U9") is None
    assert refusal(START, ["commander"], ROLES, "slack:U1") is None


def test_the_refusal_names_the_roles_their_members_and_the_key():
    text = refusal(START, ["commander"], ROLES, "slack:U9")
    assert text == ("只有角色 commander（slack:U1、slack:U2）可以启动预案（playbooks.permissions.start）/ only commander "
                    "(slack:U1, slack:U2) may start a playbook (playbooks.permissions.start)")


def test_roles_without_members_are_said_to_lock_everyone_out():
    text = refusal(START, ["empty", "ghost"], ROLES, "slack:U1")
    assert "没有成员（未配置成员）" in text and "nobody configured" in text and "(playbooks.permissions.start)" in text


def test_config_problems_tell_a_lockout_from_a_typo():
    assert role_list_problem(START, [], ROLES) is None
    assert role_list_problem(START, ["commander"], ROLES) is None
    message, nobody = role_list_problem(START, ["empty", "ghost"], ROLES)
    assert nobody and "角色 'ghost' 未在 roles: 中定义，角色 'empty' 没有成员：没有任何人能启动预案" in message
    message, nobody = role_list_problem(START, ["commander", "comander"], ROLES)
    assert not nobody and "(a typo?)" in message and "only members of commander may start a playbook" in message
