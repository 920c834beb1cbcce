"""The hub: store, sync, resolve, stewardship, push-back, web and the `crmhub` CLI.

One folder per stage, and data flows one way through them (`tests/test_layout.py` holds it):

    core → store → collector → sync → resolve → steward → push → web → cli

It orchestrates and may import `schemas/`, `connectors/` and `identity/`; nothing imports it
but `dags/`. The names below are loaded on first use, so `import hub` (and the CLI's start)
does not pay for the engines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.core.retry import RetryPolicy
    from hub.resolve.run import ResolveSummary, resolve_store
    from hub.store.database import Store
    from hub.sync.run import SyncResult, sync_connector
    from schemas.config import ConfigError, HubConfig, load_config

__all__ = [
    "ConfigError",
    "HubConfig",
    "ResolveSummary",
    "RetryPolicy",
    "Store",
    "SyncResult",
    "load_config",
    "resolve_store",
    "sync_connector",
]

_WHERE = {
    "ConfigError": "schemas.config",
    "HubConfig": "schemas.config",
    "load_config": "schemas.config",
    "ResolveSummary": "hub.resolve.run",
    "resolve_store": "hub.resolve.run",
    "RetryPolicy": "hub.core.retry",
    "Store": "hub.store.database",
    "SyncResult": "hub.sync.run",
    "sync_connector": "hub.sync.run",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
