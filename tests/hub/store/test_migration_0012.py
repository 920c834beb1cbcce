"""Migration 0012 (fewer index writes per synced record), on SQLite and PostgreSQL: a store
holding records upgrades in place, its counts read the same through the narrowed index, and
the downgrade gives the old indexes back."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

from hub.steward.dashboard import dashboard
from hub.store.database import Store
from hub.store.status import hub_status
from hub.store.tables import raw_records
from hub.sync.writes import IncomingRecord, mark_missing_deleted, write_batch
from tests.migrate import migrate_to

_BEFORE = {  # the indexes 0011 left on the two tables a sync writes, besides unique keys
    "ix_raw_records_source_stream_last_seen_run_id",
    "ix_raw_records_source_deleted",
    "ix_customer_records_email",
    "ix_customer_records_loaded_at",
}
_AFTER = {"ix_raw_records_deleted", "ix_customer_records_loaded_at"}


def _indexes(store: Store) -> set[str]:
    inspector = sa.inspect(store.engine)
    return {
        str(index["name"])
        for table in ("raw_records", "customer_records")
        for index in inspector.get_indexes(table)
        if not index.get("unique")
    }


def _record(sid: str, email: str) -> IncomingRecord:
    payload = {"id": sid, "email": email}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    canonical = {"source_id": sid, "email": email, "extra": {}}
    return IncomingRecord("customers", sid, payload, digest, "m1", "customer", canonical)


def _sync(store: Store, source: str, sids: list[str], *, full_table: bool = True) -> None:
    """One full-table run of `source` that reads these records (the rest become deleted)."""
    run_id = store.start_run(source, full_refresh=False)
    with store.transaction() as conn:
        write_batch(
            conn,
            source=source,
            run_id=run_id,
            records=[_record(sid, f"{sid}@{source}.example") for sid in sids],
            full_table_streams=frozenset({"customers"}) if full_table else frozenset(),
        )
        mark_missing_deleted(conn, source=source, stream="customers", run_id=run_id)


def _counts(store: Store) -> dict[str, Any]:
    """Live and deleted records per source, as `crmhub status` and the home page count them."""
    status = {s.source: (s.raw, s.deleted) for s in hub_status(store).sources}
    with store.engine.connect() as conn:
        home = {s.source: (s.records, s.deleted) for s in dashboard(conn).sources}
    assert {k: v for k, v in home.items() if v != (0, 0)} == status
    return status


def test_a_store_with_records_upgrades_in_place_and_downgrades(store: Store) -> None:
    migrate_to(store, "0011", down=True)
    assert _indexes(store) == _BEFORE
    _sync(store, "erp", ["1", "2", "3", "4"])
    _sync(store, "erp", ["1", "2"])  # 3 and 4 are gone from the source
    _sync(store, "crm", ["a", "b"])
    _sync(store, "crm", [])  # every crm record gone
    _sync(store, "web", ["x"])
    before = _counts(store)
    assert before == {"erp": (2, 2), "crm": (0, 2), "web": (1, 0)}

    migrate_to(store, "head")
    assert _indexes(store) == _AFTER
    assert _counts(store) == before
    _sync(store, "erp", ["1", "2", "3", "5"])  # 3 comes back, 5 is new, 4 stays deleted
    assert _counts(store) == {"erp": (4, 1), "crm": (0, 2), "web": (1, 0)}

    migrate_to(store, "0011", down=True)
    assert _indexes(store) == _BEFORE
    assert _counts(store) == {"erp": (4, 1), "crm": (0, 2), "web": (1, 0)}
    migrate_to(store, "head")
    assert _indexes(store) == _AFTER


def test_deleted_records_are_counted_from_the_partial_index(store: Store) -> None:
    """The narrowed index must match the query the counts send, on each database (a partial
    index whose condition the planner cannot prove from the query is never used)."""
    _sync(store, "erp", [str(i) for i in range(50)])
    _sync(store, "erp", [str(i) for i in range(40)])
    r = raw_records.c
    query = sa.select(r.source, sa.func.count()).where(r.deleted == sa.true()).group_by(r.source)
    with store.engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
        else:  # the table is tiny: forbid the sequential scan to see that the index can serve
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
        assert "ix_raw_records_deleted" in plan, plan
        assert conn.execute(query).all() == [("erp", 10)]
