"""comment: partial indexes for the retention purge of raw payloads

The purge (every 6 h) runs `UPDATE comment SET raw = NULL WHERE (ingested_at < ? OR created_at < ?) AND
raw IS NOT NULL`; with no index on either column it read the whole table each time (1.6 s at 500k
comments). One partial index per branch of the OR, over the rows that still hold a payload: SQLite (OR
optimisation) and PostgreSQL (BitmapOr) read only the expiring rows, and the indexes stay small once the
old payloads are gone.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

STILL_HELD = sa.text("raw IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_comment_raw_ingested", "comment", ["ingested_at"],
                    sqlite_where=STILL_HELD, postgresql_where=STILL_HELD)
    op.create_index("ix_comment_raw_created", "comment", ["created_at"],
                    sqlite_where=STILL_HELD, postgresql_where=STILL_HELD)


def downgrade() -> None:
    op.drop_index("ix_comment_raw_created", table_name="comment")
    op.drop_index("ix_comment_raw_ingested", table_name="comment")
