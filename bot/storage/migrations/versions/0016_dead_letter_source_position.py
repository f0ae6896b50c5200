"""dead_letter: an index on (source, position), how a re-delivered batch's rejections are matched

Revision ID: 0016
Revises: 0014
"""

from alembic import op


revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.create_index("ix_dead_letter_source_position", ["source", "position"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.drop_index("ix_dead_letter_source_position")
