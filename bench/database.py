"""Throw-away databases for the benchmarks: they never touch a database's existing tables."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def throwaway_schema(url: str, prefix: str = "bench") -> Iterator[str]:
    """A new PostgreSQL schema at `url`, dropped (with everything in it) afterwards; yields its name."""
    from sqlalchemy import create_engine, text

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@contextmanager
def bench_database(url: str | None, prefix: str = "bench") -> Iterator:
    """A migrated throw-away database: a fresh schema at PostgreSQL `url`, or (None) a SQLite file in a
    temporary folder."""
    from bot.storage.db import Database

    if url:
        with throwaway_schema(url, prefix) as schema:
            db = Database(url, schema=schema)
            try:
                db.upgrade()
                yield db
            finally:
                db.dispose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            db.upgrade()
            yield db
        finally:
            db.dispose()
