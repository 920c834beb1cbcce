"""The steward's operational dashboard: what the hub holds and what needs a person now.

Per source: records held and deleted, open quarantine, and the last sync, resolve and push
with their status and time; for the hub: review queue size, active golden records and the
latest merges (by stewards and by the engine). Counts are grouped queries answered from
indexes alone (migration 0007: no table rows are read, at a million golden records either),
each source's last resolve is one index seek, and nothing here reads JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.states import CandidateStatus, GoldenStatus
from hub.store.tables import (
    audit_log,
    connector_runs,
    crosswalk,
    golden_records,
    match_candidates,
    push_runs,
    quarantine,
    raw_records,
)

__all__ = ["MERGE_ACTIONS", "Dashboard", "SourceHealth", "dashboard"]

MERGE_ACTIONS = ("steward.merge", "golden.merge")


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source system: what the store holds of it and its last runs."""

    source: str
    records: int
    deleted: int
    quarantined: int
    last_sync: dict[str, Any] | None  # id, status, started_at, finished_at, error
    last_resolve: datetime | None  # when the engine last assigned one of its records
    last_push: dict[str, Any] | None  # id, status, started_at, finished_at, error


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The hub at a glance."""

    sources: list[SourceHealth]
    quarantined: int
    review_open: int
    golden_active: int
    recent_merges: list[dict[str, Any]] = field(default_factory=list)


def _by_source(conn: Connection, column: Any, *where: Any) -> dict[str, int]:
    query = sa.select(column, sa.func.count()).where(*where).group_by(column)
    return {str(name): int(n) for name, n in conn.execute(query)}


def _last_runs(conn: Connection, table: sa.Table) -> dict[str, dict[str, Any]]:
    t = table.c
    latest = sa.select(sa.func.max(t.id)).group_by(t.connector).scalar_subquery()
    query = sa.select(t.id, t.connector, t.status, t.started_at, t.finished_at, t.error).where(
        t.id.in_(latest)
    )
    return {row.connector: dict(row._mapping) for row in conn.execute(query)}


def _recent_merges(conn: Connection, limit: int) -> list[dict[str, Any]]:
    a = audit_log.c
    query = (
        sa.select(a.id, a.at, a.actor, a.action, a.target_id, a.detail)
        .where(a.action.in_(MERGE_ACTIONS))
        .order_by(a.id.desc())
        .limit(limit)
    )
    merges = []
    for row in conn.execute(query):
        detail = row.detail or {}
        automatic = row.action == "golden.merge"
        merges.append(
            {
                "id": row.id,
                "at": row.at,
                "actor": row.actor,
                "automatic": automatic,
                "golden_id": row.target_id.split(",")[0],
                "summary": detail.get("summary")
                or f"engine merged {', '.join(detail.get('related') or [])} "
                f"into {row.target_id}".replace("  ", " "),
            }
        )
    return merges


def _last_resolves(conn: Connection, names: list[str]) -> dict[str, Any]:
    """When the engine last assigned a record of each source: one index seek per source
    (crosswalk (source, assigned_by, assigned_at)), not a grouped scan of the crosswalk."""
    x = crosswalk.c
    if not names:
        return {}
    latest = [
        sa.select(sa.func.max(x.assigned_at))
        .where(x.source == name, x.assigned_by == "engine")
        .scalar_subquery()
        .label(f"s{i}")
        for i, name in enumerate(names)
    ]
    row = conn.execute(sa.select(*latest)).one()
    return {name: at for name, at in zip(names, row, strict=True) if at is not None}


def dashboard(conn: Connection, *, merges: int = 10) -> Dashboard:
    """Counts per source, last runs, quarantine, review queue, golden records, merges."""
    r, q = raw_records.c, quarantine.c
    deleted = _by_source(conn, r.source, r.deleted == sa.true())  # a partial index (0012)
    records = {  # every record from the unique key, less the deleted ones
        str(source): int(n) - deleted.get(str(source), 0)
        for source, n in conn.execute(sa.select(r.source, sa.func.count()).group_by(r.source))
    }
    records = {source: n for source, n in records.items() if n}
    quarantined = _by_source(conn, q.source, q.resolved_at.is_(None))
    syncs = _last_runs(conn, connector_runs)
    pushes = _last_runs(conn, push_runs)
    names = sorted(set(records) | set(deleted) | set(quarantined) | set(syncs) | set(pushes))
    resolved = _last_resolves(conn, names)
    sources = [
        SourceHealth(
            source=name,
            records=records.get(name, 0),
            deleted=deleted.get(name, 0),
            quarantined=quarantined.get(name, 0),
            last_sync=syncs.get(name),
            last_resolve=resolved.get(name),
            last_push=pushes.get(name),
        )
        for name in names
    ]
    review_open = conn.execute(
        sa.select(sa.func.count()).where(match_candidates.c.status.in_(CandidateStatus.undecided()))
    ).scalar_one()
    golden = conn.execute(  # the status as a literal: the partial index's condition (0007)
        sa.select(sa.func.count())
        .select_from(golden_records)
        .where(golden_records.c.status == sa.literal_column(f"'{GoldenStatus.ACTIVE}'"))
    ).scalar_one()
    return Dashboard(
        sources=sources,
        quarantined=sum(quarantined.values()),
        review_open=int(review_open),
        golden_active=int(golden),
        recent_merges=_recent_merges(conn, merges),
    )
