"""Writing a resolution back: golden records, crosswalk rows, the review queue and the
audit entries for merges, splits and retired ids — only what changed, in the caller's
transaction.

A full run writes the outcome for every record; an incremental run for the records in its
`scope` only, leaving every other golden record, crosswalk row and review item as it is.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.clock import now
from hub.core.states import CandidateStatus, GoldenStatus
from hub.resolve.records import CONSTRAINING
from hub.store.database import dumps
from hub.store.tables import (
    audit_log,
    crosswalk,
    golden_records,
    match_candidates,
    steward_decisions,
)
from hub.store.upsert import upsert
from identity.ids import IdEvent
from identity.resolve import Key
from identity.survivorship import GoldenRecord

__all__ = [
    "Outcome",
    "existing_golden",
    "golden_row",
    "persist",
    "provenance_json",
    "stored_values",
    "write_candidates",
    "write_events",
    "write_golden",
]

_CHUNK = 500


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a run decided for the records in `scope` (None: every record)."""

    golden: Mapping[str, GoldenRecord]
    events: Sequence[IdEvent]
    crosswalk: Mapping[Key, str]  # the new assignment of the live records in scope
    previous: Mapping[Key, str]  # their previous one, and that of records deleted since
    review: Sequence[Mapping[str, Any]]  # `Resolution.review_pairs()` of the records in scope
    hashes: Mapping[Key, str]  # `identifying_hash` of the live records in scope
    scope: frozenset[Key] | None = None


def provenance_json(golden: GoldenRecord) -> dict[str, dict[str, Any]]:
    """Per golden field: the source record and the survivorship rule that supplied it."""
    out: dict[str, dict[str, Any]] = {}
    for name, p in golden.provenance.items():
        entry: dict[str, Any] = {"source": p.source, "source_id": p.source_id, "rule": p.rule}
        if p.by is not None:  # a steward's override: who and when
            entry["by"] = p.by
            entry["at"] = p.at.isoformat() if isinstance(p.at, dt.datetime) else p.at
        out[name] = entry
    return out


def golden_row(gid: str, values: Mapping[str, Any], provenance: Any, stamp: Any) -> dict[str, Any]:
    """The golden_records row of a golden record (`values` and `provenance` as stored)."""
    return {
        "golden_id": gid,
        "kind": values.get("kind"),
        "record": values,
        "provenance": provenance,
        "status": GoldenStatus.ACTIVE,
        "merged_into": None,
        "updated_at": stamp,
    }


def stored_values(golden: GoldenRecord) -> dict[str, Any]:
    """A golden record's values as the store holds them (so unchanged records compare equal)."""
    values: dict[str, Any] = json.loads(dumps(golden.values))
    return values


def existing_golden(conn: Connection, golden_ids: Sequence[str] | None) -> dict[str, Any]:
    """The stored golden records (all, or those with these ids): id, record, provenance, status."""
    g = golden_records.c
    query = sa.select(g.golden_id, g.record, g.provenance, g.status)
    if golden_ids is None:
        return {row.golden_id: row for row in conn.execute(query)}
    found = {}
    for at in range(0, len(golden_ids), _CHUNK):
        chunk = golden_ids[at : at + _CHUNK]
        found.update(
            {row.golden_id: row for row in conn.execute(query.where(g.golden_id.in_(chunk)))}
        )
    return found


def persist(conn: Connection, outcome: Outcome, actor: str) -> int:
    """Write `outcome`; returns how many golden records were created or changed."""
    stamp = now()
    scoped = outcome.scope is not None
    existing = existing_golden(conn, sorted(outcome.golden) if scoped else None)
    rows = [
        golden_row(gid, stored_values(golden), provenance_json(golden), stamp)
        for gid, golden in outcome.golden.items()
    ]
    changed = write_golden(conn, rows, existing, stamp)
    write_events(conn, outcome.events, actor, stamp)
    _persist_crosswalk(conn, outcome, stamp)
    write_candidates(conn, outcome.review, outcome.hashes, outcome.scope, stamp)
    return changed


def write_golden(
    conn: Connection, rows: Sequence[Mapping[str, Any]], existing: Mapping[str, Any], stamp: Any
) -> int:
    """Upsert the `rows` (`golden_row`) that differ from the `existing` ones; returns how many."""
    g = golden_records.c
    changed = []
    for row in rows:
        old = existing.get(row["golden_id"])
        if old is None or (old.record, old.provenance, old.status) != (
            row["record"],
            row["provenance"],
            GoldenStatus.ACTIVE,
        ):
            changed.append({**row, "version": 1, "created_at": stamp})
    upsert(  # a changed golden record gets the next version; created_at stays
        conn,
        golden_records,
        changed,
        key=("golden_id",),
        update=("kind", "record", "provenance", "status", "merged_into", "updated_at"),
        on_update={"version": g.version + 1},
    )
    return len(changed)


