"""Test helpers: sample sources and snapshots of the store's contents."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.store.database import Store
from hub.store.tables import customer_records, interactions, raw_records

__all__ = ["make_erp", "snapshot", "write_project"]


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
