"""Config section for this feature (`alerts:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
