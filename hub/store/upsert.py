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

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

__all__ = ["upsert", "upsert_columns"]

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
            dialect = (conn.dialect.name, conn.dialect.driver, conn.dialect.paramstyle)
            shape = (table, columns, tuple(key), tuple(written), dialect)
            _driver_executemany(conn, table, statement, shape, _RowValues(batch), fixed)


def upsert_columns(
    conn: Connection,
    table: sa.Table,
    columns: Mapping[str, list[Any]],
    *,
    key: Sequence[str],
    update: Collection[str] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """`upsert` of rows given column by column (`columns`: name -> one value per row, in
    the order `upsert` would name them), whose keys are all distinct: the same statement
    and the same bound values as `upsert` of the rows, without a dict per row."""
    names = tuple(columns)
    lists = [columns[name] for name in names]
    count = len(lists[0]) if lists else 0
    fixed = dict(constants or {})
    dialect_insert = _DIALECT_INSERTS.get(conn.dialect.name)
    if dialect_insert is None or count < _DRIVER_MANY or not names:
        rows = [dict(zip(names, values, strict=True)) for values in zip(*lists, strict=True)]
        upsert(conn, table, rows, key=key, update=update, constants=fixed)
        return
    every = names + tuple(c for c in fixed if c not in names)
    taken = every if update is None else [c for c in every if c in update]
    written = [c for c in taken if c not in key]
    insert = dialect_insert(table)
    if written:
        changes = {c: insert.excluded[c] for c in written}
        statement = insert.on_conflict_do_update(index_elements=list(key), set_=changes)
    else:
        statement = insert.on_conflict_do_nothing(index_elements=list(key))
    dialect = (conn.dialect.name, conn.dialect.driver, conn.dialect.paramstyle)
    shape = (table, every, tuple(key), tuple(written), dialect)
    _driver_executemany(conn, table, statement, shape, _ColumnValues(columns, count), fixed)


class _RowValues:
    """Rows as dicts: a column's values are taken from each row."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows, self.count = rows, len(rows)

    def column(self, name: str) -> list[Any]:
        return list(map(itemgetter(name), self.rows))

    def dicts(self) -> list[dict[str, Any]]:
        return self.rows


class _ColumnValues:
    """Rows given as columns."""

    def __init__(self, columns: Mapping[str, list[Any]], count: int) -> None:
        self.columns, self.count = columns, count

    def column(self, name: str) -> list[Any]:
        return self.columns[name]

    def dicts(self) -> list[dict[str, Any]]:
        names = list(self.columns)
        lists = [self.columns[n] for n in names]
        return [dict(zip(names, values, strict=True)) for values in zip(*lists, strict=True)]


_DRIVER_MANY = 64  # rows: below this the compiled-once path is not worth it


def _driver_executemany(
    conn: Connection,
    table: sa.Table,
    statement: Any,
    shape: tuple[Any, ...],
    rows: _RowValues | _ColumnValues,
    fixed: Mapping[str, Any],
) -> None:
    """`shape`: (table, columns, key, updated columns, dialect), which decide the statement."""
    dialect = conn.dialect
    columns = list(shape[1])
    found = _COMPILED.get(shape)
    if found is None:
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        names = list(compiled.positiontup) if compiled.positional else list(columns)
        safe = not compiled.positional or sorted(names) == sorted(columns)
        found = _COMPILED[shape] = (compiled.string, names, compiled.positional, safe)
    sql, names, positional, safe = found
    if not safe:  # not a plain insert: let SQLAlchemy bind it
        dicts = rows.dicts()
        conn.execute(statement, [{**row, **fixed} for row in dicts] if fixed else dicts)
        return

    def column(name: str) -> list[Any]:
        type_ = table.c[name].type
        process = type_._cached_bind_processor(dialect)
        if name in fixed:
            value = fixed[name]
            return [process(value) if process else value] * rows.count
        return _processed(rows.column(name), process, type_, dialect)

    columns_out = [column(name) for name in names]
    params: list[Any] = list(zip(*columns_out, strict=True))
    if not positional:
        params = [dict(zip(names, values, strict=True)) for values in params]
    conn.exec_driver_sql(sql, params)


# compiled upserts by shape (see `_driver_executemany`): each compiled once per process
_COMPILED: dict[tuple[Any, ...], tuple[str, list[str], bool, bool]] = {}

_SQLITE_DATETIME_FORMAT = sqlite.DATETIME._storage_format
_NONE = frozenset({type(None)})


def _processed(
    values: list[Any], process: Callable[[Any], Any] | None, type_: Any, dialect: Any
) -> list[Any]:
    """One column's values as the driver takes them. Two kinds of value skip SQLAlchemy's
    per-value processor where the result is provably the processor's own: datetimes into
    SQLite's default storage text (`isoformat` at microseconds cut before the offset:
    SQLAlchemy's format string ignores the time zone too), and JSON text serialised already
    (`JSONText`, which the store's serialiser returns as it is) into a SQLite JSON column."""
    if process is None or not values:
        return values
    if dialect.name == "sqlite":
        from hub.store.database import JSONText, dumps  # database imports this module

        kinds = set(map(type, values))
        impl = type_.dialect_impl(dialect)
        if (
            kinds - _NONE == {dt.datetime}
            and isinstance(impl, sqlite.DATETIME)
            and impl._storage_format == _SQLITE_DATETIME_FORMAT
        ):
            return [None if v is None else v.isoformat(" ", "microseconds")[:26] for v in values]
        if (
            kinds == {JSONText}
            and isinstance(impl, sa.JSON)
            and getattr(dialect, "_json_serializer", None) is dumps
        ):
            return list(map(str, values))
    ids = list(map(id, values))
    distinct = dict.fromkeys(ids)
    if len(distinct) * 4 <= len(values):  # a few shared objects (say, every row's empty
        by_id = {id(v): v for v in values}  # `extra`): each converted once
        done = {i: process(by_id[i]) for i in distinct}
        return list(map(done.__getitem__, ids))
    return list(map(process, values))


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
