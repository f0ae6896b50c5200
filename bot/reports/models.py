"""Report tables: the scheduled reports that failed to build and wait for another try (migration 0017)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class ReportAttempt(SQLModel, table=True):
    """A scheduled report's due time whose report could not be built or queued.

    The outbox row under the report's key is what says a report went out; a failure leaves none, so without
    this row a due time that failed while a newer one was queued would never be looked at again. It is
    retried until `next_attempt_at` says so, deleted once the report is queued, and given up (`gave_up_at`,
    one notice in the default channel, in the same transaction) after a bounded number of attempts or when
    the due time leaves the catch-up window. A given-up row stays while its due time could still be picked
    up as due, so it is never tried again.
    """

    __tablename__ = "report_attempt"
    __table_args__ = (UniqueConstraint("schedule_id", "due_at", name="uq_report_attempt_schedule_due"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: str = Field(max_length=64)
    due_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    first_failed_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    # the exception's type and first line (no SQL, no parameters: it is shown in the default channel)
    last_error: str | None = Field(default=None, sa_type=Text)
    gave_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
