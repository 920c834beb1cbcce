"""`crmhub resolve` on the hub store: golden records, crosswalk and the review queue.

Reads the canonical customer records, the previous crosswalk and the stewards' decisions
(must-link / cannot-link), runs the identity engine and writes back only what changed, in
one transaction: golden records, crosswalk rows, open review candidates, and an audit entry
for every merge and split. Golden ids stay stable across runs.

A run is incremental when it can be (`hub.resolve.incremental`): it re-scores, with the
model the last full run fitted, only the records the changes since the last run touch, and
leaves everything else as it is. A full run — the whole engine, EM included — happens on
the first run, with `full=True` (`crmhub resolve --full`), when the settings or comparisons
changed, and when more than `DRIFT_SHARE` (20 %) of the records have changed since the
last full run.

A full run executes on the engine hub.yaml's `identity.engine` names (`hub.resolve.engine`:
in process, or Apache Spark), or the one passed for this run; incremental runs always run
in process. Either way the outcome is persisted the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import sqlalchemy as sa

from hub.core.clock import now
from hub.core.states import GoldenStatus
from hub.resolve.changes import find_changes, held_back
from hub.resolve.engine import Engine, choose_engine, no_pyspark
from hub.resolve.incremental import DRIFT_SHARE, FullRunNeeded, resolve_incremental
from hub.resolve.persist import Outcome, persist, provenance_json
from hub.resolve.records import (
    CONSTRAINING,
    identifying_hash,
    latest_decisions,
    load_customer_records,
    load_overrides,
)
from hub.resolve.state import Marks, ResolveState, current_marks, load_state, save_state
from hub.store.database import Store
from hub.store.locks import hub_lock
from hub.store.tables import crosswalk, customer_records, golden_records, match_candidates
from identity.incremental import KeyIndex, bridges_of, identifying_hashes, key_hashes
from identity.model import ModelSpec
from identity.model_io import fingerprint, model_to_bytes
from identity.resolve import History, Key, Resolution, Settings
from identity.standardise import standardise
from schemas.config import HubConfig

__all__ = [
    "CONSTRAINING",
    "DRIFT_SHARE",
    "FULL_RUN_TABLES",
    "ResolveSummary",
    "full_summary",
    "identifying_hash",
    "key_index",
    "load_customer_records",
    "load_overrides",
    "provenance_json",
    "resolve_store",
    "save_full_state",
    "settings_of",
]


@dataclass(frozen=True)
class ResolveSummary:
    """What a store resolution changed."""

    records: int
    golden: int
    new: int
    merged: int
    split: int
    changed_golden: int
    review: int
    non_identifying: int
    mode: str = "full"  # full | incremental | unchanged
    reason: str = ""  # why a full run (when one was not asked for)
    affected: int = 0  # incremental: the records re-clustered
    engine: str = "local"  # the engine chosen for full runs: local | spark
    master: str = ""  # spark: the master a full run ran on

    def line(self) -> str:
        on = f" on Spark ({self.master})" if self.engine == "spark" else ""
        local = "; incremental: local engine" if self.engine == "spark" else ""
        how = {
            "full": f"full run{on}" + (f": {self.reason}" if self.reason else ""),
            "incremental": f"incremental, {self.affected:,} records re-clustered{local}",
            "unchanged": "nothing changed since the last run",
        }[self.mode]
        return (
            f"resolved {self.records:,} customer records into {self.golden:,} golden records "
            f"({how}): "
            f"{self.new:,} new, {self.merged:,} merges, {self.split:,} splits, "
            f"{self.changed_golden:,} golden records updated, {self.review:,} pairs for review, "
            f"{self.non_identifying:,} non-identifying values ignored"
        )


def settings_of(config: HubConfig) -> Settings:
    """The engine settings hub.yaml's identity section gives."""
    ident = config.identity
    return Settings(
        upper=ident.auto_merge_threshold,
        lower=ident.review_threshold,
        source_priority=tuple(ident.source_priority),
        survivorship=dict(ident.survivorship),
    )


