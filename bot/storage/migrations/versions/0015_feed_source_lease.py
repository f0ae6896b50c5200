"""feed source state: a lease so one process at a time polls a source (serve beside `crisisbot poll`)

Revision ID: 0015
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

import bot.storage.types

revision = "0015"
down_revision = "0005"  # the pollers' branch (each feature carries its own; `db upgrade` applies all heads)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_source_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_holder", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("lease_until", bot.storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_source_state", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_holder")
