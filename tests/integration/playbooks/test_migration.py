"""Migration 0003 creates exactly the tables the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import bot.playbooks.models  # noqa: F401 - registers the tables

OUR_TABLES = {"crisis_run", "crisis_step", "crisis_timeline"}


def _ours(diff) -> bool:
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            name = getattr(table, "name", None) or getattr(part, "name", None)
            if name in OUR_TABLES or (isinstance(part, str) and part in OUR_TABLES):
                return True
    return False


def test_migration_matches_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diffs if _ours(d)] == []
