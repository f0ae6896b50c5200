"""playbook runs, steps and timeline

Revision ID: 0003
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import bot.storage.types


revision = "0003"
down_revision = "0001"
branch_labels = ("playbooks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("playbook_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("playbook_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("playbook", sa.JSON(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("role_assignees", sa.JSON(), nullable=False),
        sa.Column("alert_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("started_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("closed_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_status_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("exit_hint_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("normal_max", sa.Float(), nullable=True),
        sa.Column("baseline_share", sa.Float(), nullable=True),
        sa.Column("baseline_comments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crisis_run", schema=None) as batch_op:
        batch_op.create_index("ix_crisis_run_channel_status", ["channel", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_crisis_run_status"), ["status"], unique=False)

    op.create_table(
        "crisis_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner_role", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("due_after_s", sa.Integer(), nullable=False),
        sa.Column("due_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("finished_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("gate", sa.JSON(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("reminded_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("snoozed_until", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["crisis_run.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "step_id", name="uq_crisis_step_run_step"),
    )
    with op.batch_alter_table("crisis_step", schema=None) as batch_op:
        batch_op.create_index("ix_crisis_step_due", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_crisis_step_run_id"), ["run_id"], unique=False)

    op.create_table(
        "crisis_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("step_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["crisis_run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crisis_timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_timeline_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crisis_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_timeline_run_id"))
    op.drop_table("crisis_timeline")
    with op.batch_alter_table("crisis_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_step_run_id"))
        batch_op.drop_index("ix_crisis_step_due")
    op.drop_table("crisis_step")
    with op.batch_alter_table("crisis_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_run_status"))
        batch_op.drop_index("ix_crisis_run_channel_status")
    op.drop_table("crisis_run")
