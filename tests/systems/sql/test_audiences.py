"""Audiences synced into an `sql` source (destination kind `system`) against a real SQLite
ERP database: a row per member in `crmhub_audience_members` of that database, deleted on
exit; a second sync writes nothing; a killed sync re-run writes each change once; a row the
database refuses (a trigger, as a locked customer would) lands in push_failures with the
database's message."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.sql_writer import AUDIENCE_TABLE
from hub.analyse import analyse_store
from hub.core.retry import RetryPolicy
from hub.push.audiences import DestinationSync, connector_name, sync_audiences
from hub.push.system_destinations import SystemSender
from hub.resolve.run import resolve_store
from hub.store.database import Store
from hub.store.tables import crosswalk, push_failures
from hub.sync.run import sync
from schemas.audiences import AudienceConfig, SystemDestination
from schemas.config import HubConfig, load_config
from tests.hub.helpers import DEMO_AS_OF, make_erp, write_project
from tests.systems.dying_writer import DiesAfter, Killed

NO_RETRY = RetryPolicy(attempts=1)
CUSTOMERS = 6


def hub(tmp_path: Path, store_url: str) -> tuple[HubConfig, Store, Path]:
    """The ERP source in SQLite; the hub store on each backend (SQLite, PostgreSQL)."""
    erp = tmp_path / "erp.sqlite"
    make_erp(erp, CUSTOMERS)
    config = load_config(write_project(tmp_path, store_url, erp))
    store = Store.open(config)
    assert all(r.ok for r in sync(config, store, retry=NO_RETRY))
    resolve_store(config, store, actor="test")
    analyse_store(config, store, as_of=DEMO_AS_OF)
    return config, store, erp


def golden_ids(store: Store) -> dict[str, str]:
    x = crosswalk.c
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(x.source_id, x.golden_id).where(x.source == "erp")).all()
    return {str(s): str(g) for s, g in rows}


def with_audience(config: HubConfig, members: list[str]) -> HubConfig:
    audience = AudienceConfig.model_validate(
        {
            "name": "loyal",
            "rule": {"trait": "golden_id", "in": members},
            "fields": ["frequency"],
            "destinations": [{"kind": "system", "name": "erp", "connector": "erp"}],
        }
    )
    return config.model_copy(update={"audiences": [audience]})


def sender(config: HubConfig, store: Store) -> SystemSender:
    [dest] = config.audiences[0].destinations
    assert isinstance(dest, SystemDestination)
    return SystemSender(config, store, "loyal", dest, fields=["frequency"], retry=NO_RETRY)


def run(config: HubConfig, store: Store, out: SystemSender) -> DestinationSync:
    [result] = sync_audiences(config, store, senders={("loyal", "erp"): out})
    return result


def members(erp: Path) -> dict[str, tuple[str, str, dict[str, Any]]]:
    db = sqlite3.connect(erp)
    try:
        rows = db.execute(f"SELECT source_id, audience, golden_id, fields FROM {AUDIENCE_TABLE}")
        return {s: (a, g, json.loads(f)) for s, a, g, f in rows}
    finally:
        db.close()


def test_member_rows_second_sync_writes_nothing_exits_delete(
    tmp_path: Path, store_url: str
) -> None:
    config, store, erp = hub(tmp_path, store_url)
    gids = golden_ids(store)
    chosen = ["1", "2", "3"]
    loyal = with_audience(config, [gids[s] for s in chosen])

    first = sender(loyal, store)
    result = run(loyal, store, first)
    assert (result.entered, result.failed, first.writes) == (3, 0, 3)
    found = members(erp)
    assert sorted(found) == chosen
    assert all(found[s][:2] == ("loyal", gids[s]) for s in chosen)
    assert all(found[s][2]["frequency"] >= 1 for s in chosen)  # each has an order

    second = sender(loyal, store)
    again = run(loyal, store, second)
    assert (again.sent, again.failed, second.writes) == (0, 0, 0)
    assert members(erp) == found

    narrowed = with_audience(config, [gids["1"]])
    third = sender(narrowed, store)
    out = run(narrowed, store, third)
    assert (out.entered, out.exited, third.writes) == (0, 2, 2)
    assert sorted(members(erp)) == ["1"]
    [read] = [r for r in sync(config, store, retry=NO_RETRY) if r.connector == "erp"]
    assert read.ok and read.counts.updated == 0  # the source's own tables were not touched


def test_killed_sync_rerun_writes_each_change_once(tmp_path: Path, store_url: str) -> None:
    config, store, erp = hub(tmp_path, store_url)
    loyal = with_audience(config, sorted(golden_ids(store).values()))
    dying = sender(loyal, store)
    dying.writer = DiesAfter(dying.writer, left=2)
    with pytest.raises(Killed):
        run(loyal, store, dying)
    assert len(members(erp)) == 2

    rerun = sender(loyal, store)
    result = run(loyal, store, rerun)
    assert (result.entered, result.failed, rerun.writes) == (CUSTOMERS - 2, 0, CUSTOMERS - 2)
    assert len(members(erp)) == CUSTOMERS


def test_refused_row_kept_in_push_failures_with_the_database_message(
    tmp_path: Path, store_url: str
) -> None:
    config, store, erp = hub(tmp_path, store_url)
    gids = golden_ids(store)
    db = sqlite3.connect(erp)
    db.executescript(
        f"CREATE TABLE {AUDIENCE_TABLE} (source_id VARCHAR(500), audience VARCHAR(40),"
        " golden_id VARCHAR(40) NOT NULL, fields TEXT NOT NULL,"
        " PRIMARY KEY (source_id, audience));"
        f"CREATE TRIGGER locked BEFORE INSERT ON {AUDIENCE_TABLE} WHEN NEW.source_id = '2'"
        " BEGIN SELECT RAISE(ABORT, 'customer 2 is locked for marketing'); END;"
    )
    db.close()
    loyal = with_audience(config, [gids["1"], gids["2"]])

    result = run(loyal, store, sender(loyal, store))
    assert (result.entered, result.failed) == (1, 1)
    assert sorted(members(erp)) == ["1"]
    with store.engine.connect() as conn:
        [failure] = conn.execute(
            sa.select(push_failures).where(
                push_failures.c.connector == connector_name("loyal", "erp")
            )
        ).all()
    assert failure.golden_id == gids["2"]
    assert failure.error == "refused by the database: customer 2 is locked for marketing"
