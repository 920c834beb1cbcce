"""hub.yaml's `analytics.engine` / `analytics.spark`, the command line over them, and the
Parquet file the driver writes for Spark (no JVM here: tests/hub/analyse/test_spark.py
runs Spark itself)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from benchmarks.analytics.generator import generate
from benchmarks.analytics.spark_scale import load_store
from hub.analyse.engine import Engine, choose_engine
from hub.analyse.parquet import write_interactions
from hub.analyse.run import load_interactions
from hub.core.errors import HubError
from hub.store.database import Store
from schemas.config import ConfigError, HubConfig, load_config
from tests.cli import crmhub


def _config(tmp_path: Path, analytics: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(f"analytics:\n{analytics}")
    return path


@pytest.mark.parametrize(
    ("analytics", "message"),
    [
        (
            "  engine: flink\n",
            "analytics.engine: Value error, 'flink' is not an engine — use local (in process) "
            "or spark (Apache Spark)",
        ),
        (
            "  spark: {master: 'local[two]'}\n",
            "analytics.spark.master: Value error, 'local[two]' is not a Spark master URL",
        ),
        (
            "  spark: {conf: {executor.cores: 2}}\n",
            "analytics.spark.conf: Value error, executor.cores: not Spark settings",
        ),
        (
            "  spark: {mastr: 'local[2]'}\n",
            "analytics.spark.mastr: unknown key 'mastr'",
        ),
    ],
)
def test_hub_yaml_mistakes_name_the_key(tmp_path: Path, analytics: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(_config(tmp_path, analytics))
    assert message in str(raised.value)


def test_hub_yaml_chooses_the_engine_and_the_command_line_overrides_it(tmp_path: Path) -> None:
    config = load_config(
        _config(
            tmp_path,
            "  engine: spark\n  spark:\n    master: spark://h:7077\n    run_dir: runs\n"
            "    conf: {spark.executor.cores: 2}\n",
        )
    )
    chosen = choose_engine(config)
    assert (chosen.name, chosen.master, chosen.describe()) == (
        "spark",
        "spark://h:7077",
        "Spark, spark://h:7077",
    )
    assert chosen.folder == tmp_path / "runs" / "store-analyse"  # relative to hub.yaml
    assert chosen.conf == {"spark.executor.cores": "2"}
    assert choose_engine(config, spark_master="local[1]").master == "local[1]"
    assert choose_engine(config, engine="local") == Engine()
    assert choose_engine(HubConfig()) == Engine()  # in process unless hub.yaml says spark
    with pytest.raises(HubError, match="--spark-master is an option of --engine spark"):
        choose_engine(HubConfig(), spark_master="local[2]")
    with pytest.raises(HubError, match="--engine flink: unknown engine"):
        choose_engine(HubConfig(), engine="flink")


def test_crmhub_analyse_engine_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    path = _config(tmp_path, "  engine: local\n")
    wrong = crmhub("analyse", "--config", str(path), "--spark-master", "local[2]", cwd=tmp_path)
    assert wrong.returncode != 0
    assert "--spark-master is an option of --engine spark" in wrong.stderr + wrong.stdout
    batch = crmhub(
        "analyse", "--interactions", "i.jsonl", "--as-of", "2024-01-01", "--out", "o",
        "--spark-master", "local[2]", cwd=tmp_path,
    )  # fmt: skip
    assert batch.returncode != 0
    assert "--spark-master is an option of --engine spark" in batch.stderr + batch.stdout


def test_the_parquet_file_holds_the_rows_of_the_local_path_in_batches(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    load_store(store, generate(40, seed=2))
    try:
        with store.engine.connect() as conn:
            raw, unmapped = load_interactions(conn)
            written, unmapped_too = write_interactions(conn, tmp_path / "i.parquet", 100)
    finally:
        store.dispose()
    file = pq.ParquetFile(tmp_path / "i.parquet")
    assert (written, unmapped_too) == (len(raw), unmapped) and written > 300
    assert file.metadata.num_row_groups == -(-written // 100)  # one row group per batch
    table = file.read().to_pandas()
    assert list(table.columns) == list(raw.columns)
    for name in ("customer_id", "type", "occurred_at", "currency", "status", "category"):
        expected = [None if v is None else str(v) for v in raw[name]]
        assert [None if v is None else str(v) for v in table[name]] == expected, name
    for name in ("amount", "margin"):
        expected = [None if v is None else float(v) for v in raw[name]]
        assert [None if v != v else v for v in table[name]] == expected, name  # NaN: null
    assert raw["margin"].notna().any() and raw["category"].notna().any()


def test_an_empty_store_writes_an_empty_file_with_the_columns(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        with store.engine.connect() as conn:
            assert write_interactions(conn, tmp_path / "none.parquet") == (0, 0)
    finally:
        store.dispose()
    table = pq.read_table(tmp_path / "none.parquet")
    assert table.num_rows == 0 and "customer_id" in table.column_names
