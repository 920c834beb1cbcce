"""Sync end to end on the demo project and on an ERP database, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.cli.example import write_example
from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import connector_runs, customer_records, interactions, quarantine, raw_records
from hub.sync.run import sync
from schemas.config import HubConfig, load_config
from tests.hub.helpers import make_erp, snapshot, write_project

NO_RETRY = RetryPolicy(attempts=1)


def demo_project(tmp_path: Path, store_url: str) -> tuple[HubConfig, Store]:
    write_example(tmp_path)
    text = (tmp_path / "hub.yaml").read_text().replace("sqlite:///.crmhub/hub.db", store_url)
    (tmp_path / "hub.yaml").write_text(text)
    config = load_config(tmp_path / "hub.yaml")
    store = Store.open(config)
    return config, store


def scalar(store: Store, query: sa.Select[tuple[int]]) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_demo_project_syncs_every_source(tmp_path: Path, store_url: str) -> None:
    config, store = demo_project(tmp_path, store_url)
    results = sync(config, store, retry=NO_RETRY)
    assert [r.connector for r in results] == ["erp", "billing", "support", "web"]
    assert all(r.ok for r in results), [r.error for r in results]
    by_source = dict(
        store.engine.connect()
        .execute(
            sa.select(customer_records.c.source, sa.func.count()).group_by(
                customer_records.c.source
            )
        )
        .all()
    )
    assert by_source == {"erp": 10, "billing": 10, "support": 10, "web": 7}
    assert scalar(store, sa.select(sa.func.count()).select_from(interactions)) > 10
    with store.engine.connect() as conn:
        anna = conn.execute(
            sa.select(customer_records).where(
                customer_records.c.source == "billing", customer_records.c.source_id == "B-0001"
            )
        ).one()
    assert (anna.given_name, anna.family_name, anna.email) == (
        "Anna",
        "Kovács",
        "ANNA.KOVACS@GMAIL.COM",
    )
    assert anna.extra == {"balance": 12.5}

    again = sync(config, store, retry=NO_RETRY)
    assert all(r.ok and r.counts.inserted == r.counts.updated == 0 for r in again)


QUARANTINE_KINDS = [
    ("wrong column count", "billing", "parse", "column"),
    ("wrong type", "billing", "parse", "balance"),
    ("malformed JSON line", "support", "parse", "JSON"),
    ("missing id", "support", "identity", "missing id"),
]


def test_each_bad_input_kind_is_quarantined_with_its_reason(tmp_path: Path, store_url: str) -> None:
    config, store = demo_project(tmp_path, store_url)
    with (tmp_path / "data" / "support_contacts.jsonl").open("ab") as fh:
        fh.write(b'{"contact_id": "S77", "name": "Latin-1 \xe9t\xe9", "mail": "x@y.z"}\n')
    erp = sqlite3.connect(tmp_path / "data" / "erp.sqlite")  # SQLite stores any type anywhere
    erp.execute(
        "INSERT INTO orders (customer_id, ordered_at, total, currency, status)"
        " VALUES (1001, '2026-03-01T00:00:00+00:00', 'twelve', 'EUR', 'paid')"
    )
    erp.execute(
        "INSERT INTO customers (id, first_name, last_name, birth_date, updated_at)"
        " VALUES (1099, 'Bad', 'Date', '31/12/1980', '2026-02-01T00:00:00+00:00')"
    )
    erp.commit()
    erp.close()
    results = sync(config, store, retry=NO_RETRY)
    assert all(r.ok for r in results), [r.error for r in results]
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                quarantine.c.source,
                quarantine.c.stream,
                quarantine.c.source_id,
                quarantine.c.stage,
                quarantine.c.reason,
                quarantine.c.location,
                quarantine.c.raw,
            )
        ).all()
    found = {(r.source, r.stage, r.reason) for r in rows}
    for case, source, stage, hint in QUARANTINE_KINDS:
        assert any(s == source and st == stage and hint in reason for s, st, reason in found), case
    undecodable = [r for r in rows if r.source == "support" and "undecodable" in r.reason]
    assert undecodable and "\\xe9" in undecodable[0].raw and undecodable[0].location
    wrong_sql_type = [r for r in rows if r.source == "erp" and r.stage == "schema"]
    assert wrong_sql_type and "total" in wrong_sql_type[0].reason
    bad_date = [r for r in rows if r.source == "erp" and r.stage == "mapping"]
    assert bad_date and bad_date[0].source_id == "1099" and "birth_date" in bad_date[0].reason
    total = sum(r.counts.quarantined for r in results)
    assert total == len(rows) == 7
    runs = scalar(store, sa.select(sa.func.sum(connector_runs.c.records_quarantined)))
    assert runs == 7


def test_incremental_then_full_refresh_flags_deletions(tmp_path: Path, store_url: str) -> None:
    erp = tmp_path / "erp.sqlite"
    make_erp(erp, 50)
    config = load_config(write_project(tmp_path, store_url, erp))
    store = Store.open(config)
    [first] = sync(config, store, retry=NO_RETRY)
    assert first.ok and first.counts.inserted == 100
    db = sqlite3.connect(erp)
    db.execute(
        "UPDATE customers SET email = 'new@example.com', "
        "updated_at = '2026-03-01T00:00:00+00:00' WHERE id = 7"
    )
    db.execute(
        "INSERT INTO customers VALUES (51, 'New', 'Person', 'n@x', 'Pécs',"
        " '2026-03-02T00:00:00+00:00')"
    )
    db.execute("DELETE FROM orders WHERE id = 3")
    db.execute("DELETE FROM customers WHERE id = 9")  # incremental stream: cannot be seen
    db.commit()
    db.close()
    [second] = sync(config, store, retry=NO_RETRY)
    assert second.ok
    assert (second.counts.inserted, second.counts.updated, second.counts.deleted) == (1, 1, 1)
    deleted = (
        store.engine.connect()
        .execute(
            sa.select(raw_records.c.stream, raw_records.c.source_id).where(raw_records.c.deleted)
        )
        .all()
    )
    assert [tuple(d) for d in deleted] == [("orders", "3")]
    [full] = sync(config, store, full_refresh=True, retry=NO_RETRY)
    assert full.ok and full.counts.deleted == 1  # the customer gone from the ERP is now flagged
    assert scalar(store, sa.select(sa.func.count()).where(customer_records.c.deleted)) == 1


def test_dry_run_reports_but_writes_nothing(tmp_path: Path, store_url: str) -> None:
    erp = tmp_path / "erp.sqlite"
    make_erp(erp, 30)
    config = load_config(write_project(tmp_path, store_url, erp))
    store = Store.open(config)
    [dry] = sync(config, store, dry_run=True, retry=NO_RETRY)
    assert dry.ok and dry.counts.inserted == 60
    assert snapshot(store) == {"raw": [], "customers": [], "interactions": []}
    assert store.load_state("erp") == {}


def test_changing_a_mapping_remaps_on_full_refresh(tmp_path: Path, store_url: str) -> None:
    erp = tmp_path / "erp.sqlite"
    make_erp(erp, 5)
    path = write_project(tmp_path, store_url, erp)
    config = load_config(path)
    store = Store.open(config)
    sync(config, store, retry=NO_RETRY)
    path.write_text(path.read_text().replace("given_name: first_name", "given_name: city"))
    [again] = sync(load_config(path), store, full_refresh=True, retry=NO_RETRY)
    assert again.counts.updated == 5
    names = {n for (n,) in store.engine.connect().execute(sa.select(customer_records.c.given_name))}
    assert names == {"Budapest"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "refused"),
        ("sqlite:////nonexistent/dir/erp.sqlite", "unable to open database"),
    ],
    ids=["connection refused", "missing database"],
)
def test_whole_source_failure_is_one_line_and_keeps_earlier_data(
    tmp_path: Path, store_url: str, url: str, expected: str
) -> None:
    erp = tmp_path / "erp.sqlite"
    make_erp(erp, 10)
    path = write_project(tmp_path, store_url, erp)
    config = load_config(path)
    store = Store.open(config)
    sync(config, store, retry=NO_RETRY)
    before, state = snapshot(store), store.load_state("erp")
    path.write_text(path.read_text().replace(f"sqlite:///{erp}", url))
    [failed] = sync(load_config(path), store, retry=RetryPolicy(attempts=2, initial_delay=0))
    assert not failed.ok and failed.attempts == 1  # fatal: not retried
    assert expected in failed.error.lower() and "\n" not in failed.error
    assert snapshot(store) == before and store.load_state("erp") == state
