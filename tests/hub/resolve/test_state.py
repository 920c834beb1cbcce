"""Migration 0011 and the stored resolve state, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sqlalchemy as sa

from hub.resolve.run import resolve_store
from hub.resolve.state import index_from_bytes, index_to_bytes, load_state
from hub.store.database import Store
from identity.incremental import KeyIndex
from tests.hub.resolve.population import population, put
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
