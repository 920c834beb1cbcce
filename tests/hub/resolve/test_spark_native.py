"""A store resolve that stays in Spark (`identity.spark.driver_records` below the records:
a streamed export in, Spark's output written back a batch at a time), on SQLite and
PostgreSQL stores, against the in-process engine on the same store: the same golden
records, crosswalk, review queue, audit entries and incremental state — on a first run,
on a full re-run over changed records with stewards' decisions and overrides, and on the
incremental run after it; and a run that failed while writing resumes from Spark's
checkpoints with the store untouched. (local[2], a real JVM; nothing mocked but the one
failure, injected where the outcome is written.)"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from pyspark.sql import SparkSession

import hub.resolve.spark_store as spark_store
from hub.core.clock import now
from hub.resolve.persist_frames import write_parts
from hub.resolve.records import load_customer_records
from hub.resolve.run import ResolveSummary, resolve_store
from hub.resolve.state import load_state
from hub.store.database import Store
from hub.store.tables import audit_log, golden_overrides, golden_records, match_candidates
from identity.backends.spark.checkpoint import stage_log
from tests.hub.resolve.population import delete, mapping, population, put, random_changes
from tests.hub.resolve.projects import project
from tests.hub.resolve.test_incremental import _decide

NATIVE_YAML = """\
  engine: spark
  spark:
    master: local[2]
    driver_records: 0
    conf: {spark.sql.shuffle.partitions: 2, spark.default.parallelism: 2}
"""


def _table(store: Store, table: sa.Table, skip: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """The table's rows without ids and stamps, sorted."""
    columns = [
        c for c in table.columns if c.name not in ("id", *skip) and not c.name.endswith("_at")
    ]
    with store.engine.connect() as conn:
        return sorted(conn.execute(sa.select(*columns)).all(), key=repr)


def _review(store: Store) -> dict[tuple[str, ...], tuple[str, float, dict[str, Any]]]:
    with store.engine.connect() as conn:
        return {
            (r.left_source, r.left_source_id, r.right_source, r.right_source_id): (
                r.status,
                round(r.score, 9),
                r.weights,
            )
            for r in conn.execute(sa.select(match_candidates))
        }


def _audit(store: Store) -> list[tuple[Any, ...]]:
    a = audit_log.c
    query = sa.select(a.action, a.target_id, a.detail).where(a.actor == "engine")
    with store.engine.connect() as conn:
        return sorted((r.action, r.target_id, repr(r.detail)) for r in conn.execute(query))


def _same_store(native: Store, local: Store) -> None:
    assert mapping(native) == mapping(local)
    assert _table(native, golden_records) == _table(local, golden_records)
    assert _review(native) == _review(local)
    assert _audit(native) == _audit(local)
    with native.engine.connect() as a, local.engine.connect() as b:
        mine, theirs = load_state(a), load_state(b)
    assert mine is not None and theirs is not None
    assert (mine.records, mine.fingerprint) == (theirs.records, theirs.fingerprint)
    assert mine.index is not None and theirs.index is not None
    for part in ("ids", "keys", "ident"):
        assert np.array_equal(getattr(mine.index, part), getattr(theirs.index, part)), part
    assert mine.bridges is not None and theirs.bridges is not None
    assert sorted(map(tuple, mine.bridges.tolist())) == sorted(map(tuple, theirs.bridges.tolist()))


def _counts(summary: ResolveSummary) -> tuple[int, ...]:
    return (
        summary.records,
        summary.golden,
        summary.new,
        summary.merged,
        summary.split,
        summary.changed_golden,
        summary.review,
        summary.non_identifying,
    )


def _override(store: Store, golden_id: str, field: str, value: str, at: Any) -> None:
    with store.transaction() as conn:
        conn.execute(
            golden_overrides.insert().values(
                golden_id=golden_id, field=field, value=value, cleared=False, by="steward", at=at
            )
        )


