"""Config section for this feature (`sentiment:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SentimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
