"""Bulk writes on PostgreSQL: a whole batch as ONE json parameter the server expands into rows.

`INSERT ... SELECT cols FROM json_populate_recordset(NULL::table, :rows)` replaces a multi-row VALUES list
(a new statement of thousands of placeholders per chunk, which psycopg re-parses on every call because
its query cache skips long statements, and which the server plans afresh) and executemany (one
statement per row). json.dumps runs in C, the statement text never changes, and the server casts each
field with the column's own type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        # every stored time is aware (UTCDateTime refuses naive ones): keep that guard on this path too
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: every stored time must be timezone-aware")
        return value.isoformat()
    return str(value)


def json_rows(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as one JSON array (times as ISO 8601 with their offset)."""
    return json.dumps(list(rows), ensure_ascii=False, default=_default, allow_nan=False)


def insert_from_json(table: str, columns: Sequence[str], param: str = "rows") -> str:
    """`INSERT INTO table (columns) SELECT columns FROM json_populate_recordset(NULL::table, :param)`;
    append the ON CONFLICT / RETURNING clauses."""
    cols = ", ".join(columns)
    return (f"INSERT INTO {table} ({cols}) SELECT {cols} "
            f"FROM json_populate_recordset(NULL::{table}, CAST(:{param} AS json))")