def resolve_store(
    config: HubConfig,
    store: Store,
    *,
    actor: str,
    full: bool = False,
    engine: Engine | None = None,
    progress: Callable[[str], None] | None = None,
) -> ResolveSummary:
    """Resolve the store's customer records; persist golden records and crosswalk atomically.

    Incremental when a previous run's model fits and the data has not drifted; `full`
    forces a full run with a newly estimated model, on `engine` (default: the one
    hub.yaml's `identity.engine` names). Raises LockError while another resolution of
    this store runs, HubError when the engine cannot run (pyspark missing).
    """
    engine = engine or choose_engine(config)
    with hub_lock(store, "resolve"):
        settings = settings_of(config)
        spec = ModelSpec.from_settings(settings)
        reason = "asked for" if full else _incremental_blocker(store, spec)
        if not reason:
            summary = _incremental(store, spec, actor)
            if isinstance(summary, str):
                reason = summary
            else:
                return replace(summary, engine=engine.name)
        return _full(store, spec, actor, reason, engine, progress)


def _incremental_blocker(store: Store, spec: ModelSpec) -> str:
    with store.engine.connect() as conn:
        state = load_state(conn, blobs=False)
    if state is None:
        return "first run"
    if state.fingerprint != fingerprint(spec):
        return "the identity settings or comparisons changed"
    return ""


def _incremental(store: Store, spec: ModelSpec, actor: str) -> ResolveSummary | str:
    """The incremental run's summary, or why a full run is needed."""
    with store.engine.connect() as conn:
        small = load_state(conn, blobs=False)
        assert small is not None
        changes = find_changes(conn, small.marks)
        live = conn.execute(
            sa.select(sa.func.count()).where(customer_records.c.deleted.is_(False))
        ).scalar_one()
        if not changes and live == small.records:
            golden = _active(conn)
            return ResolveSummary(
                records=small.records,
                golden=golden,
                new=0,
                merged=0,
                split=0,
                changed_golden=0,
                review=0,
                non_identifying=0,
                mode="unchanged",
            )
        state = load_state(conn)
        assert state is not None
    try:
        done = resolve_incremental(store, spec, state, changes, actor)
    except FullRunNeeded as exc:
        return str(exc)
    kinds = [e.kind for e in done.events]
    with store.engine.connect() as conn:
        golden = _active(conn)
    return ResolveSummary(
        records=done.records,
        golden=golden,
        new=kinds.count("new"),
        merged=kinds.count("merge"),
        split=kinds.count("split"),
        changed_golden=done.changed_golden,
        review=done.review,
        non_identifying=done.non_identifying,
        mode="incremental",
        affected=done.affected,
    )


def _active(conn: sa.Connection) -> int:
    g = golden_records.c
    query = sa.select(sa.func.count()).where(g.status == GoldenStatus.ACTIVE)
    return int(conn.execute(query).scalar_one())


def _full(
    store: Store,
    spec: ModelSpec,
    actor: str,
    reason: str,
    engine: Engine,
    progress: Callable[[str], None] | None,
) -> ResolveSummary:
    if engine.name == "spark" and _live(store) > engine.driver_records:
        return _full_on_spark(store, spec, actor, reason, engine, progress)
    with store.engine.connect() as conn:
        read_from = now()
        marks = current_marks(conn)  # before reading: what loads meanwhile is seen next time
        ids: dict[Key, int] = {
            (r.source, r.source_id): int(r.id)
            for r in conn.execute(
                sa.select(
                    customer_records.c.id, customer_records.c.source, customer_records.c.source_id
                ).where(customer_records.c.deleted.is_(False))
            )
        }
        records = load_customer_records(conn)
        previous: dict[Key, str] = {
            (r.source, r.source_id): r.golden_id
            for r in conn.execute(
                sa.select(crosswalk.c.source, crosswalk.c.source_id, crosswalk.c.golden_id)
            )
        }
        decisions = latest_decisions(conn)
        overrides = load_overrides(conn)
        created = dict(
            conn.execute(sa.select(golden_records.c.golden_id, golden_records.c.created_at)).all()
        )
        # a sync still running (or ended while this read) may yet commit older stamps
        marks = replace(marks, loaded=held_back(conn, marks.loaded, read_from))
    history = History(
        previous=previous,
        created_order=created,
        must_link=[p for p, v in decisions.items() if v == "match"],
        cannot_link=[p for p, v in decisions.items() if v == "no_match"],
        overrides=overrides,
    )
    result = engine.run(records, spec, history, progress)
    index = key_index(result, records, ids, spec)
    record_ids = np.array([ids[k] for k in result.keys], dtype=np.int64)
    bridges = bridges_of(record_ids, result.scored, result.labels, spec.thresholds.lower)
    outcome = Outcome(
        golden=result.golden,
        events=result.assignment.events,
        crosswalk=result.crosswalk,
        previous=previous,
        review=result.review_pairs(),
        hashes={(str(r["source"]), str(r["source_id"])): identifying_hash(r) for r in records},
    )
    with store.transaction() as conn:
        changed = persist(conn, outcome, actor)
        save_full_state(
            conn, spec, len(records), marks, model_to_bytes(result.model), index, bridges
        )
    store.analyze(*FULL_RUN_TABLES)
    engine.finished()
    kinds = Counter(str(e.kind) for e in result.assignment.events)
    return full_summary(
        records=len(records),
        golden=len(result.golden),
        kinds=kinds,
        changed=changed,
        review=int(result.clustering.review.size),
        stats=result.stats,
        reason=reason,
        engine=engine,
    )


