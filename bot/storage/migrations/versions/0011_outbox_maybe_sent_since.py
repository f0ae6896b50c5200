"""outbox: remember when an attempt of unknown outcome started (no duplicate posts after lost answers)

Revision ID: 0011
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import bot.storage.types


revision = "0011"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("maybe_sent_since", bot.storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("maybe_sent_since")
