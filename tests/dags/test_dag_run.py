"""`dag.test()` runs the demo pipeline on Airflow's SQLite metadata DB and leaves the hub
exactly as `crmhub sync` + `crmhub resolve` + `crmhub analyse` + `crmhub push` leave it."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.cli.example import write_example
from tests.dags.conftest import BIN, load_dag, task_states

# Bookkeeping that differs between any two runs: surrogate keys, times, run ids, who ran it;
# resolve_state's per-record index is keyed by customer_records' surrogate ids (their order
# follows which sync task ran first) and its watermarks ("*_mark") are load times.
VOLATILE = {"id", "at", "pid", "actor", "action_id", "host", "arrays"}


def volatile(column: str) -> bool:
    return column in VOLATILE or column.endswith(("_at", "run_id", "_run", "_mark"))


def store_contents(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    meta = sa.MetaData()
    meta.reflect(engine)
    contents = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            columns = [c for c in table.columns if not volatile(c.name)]
            rows = conn.execute(sa.select(*columns)).all()
            contents[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    engine.dispose()
    return contents


def erp_customers(project: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(project / "data" / "erp.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(row) for row in conn.execute("SELECT * FROM customers")]
    return sorted(rows, key=repr)


def crmhub(project: Path, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "crmhub"), *args, "--config", str(project / "hub.yaml")],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_dag_test_leaves_the_hub_as_the_cli_does(
    airflow_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    via_airflow, via_cli = tmp_path / "airflow", tmp_path / "cli"
    write_example(via_airflow)
    write_example(via_cli)
    printed = [crmhub(via_cli, command) for command in ("sync", "resolve", "analyse", "push")]
    cli_lines = [
        line
        for line in "".join(printed).splitlines()
        if line.startswith(("erp:", "billing:", "support:", "web:", "resolved ", "analysed "))
    ]
    assert len(cli_lines) == 7  # four sources, the resolution, the analysis, the ERP push

    monkeypatch.setenv("CRMHUB_PIPELINES", f"demo={via_airflow / 'hub.yaml'}")
    dag = load_dag("crmhub_demo")
    caplog.set_level(logging.INFO, logger="crmhub.airflow")
    run = dag.test()

    assert str(run.state) == "success"
    states = task_states(run)
    assert states == {
        task: ("success", 1)
        for task in (
            "plan",
            "sync_erp",
            "sync_billing",
            "sync_support",
            "sync_web",
            "resolve",
            "analyse",
            "push_erp",
        )
    }
    expected = store_contents(via_cli / ".crmhub" / "hub.db")
    actual = store_contents(via_airflow / ".crmhub" / "hub.db")
    assert set(actual) == set(expected)
    for table in (
        "golden_records",
        "crosswalk",
        "customer_records",
        "raw_records",
        "customer_profiles",
        "segment_values",
        "stage_history",
    ):
        assert actual[table], table
    for table in expected:  # golden records, crosswalk, quarantine, runs' counts, push state...
        assert actual[table] == expected[table], table
    assert actual["hub_locks"] == []  # every lock released
    erp = erp_customers(via_airflow)
    assert erp == erp_customers(via_cli)  # the same golden ids pushed back into the ERP
    assert all(row["crmhub_golden_id"] for row in erp)
    for line in cli_lines:  # task logs carry the counts the CLI prints
        assert line in caplog.messages

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        extras = session.scalars(
            sa.select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == "crmhub://demo/golden-records")
        ).all()
    golden = int(cli_lines[4].split(" into ")[1].split()[0])
    assert extras and extras[-1]["golden"] == golden  # downstream DAGs can schedule on it
    with create_session() as session:
        analysed = session.scalars(
            sa.select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == "crmhub://demo/customer-profiles")
        ).all()
    customers = int(cli_lines[5].split()[1].replace(",", ""))
    assert analysed and analysed[-1]["customers"] == customers  # the analysis's own Asset
