"""Sync: connectors' records into the store (step 1 of sync → resolve → review → push).

`run` runs each configured connector with retries and run history; `runners` starts a
built-in tap in-process or an external Singer tap as a subprocess; `ingest` reads the Singer
messages, validates and maps them (`mapping`) and hands batches to `writes`, which upserts
them with their state checkpoint in one transaction and recognises our own push-back's
echoes (`echo`); `check` tests a connector's connection.
"""

from __future__ import annotations

from hub.sync.check import CheckResult, check_connector
from hub.sync.run import SyncResult, plugin_dir, sync, sync_connector
from hub.sync.writes import WriteCounts

__all__ = [
    "CheckResult",
    "SyncResult",
    "WriteCounts",
    "check_connector",
    "plugin_dir",
    "sync",
    "sync_connector",
]
