"""Tables of the sentiment feature: corrections made in chat (labeled examples for retraining)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class SentimentCorrection(SQLModel, table=True):
    """A human relabelling of one stored comment (`/sentiment fix COMMENT_ID neg|neu|pos`).

    Every correction is kept (an audit trail); training uses the latest one per comment.
    """

    __tablename__ = "sentiment_correction"
    __table_args__ = (Index("ix_sentiment_correction_comment", "platform", "comment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    account_id: str = Field(max_length=128)
    comment_id: str = Field(max_length=128)
    text: str = Field(default="", sa_type=Text)
    old_label: str | None = Field(default=None, max_length=8)
    new_label: str = Field(max_length=8)
    corrected_by: str = Field(max_length=128)
    channel: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
