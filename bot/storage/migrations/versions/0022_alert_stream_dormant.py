"""alert_stream: a dormant flag, so the tick stops visiting quiet old videos

Every video ever seen keeps its stream row, and each bucket close used to find every one of them due
again: a video quiet for two days was skipped ahead one bucket per pass, a write per stream per pass
(50,000 such rows beside 10,000 live streams: 18.7 s CPU per tick instead of 0.8 s). The flag is set
when a stream goes dormant and cleared by the next comment; the index answers the tick's search for due
streams from the awake rows alone.

Revision ID: 0022
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0002"  # the alerts tables' own branch (each feature carries its own; `db upgrade` applies all heads)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_stream") as batch:
        batch.add_column(sa.Column("dormant", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_alert_stream_awake", "alert_stream", ["dormant", "last_closed"])


def downgrade() -> None:
    op.drop_index("ix_alert_stream_awake", table_name="alert_stream")
    with op.batch_alter_table("alert_stream") as batch:
        batch.drop_column("dormant")
