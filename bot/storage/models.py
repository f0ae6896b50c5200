"""Foundation tables: comments, dead letters, the outbox, processed inbound events, job leases."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class Comment(SQLModel, table=True):
    """One comment (or reply) on a monitored account's content. Unique on (platform, comment_id)."""

    __tablename__ = "comment"
    __table_args__ = (
        UniqueConstraint("platform", "comment_id", name="uq_comment_platform_comment_id"),
        Index("ix_comment_account_created", "platform", "account_id", "created_at"),
        Index("ix_comment_parent", "platform", "parent_id"),
        Index("ix_comment_content", "platform", "content_id"),
        Index("ix_comment_author", "platform", "author_id"),
        # The retention purge's `(ingested_at < ? OR created_at < ?) AND raw IS NOT NULL`: one partial index
        # per branch of the OR (both databases combine them), holding only the payloads still to drop, so
        # the purge every 6 h reads the few expiring rows instead of the whole table (migration 0021).
        Index("ix_comment_raw_ingested", "ingested_at", sqlite_where=sql_text("raw IS NOT NULL"),
              postgresql_where=sql_text("raw IS NOT NULL")),
        Index("ix_comment_raw_created", "created_at", sqlite_where=sql_text("raw IS NOT NULL"),
              postgresql_where=sql_text("raw IS NOT NULL")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    platform: str = Field(max_length=32)
    account_id: str = Field(max_length=128)
    content_id: str = Field(max_length=128)
    content_title: str | None = Field(default=None, sa_type=Text)
    content_url: str | None = Field(default=None, sa_type=Text)
    comment_id: str = Field(max_length=128)
    parent_id: str | None = Field(default=None, max_length=128)
    author_id: str | None = Field(default=None, max_length=128)
    author_name: str | None = Field(default=None, sa_type=Text)
    author_followers: int | None = Field(default=None, sa_type=BigInteger)
    text: str = Field(default="", sa_type=Text)
    like_count: int = Field(default=0, sa_type=BigInteger)
    reply_count: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UTCDateTime)
    ingested_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_from_account: bool = Field(default=False)
    sentiment_label: str | None = Field(default=None, max_length=8)
    sentiment_score: float | None = None  # P(positive)
    # P(negative), when the scorer gives it. The model calls a comment `neg` from P(neg) >= 0.30 on, even
    # when P(positive) is higher (negative recall matters most for spikes); a comment shown to people as
    # an example of negative talk must also lean negative: see `shows_as_negative`.
    sentiment_neg: float | None = None
    sentiment_model: str | None = Field(default=None, max_length=64)
    # none_as_null: None is stored as SQL NULL, not JSON 'null', so `IS NULL` means "nothing there" (the
    # retention purge selects payloads still to drop with `raw IS NOT NULL`; reports, flagged comments)
    risk_flags: list[dict[str, str]] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    raw: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    source: str | None = Field(default=None, max_length=64)

    @property
    def account_key(self) -> str:
        return f"{self.platform}:{self.account_id}"

    @property
    def shows_as_negative(self) -> bool:
        return shows_as_negative(self.sentiment_label, self.sentiment_score, self.sentiment_neg)


def shows_as_negative(label: str | None, score: float | None, neg: float | None) -> bool:
    """Labelled `neg` and not a near-tie the model leans positive on ("三连了，求抽奖[星星眼]": P(neg) 0.35,
    P(pos) 0.39). Used where single comments are quoted as negative (alert top comments, liked-comment
    notices, report examples); counts and spikes use the label alone. Rows scored before P(neg) was
    stored (and backends that do not give it) keep their label."""
    if label != "neg":
        return False
    return neg is None or score is None or neg >= score


class DeadLetter(SQLModel, table=True):
    """A record that ingestion rejected, kept raw with the reason so nothing is silently lost."""

    __tablename__ = "dead_letter"
    # One row per distinct rejection: a file imported again (under any path), a webhook batch resent, the
    # same bad record in another batch, all upsert onto the row their fingerprint names (bot/feeds/ingest.py).
    # A unique index on the text itself is not possible: PostgreSQL caps an index entry at about 2.7 kB.
    __table_args__ = (Index("ux_dead_letter_fingerprint", "fingerprint", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    position: str | None = Field(default=None, max_length=64)  # line number or batch index, where last seen
    reason: str = Field(sa_type=Text)
    raw: str = Field(sa_type=Text)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)  # first seen; retention counts from it
    #: `dead_letter_fingerprint(source, reason, raw)`
    fingerprint: str = Field(max_length=64)
    #: how many times this record was rejected (deliveries, or copies of it in one file)
    seen_count: int = Field(default=1)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)


def dead_letter_fingerprint(source: str, reason: str, raw: str) -> str:
    """What makes two rejections the same one: the same source, reason and raw text (the position is left
    out: the same file imported by another path, or a re-export with rows added above, moves it)."""
    # JSON: unambiguous field boundaries, and lone surrogates escaped rather than failing to encode
    return hashlib.sha256(json.dumps([source, reason, raw]).encode("ascii")).hexdigest()


class OutboxMessage(SQLModel, table=True):
    """A message waiting to be delivered (or delivered) to a chat channel.

    Written in the same transaction as the change that caused it; the worker delivers rows in id order
    per channel, except refreshes of delivered messages (kind "refresh"), which yield to the channel's
    other rows (bot/outbox.py). `key` is the idempotency key: enqueueing the same key twice stores one row.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_channel_status", "channel", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255)
    channel: str = Field(max_length=255)
    kind: str = Field(default="post", max_length=16)  # post | update | upload | refresh | redaction (bot/outbox.py)
    update_of: str | None = Field(default=None, max_length=255)
    payload: dict[str, Any] = Field(sa_type=JSON)
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed | superseded (bot/outbox.py)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    platform_message_id: str | None = Field(default=None, max_length=255)
    last_error: str | None = Field(default=None, sa_type=Text)
    # Start of the earliest attempt whose outcome is unknown: it may have reached the platform (still in
    # flight, timed out, connection lost, 5xx, worker killed). Set when an attempt is claimed and put
    # back when the attempt is cleanly refused, so it survives a restart; the next attempt then asks
    # the platform whether the message is already there before sending it again.
    maybe_sent_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the retention purge emptied `payload` (message texts quote comments and author names) of this
    # finished row; key, channel, status and platform_message_id stay for idempotency and later updates.
    content_purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IngestHandoff(SQLModel, table=True):
    """Comments a listener (alerts, reply queue) has not yet taken, written in the ingest transaction.

    The listener deletes the row in the transaction of its own writes (`bot.storage.handoffs.Handoff`),
    so its effect and the row's deletion commit together; if it failed, or the process stopped before
    it ran, a periodic retry hands the same comments over again, so a stored comment is never silently
    missing from the alerts or the reply queue, nor counted twice.
    """

    __tablename__ = "ingest_handoff"

    id: int | None = Field(default=None, primary_key=True)
    listener: str = Field(max_length=128)
    new_ids: list[int] = Field(default_factory=list, sa_type=JSON)  # comments stored for the first time
    updated_ids: list[int] = Field(default_factory=list, sa_type=JSON)  # re-deliveries (counts refreshed)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)


class InstallIdentity(SQLModel, table=True):
    """One random id per database (migration 0020): what tells two installs with the same chat app apart."""

    __tablename__ = "install_identity"

    id: int = Field(primary_key=True)
    value: str = Field(max_length=32)


class ProcessedEvent(SQLModel, table=True):
    """Inbound chat event ids already handled (kept >= 7 hours: Feishu retries for 6 h)."""

    __tablename__ = "processed_event"

    key: str = Field(primary_key=True, max_length=255)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)


class InboundItem(SQLModel, table=True):
    """A chat command or button press the platform was told we received, not yet handled.

    Written before the work is queued and deleted once it has run: the rows still here after a crash are
    the commands the platform will not send again (Slack never retries an acknowledged slash command), so
    `serve` runs them at its next start."""

    __tablename__ = "inbound_item"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    kind: str = Field(max_length=16)  # "command" | "action"
    platform: str = Field(max_length=32)
    payload: dict[str, Any] = Field(sa_type=JSON)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # Refreshed every few seconds by the process whose worker has begun the item (set when it begins, in
    # the transaction that stores its event id), so a process started beside it (a rolling deploy) can tell
    # a slow handler still running from one a crash stopped: only a heartbeat that stopped moving means
    # "interrupted" (bot/dispatcher.py). NULL: not begun, or begun by a version without heartbeats.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
