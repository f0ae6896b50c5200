"""Config section for this feature (`sentiment:` in config/crisisbot.yaml). Unknown keys are refused.

Where the feature's editable files (`sentiment/risk_terms.yaml`, `sentiment/userdict.txt`) are read from is
`bot.sentiment.risk.sentiment_config_file` (kept out of this module: pydantic is not loaded by the scorer)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class SentimentConfig(BaseModel):
    """`sentiment:` section. All keys optional; the defaults use the shipped model and config files.

    - backend: "default" (shipped model) or "snownlp" (comparison only; slow and heavy).
    - model_path: another model file, e.g. one retrained with `--include-corrections`.
    """

    model_config = ConfigDict(extra="forbid")

    backend: Literal["default", "snownlp"] = "default"
    model_path: str | None = None
