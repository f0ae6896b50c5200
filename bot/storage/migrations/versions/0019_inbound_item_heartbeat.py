"""inbound_item: a heartbeat the process running a begun item refreshes (no false "interrupted" notice
while an old process still finishes a slow command in a rolling deploy)

Revision ID: 0019
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision = "0019"
down_revision = "0014"  # the inbound journal's own branch (each feature carries its own; `db upgrade` applies all heads)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_item", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
