"""dead_letter: one row per distinct rejection (a unique fingerprint of source, reason and raw text), with
how often and when last it was seen; the duplicates stored before are merged into one row each

Revision ID: 0018
Revises: 0016
"""

import hashlib
import json

from alembic import op
import sqlalchemy as sa
import sqlmodel
import bot.storage.types


revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

BATCH = 1000


def fingerprint(source: str, reason: str, raw: str) -> str:
    # frozen copy of bot.storage.models.dead_letter_fingerprint as of this revision: a migration must give
    # the same answer whatever later code does (a changed formula needs a migration of its own)
    return hashlib.sha256(json.dumps([source, reason, raw]).encode("ascii")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("seen_count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_seen_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True))

    bind = op.get_bind()
    dead_letter = sa.table(
        "dead_letter", sa.column("id", sa.Integer), sa.column("source", sa.String), sa.column("position", sa.String),
        sa.column("reason", sa.Text), sa.column("raw", sa.Text), sa.column("fingerprint", sa.String),
        sa.column("seen_count", sa.Integer), sa.column("received_at", bot.storage.types.UTCDateTime(timezone=True)),
        sa.column("last_seen_at", bot.storage.types.UTCDateTime(timezone=True)),
    )
    # sha256 in Python (SQLite has none), in id order and batches: the raw texts are up to 100,000 characters
    last = 0
    while True:
        rows = bind.execute(
            sa.select(dead_letter.c.id, dead_letter.c.source, dead_letter.c.reason, dead_letter.c.raw)
            .where(dead_letter.c.id > last).order_by(dead_letter.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            dead_letter.update().where(dead_letter.c.id == sa.bindparam("row_id"))
            .values(fingerprint=sa.bindparam("print")),
            [{"row_id": r.id, "print": fingerprint(r.source, r.reason, r.raw)} for r in rows],
        )
        last = rows[-1].id
    bind.execute(dead_letter.update().values(last_seen_at=dead_letter.c.received_at))

    # Rows stored twice before (the same file imported by another path, the same bad record in another
    # webhook batch): the first keeps the count of them all, the latest time and where it was seen last.
    duplicated = bind.execute(
        sa.select(dead_letter.c.fingerprint, sa.func.min(dead_letter.c.id), sa.func.max(dead_letter.c.id),
                  sa.func.count(), sa.func.max(dead_letter.c.received_at))
        .group_by(dead_letter.c.fingerprint).having(sa.func.count() > 1)
    ).all()
    for print_, first, latest, count, last_seen in duplicated:
        position = bind.execute(sa.select(dead_letter.c.position).where(dead_letter.c.id == latest)).scalar()
        bind.execute(dead_letter.update().where(dead_letter.c.id == first)
                     .values(seen_count=count, last_seen_at=last_seen, position=position))
        bind.execute(dead_letter.delete().where(dead_letter.c.fingerprint == print_, dead_letter.c.id != first))

    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        batch_op.alter_column("last_seen_at", existing_type=bot.storage.types.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column("seen_count", existing_type=sa.Integer(), server_default=None)
        batch_op.create_index("ux_dead_letter_fingerprint", ["fingerprint"], unique=True)
        # how 0016 matched a re-delivery (by position, then raw text); the fingerprint does it now
        batch_op.drop_index("ix_dead_letter_source_position")


def downgrade() -> None:
    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.create_index("ix_dead_letter_source_position", ["source", "position"], unique=False)
        batch_op.drop_index("ux_dead_letter_fingerprint")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("seen_count")
        batch_op.drop_column("fingerprint")
