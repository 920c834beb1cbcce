"""Airflow retries a task whose source fails retriably (with backoff) and fails a task
whose source fails fatally at once — through Airflow's own machinery (`dag.test()`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import RetriableAPIError

import hub.sync.runners
from hub.store.database import Store
from hub.store.tables import hub_locks
from schemas.config import load_config
from tests.dags.conftest import load_dag, task_states


class People(Stream):
    name = "people"
    primary_keys: ClassVar[list[str]] = ["id"]
    schema = th.PropertiesList(th.Property("id", th.IntegerType)).to_dict()
    calls: ClassVar[int] = 0

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        type(self).calls += 1
        if type(self).calls == 1:  # the first attempt meets an overloaded API
            raise RetriableAPIError("503 Service Unavailable")
        yield from ({"id": i} for i in range(1, 4))


class FlakyTap(Tap):
    name = "tap-flaky"
    config_jsonschema = th.PropertiesList().to_dict()

    def discover_streams(self) -> list[Stream]:
        return [People(self)]


def project(tmp_path: Path) -> Path:
    sqlite3.connect(tmp_path / "empty.sqlite").execute("CREATE TABLE other (id INTEGER)")
    (tmp_path / "people.jsonl").write_text(json.dumps({"id": 1}) + "\n")
    (tmp_path / "hub.yaml").write_text(
        f"""
store: {{url: "sqlite:///{tmp_path}/hub.db"}}
connectors:
  - {{name: flaky, type: flaky}}
  - name: missing                    # fatal: the table is not there
    type: sql
    config:
      url: "sqlite:///{tmp_path}/empty.sqlite"
      streams: [{{name: customers, table: customers, primary_keys: [id]}}]
  - name: locked                     # retriable: another live process is syncing it
    type: files
    config:
      streams: [{{name: people, path: people.jsonl, primary_keys: [id]}}]
""",
        encoding="utf-8",
    )
    return tmp_path / "hub.yaml"


def test_dag_retries_retriable_failures_and_fails_fatal_ones_at_once(
    airflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = hub.sync.runners.load_connector
    monkeypatch.setattr(
        hub.sync.runners, "load_connector", lambda name: FlakyTap if name == "flaky" else real(name)
    )
    People.calls = 0
    config_path = project(tmp_path)
    store = Store.open(load_config(config_path))
    with store.transaction() as conn:  # a live process elsewhere holds sync:locked
        conn.execute(
            hub_locks.insert().values(
                name="sync:locked",
                host=socket.gethostname(),
                pid=os.getppid(),
                acquired_at=dt.datetime.now(dt.UTC),
            )
        )
    monkeypatch.setenv("CRMHUB_PIPELINES", f"retry={config_path}")
    monkeypatch.setenv("CRMHUB_RETRIES", "2")
    monkeypatch.setenv("CRMHUB_RETRY_DELAY", "0.5")
    monkeypatch.setenv("CRMHUB_MAX_RETRY_DELAY", "1")
    dag = load_dag("crmhub_retry")
    assert dag.get_task("sync_flaky").retries == 2

    run = dag.test()

    states = task_states(run)
    assert states["sync_flaky"] == ("success", 2)  # 503, retried by Airflow, then synced
    assert states["sync_missing"] == ("failed", 1)  # missing table: AirflowFailException
    assert states["sync_locked"] == ("failed", 3)  # lock held throughout: every retry used
    assert states["resolve"][0] == "upstream_failed"
    assert states["analyse"][0] == "upstream_failed"
    assert str(run.state) == "failed"
    with store.engine.connect() as conn:
        runs = conn.exec_driver_sql(
            "SELECT connector, status, records_read, error FROM connector_runs ORDER BY id"
        ).all()
    store.dispose()
    by_connector = {c: [(s, n, e) for c2, s, n, e in runs if c2 == c] for c in ("flaky", "missing")}
    assert [s for s, _, _ in by_connector["flaky"]] == ["failed", "succeeded"]
    assert by_connector["flaky"][-1][1] == 3
    [(status, _, error)] = by_connector["missing"]
    assert status == "failed" and "customers" in error
