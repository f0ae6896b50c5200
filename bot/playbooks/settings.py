"""Config section for this feature (`playbooks:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PlaybooksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
