"""Airflow under a fresh AIRFLOW_HOME (SQLite metadata DB), the repo's dags/ as DAG folder.

Airflow reads its configuration when first imported, so the environment is set here, before
any test imports it (every test module imports airflow lazily, inside fixtures and tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
BIN = Path(sys.executable).parent
POOLS = (
    "crmhub_erp",
    "crmhub_billing",
    "crmhub_support",
    "crmhub_web",
    "crmhub_audience_file",  # the audience file destination of test_dag_audiences
    "crmhub_flaky",
    "crmhub_missing",
    "crmhub_locked",
    "crmhub_people",
)


def airflow_env(home: Path) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A migrated metadata DB and the pools the test pipelines use; airflow importable."""
    if "airflow" in sys.modules:  # pragma: no cover - would run against another home
        pytest.fail("airflow was imported before tests/dags set up AIRFLOW_HOME")
    home = tmp_path_factory.mktemp("airflow_home")
    env = airflow_env(home)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("CRMHUB_PIPELINES", raising=False)
        mp.delenv("CRMHUB_CONFIG", raising=False)
        subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"],
            check=True,
            capture_output=True,
            env={**os.environ, **env},
        )
        from airflow.models.pool import Pool

        for pool in POOLS:  # what `airflow pools set crmhub_erp 1 "..."` does
            Pool.create_or_update_pool(pool, 1, f"crm-hub source {pool}", include_deferred=False)
        yield home


def load_dag(dag_id: str) -> Any:
    """Parse the DAG folder as Airflow does and return one DAG (failing on import errors)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    dag = bag.get_dag(dag_id)
    assert dag is not None, bag.dag_ids
    return dag


def task_states(dag_run: Any) -> dict[str, tuple[str, int]]:
    """task_id -> (state, try_number) of a finished dag.test() run."""
    return {ti.task_id: (str(ti.state), ti.try_number) for ti in dag_run.get_task_instances()}
