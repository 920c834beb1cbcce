"""The DAG's resolve task runs the engine hub.yaml names: with `identity.engine: spark` the
full resolve runs on Spark local[2] (a real JVM in the task's process) and leaves the same
golden records and crosswalk as `crmhub resolve` on the in-process engine."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.cli.example import write_example
from tests.dags.conftest import load_dag, task_states
from tests.dags.test_dag_run import crmhub, store_contents

SPARK_YAML = """\
  engine: spark
  spark:
    master: local[2]
    conf: {spark.sql.shuffle.partitions: 2, spark.default.parallelism: 2}
"""


def test_the_resolve_task_runs_on_the_engine_hub_yaml_names(
    airflow_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    via_airflow, via_cli = tmp_path / "airflow", tmp_path / "cli"
    write_example(via_airflow)
    write_example(via_cli)
    config = via_airflow / "hub.yaml"
    config.write_text(config.read_text().replace("identity:\n", "identity:\n" + SPARK_YAML, 1))
    for command in ("sync", "resolve"):
        crmhub(via_cli, command)  # the in-process engine (the example's default)

    monkeypatch.setenv("CRMHUB_PIPELINES", f"spark={config}")
    dag = load_dag("crmhub_spark")
    caplog.set_level(logging.INFO, logger="crmhub.airflow")
    run = dag.test()

    assert str(run.state) == "success", task_states(run)
    assert task_states(run)["resolve"] == ("success", 1)
    resolved = [m for m in caplog.messages if m.startswith("resolved ")]
    assert len(resolved) == 1 and "(full run on Spark (local[2]))" in resolved[0]
    steps = via_airflow / ".crmhub" / "spark" / "store-resolve" / "stages.log"
    assert "components\tcomputed" in steps.read_text()  # Spark's stages ran

    expected = store_contents(via_cli / ".crmhub" / "hub.db")
    actual = store_contents(via_airflow / ".crmhub" / "hub.db")
    for table in ("golden_records", "crosswalk", "match_candidates"):
        assert actual[table] == expected[table], table
    assert actual["crosswalk"]

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        extras = session.scalars(
            sa.select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == "crmhub://spark/golden-records")
        ).all()
    assert extras and (extras[-1]["engine"], extras[-1]["master"]) == ("spark", "local[2]")
    assert extras[-1]["mode"] == "full"