def write_events(conn: Connection, events: Iterable[IdEvent], actor: str, stamp: Any) -> None:
    """Retire the ids merged away, and audit every merge, split and retirement."""
    g = golden_records.c
    retired: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    for event in events:
        if event.kind == "retired":
            target = event.related[0] if event.related else None
            retired.append({"retired_id": event.golden_id, "target": target})
        if event.kind in ("merge", "split", "retired"):
            audits.append(
                {
                    "at": stamp,
                    "actor": "engine",
                    "action": f"golden.{event.kind}",
                    "target_type": "golden",
                    "target_id": event.golden_id,
                    "detail": {
                        "run_by": actor,
                        "related": list(event.related),
                        "members": [list(m) for m in event.members],
                    },
                }
            )
    if retired:  # one statement, executed for every retired id
        conn.execute(
            golden_records.update()
            .where(g.golden_id == sa.bindparam("retired_id"))
            .values(
                status=GoldenStatus.MERGED, merged_into=sa.bindparam("target"), updated_at=stamp
            ),
            retired,
        )
    if audits:
        conn.execute(audit_log.insert(), audits)


def _persist_crosswalk(conn: Connection, outcome: Outcome, stamp: Any) -> None:
    x = crosswalk.c
    previous = outcome.previous
    upsert(
        conn,
        crosswalk,
        [
            {
                "source": key[0],
                "source_id": key[1],
                "golden_id": gid,
                "assigned_by": "engine",
                "assigned_at": stamp,
            }
            for key, gid in outcome.crosswalk.items()
            if previous.get(key) != gid
        ],
        key=("source", "source_id"),
    )
    gone = set(previous) - set(outcome.crosswalk)
    if gone:  # source records deleted since: no longer mapped
        conn.execute(
            crosswalk.delete().where(
                x.source == sa.bindparam("gone_source"), x.source_id == sa.bindparam("gone_id")
            ),
            [{"gone_source": s, "gone_id": i} for s, i in sorted(gone)],
        )


def write_candidates(
    conn: Connection,
    review: Iterable[Mapping[str, Any]],
    current: Mapping[Key, str],
    scope: frozenset[Key] | None,
    stamp: Any,
) -> None:
    """Upsert the review queue: new pairs open, known open pairs refreshed, decided pairs
    re-opened only when either record's identifying data changed since the decision
    (`current`: `identifying_hash` of the live records, at least of those decided pairs
    name); open pairs no longer in doubt removed (in an incremental run: those of the
    records in its `scope` only)."""
    m, d = match_candidates.c, steward_decisions.c
    known = {
        (r.left_source, r.left_source_id, r.right_source, r.right_source_id): r
        for r in conn.execute(sa.select(match_candidates))
    }
    hashes: dict[tuple[str, str, str, str], tuple[str | None, str | None]] = {}
    for r in conn.execute(
        sa.select(d.left_source, d.left_source_id, d.right_source, d.right_source_id)
        .add_columns(d.left_hash, d.right_hash)
        .where(d.decision.in_(CONSTRAINING))
        .order_by(d.id)
    ):
        hashes[tuple(r[:4])] = (r.left_hash, r.right_hash)  # type: ignore[index]
    wanted = set()
    new: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []
    reopened: list[dict[str, Any]] = []
    for pair in review:
        (ls, lid), (rs, rid) = sorted([pair["left"], pair["right"]])
        key = (ls, lid, rs, rid)
        wanted.add(key)
        weights = {
            name: {"weight": w, "level": pair["levels"].get(name)}
            for name, w in pair["weights"].items()
        }
        values = {"score": pair["probability"], "weights": weights}
        row = known.get(key)
        if row is None:
            new.append(
                {
                    "left_source": ls,
                    "left_source_id": lid,
                    "right_source": rs,
                    "right_source_id": rid,
                    "status": CandidateStatus.OPEN,
                    "created_at": stamp,
                    **values,
                }
            )
        elif row.status in CandidateStatus.undecided():
            if (row.score, row.weights) != (values["score"], weights):
                refreshed.append(
                    {"cid": row.id, "new_score": values["score"], "new_weights": weights}
                )
        elif key in hashes and hashes[key] != (current.get((ls, lid)), current.get((rs, rid))):
            # identifying data changed since the decision: ask again
            reopened.append({"cid": row.id, "new_score": values["score"], "new_weights": weights})
    if new:
        conn.execute(match_candidates.insert(), new)
    refresh = match_candidates.update().where(m.id == sa.bindparam("cid"))
    scored: dict[str, Any] = {
        "score": sa.bindparam("new_score"),
        "weights": sa.bindparam("new_weights"),
    }
    if refreshed:
        conn.execute(refresh.values(**scored), refreshed)
    if reopened:
        conn.execute(refresh.values(status=CandidateStatus.OPEN, **scored), reopened)
    stale = [
        r.id
        for k, r in known.items()
        if r.status == CandidateStatus.OPEN
        and k not in wanted
        and (scope is None or (k[0], k[1]) in scope or (k[2], k[3]) in scope)
    ]
    for chunk in range(0, len(stale), _CHUNK):
        conn.execute(match_candidates.delete().where(m.id.in_(stale[chunk : chunk + _CHUNK])))
