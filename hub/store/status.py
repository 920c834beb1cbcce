"""What `crmhub status` reports: recent runs, records per source, open quarantine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hub.core.states import GoldenStatus
from hub.store.database import Store
from hub.store.tables import (
    connector_runs,
    customer_records,
    golden_records,
    interactions,
    quarantine,
    raw_records,
)

__all__ = ["HubStatus", "SourceCounts", "hub_status", "quarantined_items"]


@dataclass(frozen=True)
class SourceCounts:
    """Records one source holds in the store."""

    source: str
    raw: int
    deleted: int
    customers: int
    interactions: int
    quarantined: int


@dataclass(frozen=True)
class HubStatus:
    """A snapshot of the whole hub."""

    runs: list[dict[str, Any]]
    sources: list[SourceCounts]
    quarantine: list[dict[str, Any]]
    golden_records: int


def _count_by_source(conn: sa.Connection, table: sa.Table, *where: Any) -> dict[str, int]:
    query = sa.select(table.c.source, sa.func.count()).where(*where).group_by(table.c.source)
    return {source: int(n) for source, n in conn.execute(query)}


def hub_status(store: Store, *, runs: int = 10) -> HubStatus:
    """Recent runs (newest first), per-source counts and open quarantine by stream and stage."""
    r, q = connector_runs.c, quarantine.c
    with store.engine.connect() as conn:
        recent = [
            dict(row._mapping)
            for row in conn.execute(sa.select(connector_runs).order_by(r.id.desc()).limit(runs))
        ]
        # deleted raw records from their partial index (0012), all of them from the unique key
        deleted = _count_by_source(conn, raw_records, raw_records.c.deleted == sa.true())
        every = _count_by_source(conn, raw_records)
        raw = {s: n - deleted.get(s, 0) for s, n in every.items() if n > deleted.get(s, 0)}
        customers = _count_by_source(conn, customer_records, customer_records.c.deleted.is_(False))
        events = _count_by_source(conn, interactions, interactions.c.deleted.is_(False))
        open_q = _count_by_source(conn, quarantine, q.resolved_at.is_(None))
        by_stage = [
            {"source": s, "stream": st, "stage": sg, "count": int(n)}
            for s, st, sg, n in conn.execute(
                sa.select(q.source, q.stream, q.stage, sa.func.count())
                .where(q.resolved_at.is_(None))
                .group_by(q.source, q.stream, q.stage)
                .order_by(q.source, q.stream, q.stage)
            )
        ]
        golden = conn.execute(
            sa.select(sa.func.count()).where(golden_records.c.status == GoldenStatus.ACTIVE)
        ).scalar_one()
    names = sorted(set(raw) | set(deleted) | set(open_q))
    sources = [
        SourceCounts(
            n,
            raw.get(n, 0),
            deleted.get(n, 0),
            customers.get(n, 0),
            events.get(n, 0),
            open_q.get(n, 0),
        )
        for n in names
    ]
    return HubStatus(recent, sources, by_stage, int(golden))


def quarantined_items(
    store: Store, *, source: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Open quarantine entries, newest first, with reason, location and raw text."""
    q = quarantine.c
    query = sa.select(quarantine).where(q.resolved_at.is_(None))
    if source:
        query = query.where(q.source == source)
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(q.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]
