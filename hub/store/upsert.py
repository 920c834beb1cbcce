"""One batched upsert for every table the hub keeps one row per key in.

`INSERT ... ON CONFLICT (key) DO UPDATE` through SQLAlchemy's dialect inserts (SQLite and
PostgreSQL both have it); other databases get the portable update-else-insert per row.
Callers decide *whether* a row changed (content hashes); this writes the rows they pass.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

__all__ = ["upsert"]

_DIALECT_INSERTS: dict[str, Callable[[sa.Table], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Collection[str] | None = None,
    on_update: Mapping[str, Any] | None = None,
) -> None:
    """Insert each row, or update the row with the same `key` where one exists.

    An existing row takes the new row's `update` columns (by default every column the row
    names but the key); `on_update` sets columns to expressions instead (say, a counter
    `table.c.attempts + 1`). Rows are keyed by name; within one call the last row for a
    key wins. All writes use the caller's transaction.
    """
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        by_key[tuple(row[k] for k in key)] = row if isinstance(row, dict) else dict(row)
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in by_key.values():  # one statement per set of columns named
        shapes.setdefault(tuple(row), []).append(row)
    extra = dict(on_update or {})
    dialect_insert = _DIALECT_INSERTS.get(conn.dialect.name)
    for columns, batch in shapes.items():
        taken = columns if update is None else [c for c in columns if c in update]
        written = [c for c in taken if c not in key and c not in extra]
        if dialect_insert is None:
            _update_else_insert(conn, table, batch, key, written, extra)
            continue
        insert = dialect_insert(table)
        changes = {c: insert.excluded[c] for c in written} | extra
        if changes:
            statement = insert.on_conflict_do_update(index_elements=list(key), set_=changes)
        else:
            statement = insert.on_conflict_do_nothing(index_elements=list(key))
        conn.execute(statement, batch)


def _update_else_insert(
    conn: Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    key: Sequence[str],
    written: list[str],
    extra: Mapping[str, Any],
) -> None:
    for row in rows:
        match = sa.and_(*(table.c[k] == row[k] for k in key))
        changes = {c: row[c] for c in written} | dict(extra)
        if changes and conn.execute(table.update().where(match).values(changes)).rowcount:
            continue
        if conn.execute(sa.select(sa.literal(1)).where(match)).first() is None:
            conn.execute(table.insert().values(row))
