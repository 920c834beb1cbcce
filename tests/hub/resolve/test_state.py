"""Migrations 0011 and 0014 and the stored resolve state (a base index and a delta), on
SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.resolve.run import resolve_store
from hub.resolve.state import (
    IndexDelta,
    Marks,
    ResolveState,
    index_from_bytes,
    index_to_bytes,
    load_state,
    save_state,
)
from hub.store.database import Store, now
from hub.store.tables import resolve_index, resolve_state
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
    assert bridges_again is not None and np.array_equal(bridges_again, bridges)
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
    if store.dialect == "postgresql":  # the rewritten tables' planner statistics are fresh
        with store.engine.connect() as conn:
            analysed = conn.execute(
                sa.text("SELECT DISTINCT tablename FROM pg_stats WHERE tablename = ANY(:names)"),
                {"names": ["crosswalk", "golden_records", "match_candidates"]},
            )
            assert set(analysed.scalars()) == {"crosswalk", "golden_records", "match_candidates"}
    store.dispose()


def _index(ids: list[int], seed: int) -> KeyIndex:
    rng = np.random.default_rng(seed)
    n = len(ids)
    return KeyIndex.build(
        np.array(ids, dtype=np.int64),
        rng.integers(1, 2**62, (n, 4), dtype=np.int64).astype(np.uint64),
        rng.integers(1, 2**62, (n, 2), dtype=np.int64).astype(np.uint64),
    )


def _same(a: KeyIndex, b: KeyIndex) -> bool:
    return (
        np.array_equal(a.ids, b.ids)
        and np.array_equal(a.keys, b.keys)
        and np.array_equal(a.ident, b.ident)
    )


_changes = st.tuples(
    st.sets(st.integers(0, 40), max_size=12),  # ids set (added or overwritten)
    st.sets(st.integers(0, 40), max_size=12),  # ids gone
)


@settings(max_examples=150, deadline=None)
@given(base=st.sets(st.integers(0, 40), max_size=30), runs=st.lists(_changes, max_size=5))
def test_a_delta_built_run_by_run_gives_the_index_the_runs_gave(
    base: set[int], runs: list[tuple[set[int], set[int]]]
) -> None:
    """Invariant: base + (delta 1 then delta 2 ...) is the index after run 1, run 2, ...
    — ids re-set, gone and come back included."""
    index = start = _index(sorted(base), 0)
    delta = IndexDelta.empty(start)
    for run, (came, gone) in enumerate(runs, start=1):
        gone -= came
        fresh = _index(sorted(came), run)
        index = index.replaced(np.array(sorted(gone), np.int64), fresh.ids, fresh.keys, fresh.ident)
        later = IndexDelta.of(index, fresh.ids, np.array(sorted(gone), np.int64))
        delta = delta.then(later)
        assert _same(delta.applied(start), index)
        assert not np.isin(delta.gone, delta.ids).any()


def _pieces(conn: sa.Connection, part: str) -> list[bytes]:
    x = resolve_index.c
    query = sa.select(x.arrays).where(x.part == part).order_by(x.piece)
    return [bytes(b) for b in conn.execute(query).scalars()]


def test_an_incremental_save_rewrites_the_delta_not_the_base(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index goes in pieces (4 kB here, 64 MB in production: no value reaches the 1 GB
    SQLite and PostgreSQL allow); an incremental run rewrites only the delta's."""
    monkeypatch.setattr("hub.resolve.state._PIECE", 4096)
    index = _index(list(range(0, 200, 2)), 1)
    bridges = np.array([[0, 2], [4, 6]], dtype=np.int64)
    state = ResolveState(
        fingerprint="f",
        records=len(index),
        records_at_full=len(index),
        changed_since_full=0,
        full_at=now(),
        marks=Marks(None, 0, 0, None),
        model=b"x",
        index=index,
        bridges=bridges,
    )
    with store.transaction() as conn:
        save_state(conn, state)  # a full run's: delta None, the index is the new base
        base_pieces = _pieces(conn, "base")
    assert len(base_pieces) > 1 and all(len(p) <= 4096 for p in base_pieces)
    with store.engine.connect() as conn:
        loaded = load_state(conn)
    assert loaded is not None and loaded.index is not None and loaded.delta is not None
    assert _same(loaded.index, index) and loaded.delta.ids.size == 0
    assert loaded.bridges is not None and np.array_equal(loaded.bridges, bridges)

    fresh = _index([3, 4, 250], 2)
    gone = np.array([0, 10], dtype=np.int64)
    after = loaded.index.replaced(gone, fresh.ids, fresh.keys, fresh.ident)
    after.pair_estimates(25)  # known estimates are kept with the index
    with store.transaction() as conn:
        save_state(
            conn,
            replace(
                loaded,
                index=after,
                delta=loaded.delta.then(IndexDelta.of(after, fresh.ids, gone)),
                bridges=bridges[:1],
            ),
        )
    with store.engine.connect() as conn:
        again = load_state(conn)
        assert _pieces(conn, "base") == base_pieces  # the base was not written again
        state_columns = {c["name"] for c in sa.inspect(conn).get_columns("resolve_state")}
    assert again is not None and again.index is not None and again.bridges is not None
    assert _same(again.index, after) and np.array_equal(again.bridges, bridges[:1])
    assert again.index.known_estimates().keys() == {25}
    assert np.array_equal(again.index.known_estimates()[25], after.pair_estimates(25))
    assert "record_index" not in state_columns  # the state row stays small


def test_migration_0014_moves_the_index_over_and_back_down_starts_afresh(
    tmp_path: Path, store_url: str
) -> None:
    config, store = demo_project(tmp_path, store_url)
    put(store, population(40, 3))
    resolve_store(config, store, actor="test")
    with store.engine.connect() as conn:
        kept = load_state(conn)
    assert kept is not None and kept.index is not None and kept.bridges is not None
    kept_bridges = kept.bridges
    base = index_to_bytes(kept.index, kept_bridges)
    migrate_to(store, "0013", down=True)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(resolve_state)).scalar() == 0
        assert "resolve_index" not in sa.inspect(conn).get_table_names()
    with store.transaction() as conn:  # a state row as 0011..0013 wrote it
        conn.execute(
            sa.text(
                "INSERT INTO resolve_state (id, fingerprint, model, record_index, records, "
                "records_at_full, changed_since_full, full_at, loaded_mark, decision_mark, "
                "override_mark, crosswalk_mark, updated_at) "
                "VALUES (1, :f, :m, :i, :n, :n, 0, :t, :loaded, :decision, :override, :cw, :t)"
            ),
            {
                "f": kept.fingerprint,
                "m": kept.model,
                "i": base,
                "n": kept.records,
                "t": kept.full_at,
                "loaded": kept.marks.loaded,
                "decision": kept.marks.decision,
                "override": kept.marks.override,
                "cw": kept.marks.crosswalk,
            },
        )
    migrate_to(store, "head")
    with store.engine.connect() as conn:
        moved = load_state(conn)
    assert moved is not None and moved.index is not None and moved.bridges is not None
    assert _same(moved.index, kept.index) and moved.delta is not None
    assert np.array_equal(moved.bridges, kept_bridges)
    assert resolve_store(config, store, actor="test").mode == "unchanged"
    store.dispose()
