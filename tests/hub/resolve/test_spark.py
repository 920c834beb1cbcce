"""A store resolve on Apache Spark (local[2], a real JVM), on SQLite and PostgreSQL stores:
the same golden records, crosswalk and review queue as the in-process engine, a
resolve_state the next incremental (local) run builds on, and `crmhub resolve --engine
spark` overriding hub.yaml."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pyspark.sql import SparkSession

from hub.resolve.records import load_customer_records
from hub.resolve.run import resolve_store
from hub.store.database import Store
from hub.store.tables import golden_records, match_candidates
from tests.cli import crmhub
from tests.hub.resolve.population import delete, mapping, population, put, random_changes
from tests.hub.resolve.projects import project
from tests.hub.test_sync import demo_project

# small data: two shuffle partitions, as tests/identity/backends/spark uses
SPARK_YAML = """\
  engine: spark
  spark:
    master: local[2]
    conf: {spark.sql.shuffle.partitions: 2, spark.default.parallelism: 2}
"""


def _golden(store: Store) -> list[tuple[Any, ...]]:
    g = golden_records.c
    columns = [c for c in golden_records.columns if not c.name.endswith("_at")]
    with store.engine.connect() as conn:
        return sorted(conn.execute(sa.select(*columns).order_by(g.golden_id)).all())


def _review(store: Store) -> list[tuple[Any, ...]]:
    m = match_candidates.c
    query = sa.select(m.left_source, m.left_source_id, m.right_source, m.right_source_id, m.status)
    with store.engine.connect() as conn:
        return sorted(conn.execute(query).all())


def test_a_spark_store_resolve_leaves_the_store_as_the_local_one(
    tmp_path: Path, spark: SparkSession, backend: str, request: pytest.FixtureRequest
) -> None:
    records = population(60, 7)
    local_cfg, local = project(tmp_path / "local", backend, request)
    spark_cfg, on_spark = project(tmp_path / "spark", backend, request, SPARK_YAML)
    assert spark_cfg.identity.engine == "spark"
    for store in (local, on_spark):
        put(store, records)
    steps: list[str] = []
    # checkpoints another input left (a failed run before the data changed): cleared
    run_dir = tmp_path / "spark" / ".crmhub" / "spark" / "store-resolve"
    (run_dir / "pairs.parquet").mkdir(parents=True)
    (run_dir / "manifest.json").write_text('{"fingerprint": "0123456789abcdef"}')
    (run_dir / "store-run.json").write_text("another run")

    first_local = resolve_store(local_cfg, local, actor="test")
    first_spark = resolve_store(spark_cfg, on_spark, actor="test", progress=steps.append)

    assert (first_local.mode, first_local.engine) == ("full", "local")
    assert (first_spark.mode, first_spark.engine, first_spark.master) == (
        "full",
        "spark",
        "local[2]",
    )
    assert "full run on Spark (local[2])" in first_spark.line()
    assert "clustering" in steps
    crosswalk = mapping(local)
    assert len(crosswalk) == len(records)
    assert len(set(crosswalk.values())) < len(records)  # there were duplicates to merge
    assert mapping(on_spark) == crosswalk  # the same golden ids for the same records
    assert _golden(on_spark) == _golden(local)
    assert _review(on_spark) == _review(local)
    assert first_spark.review == first_local.review > 0
    # checkpoints are gone once the results are in the store; the stage log stays
    assert [p.name for p in run_dir.iterdir()] == ["stages.log"]
    assert "pairs\tcomputed" in (run_dir / "stages.log").read_text()

    # a sync changes a few records: both resolve incrementally (in process) from the state
    # their full run saved, and still agree
    with local.engine.connect() as conn:
        live = load_customer_records(conn)
    put_now, gone = random_changes(live, random.Random(3), 0.05, 1)
    for store in (local, on_spark):
        put(store, put_now)
        delete(store, gone)
    again_local = resolve_store(local_cfg, local, actor="test")
    again_spark = resolve_store(spark_cfg, on_spark, actor="test")
    assert again_local.mode == again_spark.mode == "incremental"
    assert "incremental: local engine" in again_spark.line()
    assert "local engine" not in again_local.line()
    assert mapping(on_spark) == mapping(local)
    assert _golden(on_spark) == _golden(local)
    for store in (local, on_spark):
        store.dispose()


def test_crmhub_resolve_engine_spark_overrides_hub_yaml(tmp_path: Path) -> None:
    config, store = demo_project(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}")
    assert config.identity.engine == "local"
    put(store, population(30, 2))
    store.dispose()

    def run(*args: str) -> str:
        out = crmhub("resolve", *args, cwd=tmp_path, inherit=True, columns=400, timeout=600)
        assert out.returncode == 0, out.stderr
        return out.stdout

    printed = run("--engine", "spark", "--spark-master", "local[1]", "--run-dir", "ckpt")
    assert "(full run on Spark (local[1]))" in printed
    assert (tmp_path / "ckpt" / "store-resolve" / "stages.log").exists()
    assert "(nothing changed since the last run)" in run("--engine", "spark")
    assert "(full run)" in run("--full")  # hub.yaml's engine again: in process
