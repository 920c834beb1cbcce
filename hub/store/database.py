"""The hub store: engine, migrations and the few queries everything else builds on.

Any SQLAlchemy URL works; the default is a SQLite file under `.crmhub/`. The schema is
owned by Alembic (`hub/store/migrations`); `Store.open()` upgrades it to head.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from hub.core.clock import now
from hub.core.states import RunStatus
from hub.store.migrations import HEAD
from hub.store.tables import connector_runs, decimal_text, stream_state
from hub.store.upsert import upsert
from schemas.config import HubConfig, resolve_env

__all__ = [
    "DEFAULT_URL",
    "JSONText",
    "Store",
    "canonical_json",
    "decimal_text",
    "dumps",
    "json_default",
    "now",
    "open_run",
    "process_alive",
    "safe_url",
    "save_state",
]

DEFAULT_URL = "sqlite:///.crmhub/hub.db"
_MIGRATIONS = Path(__file__).parent / "migrations"


def json_default(value: object) -> object:
    """JSON encoding (for orjson) of the values taps hand over in-process: datetimes, exact
    decimals (a JSON number with all its digits, see `decimal_text`), bytes, sets."""
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(decimal_text(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def _big_ints(value: object) -> object:
    """The value with integers beyond 64 bits as JSON fragments (orjson refuses them)."""
    if isinstance(value, dict):
        return {k: _big_ints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_big_ints(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return orjson.Fragment(str(value))
    return value


class JSONText(str):
    """JSON already serialised (for hashing): the store writes it as it is."""

    __slots__ = ()


def dumps(value: object) -> str:
    """JSON text of a payload as the store writes it."""
    if isinstance(value, JSONText):
        return str(value)
    return _orjson(value, orjson.OPT_NON_STR_KEYS).decode()


def _loads(text: str | bytes) -> Any:
    """A stored JSON value: orjson (under half the standard library's time per row, measured
    on 200k customer rows), and the standard library for what orjson refuses (integers past
    64 bits, NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def canonical_json(value: object) -> bytes:
    """Key-sorted compact JSON: the bytes a content hash is computed over.

    Decimals are JSON numbers with every digit (never floats, never strings), written in one
    canonical form so that equal amounts hash equal (see `decimal_text`).
    """
    return _orjson(value, orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _orjson(value: object, option: int) -> bytes:
    try:
        return orjson.dumps(value, default=json_default, option=option)
    except orjson.JSONEncodeError as exc:
        if "Integer exceeds 64-bit range" not in str(exc):
            raise TypeError(str(exc)) from exc
        return orjson.dumps(_big_ints(value), default=json_default, option=option)


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL is reported elsewhere; never echo it whole
        return "<unparseable database URL>"


class Store:
    """A connection pool to one hub store plus its schema management."""

    def __init__(self, url: str = DEFAULT_URL, *, base_dir: Path | None = None) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            path = Path(parsed.database or "")
            if not path.is_absolute():
                path = (base_dir or Path.cwd()) / path
            path.parent.mkdir(parents=True, exist_ok=True)
            parsed = parsed.set(database=str(path))
        self.url = parsed.render_as_string(hide_password=False)
        pool: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            # a file has no server to lose a connection to (no ping per checkout), and a pool
            # as large as the web server's concurrency stops connections being opened (and
            # their pragmas run) and closed per request under load
            pool = {"pool_pre_ping": False, "pool_size": 20, "max_overflow": 20}
        self.engine: Engine = sa.create_engine(
            parsed, json_serializer=dumps, json_deserializer=_loads, future=True, **pool
        )
        if parsed.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    @classmethod
    def from_config(cls, config: HubConfig) -> Store:
        """The store configured in hub.yaml (`${ENV}` references resolved now)."""
        url = resolve_env(config.store.url, "store.url")
        return cls(url, base_dir=config.base_dir)

    @classmethod
    def open(cls, target: HubConfig | str = DEFAULT_URL, *, base_dir: Path | None = None) -> Store:
        """Connect to hub.yaml's store (or a URL) and upgrade its schema to the newest migration.

        The one way every command, task and page opens the hub: load the config, then
        `Store.open(config)`.
        """
        if isinstance(target, HubConfig):
            store = cls.from_config(target)
        else:
            store = cls(target, base_dir=base_dir)
        store.migrate()
        return store

    @property
    def display_url(self) -> str:
        return safe_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def at_head(self) -> bool:
        """True when the schema is already at the newest migration (one cheap query)."""
        try:
            with self.engine.connect() as conn:
                version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        except sa.exc.DBAPIError:  # no alembic_version table yet: a new store
            return False
        return [row[0] for row in version] == [HEAD]

    def migrate(self) -> None:
        """Apply all Alembic migrations (idempotent; a store at head is left untouched)."""
        if self.at_head():
            return
        from alembic import command  # loaded only when there is something to upgrade
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: committed on success, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    def analyze(self, *tables: sa.Table) -> None:
        """Refresh PostgreSQL's planner statistics of tables a bulk write just rewrote (a
        full resolve: every crosswalk row). Until autovacuum gets to them the planner has
        none, and an incremental resolve right after finds a golden record's members by
        scanning the whole crosswalk (~0.3 s a query at 1M records, ~5 s a run). SQLite
        plans well without: nothing to do there."""
        if self.dialect != "postgresql":
            return
        with self.engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.format_table
            for table in tables:  # a Table of the schema, never text from outside
                conn.exec_driver_sql(f"ANALYZE {quote(table)}")

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """A transaction that takes the write lock at once (SQLite `BEGIN IMMEDIATE`), so
        read-check-write units of work (steward edits) serialise instead of failing late."""
        with self.engine.begin() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, connector: str, *, full_refresh: bool, dry_run: bool = False) -> int:
        """Record a new connector run; runs left `running` by a dead process become `aborted`."""
        with self.transaction() as conn:
            return open_run(
                conn,
                connector_runs,
                connector,
                full_refresh=full_refresh,
                dry_run=dry_run,
                **{f"records_{k}": 0 for k in RUN_COUNTS},
            )

    def finish_run(
        self, run_id: int, *, status: RunStatus, counts: dict[str, int], error: str | None = None
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                connector_runs.update()
                .where(connector_runs.c.id == run_id)
                .values(
                    status=status,
                    finished_at=now(),
                    error=error,
                    **{f"records_{k}": v for k, v in counts.items()},
                )
            )

    # -- state -----------------------------------------------------------------------------
    def load_state(self, source: str) -> dict[str, Any]:
        """The Singer state of one connector, assembled from its per-stream rows."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(stream_state.c.stream, stream_state.c.state).where(
                    stream_state.c.source == source
                )
            ).all()
        state: dict[str, Any] = {}
        bookmarks: dict[str, Any] = {}
        for stream, value in rows:
            if stream == "":
                state.update(value)
            else:
                bookmarks[stream] = value
        if bookmarks:
            state["bookmarks"] = bookmarks
        return state


RUN_COUNTS = ("read", "inserted", "updated", "unchanged", "echoed", "quarantined", "deleted")


def open_run(conn: Connection, table: sa.Table, connector: str, **values: Any) -> int:
    """Insert a `running` row into a run-history table (connector or push runs); rows left
    `running` by a process that has died become `aborted` first."""
    c = table.c
    stale = conn.execute(
        sa.select(c.id, c.pid).where(c.connector == connector, c.status == RunStatus.RUNNING)
    ).all()
    for run_id, pid in stale:
        if pid is None or not process_alive(pid):
            conn.execute(
                table.update()
                .where(c.id == run_id)
                .values(status=RunStatus.ABORTED, finished_at=now(), error="process ended")
            )
    result = conn.execute(
        table.insert().values(
            connector=connector,
            status=RunStatus.RUNNING,
            started_at=now(),
            pid=os.getpid(),
            **values,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def save_state(conn: Connection, source: str, state: dict[str, Any], run_id: int) -> None:
    """Write a Singer state as per-stream rows, inside the caller's transaction."""
    rows: dict[str, Any] = {
        str(stream): value for stream, value in (state.get("bookmarks") or {}).items()
    }
    tap_level = {k: v for k, v in state.items() if k != "bookmarks"}
    if tap_level:
        rows[""] = tap_level
    stamp = now()
    upsert(
        conn,
        stream_state,
        [
            {
                "source": source,
                "stream": stream,
                "state": value,
                "run_id": run_id,
                "updated_at": stamp,
            }
            for stream, value in rows.items()
        ],
        key=("source", "stream"),
    )


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (a run left `running` by a dead one is stale)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
