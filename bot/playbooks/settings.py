"""Config section for this feature (`playbooks:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from bot.permissions import Restricted, role_list_problem

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


#: what each permission lets a person do, for config check's warnings and the refusal in the service
RESTRICTED_ACTIONS = {
    action: Restricted(f"playbooks.permissions.{action}", zh, en)
    for action, zh, en in (("start", "启动预案", "start a playbook"), ("resolve", "解除事件", "resolve a run"),
                           ("cancel", "取消预案", "cancel a run"), ("severity", "调整严重程度", "change a run's severity"),
                           ("reopen", "重开步骤", "reopen a finished step"))
}


def permission_problems(roles: object, permissions: object) -> list[tuple[str, str, bool]]:
    """`playbooks.permissions` against the top-level `roles:`: (key path, message, nobody may act) per problem
    (`bot.permissions.role_list_problem`). Nobody able to resolve or cancel means a run's reminders go on for
    good. Works on the raw mappings, so it is reported beside schema errors; anything not shaped as expected
    is left to the schema."""
    if not isinstance(permissions, dict):
        return []
    known = roles if isinstance(roles, dict) else {}
    problems: list[tuple[str, str, bool]] = []
    for action, restricted in RESTRICTED_ACTIONS.items():
        names = permissions.get(action)
        if not isinstance(names, list) or not names:
            continue
        problem = role_list_problem(restricted, [str(n) for n in names], known)
        if problem is not None:
            problems.append((restricted.key, *problem))
    return problems
