"""The single customer view: golden record with provenance, sources, timeline, reviews."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.states import CandidateStatus, GoldenStatus
from hub.steward.errors import NotFound
from hub.store.hub_source import HUB_SOURCE, member_key
from hub.store.tables import (
    audit_log,
    crosswalk,
    customer_records,
    golden_records,
    interactions,
    match_candidates,
    steward_actions,
)
from identity.survivorship import GOLDEN_FIELDS, explain

__all__ = ["customer_view"]

TIMELINE_LIMIT = 500


def _dicts(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    """The rows as dicts keyed by plain strings: SQLAlchemy's column-name keys are a str
    subclass (`quoted_name`) that JSON encoders take a slow path for — a third of the
    customer page's CPU time under load went to encoding those keys."""
    keys = list(map(str, result.keys()))
    return [dict(zip(keys, row, strict=True)) for row in result]


def _provenance(entry: dict[str, Any]) -> dict[str, Any]:
    if entry.get("rule") == "manual":
        text = f"manual, by {entry.get('by')}, at {entry.get('at')}"
    else:
        text = f"{entry.get('source')}/{entry.get('source_id')} — {explain(entry['rule'])}"
    return {**entry, "explanation": text}


def customer_view(conn: Connection, golden_id: str) -> dict[str, Any]:
    """Everything about one customer; a merged id answers with the id it was merged into."""
    g = golden_records.c
    row = conn.execute(sa.select(golden_records).where(g.golden_id == golden_id)).first()
    if row is None:
        raise NotFound(f"no golden record {golden_id}; search by name, email or phone")
    if row.status == GoldenStatus.MERGED and row.merged_into:
        return {
            "golden_id": golden_id,
            "status": GoldenStatus.MERGED,
            "merged_into": row.merged_into,
        }
    x, c = crosswalk.c, customer_records.c
    sources = _dicts(
        conn.execute(
            sa.select(customer_records, x.assigned_by, x.assigned_at)
            .join(crosswalk, sa.and_(x.source == c.source, x.source_id == c.source_id))
            .where(x.golden_id == golden_id)
            .order_by(c.source, c.source_id)
        )
    )
    keys = [(s["source"], s["source_id"]) for s in sources]
    timeline: list[dict[str, Any]] = []
    total = 0
    if keys:
        i = interactions.c
        filed = [member_key(*key) for key in keys]  # the hub's own: logged contacts
        where = sa.and_(
            # first an IN on the indexed column: SQLite reads a (source, id) IN (...) of
            # row values by scanning every interaction
            i.customer_source_id.in_([key[1] for key in keys] + filed),
            sa.or_(
                sa.tuple_(i.source, i.customer_source_id).in_(keys),
                sa.and_(i.source == HUB_SOURCE, i.customer_source_id.in_(filed)),
            ),
            i.deleted.is_(False),
        )
        total = int(conn.execute(sa.select(sa.func.count()).where(where)).scalar() or 0)
        timeline = _dicts(
            conn.execute(
                sa.select(
                    i.source, i.source_id, i.customer_source_id, i.type, i.occurred_at, i.amount
                )
                .add_columns(i.currency, i.status, i.channel, i.subject)
                .where(where)
                .order_by(i.occurred_at.desc(), i.source, i.source_id)
                .limit(TIMELINE_LIMIT)
            )
        )
    m = match_candidates.c
    reviews = []
    if keys:
        reviews = _dicts(
            conn.execute(
                sa.select(match_candidates)
                .where(
                    m.status.in_(CandidateStatus.undecided()),
                    sa.or_(
                        sa.tuple_(m.left_source, m.left_source_id).in_(keys),
                        sa.tuple_(m.right_source, m.right_source_id).in_(keys),
                    ),
                )
                .order_by(m.score.desc())
            )
        )
    a = audit_log.c
    history = _dicts(
        conn.execute(
            sa.select(audit_log)
            .where(a.target_id.contains(golden_id))
            .order_by(a.id.desc())
            .limit(100)
        )
    )
    undone = {
        r.undoes
        for r in conn.execute(
            sa.select(steward_actions.c.undoes).where(steward_actions.c.undoes.is_not(None))
        )
    }
    for entry in history:
        action_id = (entry["detail"] or {}).get("action_id")
        entry["undoable"] = bool(
            action_id and entry["action"] != "steward.undo" and action_id not in undone
        )
    return {
        "golden_id": golden_id,
        "status": row.status,
        "version": row.version,
        "kind": row.kind,
        "record": {f: row.record.get(f) for f in GOLDEN_FIELDS},
        "provenance": {k: _provenance(v) for k, v in (row.provenance or {}).items()},
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "sources": sources,
        "timeline": timeline,
        "timeline_total": total,
        "reviews": reviews,
        "history": history,
    }
