"""Tables of playbook runs: the run (with a copy of its playbook), its steps and its timeline.

`CrisisRun.version` is the optimistic lock: every transition updates the run row `WHERE version = v`,
so two people pressing 完成 at once produce exactly one transition (the loser re-reads and is refused).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class CrisisRun(SQLModel, table=True):
    __tablename__ = "crisis_run"
    __table_args__ = (
        Index("ix_crisis_run_channel_status", "channel", "status"),
        # At most one active run per alert: two people pressing 启动预案 at once (two dispatcher
        # workers) must not start two runs. The loser's insert fails and it returns the winner's run.
        Index(
            "uq_crisis_run_active_alert",
            "alert_id",
            unique=True,
            sqlite_where=text("status = 'active' AND alert_id IS NOT NULL"),
            postgresql_where=text("status = 'active' AND alert_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=255)
    playbook_id: str = Field(max_length=64)
    playbook_name: str = Field(max_length=255)
    playbook: dict[str, Any] = Field(sa_type=JSON)  # snapshot: editing the file never changes a live run
    title: str = Field(sa_type=Text)
    severity: int = 2
    account: str | None = Field(default=None, max_length=255)  # platform:account_id
    status: str = Field(default="active", max_length=16, index=True)
    variables: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    role_assignees: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    alert_id: str | None = Field(default=None, max_length=255)
    started_at: datetime = Field(sa_type=UTCDateTime)
    started_by: str = Field(max_length=255)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=255)
    close_reason: str | None = Field(default=None, sa_type=Text)
    version: int = 1
    last_status_at: datetime = Field(sa_type=UTCDateTime)  # last note/status nag: drives the nag timer
    exit_hint_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    normal_max: float | None = None  # upper end of the account's normal negative share, fixed at start
    baseline_share: float | None = None
    baseline_comments: int = 0


class CrisisStep(SQLModel, table=True):
    __tablename__ = "crisis_step"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id", name="uq_crisis_step_run_step"),
        Index("ix_crisis_step_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="crisis_run.id", index=True)
    step_id: str = Field(max_length=64)
    position: int
    title: str = Field(sa_type=Text)
    owner_role: str = Field(max_length=64)
    due_after_s: int
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="open", max_length=16)
    assignee: str | None = Field(default=None, max_length=255)
    answer: str | None = Field(default=None, max_length=255)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_by: str | None = Field(default=None, max_length=255)
    reason: str | None = Field(default=None, sa_type=Text)
    after: list[str] = Field(default_factory=list, sa_type=JSON)
    gate: list[str] | None = Field(default=None, sa_type=JSON)
    answers: list[str] = Field(default_factory=list, sa_type=JSON)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CrisisTimelineEntry(SQLModel, table=True):
    __tablename__ = "crisis_timeline"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="crisis_run.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=255)
    kind: str = Field(max_length=32)
    step_id: str | None = Field(default=None, max_length=64)
    text: str = Field(default="", sa_type=Text)
