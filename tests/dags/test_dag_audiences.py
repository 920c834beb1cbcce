"""The DAG syncs audiences after analyse, one task per destination in that destination's
pool: parsed from hub.yaml without the hub, and run with `dag.test()` on the demo project
(a file destination receives every member that entered)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hub.cli.example import write_example
from tests.dags.conftest import load_dag, task_states
from tests.dags.test_dag_folder import parse_folder

AUDIENCES = """
audiences:
  - name: buyers
    rule: {trait: frequency, gte: 1}
    fields: [stage]
    destinations:
      - {kind: file, path: exports, format: csv}
"""


def project(folder: Path) -> Path:
    write_example(folder)
    hub_yaml = folder / "hub.yaml"
    hub_yaml.write_text(hub_yaml.read_text() + AUDIENCES)
    return hub_yaml


def test_one_task_per_destination_after_analyse_in_its_pool(
    airflow_home: Path, tmp_path: Path
) -> None:
    hub_yaml = project(tmp_path / "demo")
    parsed = parse_folder(airflow_home, CRMHUB_PIPELINES=f"demo={hub_yaml}")
    assert parsed["errors"] == {} and parsed["hub_imported"] is False
    tasks = parsed["dags"]["crmhub_demo"]
    assert tasks["analyse"]["downstream"] == ["audience_buyers_file"]
    assert tasks["audience_buyers_file"]["pool"] == "crmhub_audience_file"


def test_dag_run_syncs_the_audience_after_the_analysis(
    airflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_yaml = project(tmp_path / "demo")
    monkeypatch.setenv("CRMHUB_PIPELINES", f"demo={hub_yaml}")
    run = load_dag("crmhub_demo").test()
    assert str(run.state) == "success"
    assert task_states(run)["audience_buyers_file"] == ("success", 1)
    [written] = list((tmp_path / "demo" / "exports").iterdir())
    rows = list(csv.DictReader(written.open(encoding="utf-8")))
    assert rows and {r["event"] for r in rows} == {"entered"} and all(r["stage"] for r in rows)
