"""at most one active playbook run per alert

Revision ID: 0009
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0003"
branch_labels = None
depends_on = None

ACTIVE_WITH_ALERT = sa.text("status = 'active' AND alert_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("crisis_run", schema=None) as batch_op:
        batch_op.create_index(
            "uq_crisis_run_active_alert",
            ["alert_id"],
            unique=True,
            sqlite_where=ACTIVE_WITH_ALERT,
            postgresql_where=ACTIVE_WITH_ALERT,
        )


def downgrade() -> None:
    with op.batch_alter_table("crisis_run", schema=None) as batch_op:
        batch_op.drop_index("uq_crisis_run_active_alert")
