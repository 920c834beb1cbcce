"""The DAG folder loads with zero import errors, fast, without importing the hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.cli.example import write_example
from tests.dags.conftest import DAGS, POOLS, airflow_env

PARSE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
dags = {
    d: {t.task_id: {"pool": t.pool, "mapped": t.is_mapped, "retries": t.retries,
                    "backoff": t.retry_exponential_backoff,
                    "downstream": sorted(t.downstream_task_ids),
                    "outlets": [a.uri for a in t.outlets]}
        for t in bag.get_dag(d).tasks}
    for d in bag.dag_ids
}
print(json.dumps({
    "errors": bag.import_errors, "seconds": elapsed,
    "file_seconds": {s.file: s.duration.total_seconds() for s in bag.dagbag_stats},
    "dags": dags, "max_active_runs": {d: bag.get_dag(d).max_active_runs for d in bag.dag_ids},
    "hub_imported": any(m == "hub" or m.startswith(("hub.", "singer_sdk")) for m in sys.modules),
}))
"""


def parse_folder(home: Path, **env: str) -> dict:
    """A fresh interpreter parses dags/ as Airflow does, under the test AIRFLOW_HOME."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAGS)],
        check=True,
        capture_output=True,
        text=True,
        env={**clean, **airflow_env(home), **env},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_dag_folder_loads_without_errors_fast_and_without_the_hub(
    airflow_home: Path, tmp_path: Path
) -> None:
    write_example(tmp_path / "demo")
    parsed = parse_folder(airflow_home, CRMHUB_PIPELINES=f"demo={tmp_path / 'demo' / 'hub.yaml'}")
    assert parsed["errors"] == {}
    assert list(parsed["file_seconds"]) == ["crmhub_pipeline.py"]  # crmhub_tasks is ignored
    assert parsed["file_seconds"]["crmhub_pipeline.py"] < 2.0
    assert parsed["seconds"] < 2.0
    assert not parsed["hub_imported"]  # no heavy work at parse time
    tasks = parsed["dags"]["crmhub_demo"]
    assert parsed["max_active_runs"]["crmhub_demo"] == 1
    assert set(tasks) == {
        "plan",
        "sync_erp",
        "sync_billing",
        "sync_support",
        "sync_web",
        "resolve",
        "push_erp",
        "analyse",
    }
    for source in ("erp", "billing", "support", "web"):
        assert tasks[f"sync_{source}"]["pool"] == f"crmhub_{source}"
        assert tasks[f"sync_{source}"]["downstream"] == ["resolve"]
        assert tasks[f"sync_{source}"]["retries"] == 3
        assert tasks[f"sync_{source}"]["backoff"] == 2.0
    assert tasks["push_erp"]["pool"] == "crmhub_erp"
    assert tasks["resolve"]["downstream"] == ["analyse", "push_erp"]
    assert tasks["resolve"]["outlets"] == ["crmhub://demo/golden-records"]
    assert tasks["analyse"]["downstream"] == []
    assert tasks["analyse"]["outlets"] == ["crmhub://demo/customer-profiles"]
    assert {f"crmhub_{s}" for s in ("erp", "billing", "support", "web")} <= set(POOLS)


def test_dag_folder_without_configuration_has_no_dags_and_no_errors(airflow_home: Path) -> None:
    parsed = parse_folder(airflow_home)
    assert parsed["errors"] == {}
    assert parsed["dags"] == {}


def test_dag_per_pipeline_and_mapping_when_hub_yaml_is_unreadable_at_parse_time(
    airflow_home: Path, tmp_path: Path
) -> None:
    write_example(tmp_path / "demo")
    parsed = parse_folder(
        airflow_home,
        CRMHUB_PIPELINES=f"demo={tmp_path / 'demo' / 'hub.yaml'},later={tmp_path / 'nope.yaml'}",
    )
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == {"crmhub_demo", "crmhub_later"}
    later = parsed["dags"]["crmhub_later"]
    assert later["sync"]["mapped"] and later["sync"]["pool"] == "default_pool"
    assert later["plan"]["downstream"] == ["sync"]


def test_dag_folder_reports_a_bad_pipeline_setting_as_an_import_error(airflow_home: Path) -> None:
    parsed = parse_folder(airflow_home, CRMHUB_PIPELINES="Bad Name=relative/hub.yaml")
    [message] = parsed["errors"].values()
    assert "CRMHUB_PIPELINES" in message and "NAME=/path/to/hub.yaml" in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"CRMHUB_PIPELINES": "a=/x/hub.yaml, b=/y/hub.yaml"},
            [("a", "/x/hub.yaml"), ("b", "/y/hub.yaml")],
        ),
        ({"CRMHUB_CONFIG": "/srv/hub.yaml"}, [("main", "/srv/hub.yaml")]),
        ({"CRMHUB_PIPELINES": "", "CRMHUB_CONFIG": ""}, []),
    ],
)
def test_dag_pipelines_from_the_environment(env: dict[str, str], expected: list) -> None:
    sys.path.insert(0, str(DAGS))
    try:
        from crmhub_tasks import configured_pipelines
    finally:
        sys.path.remove(str(DAGS))
    found = [(p.name, str(p.config_path)) for p in configured_pipelines(env)]
    assert found == expected
