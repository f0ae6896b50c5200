"""outbox: remember when retention dropped a finished message's content (PIPL)

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa
import bot.storage.types


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_purged_at", bot.storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("content_purged_at")
