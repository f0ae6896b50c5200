"""Config section for this feature (`playbooks:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

# Reminder timings are added to the current time: without a ceiling a typo such as 99999999999 passed
# `config check` and then broke the reminder job (date out of range). A year is far beyond any use.
_YEAR_MINUTES = 365 * 24 * 60


class PlaybookPermissions(BaseModel):
    """Config role names (keys of the top-level `roles:`) allowed to start/resolve/cancel runs, to change
    a run's severity by hand (/crisis severity) and to reopen a finished step (/crisis reopen). Empty: anyone
    in the channel."""

    model_config = ConfigDict(extra="forbid")

    start: list[str] = Field(default_factory=list)
    resolve: list[str] = Field(default_factory=list)
    cancel: list[str] = Field(default_factory=list)
    severity: list[str] = Field(default_factory=list)
    reopen: list[str] = Field(default_factory=list)


class PlaybooksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directory: str | None = Field(
        default=None,
        validation_alias=AliasChoices("directory", "dir", "path"),
        description="folder of playbook YAML files; default config/playbooks of the repo",
    )
    permissions: PlaybookPermissions = Field(default_factory=PlaybookPermissions)
    reminder_interval_seconds: int = Field(
        default=60, ge=5, le=86400, description="how often the reminder job runs"
    )
    remind_every_minutes: int = Field(
        default=30, ge=1, le=_YEAR_MINUTES, description="repeat a reminder for a still-overdue step"
    )
    snooze_minutes: int = Field(
        default=30, ge=1, le=_YEAR_MINUTES, description="what the 稍后提醒 button postpones by"
    )
    status_nag_minutes: dict[int, int] = Field(
        default_factory=lambda: {1: 30, 2: 60, 3: 120},
        description="severity -> minutes without a note before the bot asks for a status update",
    )
    exit_suggestions: bool = Field(
        default=True, description="suggest resolving when the negative share is normal"
    )
    card_steps: int = Field(default=6, ge=1, le=20, description="current steps shown on the run card")

    @field_validator("status_nag_minutes")
    @classmethod
    def _nag_range(cls, value: dict[int, int]) -> dict[int, int]:
        for severity, minutes in value.items():
            if not 1 <= minutes <= _YEAR_MINUTES:
                raise ValueError(
                    f"严重程度 {severity} 的分钟数应在 1 到 525600（365 天）之间 / "
                    f"severity {severity}: minutes must be between 1 and 525600 (365 days)"
                )
        return value


#: what each permission lets a person do, for the messages below and the refusal in the service
PERMISSION_ACTIONS_ZH = {"start": "启动预案", "resolve": "解除事件", "cancel": "取消预案", "severity": "调整严重程度",
                         "reopen": "重开步骤"}
_ACTIONS_EN = {"start": "start a playbook", "resolve": "resolve a run", "cancel": "cancel a run",
               "severity": "change a run's severity", "reopen": "reopen a finished step"}


def permission_problems(roles: object, permissions: object) -> list[tuple[str, str, bool]]:
    """`playbooks.permissions` against the top-level `roles:`: (key path, message, is_error) per problem.

    A list naming only roles that are undefined or have no members lets nobody act: nobody could start a
    playbook (nor start one from an alert), or a run could never be resolved or cancelled and its
    reminders would go on for good (the third item, True, says so). An undefined role beside one with
    members lets someone act, but the name is probably a typo. `config check` warns about both. Works on the raw mappings, so it is
    reported beside schema errors; anything not shaped as expected is left to the schema."""
    if not isinstance(permissions, dict):
        return []
    known = roles if isinstance(roles, dict) else {}
    problems: list[tuple[str, str, bool]] = []
    for action, zh in PERMISSION_ACTIONS_ZH.items():
        names = permissions.get(action)
        if not isinstance(names, list) or not names:
            continue
        names = [str(n) for n in names]
        undefined = [n for n in names if n not in known]
        empty = [n for n in names if n in known and not known[n]]
        staffed = [n for n in names if n not in undefined and n not in empty]
        path = f"playbooks.permissions.{action}"
        if not staffed:
            zh_parts = [f"角色 {', '.join(map(repr, undefined))} 未在 roles: 中定义" if undefined else "",
                        f"角色 {', '.join(map(repr, empty))} 没有成员" if empty else ""]
            en_parts = [f"role {', '.join(map(repr, undefined))} is not defined under roles:" if undefined else "",
                        f"role {', '.join(map(repr, empty))} has no members" if empty else ""]
            problems.append((path, (
                f"{'，'.join(p for p in zh_parts if p)}：没有任何人能{zh}；请在 roles: 下列出成员"
                f"（如 {names[0]}: [slack:U012ABCDEF]），或把该列表留空（任何人都可以）/ "
                f"{'; '.join(p for p in en_parts if p)}, so nobody could {_ACTIONS_EN[action]}. List the members "
                "under roles:, "
                f"or leave the list empty (anyone may)"), True))
        elif undefined:
            problems.append((path, (
                f"角色 {', '.join(map(repr, undefined))} 未在 roles: 中定义（可能拼错），被忽略；只有 "
                f"{', '.join(staffed)} 的成员可以{zh} / role {', '.join(map(repr, undefined))} is not defined "
                f"under roles: (a typo?) and is ignored: only members of {', '.join(staffed)} may {_ACTIONS_EN[action]}"),
                False))
    return problems
