"""Benchmarks for negative-spike alerts (`python -m bench.alerts`)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def bench_database(url: str | None) -> Iterator:
    """A migrated throwaway database: a fresh schema at PostgreSQL `url` (dropped afterwards), or a SQLite
    file in a temporary folder."""
    from sqlalchemy import create_engine, text

    from bot.storage.db import Database

    with tempfile.TemporaryDirectory() as tmp:
        schema = admin = None
        if url:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            db = Database(url, schema=schema)
        else:
            db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            db.upgrade()
            yield db
        finally:
            db.dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
