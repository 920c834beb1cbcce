"""The review queue: uncertain pairs, what each decision would change, and the decisions.

Pairs come from `crmhub resolve` (between the two thresholds). The queue puts first what a
decision changes most: uncertainty (a score near 0.5) times the records it would join or
keep apart (`order="impact"`, the default). `order="informative"` puts first what teaches
the model most (`identity.active`): the pair whose answer moves the belief about the most
other open pairs of its cell (the same comparison levels and term-frequency band of the
weights), less for cells stewards have already answered in. A decision is stored
append-only, applied at once (match merges the two golden records; not-a-match separates
them when they share one) and becomes a constraint for every later resolution. A decided
pair is not asked again unless either record's identifying data changes.

The whole ordered queue is computed once per change of the store, not per page: it is
cached per engine and filter under a change marker read in one statement (maxima of indexed
columns plus sums over the undecided pairs; see `queue_marker`). Every writer of what the
queue shows moves the marker — a decision changes its pairs' status, a merge, unmerge or
undo re-stamps the crosswalk rows it moves, a resolution re-stamps the assignments it
changes and rewrites the undecided pairs, a sync run starts and finishes a connector run —
so a page read after such a change is never served from the queue before it. (One gap: a
resolution whose only effect on the queue is dropping a deleted source record from a
golden record of the queue leaves no mark; that size shows at the next change.)
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hub.core.states import CandidateStatus, Decision
from hub.resolve.run import identifying_hash, load_customer_records, provenance_json
from hub.steward.edits import ActionResult, Edit, Key, SurvivorshipSettings
from hub.steward.errors import Conflict, InvalidInput, NotFound
from hub.steward.maintenance import apply_merge, apply_unmerge
from hub.store.tables import (
    connector_runs,
    crosswalk,
    customer_records,
    match_candidates,
)
from identity.active import cells_of_weights, informative_order
from identity.survivorship import GOLDEN_FIELDS, survive

__all__ = [
    "DECISIONS",
    "DECISION_WORDS",
    "QUEUE_ORDERS",
    "QueueFilter",
    "Recorded",
    "cached_queue",
    "candidate_row",
    "decide",
    "list_queue",
    "open_row",
    "queue_items",
    "queue_marker",
    "record_decision",
    "review_pair",
]

DECISIONS = (Decision.MATCH, Decision.NO_MATCH, Decision.UNSURE, Decision.SKIP)
DECISION_WORDS: dict[str, str] = {  # how a summary, a flash and the audit log say each
    Decision.MATCH: "match",
    Decision.NO_MATCH: "not a match",
    Decision.UNSURE: "unsure",
    Decision.SKIP: "skipped",
}
_STATUS_AFTER: dict[str, str] = {
    Decision.MATCH: CandidateStatus.DECIDED,
    Decision.NO_MATCH: CandidateStatus.DECIDED,
    Decision.UNSURE: CandidateStatus.UNSURE,
}


QUEUE_ORDERS = ("impact", "informative")  # uncertainty x records affected | teaches most


@dataclass(frozen=True, kw_only=True)
class QueueFilter:
    """Which review items to show: by source, score band, entity kind and status; and in
    which order (`QUEUE_ORDERS`)."""

    source: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    kind: str | None = None
    status: str = CandidateStatus.OPEN  # open | unsure
    order: str = "impact"

    def __post_init__(self) -> None:
        if self.order not in QUEUE_ORDERS:
            raise InvalidInput(
                f"review queue order {self.order!r} is unknown: use one of "
                + ", ".join(QUEUE_ORDERS)
            )


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _keyed(source: Any, source_id: Any, keys: list[Key]) -> sa.ColumnElement[bool]:
    """(source, source_id) in `keys`, in a form SQLite answers from the (source, source_id)
    index: a row-value IN alone made it scan the whole table (3 s per queue page at 1M)."""
    return sa.and_(
        source.in_(sorted({k[0] for k in keys})),
        source_id.in_(sorted({k[1] for k in keys})),
        sa.tuple_(source, source_id).in_(keys),
    )


def _context(
    conn: Connection, keys: set[Key]
) -> tuple[dict[Key, str], Counter[str], dict[Key, str | None]]:
    """For the queue's records only: golden id, golden record sizes, entity kind."""
    x, c = crosswalk.c, customer_records.c
    owner: dict[Key, str] = {}
    kinds: dict[Key, str | None] = {}
    for chunk in _chunks(sorted(keys)):
        where = _keyed(x.source, x.source_id, chunk)
        owner.update(
            ((r.source, r.source_id), r.golden_id)
            for r in conn.execute(sa.select(x.source, x.source_id, x.golden_id).where(where))
        )
        kinds.update(
            ((r.source, r.source_id), r.kind)
            for r in conn.execute(
                sa.select(c.source, c.source_id, c.kind).where(
                    _keyed(c.source, c.source_id, chunk), c.deleted.is_(False)
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


def _marker_statement(sqlite: bool) -> sa.Select[Any]:
    m, x, r = match_candidates.c, crosswalk.c, connector_runs.c
    aggregates = (
        sa.func.count(),
        sa.func.sum(m.id),
        sa.func.sum(sa.case((m.status == CandidateStatus.OPEN, m.id), else_=0)),  # open/unsure
        sa.func.max(m.id),
        sa.func.sum(m.score),
        sa.func.max(m.created_at),  # a pair re-inserted under a reused SQLite rowid
    )
    undecided = sa.select(*aggregates).where(m.status.in_(CandidateStatus.undecided()))
    rowid: Any = (  # crosswalk rows inserted with an old stamp (bulk loads)
        sa.select(sa.func.max(sa.literal_column("rowid"))).select_from(crosswalk).scalar_subquery()
        if sqlite
        else sa.null()
    )
    return sa.select(
        sa.select(sa.func.max(x.assigned_at)).scalar_subquery(),
        rowid,
        sa.select(sa.func.max(r.id)).scalar_subquery(),
        sa.select(sa.func.count(r.finished_at)).scalar_subquery(),
        sa.select(sa.func.max(m.id)).scalar_subquery(),
        *(undecided.with_only_columns(col).scalar_subquery() for col in aggregates),
    )


# built once per dialect: building a statement costs more CPU than running it
_MARKERS = {True: _marker_statement(True), False: _marker_statement(False)}


def queue_marker(conn: Connection) -> tuple[Any, ...]:
    """What the review queue was computed from, in one statement of indexed maxima and
    sums over the undecided pairs: the latest crosswalk assignment (every merge, unmerge,
    undo and resolution re-stamps the rows it moves), the latest connector run started and
    the runs finished (a sync changes records' kinds and deletions), the newest pair, and
    the count / id sums / score sum / newest creation of the undecided pairs (a decision, a
    re-opened pair, a rescoring, an insert or a delete among them moves it). Edits that
    leave the queue as it was — a field override, a golden record re-survived — do not move
    it, so they do not throw the cached queue away."""
    return tuple(conn.execute(_MARKERS[conn.dialect.name == "sqlite"]).one())


class _QueueCache:
    """Ordered queues of one engine, per (view, filter), with the marker each was read at."""

    _KEEP = 32  # filters remembered per engine (the oldest is dropped)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[Hashable, tuple[tuple[Any, ...], list[dict[str, Any]]]] = {}


_CACHES: weakref.WeakKeyDictionary[Engine, _QueueCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cached_queue(
    conn: Connection, key: Hashable, compute: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """`compute()`'s ordered items, recomputed only when `queue_marker` moved since. The
    marker is read before computing, so what is stored is at least as new as its marker."""
    with _CACHES_LOCK:
        cache = _CACHES.setdefault(conn.engine, _QueueCache())
    marker = queue_marker(conn)
    with cache.lock:
        found = cache.entries.get(key)
    if found is not None and found[0] == marker:
        return found[1]
    items = compute()
    with cache.lock:
        cache.entries.pop(key, None)
        cache.entries[key] = (marker, items)
        while len(cache.entries) > _QueueCache._KEEP:
            cache.entries.pop(next(iter(cache.entries)))
    return items


def list_queue(
    conn: Connection, flt: QueueFilter | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """(one page of items, total matching) ordered by uncertainty x records affected."""
    items = queue_items(conn, flt)
    return page_copy(items[offset : offset + limit]), len(items)


_ATOMS = frozenset({str, int, float, bool, type(None)})


def page_copy(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A deep copy of cached queue items, for a caller to keep or change. The items are
    dicts and lists of plain values, copied here directly: `copy.deepcopy`'s memo and
    dispatch per object took ~4x as long (0.7 ms for a page of 50 groups, on every
    /api/review); anything else is handed to `copy.deepcopy`."""
    return [_fresh(item) for item in items]


def _fresh(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _fresh(item) for key, item in value.items()}
    if kind is list:
        return [_fresh(item) for item in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)


def queue_items(conn: Connection, flt: QueueFilter | None = None) -> list[dict[str, Any]]:
    """Every item of the queue, in priority order, from the cache: read-only (callers copy
    what they hand out)."""
    flt = flt or QueueFilter()
    return cached_queue(conn, ("pairs", flt), lambda: _ordered_pairs(conn, flt))


def _ordered_pairs(conn: Connection, flt: QueueFilter) -> list[dict[str, Any]]:
    """Every item of the queue `flt` selects, in priority order (uncached)."""
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
    weights: dict[int, dict[str, float]] = {}
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
        weights[row.id] = _bits(row.weights)
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
    if flt.order == "informative":
        _teaching_first(conn, items, [weights[i["id"]] for i in items])
    items.sort(key=lambda i: (-i["priority"], i["id"]))
    return items


def _bits(stored: Any) -> dict[str, float]:
    """A pair's stored weights as {comparison: bits} ({weight, level} or bare bits)."""
    return {
        name: float(w["weight"] if isinstance(w, dict) else w)
        for name, w in (stored or {}).items()
        if (w["weight"] if isinstance(w, dict) else w) is not None
    }


def _teaching_first(
    conn: Connection, items: list[dict[str, Any]], weights: list[dict[str, float]]
) -> None:
    """Re-prioritise `items` by what an answer teaches (`identity.active`): each pair's
    cell is its comparisons' weight bands; decided pairs count as answers in their cell.
    The model re-estimated after a decision already believes what it was told, so a
    decided pair counts at its score. Ties keep the impact order."""
    m = match_candidates.c
    decided = conn.execute(
        sa.select(m.score, m.weights).where(m.status == CandidateStatus.DECIDED)
    ).all()
    rows = weights + [_bits(r.weights) for r in decided]
    cell = cells_of_weights(rows)
    probability = np.array([i["score"] for i in items] + [r.score for r in decided], dtype=float)
    answers = np.full(probability.size, np.nan)
    answers[len(items) :] = probability[len(items) :]
    order, value = informative_order(probability, cell, answers)
    for position, v in zip(order.tolist(), value.tolist(), strict=True):
        item = items[position]
        item["impact"] = item["priority"]
        item["priority"] = round(v, 4)
    items.sort(key=lambda i: (-i["priority"], -i["impact"], i["id"]))


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


def open_row(conn: Connection, candidate_id: int, decision: str) -> Any:
    """The review item to decide: InvalidInput for an unknown decision, NotFound for an
    unknown item, Conflict when it was decided already."""
    if decision not in DECISIONS:
        raise InvalidInput(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
    row = candidate_row(conn, candidate_id)
    if row.status not in CandidateStatus.undecided():
        raise Conflict(f"review item {candidate_id} was already decided; reload the queue")
    return row


@dataclass(frozen=True)
class Recorded:
    """What a decision did to its pairs: where each pair's two records were before and
    after (golden ids, in the order of the rows), and the merge or unmerge it made (the
    undo detail), if any."""

    before: list[dict[str, str]]
    after: list[dict[str, str]]
    sub: dict[str, Any] | None


Apply = Callable[[list[dict[str, str]]], dict[str, Any] | None]


def record_decision(
    edit: Edit,
    rows: Sequence[Any],
    decision: str,
    *,
    note: str | None = None,
    apply: Apply | None = None,
) -> Recorded:
    """The steward decision data for the review pairs `rows` (match_candidates rows), in
    `edit`'s transaction — the one way a pair decision is stored.

    Each pair is claimed first: its status moves on only if it is still the status read, so
    of two stewards deciding at once one gets Conflict before anything changed. Then `apply`
    (given where the records are) makes the merge or unmerge the decision calls for, and one
    decision row per pair is appended (append-only: who and when, the score the steward saw,
    the golden records before and after, and the identifying-data hashes that make the pair
    asked again when either record changes). match / no_match are constraints every later
    `crmhub resolve` honours; unsure / skip are recorded but constrain nothing.
    """
    m = match_candidates.c
    for r in rows:
        claimed = edit.conn.execute(
            match_candidates.update()
            .where(m.id == r.id, m.status == r.status)
            .values(status=_STATUS_AFTER.get(decision, r.status))
        )
        if claimed.rowcount != 1:
            raise Conflict(f"review item {r.id} was just decided by someone else; reload")
    keys: list[tuple[Key, Key]] = [
        ((r.left_source, r.left_source_id), (r.right_source, r.right_source_id)) for r in rows
    ]
    before = [{"left": edit.golden_of(a), "right": edit.golden_of(b)} for a, b in keys]
    sub = apply(before) if apply is not None else None
    after = [{"left": edit.golden_of(a), "right": edit.golden_of(b)} for a, b in keys]
    hashes = {
        (r["source"], r["source_id"]): identifying_hash(r)
        for r in load_customer_records(edit.conn, {k for pair in keys for k in pair})
    }
    for r, (a, b), was, now in zip(rows, keys, before, after, strict=True):
        edit.constrain(
            a,
            b,
            decision,
            score_at_decision=r.score,
            before=was,
            after=now,
            note=note,
            left_hash=hashes.get(a),
            right_hash=hashes.get(b),
        )
        if decision in (Decision.UNSURE, Decision.SKIP):
            edit.pairs.pop()  # recorded, but no constraint to restore on undo
    return Recorded(before, after, sub)


def decide(
    conn: Connection,
    settings: SurvivorshipSettings,
    actor: str,
    candidate_id: int,
    decision: str,
    *,
    note: str | None = None,
) -> ActionResult:
    """Record and apply one pair's decision; a second steward deciding the same pair gets
    Conflict. A match may overrule this very pair's earlier "not a match" (it is asked again
    because a record changed); any other "not a match" between the two golden records
    refuses the merge."""
    row = open_row(conn, candidate_id, decision)
    edit = Edit(conn, settings, actor)
    left: Key = (row.left_source, row.left_source_id)
    right: Key = (row.right_source, row.right_source_id)

    def apply(before: list[dict[str, str]]) -> dict[str, Any] | None:
        gl, gr = before[0]["left"], before[0]["right"]
        if decision == Decision.MATCH and gl != gr:
            return apply_merge(edit, [gl, gr], {}, deciding=(left, right))
        if decision == Decision.NO_MATCH and gl == gr:
            return apply_unmerge(edit, gl, [right], None)
        return None

    recorded = record_decision(edit, [row], decision, note=note, apply=apply)
    detail = {
        "candidate_id": candidate_id,
        "decision": decision,
        "previous_status": row.status,
        "score": row.score,
        "before": recorded.before[0],
        "after": recorded.after[0],
        "sub": recorded.sub,
    }
    summary = f"review item {candidate_id}: {DECISION_WORDS[decision]}"
    return edit.finish("decision", summary, detail)
