"""Config section for this feature (`feeds:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FeedsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
