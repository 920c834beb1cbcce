"""One batched upsert for every table the hub keeps one row per key in.

`INSERT ... ON CONFLICT (key) DO UPDATE` through SQLAlchemy's dialect inserts (SQLite and
PostgreSQL both have it); other databases get the portable update-else-insert per row.
Callers decide *whether* a row changed (content hashes); this writes the rows they pass.

Large batches skip SQLAlchemy's per-row parameter handling: the statement is compiled once
and sent to the driver's `executemany` with each column's bind processor applied here, once
per distinct value object (a batch's shared timestamp is converted once, not per row). Sync
writes thousands of rows per batch, and that per-row handling was a third of its write time.
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
        if extra or len(batch) < _DRIVER_MANY:
            conn.execute(statement, batch)
        else:
            _driver_executemany(conn, table, statement, list(columns), batch)


_DRIVER_MANY = 64  # rows: below this the compiled-once path is not worth it


def _driver_executemany(
    conn: Connection,
    table: sa.Table,
    statement: Any,
    columns: list[str],
    rows: list[dict[str, Any]],
) -> None:
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=columns)
    names = list(compiled.positiontup) if compiled.positional else list(columns)
    if compiled.positional and sorted(names) != sorted(columns):  # not a plain insert: be safe
        conn.execute(statement, rows)
        return
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    sentinel = object()
    last_in = [sentinel] * len(names)
    last_out: list[Any] = [None] * len(names)

    def value(index: int, raw: Any) -> Any:
        process = processors[index]
        if process is None or raw is None:
            return raw
        if raw is last_in[index]:
            return last_out[index]
        out = process(raw)
        last_in[index], last_out[index] = raw, out
        return out

    params: list[Any] = [tuple(value(i, row[name]) for i, name in enumerate(names)) for row in rows]
    if not compiled.positional:
        params = [dict(zip(names, values, strict=True)) for values in params]
    conn.exec_driver_sql(compiled.string, params)


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
