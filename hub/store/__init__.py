"""The hub store: tables, Alembic migrations, the `Store` (engine + open-and-migrate), run
history, state checkpoints, hub locks and the status queries.

Every later stage (sync, resolve, steward, push, web, cli) builds on it; it imports only
`hub.core` and `schemas`.
"""

from __future__ import annotations

from hub.store.database import DEFAULT_URL, Store, canonical_json, dumps, now, safe_url
from hub.store.locks import LockError, hub_lock, release_lock
from hub.store.status import HubStatus, SourceCounts, hub_status, quarantined_items

__all__ = [
    "DEFAULT_URL",
    "HubStatus",
    "LockError",
    "SourceCounts",
    "Store",
    "canonical_json",
    "dumps",
    "hub_lock",
    "hub_status",
    "now",
    "quarantined_items",
    "release_lock",
    "safe_url",
]
