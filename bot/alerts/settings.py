"""Config section for negative-spike alerts (`alerts:` in config/crisisbot.yaml). Unknown keys are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SurgeConfig(_Strict):
    """A planned surge (livestream sale, 618/双11, launch): volume up to `factor` x normal is expected."""

    account: str = Field(description="platform:account_id")
    start: datetime = Field(alias="from")
    until: datetime
    factor: float = Field(default=3.0, gt=1.0, le=100.0)
    note: str = ""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _order(self) -> SurgeConfig:
        if self.start.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("from/until need a time zone, e.g. 2026-11-11T20:00:00+08:00")
        if self.until <= self.start:
            raise ValueError("until must be after from")
        return self


class WatchTermConfig(_Strict):
    term: str = Field(min_length=1)
    account: str | None = Field(default=None, description="platform:account_id; all accounts when empty")


class EscalationConfig(_Strict):
    """Re-notify unacknowledged sev1/sev2 alerts, mentioning the on-call rota in order."""

    enabled: bool = True
    after_minutes: float = Field(default=15.0, gt=0)
    max_notifications: int = Field(default=3, ge=1, le=20)
    severities: list[str] = Field(default_factory=lambda: ["sev1", "sev2"])
    #: on-call order (platform:user_id); empty = the members of `roles.<rota_role>` in the main config
    rota: list[str] = Field(default_factory=list)
    rota_role: str = "oncall"


class AlertsConfig(_Strict):
    enabled: bool = True
    bucket_minutes: int = Field(default=5, ge=1, le=60)
    #: a bucket is closed and judged this long after it ends (late comments still count)
    close_grace_seconds: int = Field(default=20, ge=0, le=600)
    #: how often `serve` closes due buckets (and runs the other periodic checks: scheduled reports,
    #: ingest hand-offs) when no comments arrive
    tick_seconds: int = Field(default=5, ge=1, le=300)
    #: per-content-item streams (a single video going bad) besides the account-level stream
    per_content: bool = True
    #: detector knob overrides (see bot.alerts.detector.DetectorSettings), e.g. {min_count: 10}
    detector: dict[str, Any] = Field(default_factory=dict)
    surges: list[SurgeConfig] = Field(default_factory=list)
    watch_terms: list[WatchTermConfig] = Field(default_factory=list)
    #: risk-watch notices are grouped: one message per term per account per this many minutes
    risk_window_minutes: int = Field(default=60, ge=1, le=1440)
    #: a negative comment with at least this many likes posts a notice at once (0 = off)
    liked_negative_min_likes: int = Field(default=500, ge=0)
    #: comments already older than this when they arrive (last month's export imported for the baseline)
    #: are history: counted as usual but they post no risk-term or liked-negative notice (null = they do;
    #: the same key as `replies.history_after_hours`, on by default here: a notice is news or noise)
    history_after_hours: int | None = Field(default=24, ge=1, le=24 * 366)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    #: suggested playbook per severity (the playbooks feature runs it on 启动预案)
    playbooks: dict[str, str] = Field(default_factory=lambda: {
        "sev1": "negative-outbreak", "sev2": "negative-outbreak", "sev3": "negative-outbreak"})
    #: sev3 alerts in a channel's quiet hours wait until the quiet hours end (sev1 never waits)
    hold_in_quiet_hours: list[str] = Field(default_factory=lambda: ["sev3"])

    @field_validator("hold_in_quiet_hours")
    @classmethod
    def _never_hold_sev1(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - {"sev1", "sev2", "sev3"})
        if unknown:
            raise ValueError(f"unknown severity {', '.join(unknown)}: use sev2 and/or sev3")
        if "sev1" in value:
            # a sev1 is the crisis people must hear about at 3 a.m.; holding it would defeat the alert
            raise ValueError("一级告警不能在静默时段等待 / sev1 alerts never wait for quiet hours: use sev2 and/or sev3")
        return value

    @field_validator("detector")
    @classmethod
    def _detector_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        from bot.alerts.detector import DetectorSettings

        DetectorSettings.from_dict(value)  # raises on unknown or bad keys
        return value
