"""The review queue: uncertain pairs, what each decision would change, and the decisions.

Pairs come from `crmhub resolve` (between the two thresholds). The queue puts first what a
decision changes most: uncertainty (a score near 0.5) times the records it would join or
keep apart. A decision is stored append-only, applied at once (match merges the two golden
records; not-a-match separates them when they share one) and becomes a constraint for every
later resolution. A decided pair is not asked again unless either record's identifying
data changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.states import CandidateStatus, Decision
from hub.resolve.run import identifying_hash, load_customer_records, provenance_json
from hub.steward.edits import ActionResult, Edit, Key, SurvivorshipSettings
from hub.steward.errors import Conflict, InvalidInput, NotFound
from hub.steward.maintenance import apply_merge, apply_unmerge
from hub.store.tables import crosswalk, customer_records, match_candidates
from identity.survivorship import GOLDEN_FIELDS, survive

__all__ = [
    "DECISIONS",
    "QueueFilter",
    "candidate_row",
    "decide",
    "list_queue",
    "review_pair",
]

DECISIONS = (Decision.MATCH, Decision.NO_MATCH, Decision.UNSURE, Decision.SKIP)
_STATUS_AFTER: dict[str, str] = {
    Decision.MATCH: CandidateStatus.DECIDED,
    Decision.NO_MATCH: CandidateStatus.DECIDED,
    Decision.UNSURE: CandidateStatus.UNSURE,
}


@dataclass(frozen=True, kw_only=True)
class QueueFilter:
    """Which review items to show: by source, score band, entity kind and status."""

    source: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    kind: str | None = None
    status: str = CandidateStatus.OPEN  # open | unsure


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _context(
    conn: Connection, keys: set[Key]
) -> tuple[dict[Key, str], Counter[str], dict[Key, str | None]]:
    """For the queue's records only: golden id, golden record sizes, entity kind."""
    x, c = crosswalk.c, customer_records.c
    owner: dict[Key, str] = {}
    kinds: dict[Key, str | None] = {}
    for chunk in _chunks(sorted(keys)):
        where = sa.tuple_(x.source, x.source_id).in_(chunk)
        owner.update(
            ((r.source, r.source_id), r.golden_id)
            for r in conn.execute(sa.select(x.source, x.source_id, x.golden_id).where(where))
        )
        kinds.update(
            ((r.source, r.source_id), r.kind)
            for r in conn.execute(
                sa.select(c.source, c.source_id, c.kind).where(
                    sa.tuple_(c.source, c.source_id).in_(chunk), c.deleted.is_(False)
                )
            )
        )
    sizes: Counter[str] = Counter()
    for chunk in _chunks(sorted(set(owner.values()))):
        sizes.update(
            dict(
                conn.execute(
                    sa.select(x.golden_id, sa.func.count())
                    .where(x.golden_id.in_(chunk))
                    .group_by(x.golden_id)
                ).all()
            )
        )
    return owner, sizes, kinds


