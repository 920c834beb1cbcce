"""TapSQL: tables and queries of any SQLAlchemy-reachable database as Singer streams.

Built for ERP databases. Reads stream with server-side cursors in ``batch_size``
chunks; incremental streams read ``WHERE key >= :bookmark ORDER BY key``. Values
become JSON: temporal values ISO 8601 strings (naive datetimes taken as UTC),
``Decimal`` kept exact (a JSON number with all its digits), binary data base64 text, so no
SQL row is ever quarantined. Connection failures raise one-line errors naming the
stream and the URL without its password: timeouts :class:`ConnectorRetriableError`,
everything else :class:`ConnectorFatalError`.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage
from singer_sdk.sql.connector import SQLToJSONSchema
from sqlalchemy import exc as sa_exc

from connectors.errors import (
    ERROR_PROPERTY,
    ConnectorFatalError,
    ConnectorRetriableError,
    error_property_schema,
    parse_stream_configs,
)
from connectors.jsontypes import infer_properties, schema_types

__all__ = ["SQLStream", "SQLStreamConfig", "TapSQL"]

SAMPLE_SIZE = 100


class SQLStreamConfig(BaseModel):
    """One configured table or query stream (an entry of the ``streams`` setting)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    table: str | None = None
    query: str | None = None
    schema_name: str | None = None
    primary_keys: tuple[str, ...] = ("id",)
    replication_key: str | None = None
    declared_schema: dict[str, dict[str, Any]] | None = Field(default=None, alias="schema")

    @model_validator(mode="after")
    def _table_or_query(self) -> SQLStreamConfig:
        if (self.table is None) == (self.query is None):
            msg = "set exactly one of table or query"
            raise ValueError(msg)
        if self.query is not None and self.schema_name is not None:
            msg = "schema_name applies to table streams only"
            raise ValueError(msg)
        return self


def safe_url(url: str) -> str:
    """``url`` with its password masked, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "<unparseable database URL>"


def _is_timeout(exc: sa_exc.SQLAlchemyError) -> bool:
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    orig = getattr(exc, "orig", None)
    if isinstance(orig, TimeoutError):
        return True
    text = str(orig if orig is not None else exc).lower()
    return "timeout" in text or "timed out" in text


@contextmanager
def database_errors(stream: str, url: str, action: str) -> Iterator[None]:
    """Turn SQLAlchemy errors into one-line connector errors without the password."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        if isinstance(exc, sa_exc.NoSuchTableError):
            detail = f"table {str(exc)!r} not found"
        else:
            orig = getattr(exc, "orig", None)
            source = orig if orig is not None else exc
            lines = str(source).strip().splitlines() or [""]
            detail = f"{type(source).__name__}: {lines[0]}"
        try:
            password = sa.make_url(url).password
        except sa_exc.ArgumentError:
            password = None
        if password:
            detail = detail.replace(str(password), "***")
        msg = f"stream {stream!r}: {action} failed on {safe_url(url)}: {detail}"
        error_class = ConnectorRetriableError if _is_timeout(exc) else ConnectorFatalError
        raise error_class(msg) from exc


_PLAIN = frozenset({str, int, float, bool, type(None)})


