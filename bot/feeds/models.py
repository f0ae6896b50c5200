"""Tables of the platform pollers: one row of persisted state per configured source.

The row keeps each target's high-water mark and unfinished scan (so a restart neither re-reads the
history nor leaves a gap), refreshed credential pairs, health and counters, and the lease that lets
one process at a time poll the source. Migrations: 0005, 0015 (the lease).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class FeedSourceState(SQLModel, table=True):
    __tablename__ = "feed_source_state"

    source_id: str = Field(primary_key=True, max_length=64)
    source_type: str = Field(default="", max_length=32)
    targets: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # target -> {hwm, pending, error}
    # Refreshed token pairs (Douyin); never logged or shown. With CRISISBOT_SECRET_KEY set the secret
    # fields are Fernet-sealed ({"$fernet": ...}, see bot/storage/secrets.py): same JSON column, no migration.
    tokens: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # WBI keys, seen announcements
    health: str = Field(default="new", max_length=32)
    consecutive_failures: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_kind: str | None = Field(default=None, max_length=32)
    newest_item_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unhealthy_notified: bool = Field(default=False)
    polls: int = Field(default=0, sa_type=BigInteger)
    fetched: int = Field(default=0, sa_type=BigInteger)
    accepted: int = Field(default=0, sa_type=BigInteger)
    duplicates: int = Field(default=0, sa_type=BigInteger)
    rejected: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who polls the source now, and until when (renewed while polling; an expired lease is free, so a
    # process that died never blocks the source). Written only by the lease methods of the state store.
    lease_holder: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
