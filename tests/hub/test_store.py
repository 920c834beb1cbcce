"""The hub store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.clock import as_utc
from hub.store.database import Store, save_state
from hub.store.tables import customer_records, push_failures, quarantine, raw_records
from hub.store.upsert import upsert
from hub.sync.writes import IncomingRecord, QuarantinedRecord, mark_missing_deleted, write_batch


def rec(sid: str, payload: dict[str, Any], stream: str = "customers") -> IncomingRecord:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    canonical = {"source_id": sid, "email": payload.get("email"), "extra": {}}
    return IncomingRecord(stream, sid, payload, digest, "m1", "customer", canonical)


def count(store: Store, table: sa.Table, *where: Any) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
        )


def test_migrations_are_idempotent_and_create_every_table(store: Store) -> None:
    store.migrate()
    names = set(sa.inspect(store.engine).get_table_names())
    assert {
        "connector_runs",
        "raw_records",
        "customer_records",
        "interactions",
        "stream_state",
        "quarantine",
        "golden_records",
        "crosswalk",
        "match_candidates",
        "steward_decisions",
        "audit_log",
    } <= names


def test_head_constant_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hub.store import migrations

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    assert ScriptDirectory.from_config(config).get_heads() == [migrations.HEAD]


def test_only_a_store_behind_head_is_migrated(tmp_path: Path) -> None:
    fresh = Store(f"sqlite:///{tmp_path / 'new.db'}")
    assert not fresh.at_head()  # no alembic_version table yet
    fresh.migrate()
    assert fresh.at_head()
    with fresh.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002'"))
    assert not fresh.at_head()
    fresh.dispose()


def test_upsert_inserts_updates_and_skips_unchanged(store: Store) -> None:
    run = store.start_run("erp", full_refresh=False)
    with store.transaction() as conn:
        first = write_batch(
            conn,
            source="erp",
            run_id=run,
            records=[rec("1", {"email": "a@x"}), rec("2", {"email": "b@x"})],
        )
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    with store.transaction() as conn:
        second = write_batch(
            conn,
            source="erp",
            run_id=run,
            records=[rec("1", {"email": "a@x"}), rec("2", {"email": "B@x"})],
        )
    assert (second.inserted, second.updated, second.unchanged) == (0, 1, 1)
    assert count(store, raw_records) == 2
    with store.engine.connect() as conn:
        emails = dict(
            conn.execute(sa.select(customer_records.c.source_id, customer_records.c.email)).all()
        )
    assert emails == {"1": "a@x", "2": "B@x"}


def test_last_version_in_a_batch_wins(store: Store) -> None:
    run = store.start_run("erp", full_refresh=False)
    with store.transaction() as conn:
        counts = write_batch(
            conn,
            source="erp",
            run_id=run,
            records=[rec("1", {"email": "old"}), rec("1", {"email": "new"})],
        )
    assert counts.inserted == 1 and count(store, raw_records) == 1
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(customer_records.c.email)).scalar_one() == "new"


def test_state_round_trips_per_stream(store: Store) -> None:
    state = {
        "bookmarks": {
            "customers": {"replication_key_value": "2026-01-01"},
            "orders": {"replication_key_value": 42},
        },
        "currently_syncing": None,
    }
    with store.transaction() as conn:
        save_state(conn, "erp", state, 1)
    assert store.load_state("erp") == state
    with store.transaction() as conn:
        save_state(conn, "erp", {"bookmarks": {"orders": {"replication_key_value": 43}}}, 2)
    assert store.load_state("erp")["bookmarks"]["orders"] == {"replication_key_value": 43}
    assert (
        store.load_state("erp")["bookmarks"]["customers"]["replication_key_value"] == "2026-01-01"
    )
    assert store.load_state("other") == {}


def test_rolled_back_batch_leaves_nothing(store: Store) -> None:
    run = store.start_run("erp", full_refresh=False)
    try:
        with store.transaction() as conn:
            write_batch(conn, source="erp", run_id=run, records=[rec("1", {"email": "a"})])
            save_state(conn, "erp", {"bookmarks": {"customers": {"v": 1}}}, run)
            raise RuntimeError("killed mid-way")
    except RuntimeError:
        pass
    assert count(store, raw_records) == 0 and store.load_state("erp") == {}


def test_full_table_records_gone_from_the_source_are_flagged_deleted(store: Store) -> None:
    run1 = store.start_run("erp", full_refresh=False)
    with store.transaction() as conn:
        write_batch(
            conn,
            source="erp",
            run_id=run1,
            full_table_streams=frozenset({"customers"}),
            records=[rec("1", {"e": 1}), rec("2", {"e": 2})],
        )
    run2 = store.start_run("erp", full_refresh=False)
    with store.transaction() as conn:
        counts = write_batch(
            conn,
            source="erp",
            run_id=run2,
            full_table_streams=frozenset({"customers"}),
            records=[rec("1", {"e": 1})],
        )
        assert counts.unchanged == 1
        assert mark_missing_deleted(conn, source="erp", stream="customers", run_id=run2) == 1
    assert count(store, raw_records, raw_records.c.deleted.is_(True)) == 1
    assert count(store, customer_records, customer_records.c.deleted.is_(True)) == 1
    run3 = store.start_run("erp", full_refresh=False)  # it comes back: undeleted
    with store.transaction() as conn:
        back = write_batch(
            conn,
            source="erp",
            run_id=run3,
            full_table_streams=frozenset({"customers"}),
            records=[rec("1", {"e": 1}), rec("2", {"e": 2})],
        )
    assert back.updated == 1
    assert count(store, raw_records, raw_records.c.deleted.is_(True)) == 0


def test_quarantine_deduplicates_and_resolves(store: Store) -> None:
    bad = QuarantinedRecord("customers", "9", "schema", "age: must be integer", None, '{"age":"x"}')
    for _ in range(2):
        run = store.start_run("erp", full_refresh=False)
        with store.transaction() as conn:
            counts = write_batch(conn, source="erp", run_id=run, records=[], quarantined=[bad])
        assert counts.quarantined == 1
    assert count(store, quarantine) == 1
    with store.transaction() as conn:  # the record arrives fixed: its quarantine entry closes
        write_batch(conn, source="erp", run_id=run, records=[rec("9", {"age": 9})])
    assert count(store, quarantine, quarantine.c.resolved_at.is_(None)) == 0


def test_a_second_run_of_a_dead_process_is_aborted(store: Store) -> None:
    first = store.start_run("erp", full_refresh=False)
    with store.transaction() as conn:
        from hub.store.tables import connector_runs

        conn.execute(connector_runs.update().values(pid=2**22 + 12345))  # no such process
    store.start_run("erp", full_refresh=False)
    with store.engine.connect() as conn:
        status = conn.execute(
            sa.select(connector_runs.c.status).where(connector_runs.c.id == first)
        ).scalar_one()
    assert status == "aborted"


def test_upsert_inserts_new_keys_and_updates_existing_ones_only_where_told(store: Store) -> None:
    f = push_failures.c

    def failure(key: str, error: str, at: dt.datetime) -> dict[str, Any]:
        return {
            "connector": "erp",
            "item_key": key,
            "golden_id": "G1",
            "error": error,
            "retriable": False,
            "attempts": 1,
            "first_failed_at": at,
            "last_failed_at": at,
            "run_id": 1,
        }

    first, later = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    kept = ("error", "last_failed_at")
    key, bump = ("connector", "item_key"), {"attempts": f.attempts + 1}
    with store.transaction() as conn:
        upsert(conn, push_failures, [failure("1", "a", first)], key=key)
        rows = [failure("1", "b", later), failure("2", "x", later), failure("2", "c", later)]
        upsert(conn, push_failures, rows, key=key, update=kept, on_update=bump)
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.select(
                f.item_key, f.error, f.attempts, f.first_failed_at, f.last_failed_at
            ).order_by(f.item_key)
        ).all()
    assert [(k, e, n) for k, e, n, _, _ in found] == [("1", "b", 2), ("2", "c", 1)]
    (_, _, _, since, last), _ = found
    assert (as_utc(since), as_utc(last)) == (first, later)  # first_failed_at not in `update`


@pytest.mark.parametrize("rows", [3, 200], ids=["statement", "driver-executemany"])
def test_upsert_constants_are_columns_of_every_row(store: Store, rows: int) -> None:
    f = push_failures.c
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    same = {"connector": "erp", "golden_id": "G1", "retriable": False, "attempts": 1}
    same |= {"first_failed_at": at, "last_failed_at": at, "run_id": 7}
    varying = [{"item_key": str(i), "error": f"e{i}", "run_id": 1} for i in range(rows)]
    varying.append({"item_key": "0", "error": "last wins", "run_id": 1})
    with store.transaction() as conn:
        upsert(conn, push_failures, varying, key=("connector", "item_key"), constants=same)
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.select(f.item_key, f.error, f.connector, f.run_id, f.last_failed_at)
            .where(f.item_key.in_(["0", "1"]))
            .order_by(f.item_key)
        ).all()
        total = conn.execute(sa.select(sa.func.count()).select_from(push_failures)).scalar()
    assert total == rows
    assert [(k, e, c, r, as_utc(t)) for k, e, c, r, t in found] == [
        ("0", "last wins", "erp", 7, at),  # a constant wins over the row's own value
        ("1", "e1", "erp", 7, at),
    ]