def json_value(value: Any) -> Any:
    """One database value as JSON-ready data (see the module docstring)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return value  # exact: singer-sdk writes it with every digit, the hub stores it so
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def column_schema(column: sa.ColumnElement[Any]) -> dict[str, Any]:
    """The JSON Schema of one reflected column, nullable when the column is."""
    schema = dict(SQLToJSONSchema().to_jsonschema(column.type))
    if isinstance(column.type, sa.Time):
        schema.pop("format", None)  # naive times do not satisfy the RFC 3339 format
    if isinstance(column.type, sa.LargeBinary):
        schema["contentEncoding"] = "base64"
    types = schema_types(schema)
    nullable = getattr(column, "nullable", True)
    schema["type"] = [*types, "null"] if nullable else types
    return schema


class SQLStream(Stream):
    """Rows of one table or query, in key order."""

    # get_records() already yields JSON-ready values (json_value), so singer-sdk's per-value
    # type conformance would only repeat that work on the hot path.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(
        self, tap: Tap, config: SQLStreamConfig, *, engine: sa.Engine, url: str, batch_size: int
    ) -> None:
        self.sql_config = config
        self._engine = engine
        self._url = url
        self._batch_size = batch_size
        self._key_sample: Any = None
        self._plain_messages: bool | None = None  # decided at the first record
        with database_errors(config.name, url, "discovery"):
            self._source, properties = self._discover()
        keys = [*config.primary_keys, config.replication_key]
        if missing := [repr(key) for key in keys if key and key not in self._source.c]:
            columns = ", ".join(self._source.c.keys())
            msg = f"stream {config.name!r}: no column {', '.join(missing)} (columns: {columns})"
            raise ConnectorFatalError(msg)
        properties[ERROR_PROPERTY] = error_property_schema()
        schema = {"type": "object", "properties": properties}
        super().__init__(tap=tap, schema=schema, name=config.name)
        self.primary_keys = list(config.primary_keys)
        self.replication_key = config.replication_key

    @property
    def is_sorted(self) -> bool:
        """Rows come in replication-key order, so the bookmark advances during the run."""
        return True

    def _discover(self) -> tuple[sa.Table | sa.Subquery, dict[str, dict[str, Any]]]:
        config = self.sql_config
        declared = dict(config.declared_schema or {})
        declared.pop(ERROR_PROPERTY, None)
        if config.table is not None:
            table = sa.Table(
                config.table, sa.MetaData(), schema=config.schema_name, autoload_with=self._engine
            )
            reflected = {column.name: column_schema(column) for column in table.columns}
            if not declared:
                return table, reflected
            keys = [*config.primary_keys, config.replication_key]
            missing = {key: reflected[key] for key in keys if key in reflected}
            return table, {**missing, **declared}
        assert config.query is not None
        if declared:
            columns: list[sa.ColumnClause[Any]] = [sa.column(name) for name in declared]
            return sa.text(config.query).columns(*columns).subquery("q"), declared
        probe = sa.text(config.query).columns().subquery("q")
        sample: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(probe)
        with self._engine.connect() as connection:
            result = connection.execute(sample.limit(SAMPLE_SIZE))
            names = list(result.keys())
            rows = [dict(row) for row in result.mappings()]
        key = config.replication_key
        self._key_sample = next((row[key] for row in rows if row.get(key) is not None), None)
        source = sa.text(config.query).columns(*(sa.column(name) for name in names)).subquery("q")
        properties = {name: {"type": ["string", "null"]} for name in names}
        properties.update(infer_properties(rows))
        return source, properties

    def _key_python_type(self, key: str) -> tuple[Any, bool]:
        """(Python type of the key column's values, whether datetimes are tz-aware)."""
        column_type = self._source.c[key].type
        try:
            return column_type.python_type, bool(getattr(column_type, "timezone", False))
        except NotImplementedError:
            pass  # a query column: judge by the sampled value or the declared format
        sample = self._key_sample
        if sample is not None:
            return type(sample), isinstance(sample, dt.datetime) and sample.tzinfo is not None
        fmt = self.schema["properties"].get(key, {}).get("format")
        return {"date-time": dt.datetime, "date": dt.date}.get(fmt, str), False

    def _bookmark_param(self, key: str, value: Any) -> Any:
        """The bookmark from state as the Python type the key column compares with."""
        if not isinstance(value, str):
            return value
        python_type, aware = self._key_python_type(key)
        if python_type is dt.datetime:
            parsed = dt.datetime.fromisoformat(value)
            if parsed.tzinfo is not None and not aware:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            return parsed
        if python_type is dt.date:
            return dt.date.fromisoformat(value[:10])
        return value

    def _statement(self, context: Context | None) -> sa.Select[Any]:
        source = self._source
        statement = sa.select(source)
        key = self.replication_key
        by_primary_key = [source.c[name] for name in self.primary_keys]
        if not key:
            return statement.order_by(*by_primary_key)
        start = self.get_starting_replication_key_value(context)
        if start is not None:
            statement = statement.where(source.c[key] >= self._bookmark_param(key, start))
        return statement.order_by(source.c[key], *by_primary_key)

    # -- the record path: singer-sdk's per-record steps, skipped where they do nothing ---------
    def _process_record(
        self,
        record: Record,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        """Nothing to do for a stream without child streams or partitions (singer-sdk would
        build and drop a child context per record)."""
        if self.child_streams or partition_context:
            super()._process_record(record, child_context, partition_context)

    def _generate_record_messages(self, record: Record) -> Generator[RecordMessage, None, None]:
        """The RECORD message of a row. When every property is selected and no stream map
        is configured, singer-sdk's per-record steps (dropping deselected properties,
        conforming types — off here, see TYPE_CONFORMANCE_LEVEL — and the identity map)
        would each return the row unchanged: the message is made directly."""
        if self._plain_messages is None:
            maps = self.stream_maps
            self._plain_messages = (
                all(self.mask.values())
                and len(maps) == 1
                and type(maps[0]) is SameRecordTransform
                and maps[0].stream_alias == self.name
                and not (maps[0].flattening_options and maps[0].flattening_enabled)
            )
        if not self._plain_messages:
            yield from super()._generate_record_messages(record)
            return
        yield RecordMessage(
            stream=self.name,
            record=record,
            version=self._stream_version,
            time_extracted=utc_now(),
        )

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Rows in key order, streamed in ``batch_size`` chunks."""
        statement = self._statement(context)
        options = {"stream_results": True, "yield_per": self._batch_size}
        try:
            with database_errors(self.name, self._url, "read"), self._engine.connect() as conn:
                result = conn.execution_options(**options).execute(statement)
                declared = self.schema["properties"]  # a declared schema may name fewer columns
                columns = list(result.keys())
                taken = [i for i, name in enumerate(columns) if name in declared]
                names = [columns[i] for i in taken]
                pick = itemgetter(*taken) if len(taken) > 1 else lambda r: [r[i] for i in taken]
                for row in result:
                    values = pick(row)
                    if set(map(type, values)) <= _PLAIN:  # the common case: nothing to convert
                        yield dict(zip(names, values, strict=True))
                    else:
                        yield {n: json_value(v) for n, v in zip(names, values, strict=True)}
        finally:
            self._engine.dispose()


_STREAM = th.ObjectType(
    th.Property("name", th.StringType, required=True, description="Stream name."),
    th.Property("table", th.StringType, description="Table to read (or set query)."),
    th.Property("query", th.StringType, description="SELECT to read (or set table)."),
    th.Property("schema_name", th.StringType, description="Database schema of the table."),
    th.Property("primary_keys", th.ArrayType(th.StringType), default=["id"]),
    th.Property("replication_key", th.StringType, description="Enables incremental reads."),
    th.Property(
        "schema",
        th.ObjectType(additional_properties=True),
        description="JSON Schema `properties` overriding the discovered types.",
    ),
    additional_properties=False,
)


class TapSQL(Tap):
    """Tables and queries of any SQLAlchemy database (ERP systems), one stream per entry."""

    name = "tap-crmhub-sql"
    package_name = "crm-hub"
    dynamic_catalog = True
    config_jsonschema = th.PropertiesList(
        th.Property(
            "url",
            th.StringType,
            required=True,
            secret=True,
            description="SQLAlchemy database URL, e.g. postgresql+psycopg://user:pw@host/db.",
        ),
        th.Property("streams", th.ArrayType(_STREAM), required=True),
        th.Property("batch_size", th.IntegerType(minimum=1), default=5000),
    ).to_dict()

    @cached_property
    def engine(self) -> sa.Engine:
        """The tap's one engine, shared by its streams."""
        url = str(self.config["url"])
        try:
            return sa.create_engine(url)
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
            msg = f"{self.name}: cannot use database URL {safe_url(url)}: {exc}"
            raise ConnectorFatalError(msg) from None

    def discover_streams(self) -> list[Stream]:
        """One stream per configured table or query."""
        configs = parse_stream_configs(self.name, SQLStreamConfig, self.config["streams"])
        url = str(self.config["url"])
        batch_size = int(self.config.get("batch_size", 5000))
        try:
            return [
                SQLStream(self, config, engine=self.engine, url=url, batch_size=batch_size)
                for config in configs
            ]
        finally:
            self.engine.dispose()
