"""Sync: connectors' records into the store (step 1 of sync → resolve → review → push).

`run` runs each configured connector with retries and run history; `runners` starts a
built-in tap in-process or an external Singer tap as a subprocess; `ingest` reads the Singer
messages and hands batches to the writer process (`writer_process`), which validates, keys,
hashes and maps them (`prepare`, `mapping`) and has `writes` upsert them with their state
checkpoint in one transaction, recognising our own push-back's echoes (`echo`); `check` tests
a connector's connection. An external tap's catalog is discovered and cached by `discovery`
and shaped by hub.yaml's Meltano-style `select:` / `metadata:` rules in `catalog`.
"""

from __future__ import annotations

from hub.sync.catalog import apply_catalog_rules, selected_streams
from hub.sync.check import CheckResult, check_connector
from hub.sync.discovery import TapCatalog, prepare_catalog
from hub.sync.run import SyncResult, plugin_dir, sync, sync_connector
from hub.sync.writes import WriteCounts

__all__ = [
    "CheckResult",
    "SyncResult",
    "TapCatalog",
    "WriteCounts",
    "apply_catalog_rules",
    "check_connector",
    "plugin_dir",
    "prepare_catalog",
    "selected_streams",
    "sync",
    "sync_connector",
]
