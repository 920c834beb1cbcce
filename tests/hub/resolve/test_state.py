"""Migrations 0011 and 0014 and the stored resolve state, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.resolve.records import load_customer_records
from hub.resolve.run import resolve_store
from hub.resolve.state import index_from_bytes, index_to_bytes, load_state
from hub.store.database import Store
from hub.store.tables import resolve_state
from identity.incremental import KeyIndex
from tests.hub.resolve.population import delete, population, put, random_changes
from tests.hub.test_sync import demo_project
from tests.migrate import migrate_to


def _shape(store: Store) -> tuple[bool, set[str]]:
    inspector = sa.inspect(store.engine)
    indexes = {i["name"] for i in inspector.get_indexes("customer_records")}
    return "resolve_state" in inspector.get_table_names(), {
        i for i in indexes if i and "loaded_at" in i
    }


def test_migration_0011_up_and_down(store: Store) -> None:
    assert _shape(store) == (True, {"ix_customer_records_loaded_at"})
    migrate_to(store, "0010", down=True)
    assert _shape(store) == (False, set())
    migrate_to(store, "head")
    assert _shape(store) == (True, {"ix_customer_records_loaded_at"})


def test_the_index_round_trips_without_pickling() -> None:
    rng = np.random.default_rng(1)
    index = KeyIndex.build(
        rng.permutation(1000).astype(np.int64),
        rng.integers(0, 2**63, (1000, 16), dtype=np.int64).astype(np.uint64),
        rng.integers(0, 2**63, (1000, 3), dtype=np.int64).astype(np.uint64),
    )
    bridges = rng.integers(0, 1000, (50, 2), dtype=np.int64)
    data = index_to_bytes(index, bridges)
    assert b"pickle" not in data
    again, bridges_again = index_from_bytes(data)
    assert np.array_equal(bridges_again, bridges)
    assert np.array_equal(again.ids, np.arange(1000))
    assert np.array_equal(again.keys, index.keys) and np.array_equal(again.ident, index.ident)


def test_a_full_run_stores_model_index_and_marks(tmp_path: Path, store_url: str) -> None:
    config, store = demo_project(tmp_path, store_url)
    put(store, population(60, 2))
    summary = resolve_store(config, store, actor="test")
    with store.engine.connect() as conn:
        state = load_state(conn)
        live = conn.execute(sa.text("SELECT count(*) FROM customer_records")).scalar_one()
    assert state is not None and state.index is not None and state.bridges is not None
    assert state.bridges.shape[1] == 2 and np.isin(state.bridges, state.index.ids).all()
    assert len(state.index) == state.records == state.records_at_full == live == summary.records
    assert state.changed_since_full == 0 and state.marks.loaded is not None
    assert state.model[:1] == b"x"  # zlib-compressed JSON
    store.dispose()


def _blobs(store: Store) -> tuple[bytes, bytes | None]:
    s = resolve_state.c
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(s.record_index, s.index_changes)).one()
    return bytes(row.record_index), None if row.index_changes is None else bytes(row.index_changes)


def test_migration_0014_up_and_down(store: Store) -> None:
    def columns() -> set[str]:
        return {c["name"] for c in sa.inspect(store.engine).get_columns("resolve_state")}

    assert "index_changes" in columns()
    migrate_to(store, "0013", down=True)
    assert "index_changes" not in columns() and "record_index" in columns()
    migrate_to(store, "head")
    assert "index_changes" in columns()


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 60),
    gone=st.integers(0, 20),
    changed=st.integers(0, 20),
    added=st.integers(0, 20),
    seed=st.integers(0, 2**16),
)
def test_the_changes_from_a_base_rebuild_the_index(
    size: int, gone: int, changed: int, added: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.choice(1000, size, replace=False).astype(np.int64)
    base = KeyIndex.build(
        ids,
        rng.integers(0, 5, (size, 4), dtype=np.int64).astype(np.uint64),
        rng.integers(0, 5, (size, 2), dtype=np.int64).astype(np.uint64),
    )
    dropped = rng.choice(base.ids, min(gone, size), replace=False)
    kept = base.ids[~np.isin(base.ids, dropped)]
    touched = rng.choice(kept, min(changed, kept.size), replace=False)
    new = np.arange(1000, 1000 + added, dtype=np.int64)
    rows = np.concatenate([touched, new])
    index = base.replaced(
        dropped,
        rows,
        rng.integers(0, 5, (rows.size, 4), dtype=np.int64).astype(np.uint64),
        rng.integers(0, 5, (rows.size, 2), dtype=np.int64).astype(np.uint64),
    )
    out, diff = index.changes_from(base)
    assert set(out.tolist()) == set(dropped.tolist())
    assert set(diff.ids.tolist()) <= set(rows.tolist())  # unchanged rows are not repeated
    again = base.replaced(out, diff.ids, diff.keys, diff.ident)
    assert np.array_equal(again.ids, index.ids)
    assert np.array_equal(again.keys, index.keys) and np.array_equal(again.ident, index.ident)


def test_an_incremental_run_writes_the_changes_beside_the_index(
    tmp_path: Path, store_url: str
) -> None:
    config, store = demo_project(tmp_path, store_url)
    put(store, population(80, 4))
    resolve_store(config, store, actor="test")
    whole, changes = _blobs(store)
    assert changes is None
    rng = random.Random(4)
    for round_no in (1, 2):  # the changes accumulate against the full run's index
        with store.engine.connect() as conn:
            live = load_customer_records(conn)
        put_now, gone = random_changes(live, rng, 0.05, round_no)
        put(store, put_now)
        delete(store, gone)
        assert resolve_store(config, store, actor="test").mode == "incremental"
        record_index, changes = _blobs(store)
        assert record_index == whole and changes is not None
        with store.engine.connect() as conn:
            state = load_state(conn)
            live_ids = conn.execute(
                sa.text("SELECT id FROM customer_records WHERE deleted = :no"), {"no": False}
            ).scalars()
            assert state is not None and state.index is not None and state.base is not None
            assert sorted(live_ids) == state.index.ids.tolist()
    # the index the changes rebuild is the one a full run computes on the same records
    incremental = state.index
    assert resolve_store(config, store, actor="test", full=True).mode == "full"
    record_index, changes = _blobs(store)
    assert changes is None and record_index != whole
    with store.engine.connect() as conn:
        full = load_state(conn)
    assert full is not None and full.index is not None
    assert np.array_equal(full.index.ids, incremental.ids)
    assert np.array_equal(full.index.keys, incremental.keys)
    assert np.array_equal(full.index.ident, incremental.ident)
    store.dispose()
