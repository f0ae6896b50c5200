"""sentiment corrections

Revision ID: 0006
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.storage.types

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sentiment_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("comment_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("old_label", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("new_label", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("corrected_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sentiment_correction_comment", "sentiment_correction", ["platform", "comment_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sentiment_correction_comment", table_name="sentiment_correction")
    op.drop_table("sentiment_correction")