FULL_RUN_TABLES = (crosswalk, golden_records, match_candidates)
"""The tables a full run rewrites: their planner statistics refreshed after it."""


def save_full_state(
    conn: sa.Connection,
    spec: ModelSpec,
    records: int,
    marks: Marks,
    model: bytes,
    index: KeyIndex,
    bridges: np.ndarray,
) -> None:
    """Save what the next incremental run builds on, in a full run's transaction (after
    its crosswalk is written: its newest stamp is the crosswalk mark)."""
    stamp = conn.execute(sa.select(sa.func.max(crosswalk.c.assigned_at))).scalar()
    index.pair_estimates(spec.blocking.max_block)  # kept with it: incremental runs update them
    save_state(
        conn,
        ResolveState(
            fingerprint=fingerprint(spec),
            records=records,
            records_at_full=records,
            changed_since_full=0,
            full_at=now(),
            marks=replace(marks, crosswalk=stamp),
            model=model,
            index=index,
            bridges=bridges,
        ),
    )


def full_summary(
    *,
    records: int,
    golden: int,
    kinds: Mapping[str, int],
    changed: int,
    review: int,
    stats: Mapping[str, int],
    reason: str,
    engine: Engine,
) -> ResolveSummary:
    """A full run's summary: its counts, `kinds` the id events by kind."""
    return ResolveSummary(
        records=records,
        golden=golden,
        new=kinds.get("new", 0),
        merged=kinds.get("merge", 0),
        split=kinds.get("split", 0),
        changed_golden=changed,
        review=review,
        non_identifying=sum(v for k, v in stats.items() if k.startswith("non_identifying")),
        mode="full",
        reason="" if reason in ("first run", "asked for") else reason,
        engine=engine.name,
        master=engine.master if engine.name == "spark" else "",
    )


def _live(store: Store) -> int:
    with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(customer_records.c.deleted.is_(False))
        return int(conn.execute(query).scalar_one())


def _full_on_spark(
    store: Store,
    spec: ModelSpec,
    actor: str,
    reason: str,
    engine: Engine,
    progress: Callable[[str], None] | None,
) -> ResolveSummary:
    """A full run that keeps the records in Spark (`hub.resolve.spark_store`)."""
    try:
        from hub.resolve.spark_store import full_on_spark
    except ImportError as exc:  # the spark extra is not installed
        raise no_pyspark(exc) from exc
    return full_on_spark(store, spec, actor, reason, engine, progress)


def key_index(
    result: Resolution, records: list[dict[str, object]], ids: dict[Key, int], spec: ModelSpec
) -> KeyIndex:
    """The key index of a full run's records: keys from its standardised frame, identifying
    values before blanking (records whose value was blanked as shared are standardised
    again for it: a few)."""
    frame = result.frame
    ident = identifying_hashes(frame)
    blank = np.zeros(len(frame), dtype=bool)
    for column in ("email", "phone", "tax_id"):
        raw = np.array([bool(r.get(column)) for r in records], dtype=bool)
        blank |= raw & frame[column].isna().to_numpy()
    rows = np.flatnonzero(blank)
    if rows.size:
        ident[rows] = identifying_hashes(standardise([records[i] for i in rows]))
    record_ids = np.array([ids[k] for k in result.keys], dtype=np.int64)
    return KeyIndex.build(record_ids, key_hashes(frame, spec.blocking.rules), ident)
