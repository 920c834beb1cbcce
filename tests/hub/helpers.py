"""Test helpers: the demo hub built once and copied per test, sample sources, and
snapshots of the store's contents."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.analyse.run import analyse_store
from hub.cli.example import write_example
from hub.core.retry import RetryPolicy
from hub.push.run import push as push_back
from hub.resolve.run import resolve_store
from hub.steward import SurvivorshipSettings, add_user
from hub.store.database import DEFAULT_URL, Store
from hub.store.tables import crosswalk, customer_records, interactions, raw_records
from hub.sync.run import sync
from schemas.config import HubConfig, load_config

__all__ = [
    "DEMO_AS_OF",
    "PASSWORD",
    "USERS",
    "DemoHub",
    "ResolvedHub",
    "build_demo_hub",
    "copy_database",
    "make_erp",
    "query_plans",
    "snapshot",
    "write_project",
]

PASSWORD = "correct-horse-battery"
DEMO_AS_OF = dt.date(2026, 3, 1)
"""The demo hub's analysis day: after the example's orders and tickets (January-February
2026), so it has new, repeat and at-risk customers alike."""
USERS = {"alice": "admin", "sam": "steward", "vera": "viewer"}


@dataclass
class ResolvedHub:
    """A demo hub a test may change: its config (`base_dir` is its own folder) and store."""

    config: HubConfig
    store: Store
    settings: SurvivorshipSettings

    def crosswalk(self) -> dict[tuple[str, str], str]:
        with self.store.engine.connect() as conn:
            return {
                (r.source, r.source_id): r.golden_id for r in conn.execute(sa.select(crosswalk))
            }


def copy_database(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with the online backup API (safe while either
    has open connections, and with a write-ahead log not yet checkpointed)."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@dataclass(frozen=True)
class DemoHub:
    """The demo project, built once: hub.yaml and the sample data under `folder`, the
    store at `store_url` (closed). Tests get copies, never this one."""

    folder: Path
    store_url: str

    @property
    def sqlite_file(self) -> Path:
        """The store's SQLite file (a relative URL is relative to `folder`)."""
        url = sa.make_url(self.store_url)
        assert url.get_backend_name() == "sqlite" and url.database, self.store_url
        return self.folder / url.database  # an absolute database path wins over folder

    def copy(self, target: Path, store_url: str) -> ResolvedHub:
        """The project files copied to `target`, hub.yaml pointed at `store_url` — a copy of
        the store the caller has made (`copy_database` for SQLite, a template database for
        PostgreSQL). The store must lie outside `folder`, or it is copied along."""
        shutil.copytree(self.folder, target, dirs_exist_ok=True)
        hub_yaml = target / "hub.yaml"
        hub_yaml.write_text(hub_yaml.read_text().replace(self.store_url, store_url))
        return _open(load_config(hub_yaml))


def _open(config: HubConfig) -> ResolvedHub:
    return ResolvedHub(config, Store.open(config), SurvivorshipSettings.from_config(config))


def build_demo_hub(
    folder: Path, store_url: str = DEFAULT_URL, *, push: bool = False, actor: str = "test"
) -> DemoHub:
    """`crmhub demo` in-process: the example project under `folder`, synced, resolved and
    analysed (as of DEMO_AS_OF, so profiles and stages do not drift with the calendar) on
    `store_url` (and pushed back, as the demo does, if `push`), plus one user per role of
    USERS with PASSWORD. Slow (four syncs, a resolve, an analysis, three Argon2 hashes):
    build once."""
    write_example(folder)
    hub_yaml = folder / "hub.yaml"
    hub_yaml.write_text(hub_yaml.read_text().replace(DEFAULT_URL, store_url))
    resolved = _open(load_config(hub_yaml))
    config, store = resolved.config, resolved.store
    try:
        results = sync(config, store, retry=RetryPolicy(attempts=1))
        assert all(r.ok for r in results), [r.error for r in results]
        resolve_store(config, store, actor=actor)
        analyse_store(config, store, as_of=DEMO_AS_OF, actor=actor)
        if push:
            push_back(config, store)
        with store.transaction() as conn:
            for name, role in USERS.items():
                add_user(conn, name, PASSWORD, role, actor=actor)
    finally:
        store.dispose()
    return DemoHub(folder, store_url)


def make_erp(path: Path, customers: int, orders_per_customer: int = 1) -> None:
    """A SQLite ERP database: `customers` (incremental) and `orders` (full table)."""
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE IF EXISTS customers; DROP TABLE IF EXISTS orders;"
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,"
        " email TEXT, city TEXT, updated_at TEXT);"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, ordered_at TEXT,"
        " total REAL);"
    )
    db.executemany(
        "INSERT INTO customers VALUES (?,?,?,?,?,?)",
        [
            (
                i,
                f"Given{i}",
                f"Family{i % 97}",
                f"c{i}@example.com",
                "Budapest",
                f"2026-01-{1 + i % 28:02d}T00:00:00+00:00",
            )
            for i in range(1, customers + 1)
        ],
    )
    db.executemany(
        "INSERT INTO orders (customer_id, ordered_at, total) VALUES (?,?,?)",
        [
            (1 + n % customers, f"2026-02-{1 + n % 28:02d}T10:00:00+00:00", n * 1.5)
            for n in range(customers * orders_per_customer)
        ],
    )
    db.commit()
    db.close()


ERP_YAML = """
store: {{url: "{store_url}"}}
connectors:
  - name: erp
    type: sql
    config:
      url: "sqlite:///{erp}"
      streams:
        - {{name: customers, table: customers, primary_keys: [id], replication_key: updated_at}}
        - {{name: orders, table: orders, primary_keys: [id]}}
    streams:
      customers:
        entity: customer
        mapping: {{given_name: first_name, family_name: last_name, kind: {{const: person}}}}
      orders:
        entity: interaction
        mapping: {{customer_source_id: customer_id, type: {{const: order}},
                   occurred_at: ordered_at, amount: total}}
"""


def write_project(folder: Path, store_url: str, erp: Path) -> Path:
    path = folder / "hub.yaml"
    path.write_text(ERP_YAML.format(store_url=store_url, erp=erp))
    return path


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a sync leaves behind, in a comparable form."""
    r, c, i = raw_records.c, customer_records.c, interactions.c
    with store.engine.connect() as conn:
        return {
            "raw": sorted(
                tuple(row)
                for row in conn.execute(
                    sa.select(r.source, r.stream, r.source_id, r.content_hash, r.deleted)
                )
            ),
            "customers": sorted(
                tuple(row)
                for row in conn.execute(sa.select(c.source, c.source_id, c.given_name, c.email))
            ),
            "interactions": sorted(
                (s, sid, str(a))
                for s, sid, a in conn.execute(sa.select(i.source, i.source_id, i.amount))
            ),
        }


def query_plans(hub: ResolvedHub, work: Any) -> list[tuple[str, str]]:
    """Each SELECT `work(conn)` runs, with each step of SQLite's query plan for it: what the
    tests that pin index use (no table scan at a million records) look at."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    engine = hub.store.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as conn:
            work(conn)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    plans = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            if statement.lstrip().upper().startswith("SELECT"):
                steps = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
                plans += [(statement, str(step[-1])) for step in steps]
    return plans
