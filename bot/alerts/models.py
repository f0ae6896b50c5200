"""Tables of the alerts feature: bucket counts, detector state, episodes, watches and risk notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime

#: content_id of the account-level stream (all of the account's content together)
ACCOUNT_SCOPE = ""


class AlertBucket(SQLModel, table=True):
    """Comment counts of one scope (an account, or one content item) in one bucket."""

    __tablename__ = "alert_bucket"
    __table_args__ = (
        UniqueConstraint("platform", "account_id", "content_id", "bucket_start", name="uq_alert_bucket"),
        Index("ix_alert_bucket_time", "bucket_start"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    platform: str = Field(max_length=32)
    account_id: str = Field(max_length=128)
    content_id: str = Field(default=ACCOUNT_SCOPE, max_length=128)
    bucket_start: datetime = Field(sa_type=UTCDateTime)
    total: int = 0
    negative: int = 0
    #: likes-weighted negativity: sum over negative comments of (1 + likes)
    negative_weight: float = 0.0
    likes: int = Field(default=0, sa_type=BigInteger)
    risk_hits: int = 0


class AlertStream(SQLModel, table=True):
    """A detector's persisted state, so a restart loses nothing. One row per scope and metric."""

    __tablename__ = "alert_stream"
    __table_args__ = (
        UniqueConstraint("stream_key", name="uq_alert_stream_key"),
        # the tick's search for due streams reads only the awake ones, however many dormant rows pile up
        Index("ix_alert_stream_awake", "dormant", "last_closed"),
    )

    id: int | None = Field(default=None, primary_key=True)
    stream_key: str = Field(max_length=400)
    platform: str = Field(max_length=32)
    account_id: str = Field(max_length=128)
    content_id: str = Field(default=ACCOUNT_SCOPE, max_length=128)
    #: the first bucket seen (content age for the prior curve)
    first_bucket: datetime = Field(sa_type=UTCDateTime)
    #: the last bucket the detector has judged; later buckets are still open
    last_closed: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    content_title: str | None = Field(default=None, sa_type=Text)
    content_url: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    #: a quiet old video the tick no longer visits (every video ever seen keeps its row); the next comment
    #: wakes it (see AlertService._wake_and_carry_late)
    dormant: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class AlertEpisode(SQLModel, table=True):
    """One negative-spike episode: one message per channel, updated in place as it grows or recovers."""

    __tablename__ = "alert_episode"
    __table_args__ = (
        UniqueConstraint("episode_key", name="uq_alert_episode_key"),
        Index("ix_alert_episode_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    episode_key: str = Field(max_length=400)
    platform: str = Field(max_length=32)
    account_id: str = Field(max_length=128)
    content_id: str = Field(default=ACCOUNT_SCOPE, max_length=128)
    #: open | acknowledged | resolved | false_positive | muted
    status: str = Field(default="open", max_length=20)
    severity: str = Field(default="sev3", max_length=8)
    reason: str = Field(default="volume", max_length=16)
    started_at: datetime = Field(sa_type=UTCDateTime)  # the bucket in which it became detectable
    detected_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    recovered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    muted_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: the figures the message shows (counts vs baseline, share, peak, top comments, keywords)
    stats: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: channels the message went to and the version of the last update per channel
    channels: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    version: int = 0
    #: who did what and when: [{"action", "user", "at"}]
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    escalations: int = 0
    last_notified_at: datetime = Field(sa_type=UTCDateTime)
    #: sev3 held for quiet hours: deliver at this time
    held_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertWatch(SQLModel, table=True):
    """A watched risk term or a declared planned surge, added with /watch (config entries live in YAML)."""

    __tablename__ = "alert_watch"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)  # term | surge
    term: str | None = Field(default=None, sa_type=Text)
    account: str | None = Field(default=None, max_length=200)  # platform:account_id
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    factor: float | None = None
    channel: str = Field(max_length=255)
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RiskNotice(SQLModel, table=True):
    """A grouped notice: one message per watched term (or liked-negative kind) per account per window."""

    __tablename__ = "alert_risk_notice"
    __table_args__ = (UniqueConstraint("notice_key", name="uq_alert_risk_notice_key"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_key: str = Field(max_length=400)
    kind: str = Field(max_length=16)  # term | liked
    term: str = Field(sa_type=Text)
    platform: str = Field(max_length=32)
    account_id: str = Field(max_length=128)
    window_start: datetime = Field(sa_type=UTCDateTime)
    count: int = 0
    comment_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    examples: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    version: int = 0
    updated_at: datetime = Field(sa_type=UTCDateTime)