def test_a_native_spark_resolve_leaves_the_store_as_the_local_one(
    tmp_path: Path, spark: SparkSession, backend: str, request: pytest.FixtureRequest
) -> None:
    records = population(60, 7)
    local_cfg, local = project(tmp_path / "local", backend, request)
    native_cfg, native = project(tmp_path / "native", backend, request, NATIVE_YAML)
    assert (native_cfg.identity.engine, native_cfg.identity.spark.driver_records) == ("spark", 0)
    for store in (local, native):
        put(store, records)
    steps: list[str] = []

    first_local = resolve_store(local_cfg, local, actor="test")
    first_native = resolve_store(native_cfg, native, actor="test", progress=steps.append)

    assert (first_native.mode, first_native.engine) == ("full", "spark")
    assert "exporting the store's records for Spark" in steps
    assert "building the incremental state" in steps
    assert _counts(first_native) == _counts(first_local)
    assert first_local.review > 0 and first_local.merged == 0 < first_local.new
    _same_store(native, local)
    run_dir = tmp_path / "native" / ".crmhub" / "spark"
    assert [p.name for p in (run_dir / "store-resolve").iterdir()] == ["stages.log"]
    assert not (run_dir / spark_store.EXPORT).exists()  # the export is removed too

    # stewards decide and override, a sync changes records; a full re-run on both
    xw = mapping(local)
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, gid in sorted(xw.items()):
        groups.setdefault(gid, []).append(key)
    merged = [members for members in groups.values() if len(members) >= 2]
    apart = next(k for k, v in _review(local).items() if v[0] == "open")
    at = now()
    for store in (local, native):
        _decide(store, merged[0][0], merged[0][1], "no_match")  # a split
        _decide(store, (apart[0], apart[1]), (apart[2], apart[3]), "match")  # a merge
        _override(store, xw[merged[1][0]], "email", "steward@example.com", at)
    with local.engine.connect() as conn:
        live = load_customer_records(conn)
    put_now, gone = random_changes(live, random.Random(11), 0.08, 1)
    for store in (local, native):
        put(store, put_now)
        delete(store, gone)

    again_local = resolve_store(local_cfg, local, actor="test", full=True)
    again_native = resolve_store(native_cfg, native, actor="test", full=True)

    assert again_native.mode == again_local.mode == "full"
    assert _counts(again_native) == _counts(again_local)
    assert again_local.split > 0 and again_local.merged > 0
    _same_store(native, local)
    with native.engine.connect() as conn:
        record = conn.execute(
            sa.select(golden_records.c.record).where(
                golden_records.c.golden_id == mapping(native)[merged[1][0]]
            )
        ).scalar_one()
    assert record["email"] == "steward@example.com"

    # and the incremental run after a native full run builds on its state as on a local one
    put_now, gone = random_changes(live, random.Random(12), 0.03, 2)
    for store in (local, native):
        put(store, put_now)
        delete(store, gone)
    last_local = resolve_store(local_cfg, local, actor="test")
    last_native = resolve_store(native_cfg, native, actor="test")
    assert last_native.mode == last_local.mode == "incremental"
    assert _counts(last_native) == _counts(last_local)
    assert mapping(native) == mapping(local)
    assert _table(native, golden_records) == _table(local, golden_records)
    for store in (local, native):
        store.dispose()


def test_a_native_run_that_fails_writing_leaves_the_store_and_resumes(
    tmp_path: Path,
    spark: SparkSession,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    config, store = project(tmp_path / "native", "sqlite", request, NATIVE_YAML)
    put(store, population(40, 3))
    real = write_parts

    def failing(*args: Any, **kwargs: Any) -> int:
        real(*args, **kwargs)  # everything written in the transaction, then lost with it
        raise OSError("disk full (injected)")

    monkeypatch.setattr(spark_store, "write_parts", failing)
    with pytest.raises(OSError, match="injected"):
        resolve_store(config, store, actor="test")
    assert mapping(store) == {}
    assert _table(store, golden_records) == []
    with store.engine.connect() as conn:
        assert load_state(conn) is None

    monkeypatch.setattr(spark_store, "write_parts", real)
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "full" and summary.golden > 0
    assert len(mapping(store)) == summary.records
    run_dir = tmp_path / "native" / ".crmhub" / "spark" / "store-resolve"
    log = stage_log(run_dir)
    second = log[len(log) // 2 :]
    assert ("standardised", "resumed") in second and ("scored", "resumed") in second, log
    store.dispose()
