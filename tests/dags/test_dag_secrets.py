"""Secrets come from Airflow Connections (here the environment-variable secrets backend)
when a task runs: the hub store on PostgreSQL from a whole-URL connection, a source's
password from another; never from the DAG file, never in the logs, gone after the task."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.store.database import Store
from tests.dags.conftest import DAGS, load_dag, task_states
from tests.postgres import PostgresServer

STORE_SECRET = "store-pw-Xq7"  # PostgreSQL trusts loopback here: the value is not checked,
SOURCE_SECRET = "source-pw-Zk9"  # but the hub refuses to start while ${VAR} is unset


def test_dag_takes_secrets_from_airflow_connections(
    airflow_home: Path,
    tmp_path: Path,
    pg_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store_url = sa.make_url(pg_server.create_database())
    source_url = sa.make_url(pg_server.create_database())
    engine = sa.create_engine(source_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
        conn.exec_driver_sql("INSERT INTO people VALUES (1, 'Anna Kovács'), (2, 'Bill Smith')")
    engine.dispose()
    (tmp_path / "hub.yaml").write_text(
        f"""
store: {{url: "${{CRMHUB_TEST_STORE_URL}}"}}
connectors:
  - name: people
    type: sql
    config:
      url: "postgresql+psycopg://postgres:${{PEOPLE_DB_PASSWORD}}@127.0.0.1:{source_url.port}/{source_url.database}"
      streams: [{{name: people, table: people, primary_keys: [id]}}]
    streams:
      people:
        entity: customer
        mapping: {{source_id: id, full_name: name, kind: {{const: person}}}}
""",
        encoding="utf-8",
    )
    for name in ("CRMHUB_TEST_STORE_URL", "PEOPLE_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    connection = {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": store_url.port,
        "login": "postgres",
        "password": STORE_SECRET,
        "schema": store_url.database,
    }
    monkeypatch.setenv("AIRFLOW_CONN_CRMHUB_TEST_STORE_URL", json.dumps(connection))
    monkeypatch.setenv(
        "AIRFLOW_CONN_PEOPLE_DB_PASSWORD",
        json.dumps({"conn_type": "generic", "password": SOURCE_SECRET}),
    )
    monkeypatch.setenv("CRMHUB_PIPELINES", f"secrets={tmp_path / 'hub.yaml'}")
    caplog.set_level(logging.INFO)

    run = load_dag("crmhub_secrets").test()

    assert str(run.state) == "success", task_states(run)
    assert "CRMHUB_TEST_STORE_URL" not in os.environ  # set for the task only
    assert "PEOPLE_DB_PASSWORD" not in os.environ
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert STORE_SECRET not in logged and SOURCE_SECRET not in logged
    assert "PEOPLE_DB_PASSWORD set from Airflow connection 'people_db_password'" in logged
    assert "people: read 2, inserted 2" in logged
    store = Store(store_url.render_as_string(hide_password=False))
    with store.engine.connect() as conn:
        golden = conn.exec_driver_sql("SELECT count(*) FROM golden_records").scalar()
    store.dispose()
    assert golden == 2


def test_dag_secret_references_and_their_connection_values() -> None:
    sys.path.insert(0, str(DAGS))
    try:
        from crmhub_tasks import _connection_value, env_references
    finally:
        sys.path.remove(str(DAGS))
    refs = env_references(
        "${STORE_URL}",
        {"url": "postgresql+psycopg://erp:${ERP_PW}@db/erp", "key": " ${API_KEY} "},
        ["${STORE_URL}"],
    )
    assert refs == {"STORE_URL": True, "ERP_PW": False, "API_KEY": True}

    class Conn:
        conn_type, host, port, login, schema = "postgres", "db.internal", 5432, "hub", "hub"
        password = "p@ss/word"
        extra_dejson: dict[str, str] = {}

    assert _connection_value(Conn, whole=False) == "p@ss/word"
    url = _connection_value(Conn, whole=True)
    assert url == "postgresql+psycopg://hub:p%40ss%2Fword@db.internal:5432/hub"
    Conn.extra_dejson = {"sqlalchemy_scheme": "postgresql+psycopg2"}
    assert str(_connection_value(Conn, whole=True)).startswith("postgresql+psycopg2://")
    Conn.host = ""
    assert _connection_value(Conn, whole=True) == "p@ss/word"  # no host: just the secret
