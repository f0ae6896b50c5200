"""Personal data (China's PIPL): scheduled retention and the removal of one person's data."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, update

from bot.config import RetentionConfig
from bot.storage.db import Database
from bot.storage.models import Comment, DeadLetter, IngestHandoff, OutboxMessage

log = logging.getLogger(__name__)

# Outbox rows still being delivered are never touched, whatever their age: dropping one would lose a
# message the outbox promised to deliver.
FINISHED_OUTBOX = ("sent", "failed")

# A listener's hand-off still pending after this long belongs to a feature that was switched off (or
# has failed for a week): its batch no longer matters to alerts or the queue, and the row goes.
STALE_HANDOFF_AGE = timedelta(days=7)


def purge_expired(db: Database, now, retention: RetentionConfig) -> dict[str, int]:
    """Drop raw payloads and author identifiers older than the retention windows, the content of
    finished outbox messages after the author-identifier window, and finished outbox rows after
    `outbox_days`."""
    raw_cutoff = now - timedelta(days=retention.raw_payload_days)
    author_cutoff = now - timedelta(days=retention.author_identifiers_days)
    outbox_cutoff = now - timedelta(days=retention.outbox_days)
    finished = OutboxMessage.status.in_(FINISHED_OUTBOX)
    with db.session() as session:
        raw = session.execute(
            update(Comment).where(Comment.ingested_at < raw_cutoff).where(Comment.raw.is_not(None)).values(raw=None)
        ).rowcount
        authors = session.execute(
            update(Comment)
            .where(Comment.created_at < author_cutoff)
            .where(Comment.author_id.is_not(None) | Comment.author_name.is_not(None))
            .values(author_id=None, author_name=None, author_followers=None)
        ).rowcount
        dead = session.execute(delete(DeadLetter).where(DeadLetter.received_at < raw_cutoff)).rowcount
        stale = session.execute(
            delete(IngestHandoff).where(IngestHandoff.created_at < now - STALE_HANDOFF_AGE)
        ).rowcount
        outbox_rows = session.execute(
            delete(OutboxMessage).where(finished, OutboxMessage.created_at < outbox_cutoff)
        ).rowcount
        # Message texts quote comments and name their authors, so they go with the author identifiers.
        # The row stays: its key keeps a retry from sending the message again, and platform_message_id
        # lets a later version of an alert or playbook card update the message in place. last_error may
        # echo what the platform answered about the content, so it goes too.
        outbox_contents = session.execute(
            update(OutboxMessage)
            .where(finished, OutboxMessage.created_at < author_cutoff, OutboxMessage.content_purged_at.is_(None))
            .values(payload={}, last_error=None, content_purged_at=now)
        ).rowcount
    counts = {
        "raw_payloads": raw or 0,
        "author_identifiers": authors or 0,
        "dead_letters": dead or 0,
        "stale_handoffs": stale or 0,
        "outbox_contents": outbox_contents or 0,
        "outbox_messages": outbox_rows or 0,
    }
    if stale:
        log.warning("dropped %d ingest hand-off(s) pending for over 7 days (listener gone or failing)", stale)
    log.info("retention purge: %s", counts)
    return counts


def purge_author(db: Database, platform: str, author_id: str) -> dict[str, int]:
    """Remove one person's comments and any dead letter that mentions their id."""
    with db.session() as session:
        comments = session.execute(
            delete(Comment).where(Comment.platform == platform).where(Comment.author_id == author_id)
        ).rowcount
        dead = session.execute(
            delete(DeadLetter).where(DeadLetter.raw.contains(f'"author_id": "{author_id}"') | DeadLetter.raw.contains(f'"author_id":"{author_id}"'))
        ).rowcount
    return {"comments": comments or 0, "dead_letters": dead or 0}
