"""Helpers shared by the poller integration tests (rows as plain detached objects)."""

from __future__ import annotations

from sqlmodel import select

from bot.storage.models import Comment, DeadLetter, OutboxMessage


def comments(db, platform: str | None = None) -> list[Comment]:
    with db.session() as session:
        query = select(Comment)
        if platform:
            query = query.where(Comment.platform == platform)
        rows = list(session.exec(query))
        for row in rows:
            session.expunge(row)
        return rows


def dead_letters(db) -> list[DeadLetter]:
    with db.session() as session:
        rows = list(session.exec(select(DeadLetter)))
        for row in rows:
            session.expunge(row)
        return rows


def outbox(db) -> list[OutboxMessage]:
    with db.session() as session:
        rows = list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
        for row in rows:
            session.expunge(row)
        return rows
