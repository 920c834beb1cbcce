"""The DAG's resolve and analyse tasks run the engines hub.yaml names: with
`identity.engine: spark` the full resolve runs on Spark local[2] (a real JVM in the task's
process) and leaves the same golden records and crosswalk as `crmhub resolve` on the
in-process engine; with `analytics.engine: spark` the analysis runs there too and leaves
the same profiles, segments and stage history as `crmhub analyse` in process."""

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


def test_the_resolve_and_analyse_tasks_run_on_the_engines_hub_yaml_names(
    airflow_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    via_airflow, via_cli = tmp_path / "airflow", tmp_path / "cli"
    write_example(via_airflow)
    write_example(via_cli)
    config = via_airflow / "hub.yaml"
    text = config.read_text().replace("identity:\n", "identity:\n" + SPARK_YAML, 1)
    config.write_text(text.replace("analytics:", "analytics:\n" + SPARK_YAML, 1))
    for command in ("sync", "resolve", "analyse"):
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
    analysed = [m for m in caplog.messages if m.startswith("analysed ")]
    assert task_states(run)["analyse"] == ("success", 1)
    assert len(analysed) == 1 and "; on Spark (local[2])" in analysed[0]
    assert not (via_airflow / ".crmhub" / "spark" / "store-analyse").exists()
    tables = ("golden_records", "crosswalk", "match_candidates", "customer_profiles")
    for table in (*tables, "segment_values", "segment_members", "profit_lorenz", "stage_history"):
        assert actual[table] == expected[table], table
    assert actual["crosswalk"] and actual["customer_profiles"] and actual["segment_members"]

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
    with create_session() as session:
        extras = session.scalars(
            sa.select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == "crmhub://spark/customer-profiles")
        ).all()
    assert extras and (extras[-1]["engine"], extras[-1]["master"]) == ("spark", "local[2]")
