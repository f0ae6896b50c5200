"""install_identity: one random id per database, made when the database is created

Feishu keeps one message per `uuid` for an hour per app; the outbox keys ("crisis:1:card") repeat in every
new database, so a second install of the same app (a staging copy, a rebuilt database) had its new cards
swallowed or another chat's card edited. The Feishu port salts its uuids with this id.

Revision ID: 0020
Revises: 0019
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "install_identity",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.String(length=32), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "value": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("install_identity")
