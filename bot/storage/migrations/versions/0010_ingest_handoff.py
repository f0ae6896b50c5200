"""ingest hand-offs to listeners (nothing stored is missed by alerts or the reply queue)

Revision ID: 0010
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import bot.storage.types


revision = "0010"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listener", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("new_ids", sa.JSON(), nullable=False),
        sa.Column("updated_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", bot.storage.types.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ingest_handoff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_handoff_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingest_handoff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_handoff_created_at"))
    op.drop_table("ingest_handoff")
