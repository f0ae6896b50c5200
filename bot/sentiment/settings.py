"""Config section for this feature (`sentiment:` in config/crisisbot.yaml). Unknown keys are refused.

Where the feature's editable files (`sentiment/risk_terms.yaml`, `sentiment/userdict.txt`) are read from is
`bot.sentiment.risk.sentiment_config_file` (kept out of this module: pydantic is not loaded by the scorer)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.permissions import Restricted, role_list_problem

#: the arrays every model file holds (bot.sentiment.model.LinearModel.save); named here so the check below
#: does not import numpy, which every command reading the config would then pay for
MODEL_FILE_ENTRIES = frozenset({"weights.npy", "bias.npy", "meta.npy"})


class SentimentPermissions(BaseModel):
    """Config role names (keys of the top-level `roles:`), as `playbooks.permissions` takes them, allowed to
    relabel comments: `/sentiment fix` and the "纠正情感 / Fix sentiment" buttons (`fix`). Empty: anyone in a
    channel that may see the comment's account."""

    model_config = ConfigDict(extra="forbid")

    fix: list[str] = Field(default_factory=list)


class SentimentConfig(BaseModel):
    """`sentiment:` section. All keys optional; the defaults use the shipped model and config files.

    - backend: "default" (shipped model) or "snownlp" (comparison only; slow and heavy).
    - model_path: another model file, e.g. one retrained with `--include-corrections`.
    - permissions.fix: who may relabel comments (see SentimentPermissions).
    """

    model_config = ConfigDict(extra="forbid")

    backend: Literal["default", "snownlp"] = "default"
    model_path: str | None = None
    permissions: SentimentPermissions = Field(default_factory=SentimentPermissions)

    @field_validator("backend", mode="before")
    @classmethod
    def _backend_any_case(cls, value: object) -> object:
        # `backend: SnowNLP` is the library's own spelling: read it as the backend it names
        return value.strip().lower() if isinstance(value, str) else value


def model_file_problem(path: str | Path) -> str | None:
    """Why `path` cannot be a sentiment model file (Chinese first), or None when it looks like one.

    Cheap: reads the file's zip directory, not the weights. A relative path is read from the working
    directory, as the bot reads it."""
    path = Path(path)
    train = (f"用 `crisisbot sentiment train --out {path}` 训练一个 / train one with "
             f"`crisisbot sentiment train --out {path}`")
    if not path.exists():
        return f"找不到模型文件 / model file not found: {path}（{train}）"
    if not path.is_file():
        return f"不是文件（是目录？）/ not a file (a folder?): {path}"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        names = set()
    if not MODEL_FILE_ENTRIES <= names:
        return (f"不是有效的 crisisbot 情感模型文件（应为 `crisisbot sentiment train` 生成的 .npz）/ not a crisisbot "
                f"sentiment model file (expected a .npz written by `crisisbot sentiment train`): {path}")
    return None


def sentiment_problems(config: SentimentConfig) -> list[str]:
    """Problems of the files `sentiment:` names, as `key: message` (for `config check`, `serve`, `ingest`):
    a missing model used to pass the check, then fail every scored comment (500s, ingest tracebacks)."""
    if config.backend != "default" or not config.model_path:
        return []
    problem = model_file_problem(config.model_path)
    return [f"sentiment.model_path: {problem}"] if problem else []


#: what `sentiment.permissions.fix` lets a person do, for `config check` and the refusal in chat
FIX_ACTION = Restricted("sentiment.permissions.fix", "更正评论的情感标签", "relabel a comment's sentiment")


def fix_permission_problems(roles: dict[str, list[str]], permissions: SentimentPermissions) -> list[str]:
    """`sentiment.permissions.fix` against the top-level `roles:`, as `key: message` (for `config check`'s
    warnings, worded as its `playbooks.permissions` ones: `bot.permissions.role_list_problem`). A list naming
    only roles without members would make the Fix sentiment buttons on every alert and queue item refuse
    everyone."""
    problem = role_list_problem(FIX_ACTION, list(permissions.fix), roles)
    return [] if problem is None else [f"{FIX_ACTION.key}: {problem[0]}"]
