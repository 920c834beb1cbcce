"""A built-in connector's bad config names the key path under the connector in hub.yaml;
an external tap's LOG_BASED stream is not taken for a full-table read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from singer_sdk.exceptions import ConfigValidationError

from hub.core.errors import SyncError
from hub.store.database import Store
from hub.store.tables import customer_records, raw_records
from hub.sync.discovery import TapCatalog
from hub.sync.ingest import Ingestor
from hub.sync.runners import build_tap, config_problems, run_external
from schemas.config import ConnectorConfig

SHOP = ConnectorConfig(name="shop", type="files", config={})


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        (
            ["'path' is a required property in config['streams'][0]"],
            "connectors[shop].config.streams[0].path: required, add it",
        ),
        (["'streams' is a required property"], "connectors[shop].config.streams: required, add it"),
        (
            ["5 is not of type 'string' in config['streams'][1]['name']"],
            "connectors[shop].config.streams[1].name: 5 is not of type 'string'",
        ),
        (["something else"], "connectors[shop].config: something else"),
    ],
    ids=["nested-required", "top-required", "wrong-type", "unplaced"],
)
def test_config_errors_name_the_key_path(errors: list[str], expected: str) -> None:
    problem = config_problems(
        SHOP, ConfigValidationError("Config validation failed", errors=errors)
    )
    assert problem == f"invalid connector config: {expected}"


def test_a_files_stream_without_path_names_the_key() -> None:
    with pytest.raises(SyncError) as caught:
        build_tap(SHOP, {"streams": [{"name": "people"}]}, {})
    assert "connectors[shop].config.streams[0].path: required" in str(caught.value)
    assert not caught.value.retriable


# A log-based tap as pipelinewise-tap-mysql behaves: the SCHEMA message has no bookmark
# properties; the first run copies the table, later ones send only what the log holds
# (here: customer 2 changed). A stand-in for the real tap, which
# tests/systems/singer_taps/test_pipelinewise_mysql.py drives against a real MariaDB.
LOG_TAP = """\
import json, sys
state = sys.argv[sys.argv.index("--state") + 1] if "--state" in sys.argv else None
def send(message):
    print(json.dumps(message))
send({"type": "SCHEMA", "stream": "customers", "key_properties": ["id"],
      "schema": {"type": "object", "properties": {"id": {"type": "integer"},
                                                  "email": {"type": "string"}}}})
rows = [{"id": 2, "email": "new.two@example.com"}] if state else [
    {"id": n, "email": f"{n}@example.com"} for n in (1, 2, 3)]
for row in rows:
    send({"type": "RECORD", "stream": "customers", "record": row})
send({"type": "STATE", "value": {"bookmarks": {"erp-customers": {"log_pos": 4}}}})
"""

LOG_CONNECTOR = ConnectorConfig.model_validate(
    {
        "name": "erp-log",
        "executable": "tap-log",
        "streams": {
            "customers": {"entity": "customer", "mapping": {"email": "email"}},
        },
    }
)


def _catalog(method: str) -> TapCatalog:
    entry = {
        "tap_stream_id": "erp-customers",
        "stream": "customers",
        "schema": {"type": "object", "properties": {}},
        "metadata": [
            {"breadcrumb": [], "metadata": {"selected": True, "replication-method": method}}
        ],
    }
    return TapCatalog({"streams": [entry]}, "--catalog", ["erp-customers"], ["erp-customers"])


def _run(store: Store, tap: Path, state: dict[str, Any], catalog: TapCatalog) -> Ingestor:
    run_id = store.start_run(LOG_CONNECTOR.name, full_refresh=False)
    ingestor = Ingestor(store, LOG_CONNECTOR, run_id, batch_size=100)
    run_external(
        LOG_CONNECTOR,
        {},
        state,
        ingestor,
        executable=str(tap),
        full_refresh=False,
        cwd=tap.parent,
        catalog=catalog,
    )
    ingestor.finish(complete=True)
    return ingestor


@pytest.mark.parametrize(("method", "deleted"), [("LOG_BASED", 0), ("FULL_TABLE", 2)])
def test_a_log_based_run_flags_nothing_it_did_not_send_as_deleted(
    store: Store, tmp_path: Path, method: str, deleted: int
) -> None:
    """Without the catalog's method, the second run's one row was taken for the whole table
    and customers 1 and 3 were flagged deleted; a FULL_TABLE stream still is."""
    tap = tmp_path / "tap-log"
    tap.write_text(f"#!{sys.executable}\n{LOG_TAP}", encoding="utf-8")
    tap.chmod(0o755)
    store.migrate()
    catalog = _catalog(method)
    first = _run(store, tap, {}, catalog)
    assert (first.counts.inserted, first.counts.deleted) == (3, 0)
    second = _run(store, tap, first.state or {}, catalog)
    assert (second.counts.read, second.counts.updated) == (1, 1)
    assert second.counts.deleted == deleted


# A log-based tap's second run: customer 3 deleted at the source, customer 1 deleted and
# inserted again, customer 2 changed (pipelinewise-tap-mysql sends `_sdc_deleted_at`).
DELETING_TAP = """\
import json, sys
state = sys.argv[sys.argv.index("--state") + 1] if "--state" in sys.argv else None
def send(message):
    print(json.dumps(message))
send({"type": "SCHEMA", "stream": "customers", "key_properties": ["id"],
      "schema": {"type": "object", "properties": {
          "id": {"type": "integer"}, "email": {"type": ["null", "string"]},
          "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}}}})
gone = "2026-12-06T00:00:00+00:00"
rows = [{"id": 3, "email": "3@example.com", "_sdc_deleted_at": gone},
        {"id": 2, "email": "new.two@example.com", "_sdc_deleted_at": None},
        {"id": 1, "email": "1@example.com", "_sdc_deleted_at": gone},
        {"id": 1, "email": "back.one@example.com", "_sdc_deleted_at": None},
        {"id": 9, "email": None, "_sdc_deleted_at": gone}] if state else [
    {"id": n, "email": f"{n}@example.com", "_sdc_deleted_at": None} for n in (1, 2, 3)]
for row in rows:
    send({"type": "RECORD", "stream": "customers", "record": row})
send({"type": "STATE", "value": {"bookmarks": {"erp-customers": {"log_pos": 4}}}})
"""


def test_a_row_the_source_deleted_is_flagged_deleted_unless_it_came_back(
    store: Store, tmp_path: Path
) -> None:
    """`_sdc_deleted_at` on a log-based record is a deletion at the source: the raw and the
    customer record are flagged (an incremental resolve sees it); a later insert of the same
    id in the batch wins; an id never stored is nothing to delete."""
    tap = tmp_path / "tap-log"
    tap.write_text(f"#!{sys.executable}\n{DELETING_TAP}", encoding="utf-8")
    tap.chmod(0o755)
    store.migrate()
    catalog = _catalog("LOG_BASED")
    first = _run(store, tap, {}, catalog)
    assert (first.counts.inserted, first.counts.deleted) == (3, 0)
    second = _run(store, tap, first.state or {}, catalog)
    assert second.counts.deleted == 1
    c, r = customer_records.c, raw_records.c
    with store.engine.connect() as conn:
        customers = {
            row.source_id: (row.deleted, row.email)
            for row in conn.execute(sa.select(c.source_id, c.deleted, c.email))
        }
        raw = dict(conn.execute(sa.select(r.source_id, r.deleted)).all())
    assert customers == {
        "1": (False, "back.one@example.com"),
        "2": (False, "new.two@example.com"),
        "3": (True, "3@example.com"),
    }
    assert raw == {"1": False, "2": False, "3": True}
