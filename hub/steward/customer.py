"""The single customer view: golden record with provenance, sources, timeline, reviews."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.states import CandidateStatus, GoldenStatus
from hub.steward.audit import about
from hub.steward.errors import NotFound
from hub.store.hub_source import HUB_SOURCE, member_key
from hub.store.tables import (
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


# Built once: a customer page runs seven statements, and building them (coercing clauses,
# naming the parameters of each IN) cost a third of the page's CPU at 1M golden records.
_g, _x, _c, _i, _m = (
    golden_records.c,
    crosswalk.c,
    customer_records.c,
    interactions.c,
    match_candidates.c,
)
_KEYS: sa.BindParameter[Any] = sa.bindparam("keys", expanding=True)
_GOLDEN = sa.select(golden_records).where(_g.golden_id == sa.bindparam("gid"))
_SOURCES = (
    sa.select(customer_records, _x.assigned_by, _x.assigned_at)
    .join(crosswalk, sa.and_(_x.source == _c.source, _x.source_id == _c.source_id))
    .where(_x.golden_id == sa.bindparam("gid"))
    .order_by(_c.source, _c.source_id)
)
_TIMELINE_WHERE = sa.and_(
    # first an IN on the indexed column: SQLite reads a (source, id) IN (...) of row values
    # by scanning every interaction
    _i.customer_source_id.in_(sa.bindparam("ids", expanding=True)),
    sa.or_(
        sa.tuple_(_i.source, _i.customer_source_id).in_(_KEYS),
        sa.and_(
            _i.source == HUB_SOURCE,
            _i.customer_source_id.in_(sa.bindparam("filed", expanding=True)),
        ),
    ),
    _i.deleted.is_(False),
)
_TIMELINE_TOTAL = sa.select(sa.func.count()).where(_TIMELINE_WHERE)
_TIMELINE = (
    sa.select(_i.source, _i.source_id, _i.customer_source_id, _i.type, _i.occurred_at, _i.amount)
    .add_columns(_i.currency, _i.status, _i.channel, _i.subject)
    .where(_TIMELINE_WHERE)
    .order_by(_i.occurred_at.desc(), _i.source, _i.source_id)
    .limit(TIMELINE_LIMIT)
)
_REVIEWS = (
    sa.select(match_candidates)
    .where(
        _m.status.in_(CandidateStatus.undecided()),
        sa.or_(
            sa.tuple_(_m.left_source, _m.left_source_id).in_(_KEYS),
            sa.tuple_(_m.right_source, _m.right_source_id).in_(_KEYS),
        ),
    )
    .order_by(_m.score.desc())
)
_HISTORY = about(100)
_UNDONE = sa.select(steward_actions.c.undoes).where(steward_actions.c.undoes.is_not(None))


def customer_view(conn: Connection, golden_id: str) -> dict[str, Any]:
    """Everything about one customer; a merged id answers with the id it was merged into."""
    row = conn.execute(_GOLDEN, {"gid": golden_id}).first()
    if row is None:
        raise NotFound(f"no golden record {golden_id}; search by name, email or phone")
    if row.status == GoldenStatus.MERGED and row.merged_into:
        return {
            "golden_id": golden_id,
            "status": GoldenStatus.MERGED,
            "merged_into": row.merged_into,
        }
    sources = _dicts(conn.execute(_SOURCES, {"gid": golden_id}))
    keys = [(s["source"], s["source_id"]) for s in sources]
    timeline: list[dict[str, Any]] = []
    total = 0
    reviews: list[dict[str, Any]] = []
    if keys:
        filed = [member_key(*key) for key in keys]  # the hub's own: logged contacts
        where = {"ids": [key[1] for key in keys] + filed, "keys": keys, "filed": filed}
        total = int(conn.execute(_TIMELINE_TOTAL, where).scalar() or 0)
        timeline = _dicts(conn.execute(_TIMELINE, where))
        reviews = _dicts(conn.execute(_REVIEWS, {"keys": keys}))
    history = _dicts(conn.execute(_HISTORY, {"gid": golden_id}))
    undone = {r.undoes for r in conn.execute(_UNDONE)}
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
