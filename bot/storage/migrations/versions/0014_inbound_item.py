"""inbound_item: chat commands and button presses acknowledged but not yet handled (replayed after a crash)

Revision ID: 0014
Revises: 0013
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import bot.storage.types


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", bot.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbound_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_item_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_item_received_at"))
    op.drop_table("inbound_item")