def list_queue(
    conn: Connection, flt: QueueFilter | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """(one page of items, total matching) ordered by uncertainty x records affected."""
    flt = flt or QueueFilter()
    m = match_candidates.c
    query = sa.select(match_candidates).where(m.status == flt.status)
    if flt.source:
        query = query.where(sa.or_(m.left_source == flt.source, m.right_source == flt.source))
    if flt.min_score is not None:
        query = query.where(m.score >= flt.min_score)
    if flt.max_score is not None:
        query = query.where(m.score <= flt.max_score)
    rows = conn.execute(query).all()
    keys = {(r.left_source, r.left_source_id) for r in rows}
    keys |= {(r.right_source, r.right_source_id) for r in rows}
    owner, sizes, kinds = _context(conn, keys)
    items = []
    for row in rows:
        left, right = (row.left_source, row.left_source_id), (row.right_source, row.right_source_id)
        gl, gr = owner.get(left), owner.get(right)
        if gl is None or gr is None:
            continue  # a record deleted since the resolution
        if flt.kind and kinds.get(left) != flt.kind and kinds.get(right) != flt.kind:
            continue
        if gl == gr:
            continue  # already one customer (a steward merged them): nothing left to decide
        uncertainty = 1.0 - abs(2.0 * row.score - 1.0)
        affected = sizes[gl] + (sizes[gr] if gr != gl else 0)
        items.append(
            {
                "id": row.id,
                "left": {
                    "source": left[0],
                    "source_id": left[1],
                    "golden_id": gl,
                    "golden_size": sizes[gl],
                },
                "right": {
                    "source": right[0],
                    "source_id": right[1],
                    "golden_id": gr,
                    "golden_size": sizes[gr],
                },
                "kind": kinds.get(left) or kinds.get(right),
                "score": row.score,
                "status": row.status,
                "same_golden": gl == gr,
                "records_affected": affected,
                "priority": round(uncertainty * affected, 4),
            }
        )
    items.sort(key=lambda i: (-i["priority"], i["id"]))
    return items[offset : offset + limit], len(items)


def candidate_row(conn: Connection, candidate_id: int) -> Any:
    """The stored review item (one pair), or NotFound saying to reload."""
    row = conn.execute(
        sa.select(match_candidates).where(match_candidates.c.id == candidate_id)
    ).first()
    if row is None:
        raise NotFound(f"no review item {candidate_id}; it may have been resolved — reload")
    return row


def review_pair(
    conn: Connection, settings: SurvivorshipSettings, candidate_id: int
) -> dict[str, Any]:
    """Side by side: both records, aligned fields, per-field weights, the merged preview."""
    row = candidate_row(conn, candidate_id)
    edit = Edit(conn, settings, "preview")
    left: Key = (row.left_source, row.left_source_id)
    right: Key = (row.right_source, row.right_source_id)
    records = {(r["source"], r["source_id"]): r for r in load_customer_records(conn, [left, right])}
    sides = {}
    members: list[Key] = []
    for name, key in (("left", left), ("right", right)):
        gid = edit.golden_of(key)
        golden = edit.golden(gid)
        group = edit.members(gid)
        members += [k for k in group if k not in members]
        sides[name] = {
            "record": records.get(key, {"source": key[0], "source_id": key[1]}),
            "golden_id": gid,
            "golden_version": golden.version,
            "golden_size": len(group),
        }
    preview = survive(
        load_customer_records(conn, members),
        source_priority=settings.source_priority,
        rules=dict(settings.rules) or None,
    )
    fields = [
        {
            "field": f,
            "left": sides["left"]["record"].get(f),
            "right": sides["right"]["record"].get(f),
            "merged": preview.values.get(f),
        }
        for f in GOLDEN_FIELDS
    ]
    return {
        "id": row.id,
        "score": row.score,
        "status": row.status,
        "weights": row.weights,
        "left": sides["left"],
        "right": sides["right"],
        "fields": fields,
        "merged_preview": {
            "values": preview.values,
            "provenance": provenance_json(preview),
            "members": [list(k) for k in preview.members],
        },
    }


def decide(
    conn: Connection,
    settings: SurvivorshipSettings,
    actor: str,
    candidate_id: int,
    decision: str,
    *,
    note: str | None = None,
) -> ActionResult:
    """Record and apply one decision; a second steward deciding the same pair gets Conflict."""
    if decision not in DECISIONS:
        raise InvalidInput(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
    row = candidate_row(conn, candidate_id)
    if row.status not in CandidateStatus.undecided():
        raise Conflict(f"review item {candidate_id} was already decided; reload the queue")
    m = match_candidates.c
    new_status = _STATUS_AFTER.get(decision, row.status)
    claimed = conn.execute(
        match_candidates.update()
        .where(m.id == candidate_id, m.status == row.status)
        .values(status=new_status)
    )
    if claimed.rowcount != 1:
        raise Conflict(f"review item {candidate_id} was just decided by someone else; reload")
    edit = Edit(conn, settings, actor)
    left: Key = (row.left_source, row.left_source_id)
    right: Key = (row.right_source, row.right_source_id)
    before = {"left": edit.golden_of(left), "right": edit.golden_of(right)}
    sub: dict[str, Any] | None = None
    if decision == Decision.MATCH and before["left"] != before["right"]:
        sub = apply_merge(edit, [before["left"], before["right"]], {}, deciding=(left, right))
    elif decision == Decision.NO_MATCH and before["left"] == before["right"]:
        sub = apply_unmerge(edit, before["left"], [right], None)
    after = {"left": edit.golden_of(left), "right": edit.golden_of(right)}
    hashes = {
        (r["source"], r["source_id"]): identifying_hash(r)
        for r in load_customer_records(conn, [left, right])
    }
    edit.constrain(
        left,
        right,
        decision,
        score_at_decision=row.score,
        before=before,
        after=after,
        note=note,
        left_hash=hashes.get(left),
        right_hash=hashes.get(right),
    )
    if decision in (Decision.UNSURE, Decision.SKIP):
        edit.pairs.pop()  # recorded, but no constraint to restore on undo
    words: dict[str, str] = {
        Decision.MATCH: "match",
        Decision.NO_MATCH: "not a match",
        Decision.UNSURE: "unsure",
        Decision.SKIP: "skipped",
    }
    summary = f"review item {candidate_id}: {words[decision]}"
    detail = {
        "candidate_id": candidate_id,
        "decision": decision,
        "previous_status": row.status,
        "score": row.score,
        "before": before,
        "after": after,
        "sub": sub,
    }
    return edit.finish("decision", summary, detail)
