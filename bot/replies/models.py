"""Reply-queue tables: the queue (maintained on ingest), drafts and approvals, the event log, templates.

`reply_queue_item` holds one row per comment that may need an answer (a top-level comment, or a reply
addressed to the account). It is maintained by the ingest listener, so listing the queue never scans
the comment table: the static part of the priority is stored, the age part is added in SQL, and claims
are a conditional UPDATE on the row (exclusive on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime

# Item states. open and pending_approval are "unanswered"; the others are closed.
OPEN = "open"
PENDING_APPROVAL = "pending_approval"
REPLIED = "replied"  # answered through the bot (posted via webhook or recorded as replied by hand)
ANSWERED = "answered"  # our own reply showed up in the feed
SKIPPED = "skipped"
# Stored and scored, never queued: the comment was already older than `replies.history_after_hours` when
# the bot first saw it (an imported export, a poller catching up). No deadline, reminders or SLA figures.
HISTORY = "history"
UNANSWERED_STATES = (OPEN, PENDING_APPROVAL)


class ReplyQueueItem(SQLModel, table=True):
    __tablename__ = "reply_queue_item"
    __table_args__ = (
        UniqueConstraint("platform", "comment_id", name="uq_reply_queue_item_comment"),
        # The queue of one account, best static score first: read in index order and stop after N.
        Index("ix_reply_queue_account_state", "account_key", "state", "static_score"),
        # --mine: my claims, narrowed to the channel's accounts.
        Index("ix_reply_queue_claimed", "claimed_by", "account_key", "state"),
        Index("ix_reply_queue_thread", "platform", "thread_root_id"),
        Index("ix_reply_queue_state_due", "state", "due_ts"),
        # Recent items (whose age part still grows) and stats windows.
        Index("ix_reply_queue_created", "account_key", "created_ts"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    platform: str = Field(max_length=32)
    comment_id: str = Field(max_length=128)
    account_key: str = Field(max_length=170)  # "platform:account_id"
    content_id: str = Field(max_length=128)
    thread_root_id: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_ts: float  # epoch seconds of created_at: lets SQL compute the age part of the priority
    static_score: float = 0.0
    sla_seconds: int = 7200
    due_ts: float = 0.0
    urgent: bool = False  # negative or risk-flagged: the shorter SLA applies
    state: str = Field(default=OPEN, max_length=20)
    claimed_by: str | None = Field(default=None, max_length=255)
    claimed_by_name: str | None = Field(default=None, max_length=255)
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    responder: str | None = Field(default=None, max_length=255)  # user, or "account" for a reply seen in the feed
    responder_name: str | None = Field(default=None, max_length=255)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    skip_reason: str | None = Field(default=None, sa_type=Text)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_by: str | None = Field(default=None, max_length=255)
    last_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    queued_at: datetime = Field(sa_type=UTCDateTime)


class ReplyDraft(SQLModel, table=True):
    """A reply text written in the bot: prechecked, maybe approved, then posted or recorded."""

    __tablename__ = "reply_draft"
    __table_args__ = (Index("ix_reply_draft_item", "item_id"), Index("ix_reply_draft_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(sa_type=BigInteger)
    account_key: str = Field(max_length=170)
    text: str = Field(sa_type=Text)
    # pending_approval | rejected | queued (to the webhook) | posted | failed | recorded (by hand) | superseded
    status: str = Field(max_length=20)
    delivery: str = Field(default="manual", max_length=16)  # webhook | manual
    written_by: str = Field(max_length=255)
    written_by_name: str | None = Field(default=None, max_length=255)
    written_at: datetime = Field(sa_type=UTCDateTime)
    channel: str = Field(max_length=255)  # where it was written: approval requests and results go there
    approver: str | None = Field(default=None, max_length=255)
    approver_name: str | None = Field(default=None, max_length=255)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reject_reason: str | None = Field(default=None, sa_type=Text)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outbox_key: str | None = Field(default=None, max_length=255)
    platform_reply_id: str | None = Field(default=None, max_length=255)
    precheck: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class ReplyEvent(SQLModel, table=True):
    """Who did what to which item, when: the audit trail behind stats and reviews."""

    __tablename__ = "reply_event"
    __table_args__ = (Index("ix_reply_event_item", "item_id"), Index("ix_reply_event_account_at", "account_key", "at"))

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(sa_type=BigInteger)
    account_key: str = Field(max_length=170)
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=255)
    actor_name: str | None = Field(default=None, max_length=255)
    at: datetime = Field(sa_type=UTCDateTime)
    text: str | None = Field(default=None, sa_type=Text)
    details: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class SavedReplyTemplate(SQLModel, table=True):
    """A reply a responder saved as a template; offered by 建议回复 next to the configured ones."""

    __tablename__ = "reply_template"
    __table_args__ = (Index("ix_reply_template_account", "account_key"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    text: str = Field(sa_type=Text)
    topics: list[str] = Field(default_factory=list, sa_type=JSON)
    account_key: str | None = Field(default=None, max_length=170)  # None: any account
    created_by: str = Field(max_length=255)
    created_by_name: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    source_comment_id: str | None = Field(default=None, max_length=128)
