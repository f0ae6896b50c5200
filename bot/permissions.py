"""Who may do what: lists of roles (the top-level `roles:`, role -> members) that features use to restrict an
action (`playbooks.permissions.*`, `sentiment.permissions.fix`). An empty list lets anyone act. Pure.

Both the refusal a person sees and the warning `config check` prints are worded here once, so every
restricted action says the same thing about the same mistake. `PermissionDenied` lives here, below the
services that raise it (the playbook run service, sentiment corrections) and the handlers and dispatcher
that answer it (bot.handlers.registry re-exports it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.i18n import EnglishToo


class PermissionDenied(EnglishToo, Exception):
    """The user may not do this here; the message says who may, Chinese first with English, and `en` the
    same in English alone for a channel set to English (read it with `bot.i18n.in_language`)."""


@dataclass(frozen=True, slots=True)
class Restricted:
    """One restricted action: its config key, and what it lets a person do, in words ("启动预案", "start a
    playbook")."""

    key: str  # e.g. "playbooks.permissions.start"
    action_zh: str
    action_en: str


def refusal(action: Restricted, allowed_roles: Sequence[str], members: Mapping[str, Sequence[str]],
            user: str) -> PermissionDenied | None:
    """None when `user` ("platform:user_id") may act (no roles listed, or a member of one); else the refusal to
    raise, naming who may (or that nobody is configured: `config check` warns about that setup): its message
    "只有角色 … / only … may …", its `en` "Only … may …"."""
    if not allowed_roles:
        return None
    allowed = {person for role in allowed_roles for person in members.get(role, ())}
    if user in allowed:
        return None
    names_zh, names_en = "、".join(allowed_roles), ", ".join(allowed_roles)
    if not allowed:
        english = (f"{names_en} may {action.action_en} ({action.key}), and no one is configured in those roles "
                   f"(nobody configured): ask an admin to add members under roles:")
        return PermissionDenied(
            f"只有角色 {names_zh} 可以{action.action_zh}（{action.key}），但这些角色在配置的 roles: 中没有成员"
            f"（未配置成员），请管理员补上 / only {english}", en=f"Only {english}")
    people = sorted(allowed)
    english = f"{names_en} ({', '.join(people)}) may {action.action_en} ({action.key})"
    return PermissionDenied(
        f"只有角色 {names_zh}（{'、'.join(people)}）可以{action.action_zh}（{action.key}）/ only {english}",
        en=f"Only {english}")


def role_list_problem(action: Restricted, names: Sequence[str], roles: Mapping[str, object]) -> tuple[str, bool] | None:
    """What is wrong with a role list against `roles:`, for `config check`: (message, nobody may act), or None.

    A list naming only roles that are undefined or have no members lets nobody act (True); an undefined
    role beside one with members lets someone act, but the name is probably a typo (False)."""
    if not names:
        return None
    undefined = [n for n in names if n not in roles]
    empty = [n for n in names if n in roles and not roles[n]]
    staffed = [n for n in names if n not in undefined and n not in empty]
    if not staffed:
        zh = "，".join(part for part in (
            f"角色 {', '.join(map(repr, undefined))} 未在 roles: 中定义" if undefined else "",
            f"角色 {', '.join(map(repr, empty))} 没有成员" if empty else "") if part)
        en = "; ".join(part for part in (
            f"role {', '.join(map(repr, undefined))} is not defined under roles:" if undefined else "",
            f"role {', '.join(map(repr, empty))} has no members" if empty else "") if part)
        return (f"{zh}：没有任何人能{action.action_zh}；请在 roles: 下列出成员（如 {names[0]}: [slack:U012ABCDEF]），"
                f"或把该列表留空（任何人都可以）/ {en}, so nobody could {action.action_en}. List the members under "
                "roles:, or leave the list empty (anyone may)"), True
    if undefined:
        return (f"角色 {', '.join(map(repr, undefined))} 未在 roles: 中定义（可能拼错），被忽略；只有 "
                f"{', '.join(staffed)} 的成员可以{action.action_zh} / role {', '.join(map(repr, undefined))} is not "
                f"defined under roles: (a typo?) and is ignored: only members of {', '.join(staffed)} may "
                f"{action.action_en}"), False
    return None
