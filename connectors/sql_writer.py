"""SQLWriter: push-back into any SQLAlchemy-reachable database read by the `sql` connector.

The golden id goes into a column of the stream's table (hub.yaml `golden_id_field`, e.g.
`crmhub_golden_id` — add it to the table first); contact fields go into the columns hub.yaml
maps them from. Statements are parametrised; one row per call, in its own transaction.
Query streams are read-only (there is no table to write to).

Audience membership (`apply_audience`, a `system` audience destination) goes into a table of
its own in the same database, `crmhub_audience_members` (source id, audience, golden id,
carried fields as JSON), created when missing: a row while the record is in the audience,
deleted on exit. The source's own tables are not touched, so no sync reads these writes back
unless a stream is configured on that table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, NoSuchTableError, OperationalError

from connectors.errors import parse_stream_configs
from connectors.sql import SQLStreamConfig, safe_url
from connectors.writers import PushItem, WriteError, Writer
from schemas.customer import CUSTOMER_FIELDS

__all__ = ["AUDIENCE_TABLE", "SQLWriter"]

AUDIENCE_TABLE = "crmhub_audience_members"


class SQLWriter(Writer):
    """UPDATE (or INSERT, for upsert) one row of a configured table stream."""

    writable_fields: ClassVar[frozenset[str]] = frozenset(
        f for f in CUSTOMER_FIELDS if f not in ("source", "source_id", "updated_at")
    )
    can_create: ClassVar[bool] = True

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self._url = str(config["url"])
        self._engine = sa.create_engine(self._url)
        streams = parse_stream_configs("sql", SQLStreamConfig, config.get("streams", []))
        self._streams = {s.name: s for s in streams}
        self._tables: dict[str, sa.Table] = {}
        self._audiences: sa.Table | None = None

    def _table(self, stream: str) -> tuple[sa.Table, SQLStreamConfig]:
        conf = self._streams.get(stream)
        if conf is None or conf.table is None:
            raise WriteError(f"stream {stream!r} is not a table stream of this connector")
        if stream not in self._tables:
            try:
                self._tables[stream] = sa.Table(
                    conf.table, sa.MetaData(), schema=conf.schema_name, autoload_with=self._engine
                )
            except NoSuchTableError as exc:
                raise WriteError(
                    f"table {conf.table!r} not found in {safe_url(self._url)}"
                ) from exc
            except OperationalError as exc:
                raise WriteError(_first_line(exc), retriable=True) from exc
        return self._tables[stream], conf

    def _row(self, table: sa.Table, item: PushItem) -> dict[str, Any]:
        if item.golden_id_field not in table.c:
            raise WriteError(
                f"table {table.name!r} has no column {item.golden_id_field!r} for the golden id; "
                "add it (e.g. VARCHAR(40)) or set pushback.targets.<name>.golden_id_field"
            )
        row: dict[str, Any] = {item.golden_id_field: item.golden_id}
        for name, value in item.values.items():
            column = item.system_fields.get(name)
            if column is None or "." in column or column not in table.c:
                raise WriteError(
                    f"{name}: no plain column of {table.name!r} is mapped to it in hub.yaml; "
                    f"set its push policy to never"
                )
            row[column] = value
        return row

    def update(self, item: PushItem) -> None:
        table, conf = self._table(item.stream)
        row = self._row(table, item)
        if len(conf.primary_keys) != 1:
            raise WriteError(f"table {table.name!r}: push-back needs a single-column primary key")
        key = table.c[conf.primary_keys[0]]
        value: Any = item.source_id
        if key.type.python_type is int and item.source_id is not None:
            value = int(item.source_id)
        with self._write() as conn:
            result = conn.execute(table.update().where(key == value).values(**row))
        if result.rowcount == 0:
            raise WriteError(
                f"no row {item.source_id!r} in {table.name!r} (deleted since the sync?)"
            )

    def create(self, item: PushItem) -> str:
        table, _ = self._table(item.stream)
        row = self._row(table, item)
        with self._write() as conn:
            result = conn.execute(table.insert().values(**row))
        key = result.inserted_primary_key
        if not key:
            raise WriteError(f"{table.name!r} did not return the new row's key")
        return str(key[0])

    def apply_audience(
        self,
        golden_id: str,
        source_id: str,
        audience: str,
        member: bool,
        fields: Mapping[str, Any],
    ) -> None:
        """Write (or, on exit, delete) the record's row of `crmhub_audience_members`."""
        table = self._audience_table()
        c = table.c
        with self._write() as conn:
            conn.execute(table.delete().where(c.source_id == source_id, c.audience == audience))
            if member:
                text = json.dumps(dict(fields), ensure_ascii=False, default=str)
                conn.execute(
                    table.insert().values(
                        source_id=source_id, audience=audience, golden_id=golden_id, fields=text
                    )
                )

    def _audience_table(self) -> sa.Table:
        if self._audiences is None:
            table = sa.Table(
                AUDIENCE_TABLE,
                sa.MetaData(),
                sa.Column("source_id", sa.String(500), primary_key=True),
                sa.Column("audience", sa.String(40), primary_key=True),
                sa.Column("golden_id", sa.String(40), nullable=False),
                sa.Column("fields", sa.Text, nullable=False),
            )
            with self._write() as conn:
                table.create(conn, checkfirst=True)
            self._audiences = table
        return self._audiences

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One transaction; database errors become WriteErrors (locks/timeouts retriable)."""
        try:
            with self._engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise WriteError(f"{safe_url(self._url)}: {_first_line(exc)}", retriable=True) from exc
        except DBAPIError as exc:  # integrity, data and programming errors: this row refused
            raise WriteError(f"refused by the database: {_first_line(exc)}") from exc

    def close(self) -> None:
        self._engine.dispose()


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
