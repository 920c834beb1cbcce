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
from operator import itemgetter
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
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert each row, or update the row with the same `key` where one exists.

    An existing row takes the new row's `update` columns (by default every column the row
    names but the key); `on_update` sets columns to expressions instead (say, a counter
    `table.c.attempts + 1`). `constants` are columns every row has with the same value (a
    batch's source, time stamp, run id; they win over a row's own value): passed once
    instead of copied into each row. Rows
    are keyed by name; within one call the last row for a key wins. All writes use the
    caller's transaction.
    """
    fixed = dict(constants or {})
    varying = [k for k in key if k not in fixed]  # a constant part of the key is the same
    key_of: Callable[[Mapping[str, Any]], Any] = (
        itemgetter(*varying) if varying else lambda row: ()  # one column: its value
    )
    by_key: dict[Any, Mapping[str, Any]] = {key_of(row): row for row in rows}
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in by_key.values():  # one statement per set of columns named
        shapes.setdefault(tuple(row), []).append(row if isinstance(row, dict) else dict(row))
    extra = dict(on_update or {})
    dialect_insert = _DIALECT_INSERTS.get(conn.dialect.name)
    for named, batch in shapes.items():
        columns = named + tuple(c for c in fixed if c not in named)
        taken = columns if update is None else [c for c in columns if c in update]
        written = [c for c in taken if c not in key and c not in extra]
        if dialect_insert is None:
            rows_in_full = [{**row, **fixed} for row in batch] if fixed else batch
            _update_else_insert(conn, table, rows_in_full, key, written, extra)
            continue
        insert = dialect_insert(table)
        changes = {c: insert.excluded[c] for c in written} | extra
        if changes:
            statement = insert.on_conflict_do_update(index_elements=list(key), set_=changes)
        else:
            statement = insert.on_conflict_do_nothing(index_elements=list(key))
        if extra or len(batch) < _DRIVER_MANY:
            conn.execute(statement, [{**row, **fixed} for row in batch] if fixed else batch)
        else:
            _driver_executemany(conn, table, statement, list(columns), batch, fixed)


_DRIVER_MANY = 64  # rows: below this the compiled-once path is not worth it


def _driver_executemany(
    conn: Connection,
    table: sa.Table,
    statement: Any,
    columns: list[str],
    rows: list[dict[str, Any]],
    fixed: Mapping[str, Any],
) -> None:
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=columns)
    names = list(compiled.positiontup) if compiled.positional else list(columns)
    if compiled.positional and sorted(names) != sorted(columns):  # not a plain insert: be safe
        conn.execute(statement, rows)
        return

    def column(name: str) -> list[Any]:
        process = table.c[name].type._cached_bind_processor(dialect)
        if name in fixed:
            value = fixed[name]
            return [process(value) if process else value] * len(rows)
        return _processed([row[name] for row in rows], process)

    columns_out = [column(name) for name in names]
    params: list[Any] = list(zip(*columns_out, strict=True))
    if not compiled.positional:
        params = [dict(zip(names, values, strict=True)) for values in params]
    conn.exec_driver_sql(compiled.string, params)


def _processed(values: list[Any], process: Callable[[Any], Any] | None) -> list[Any]:
    """One column's values as the driver takes them; a value shared by every row (a batch's
    timestamp, run id) is converted once."""
    if process is None or not values:
        return values
    first = values[0]
    if all(v is first for v in values):
        return [process(first)] * len(values)
    return [process(v) for v in values]


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
