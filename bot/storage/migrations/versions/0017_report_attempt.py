"""report_attempt: scheduled reports that failed to build, retried and given up with a notice

Revision ID: 0017
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import bot.storage.types


revision = "0017"
down_revision = "0001"  # the reports' own branch (each feature carries its own; `db upgrade` applies all heads)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("due_at", bot.storage.types.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", bot.storage.types.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", bot.storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("gave_up_at", bot.storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_report_attempt_schedule_due"),
    )


def downgrade() -> None:
    op.drop_table("report_attempt")
