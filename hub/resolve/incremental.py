"""An incremental store resolve: only what the changes since the last run touch.

From the changes (`hub.resolve.changes`) the affected set is grown to a closure: the
changed records, every member of the golden records they were in, and — repeatedly — the
records that share a block with an affected one and score at or above the lower threshold
with it (with their golden records), and steward must-link partners. No record outside
the closure can link to or be reviewed with one inside, so the full run would leave them
as they are; the closure is scored with the stored model (no EM), clustered with the
same clustering, given ids by the same rules, and written back alone.

The index and counts behind it (`identity.incremental.KeyIndex`) make blocks that grew
past `max_block`, and identifying values that became shared by too many records, affect
exactly the records a full run would treat differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.resolve.changes import (
    Changes,
    Member,
    assignments,
    ids_of,
    live_count,
    members_of,
    orphaned,
    unindexed,
)
from hub.resolve.persist import Outcome, persist
from hub.resolve.records import (
    Pair,
    identifying_hash,
    latest_decisions,
    load_overrides,
    records_by_id,
)
from hub.resolve.state import IndexDelta, ResolveState, save_state
from hub.store.database import Store
from hub.store.tables import crosswalk, golden_records
from identity.blocking import BlockingReport
from identity.ids import Assignment, assign_ids
from identity.incremental import (
    KeyIndex,
    blanked,
    bridge_partners,
    bridges_of,
    bridges_replaced,
    identifying_hashes,
    key_hashes,
    local_pairs,
    recluster,
    rescore,
    touching_pairs,
)
from identity.model import ModelSpec
from identity.model_io import ModelMismatch, model_from_bytes
from identity.resolve import Key, Resolution
from identity.score import Model
from identity.standardise import standardise
from identity.survivorship import survive

__all__ = [
    "DRIFT_SHARE",
    "MAX_AFFECTED_SHARE",
    "FullRunNeeded",
    "Incremental",
    "resolve_incremental",
]

DRIFT_SHARE = 0.20
"""A full run (with a new model) once more than this share of the records counted at the
last full run have changed or gone since it."""
MAX_AFFECTED_SHARE = 0.25
"""A full run instead when the affected closure grows past this share of the records."""


class FullRunNeeded(Exception):
    """The incremental run cannot stand in for a full one; the message says why."""


@dataclass
class Incremental:
    """What an incremental run did."""

    records: int
    changed: int
    affected: int
    events: list[Any] = field(default_factory=list)
    changed_golden: int = 0
    review: int = 0
    non_identifying: int = 0


@dataclass
class _Local:
    """The records read so far: their ids, standardised rows and CustomerRecord dicts."""

    ids: list[int] = field(default_factory=list)
    frames: list[pd.DataFrame] = field(default_factory=list)
    records: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, conn: Connection, ids: Iterable[int], shared: Sequence[np.ndarray]) -> None:
        wanted = [i for i in ids if i not in self.records]
        if not wanted:
            return
        found = records_by_id(conn, wanted)
        order = sorted(found)
        if not order:
            return
        frame = standardise([found[i] for i in order])
        self.frames.append(blanked(frame, identifying_hashes(frame), shared))
        self.ids += order
        self.records.update(found)

    def frame(self) -> pd.DataFrame:
        frame = (
            pd.concat(self.frames, ignore_index=True) if len(self.frames) > 1 else self.frames[0]
        )
        self.frames = [frame]
        return frame


def _keys(index: KeyIndex, ids: np.ndarray) -> np.ndarray:
    """The indexed key hashes of these ids (none for an id the index lacks)."""
    rows = index.rows(ids)
    keys: np.ndarray = index.keys[np.maximum(rows, 0)].copy()
    keys[rows < 0] = 0
    return keys


def _changed_index(
    conn: Connection, index: KeyIndex, changes: Changes, spec: ModelSpec
) -> tuple[KeyIndex, IndexDelta, set[int], set[int]]:
    """The index with the changes applied, and the changes as a delta; the ids to treat as
    changed (loaded since, or whose identifying value crossed `max_shared`: its blanking
    changes) and those in a block that crossed `max_block` (their own keys unchanged, their
    pairs not)."""
    blocking = spec.blocking
    gone = np.array(sorted(set(changes.deleted)), dtype=np.int64)
    records = records_by_id(conn, changes.loaded)
    changed = sorted(records)
    ids = np.array(changed, dtype=np.int64)
    frame = standardise([records[i] for i in changed])
    ident = identifying_hashes(frame) if changed else np.zeros((0, index.ident.shape[1]), np.uint64)
    left = index.rows(np.concatenate([gone, ids]))
    left = left[left >= 0]
    placeholder = np.zeros((ids.size, index.keys.shape[1]), dtype=np.uint64)
    middle = index.replaced(gone, ids, placeholder, ident)
    flipped_rows = middle.shared_crossed(index.ident[left], ident, blocking.max_shared)
    flipped = sorted(set(middle.ids[flipped_rows].tolist()) - set(changed))
    if flipped:  # their values are blanked now (or no longer): their keys change too
        records.update(records_by_id(conn, flipped))
        changed = sorted(records)
        ids = np.array(changed, dtype=np.int64)
        frame = standardise([records[i] for i in changed])
        left = index.rows(np.concatenate([gone, ids]))
        left = left[left >= 0]
    shared = middle.shared(blocking.max_shared)
    if changed:
        keys = key_hashes(blanked(frame, identifying_hashes(frame), shared), blocking.rules)
        updated = middle.with_keys(ids, keys)
    else:
        keys, updated = placeholder, middle
    regrouped_rows, used_before = updated.blocks_crossed(
        index.keys[left],
        keys,
        blocking.max_block,
        estimates_before=index.known_estimates().get(blocking.max_block),
    )
    if not np.array_equal(used_before, updated.rules_used(blocking.max_block)):
        raise FullRunNeeded("a blocking rule crossed the pair limit")
    regrouped = set(updated.ids[regrouped_rows].tolist()) - set(changed)
    delta = IndexDelta.of(updated, ids, gone[updated.rows(gone) < 0])
    return updated, delta, set(changed), regrouped


def _closure(
    conn: Connection,
    index: KeyIndex,
    model: Model,
    spec: ModelSpec,
    start: dict[int, Member],
    scan: set[int],
    bridges: np.ndarray,
    shared: Sequence[np.ndarray],
    must: Mapping[Key, list[Key]],
    limit: int,
) -> tuple[dict[int, Member], _Local]:
    """The affected records: `start` grown by golden records, must-links and links scoring
    at least the lower threshold, until nothing more joins.

    A record in `scan` (its values, blanking or blocks changed) is scored against every
    record it shares a block with. Any other record's links are as the last run found
    them: its golden record's members and its `bridges` (pairs at or above the lower
    threshold across golden records) — and its links to changed records are found from
    their side."""
    blocking, lower = spec.blocking, spec.thresholds.lower
    used = index.rules_used(blocking.max_block)
    affected = dict(start)
    local = _Local()
    frontier = set(start)
    while frontier:
        scanned = np.array(sorted(frontier & scan), dtype=np.int64)
        rows = index.rows(scanned)
        near = index.neighbours(index.keys[rows[rows >= 0]], blocking.max_block)
        local.add(conn, [*sorted(frontier), *near.tolist()], shared)
        joining = set(bridge_partners(bridges, np.array(sorted(frontier - scan))).tolist())
        if scanned.size:
            ids = np.array(local.ids, dtype=np.int64)
            keys = _keys(index, ids)
            usable = (index.block_sizes(keys) <= blocking.max_block) & used[None, :]
            left, right = touching_pairs(keys, usable, np.isin(ids, scanned))
            if left.size:
                scored = rescore(model, local.frame(), left, right)
                linked = scored.probability >= lower
                joining.update(ids[left[linked]].tolist())
                joining.update(ids[right[linked]].tolist())
        partners = [p for m in frontier if m in affected for p in must.get(affected[m].key, [])]
        found = {m.id: m for m in ids_of(conn, partners)} if partners else {}
        found.update({m.id: m for m in assignments(conn, joining - set(affected) - set(found))})
        golden_ids = {m.golden_id for m in found.values() if m.golden_id is not None}
        found.update({m.id: m for m in members_of(conn, golden_ids)})
        frontier = {i for i, m in found.items() if m.live and i not in affected}
        affected.update({i: found[i] for i in frontier})
        if len(affected) > limit:
            raise FullRunNeeded(f"the changes touch more than {limit:,} records")
    return affected, local


def resolve_incremental(
    store: Store, spec: ModelSpec, state: ResolveState, changes: Changes, actor: str
) -> Incremental:
    """Resolve the changes on top of `state`, persist and move the watermarks, in one
    transaction. Raises FullRunNeeded when a full run must be done instead."""
    assert state.index is not None and changes.marks is not None
    try:
        model = model_from_bytes(state.model, spec.comparisons)
    except ModelMismatch as exc:
        raise FullRunNeeded(str(exc)) from exc
    with store.engine.connect() as conn:
        index = state.index
        removed: list[Member] = []
        loaded = np.array(sorted(set(changes.loaded)), dtype=np.int64)
        gone = np.array(sorted(set(changes.deleted)), dtype=np.int64)
        expected = (
            len(index) + int((index.rows(loaded) < 0).sum()) - int((index.rows(gone) >= 0).sum())
        )
        if live_count(conn) != expected:  # a record came or went without a new loaded_at
            came, went = unindexed(conn, index.ids)
            changes.loaded = sorted(set(changes.loaded) | set(came))
            changes.deleted = sorted(set(changes.deleted) | set(went))
            removed = orphaned(conn)
        drift = state.changed_since_full + len(changes.loaded) + len(changes.deleted)
        if drift > DRIFT_SHARE * max(state.records_at_full, 1):
            raise FullRunNeeded(
                f"{drift:,} of {state.records_at_full:,} records changed since the last full run "
                f"(more than {DRIFT_SHARE:.0%})"
            )
        updated, delta, changed, regrouped = _changed_index(conn, index, changes, spec)
        shared = updated.shared(spec.blocking.max_shared)
        decisions = latest_decisions(conn)
        must: dict[Key, list[Key]] = {}
        for (a, b), value in decisions.items():
            if value == "match":
                must.setdefault(a, []).append(b)
                must.setdefault(b, []).append(a)
        departed = [m for m in assignments(conn, changes.deleted) if not m.live]
        departed += [m for m in removed if m.key not in {d.key for d in departed}]
        seeds = changed | regrouped
        start = {m.id: m for m in assignments(conn, seeds) if m.live}
        keys = [k for pair in changes.decided for k in pair] + list(changes.moved)
        start.update({m.id: m for m in ids_of(conn, keys)})
        golden_ids = {m.golden_id for m in [*start.values(), *departed] if m.golden_id}
        golden_ids |= changes.overridden
        start.update({m.id: m for m in members_of(conn, golden_ids)})
        limit = max(1_000, int(MAX_AFFECTED_SHARE * len(updated)))
        if state.bridges is None:
            raise FullRunNeeded("the stored state has no links between golden records")
        scan = seeds
        affected, local = _closure(
            conn, updated, model, spec, start, scan, state.bridges, shared, must, limit
        )
        outcome, new_bridges = _recluster(
            conn, updated, model, spec, affected, local, departed, decisions
        )
        touched = np.array([*affected, *(m.id for m in departed)], dtype=np.int64)
        bridges = bridges_replaced(state.bridges, touched, new_bridges)
    with store.transaction() as conn:
        changed_golden = persist(conn, outcome, actor)
        marks = replace(
            changes.marks,
            crosswalk=conn.execute(sa.select(sa.func.max(crosswalk.c.assigned_at))).scalar(),
        )
        save_state(
            conn,
            replace(
                state,
                index=updated,
                delta=state.delta.then(delta) if state.delta is not None else None,
                bridges=bridges,
                records=len(updated),
                changed_since_full=state.changed_since_full + len(changed) + len(departed),
                marks=marks,
            ),
        )
    non_identifying = sum(
        int(counts[counts > spec.blocking.max_shared].sum()) for _, counts in updated.value_counts()
    )
    return Incremental(
        records=len(updated),
        changed=len(changed) + len(departed),
        affected=len(affected),
        events=list(outcome.events),
        changed_golden=changed_golden,
        review=len(outcome.review),
        non_identifying=non_identifying,
    )


def _recluster(
    conn: Connection,
    index: KeyIndex,
    model: Model,
    spec: ModelSpec,
    affected: dict[int, Member],
    local: _Local,
    departed: list[Member],
    decisions: Mapping[Pair, str],
) -> tuple[Outcome, np.ndarray]:
    """Cluster the affected records, give ids, build their golden records: the outcome,
    and the bridges among the affected records."""
    blocking = spec.blocking
    ids = sorted(affected)
    before: dict[Key, str] = {m.key: m.golden_id for m in departed if m.golden_id}
    if not ids:  # only deletions of records alone in their golden records
        assignment = assign_ids({}, before)
        nothing = Outcome(
            golden={},
            events=assignment.events,
            crosswalk={},
            previous=before,
            review=[],
            hashes={},
            scope=frozenset(before),
        )
        return nothing, np.empty((0, 2), dtype=np.int64)
    shared = index.shared(blocking.max_shared)
    local.add(conn, ids, shared)
    # whoever else holds an affected record's e-mail or phone: the household rule of the
    # comparisons looks at every holder (`identity.compare`), as in a full run
    held = index.ident[index.rows(np.array(ids, dtype=np.int64))]
    holders = [
        index.ident_column(k).holders(held[~np.isin(held[:, k], shared[k]), k]) for k in (0, 1)
    ]
    local.add(conn, index.ids[np.unique(np.concatenate(holders))].tolist(), shared)
    at = {i: r for r, i in enumerate(local.ids)}
    frame = local.frame()
    rows = np.array([at[i] for i in ids], dtype=np.int64)
    others = np.setdiff1d(np.arange(len(local.ids)), rows)
    ordered = frame.iloc[np.concatenate([rows, others])].reset_index(drop=True)
    keys_of = [affected[i].key for i in ids]
    n = len(ids)
    hashes = _keys(index, np.array(ids, dtype=np.int64))
    usable = (index.block_sizes(hashes) <= blocking.max_block) & index.rules_used(
        blocking.max_block
    )[None, :]
    left, right = local_pairs(hashes, usable)
    scored = rescore(model, ordered, left, right)
    position = {k: p for p, k in enumerate(keys_of)}
    previous: dict[Key, str] = {}
    for i in ids:
        if (gid := affected[i].golden_id) is not None:
            previous[affected[i].key] = gid
    codes: dict[str, int] = {}
    group = np.array(
        [codes.setdefault(previous[k], len(codes)) if k in previous else -1 for k in keys_of],
        dtype=np.int64,
    )
    must = [
        (position[a], position[b])
        for (a, b), v in decisions.items()
        if v == "match" and a in position and b in position
    ]
    cannot = [
        (position[a], position[b])
        for (a, b), v in decisions.items()
        if v == "no_match" and a in position and b in position
    ]
    # clustered over every loaded row (the others pairless, so alone): pairs it adds inside
    # small clusters are scored with every holder of their e-mails and phones at hand
    padded = np.full(len(ordered), -1, dtype=np.int64)
    padded[:n] = group
    clustered = recluster(
        ordered,
        scored,
        model,
        spec,
        previous_group=padded,
        must_link=must,
        cannot_link=cannot,
    )
    labels = clustered.clustering.labels[:n]
    before.update(previous)
    assignment = _assign(conn, dict(zip(keys_of, labels.tolist(), strict=True)), before)
    overrides = load_overrides(conn, set(assignment.crosswalk.values()))
    members: dict[str, list[dict[str, Any]]] = {}
    for i, key in zip(ids, keys_of, strict=True):
        members.setdefault(assignment.crosswalk[key], []).append(local.records[i])
    rules = spec.survivorship
    golden = {
        gid: survive(
            group_records,
            source_priority=rules.source_priority,
            rules=dict(rules.rules) or None,
            overrides=overrides.get(gid),
        )
        for gid, group_records in members.items()
    }
    resolution = Resolution(
        keys=keys_of,
        labels=labels,
        assignment=assignment,
        golden=golden,
        scored=clustered.scored,
        clustering=clustered.clustering,
        model=model,
        blocking=BlockingReport(),
        stats={},
        frame=ordered.iloc[:n],
    )
    outcome = Outcome(
        golden=golden,
        events=assignment.events,
        crosswalk=assignment.crosswalk,
        previous=before,
        review=resolution.review_pairs(),
        hashes={affected[i].key: identifying_hash(local.records[i]) for i in ids},
        scope=frozenset([*keys_of, *(m.key for m in departed)]),
    )
    id_array = np.array(ids, dtype=np.int64)
    bridges = bridges_of(id_array, clustered.scored, labels, spec.thresholds.lower)
    return outcome, bridges


def _assign(conn: Connection, clusters: dict[Key, int], previous: dict[Key, str]) -> Assignment:
    """Ids as `assign_ids` gives them in a full run: the previous ids' creation order, and
    a new id never one that exists already (checked in the store, not held in memory)."""
    g = golden_records.c
    olds = sorted(set(previous.values()))
    created: dict[str, Any] = {}
    for at in range(0, len(olds), 500):
        created.update(
            dict(
                conn.execute(
                    sa.select(g.golden_id, g.created_at).where(g.golden_id.in_(olds[at : at + 500]))
                ).all()
            )
        )
    while True:
        assignment = assign_ids(clusters, previous, created)
        minted = sorted(
            {e.golden_id for e in assignment.events if e.kind == "new"} - created.keys()
        )
        taken: set[str] = set()
        for at in range(0, len(minted), 500):
            taken.update(
                conn.execute(
                    sa.select(g.golden_id).where(g.golden_id.in_(minted[at : at + 500]))
                ).scalars()
            )
        if not taken:
            return assignment
        created.update(dict.fromkeys(taken))  # taken ids: never claimed, so never compared
