"""Config section for this feature (`replies:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RepliesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
