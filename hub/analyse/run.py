"""`crmhub analyse` on the hub store: customer intelligence on the golden records.

Reads the live interactions joined through the crosswalk to their golden ids (an
interaction whose customer record has no golden id yet is counted, not analysed), the
golden records' attributes (birth date, kind, country), runs the `analytics` engine as of a
day, and writes in one transaction: a profile per customer, the value of every segment,
each customer's segment per segmentation and the profit curve — replacing the previous
run's — and a stage-history row for every customer whose lifecycle stage changed (kept
across runs). The run itself is recorded in `analysis_runs`, under the hub lock `analyse`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analytics import Analysis, AnalysisSpec, describe_purchase_model, with_horizon
from analytics import analyse as run_engine
from analytics.frame import COLUMNS
from hub.analyse.audiences import AudienceChange, check_audiences, profile_frame, recompute
from hub.analyse.engine import Engine, choose_engine
from hub.analyse.settings import spec_from_config
from hub.analyse.worklists import RuleRun, check_worklists, generate_worklists
from hub.core.clock import as_utc, now
from hub.core.errors import HubError, one_line
from hub.core.states import GoldenStatus, RunStatus
from hub.store.database import Store
from hub.store.hub_source import HUB_SOURCE, golden_ids_of
from hub.store.locks import hub_lock
from hub.store.tables import (
    analysis_runs,
    crosswalk,
    customer_profiles,
    golden_records,
    interactions,
    profit_lorenz,
    segment_members,
    segment_values,
    stage_history,
)
from schemas.audiences import AudienceConfig
from schemas.config import HubConfig

__all__ = [
    "STEPS",
    "AnalyseSummary",
    "analyse_store",
    "load_customers",
    "load_interactions",
    "stream_interactions",
]

LOCK = "analyse"
STEPS = (
    "reading interactions",
    "preparing interactions",
    "computing traits",
    "fitting BG/NBD and Gamma-Gamma",
    "training churn model on snapshots",
    "value, segments and types",
    "lifecycle and next best offers",
    "writing profiles",
)
"""The progress messages of a run, in order (a progress bar's steps)."""
ATTRIBUTES = ("birth_date", "kind", "country")
"""Golden-record fields handed to the engine: birth date for the birthday trait, the others
become segmentations of their own."""
_STORED = frozenset(
    {
        "customer_id", "recency_days", "frequency", "monetary", "clv_12m", "p_alive",
        "churn_risk", "churn_reasons", "stage", "customer_type", "next_best_offers",
        "rfm_segment", "revenue", "profit",
    }
)  # fmt: skip
_COLUMN_OF = {"customer_type": "customer_type", "rfm": "rfm_segment", "stage": "stage"}
_CANONICAL = frozenset(
    {"customer_id", "type", "occurred_at", "amount", "currency", "status", "channel", "subject"}
)
_CHUNK = 2_000


@dataclass(frozen=True)
class AnalyseSummary:
    """What a store analysis found and wrote."""

    run_id: int
    as_of: dt.date
    customers: int
    interactions: int
    unmapped: int
    rejected: Mapping[str, int] = field(default_factory=dict)
    at_risk: int = 0
    stage_changes: int = 0
    segments: int = 0
    note: str = ""
    audiences: tuple[AudienceChange, ...] = ()  # membership changes, per hub.yaml audience
    worklist: tuple[RuleRun, ...] = ()  # items opened or marked, per hub.yaml worklist rule
    engine: str = "local"  # what ran the engine: local (in process) or spark
    master: str = ""  # the Spark master, when on Spark

    def line(self) -> str:
        left_out = {k: v for k, v in self.rejected.items() if k != "after_as_of"}
        why = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in sorted(left_out.items()))
        return (
            f"analysed {self.customers:,} customers as of {self.as_of} from "
            f"{self.interactions:,} interactions ({self.unmapped:,} without a golden record, "
            f"{self.rejected.get('after_as_of', 0):,} on or after {self.as_of} ignored, "
            f"left out: {why or 'none'}): {self.at_risk:,} at risk, "
            f"{self.stage_changes:,} stage changes, {self.segments:,} segments; {self.note}"
            + (f"; on Spark ({self.master})" if self.engine == "spark" else "")
        ) + "".join(
            f"; audience {a.audience}: {a.members:,} members (+{a.entered:,} -{a.exited:,})"
            for a in self.audiences
        )


def load_interactions(conn: Connection) -> tuple[pd.DataFrame, int]:
    """The live interactions as the engine's raw columns, `customer_id` the golden id of
    the customer record each names; and how many name a record without a golden id. The
    hub's own (logged contacts) name a member record `source/source_id` instead."""
    found: list[dict[str, list[Any]]] = []
    unmapped = stream_interactions(conn, found.append)
    columns = found[0] if found else {c: [] for c in COLUMNS}
    return pd.DataFrame(columns, dtype=object), unmapped


def stream_interactions(
    conn: Connection,
    sink: Callable[[dict[str, list[Any]]], None],
    batch_rows: int | None = None,
) -> int:
    """The rows of `load_interactions` handed to `sink` as columns (the engine's raw
    columns, lists of values) of `batch_rows` rows at a time (None: all in one); returns
    how many interactions name a record without a golden id."""
    i, x = interactions.c, crosswalk.c
    filed = golden_ids_of(
        conn,
        conn.execute(
            sa.select(i.customer_source_id)
            .distinct()
            .where(i.source == HUB_SOURCE, i.deleted.is_(False))
        ).scalars(),
    )
    query = (
        sa.select(x.golden_id, i.type, i.occurred_at, i.amount, i.currency, i.status, i.channel)
        .add_columns(i.subject, i.extra, i.source, i.customer_source_id)
        .join(
            crosswalk,
            sa.and_(x.source == i.source, x.source_id == i.customer_source_id),
            isouter=True,
        )
        .where(i.deleted.is_(False))
    )
    columns: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    extras = [c for c in COLUMNS if c not in _CANONICAL]
    unmapped = rows = 0
    for row in conn.execute(query).yield_per(10_000):
        golden_id = row.golden_id
        if golden_id is None and row.source == HUB_SOURCE:
            golden_id = filed.get(row.customer_source_id)
        if golden_id is None:
            unmapped += 1
            continue
        extra = row.extra or {}
        columns["customer_id"].append(golden_id)
        columns["type"].append(row.type)
        columns["occurred_at"].append(
            as_utc(row.occurred_at).isoformat() if row.occurred_at is not None else None
        )
        columns["amount"].append(None if row.amount is None else float(row.amount))
        for name in ("currency", "status", "channel", "subject"):
            columns[name].append(getattr(row, name))
        for name in extras:
            value = extra.get(name)
            columns[name].append(None if isinstance(value, dict | list) else value)
        rows += 1
        if batch_rows is not None and rows >= batch_rows:
            sink(columns)
            columns, rows = {c: [] for c in COLUMNS}, 0
    if rows or batch_rows is None:
        sink(columns)
    return unmapped


def load_customers(conn: Connection) -> pd.DataFrame:
    """The active golden records as the engine's customer list: `customer_id` and the
    ATTRIBUTES (so customers without interactions get a profile too, as prospects)."""
    g = golden_records.c
    rows = conn.execute(
        sa.select(g.golden_id, g.record)
        .where(g.status == GoldenStatus.ACTIVE)
        .order_by(g.golden_id)
    )
    data: dict[str, list[Any]] = {"customer_id": [], **{a: [] for a in ATTRIBUTES}}
    for golden_id, record in rows:
        data["customer_id"].append(golden_id)
        for name in ATTRIBUTES:
            data[name].append((record or {}).get(name))
    return pd.DataFrame(data, dtype=object)


def _jsonable(value: Any) -> Any:
    """A frame cell as plain JSON: NaN and NaT as null, numpy scalars as Python numbers,
    timestamps as ISO text, arrays as lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _number(value: Any, digits: int | None = None) -> float | None:
    value = _jsonable(value)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return round(float(value), digits) if digits is not None else float(value)


def _profiles(analysis: Analysis, run_id: int, as_of: dt.date) -> list[dict[str, Any]]:
    frame = analysis.customers
    extra = [c for c in frame.columns if c not in _STORED]
    records = frame.to_dict("records")
    return [
        {
            "golden_id": str(r["customer_id"]),
            "run_id": run_id,
            "as_of": as_of,
            "recency_days": _number(r["recency_days"], 4),
            "frequency": int(_number(r["frequency"]) or 0),
            "monetary": _number(r["monetary"], 4),
            "revenue": _number(r["revenue"], 4),
            "profit": _number(r["profit"], 4),
            "clv_12m": _number(r["clv_12m"], 4),
            "p_alive": _number(r["p_alive"], 6),
            "churn_risk": _number(r["churn_risk"], 6),
            "churn_reasons": str(r["churn_reasons"] or ""),
            "stage": str(r["stage"]),
            "customer_type": str(r["customer_type"]),
            "rfm_segment": None if r["rfm_segment"] is None else str(r["rfm_segment"]),
            "next_best_offers": str(r["next_best_offers"] or ""),
            "traits": {name: _jsonable(r[name]) for name in extra},
        }
        for r in records
    ]


def _members(analysis: Analysis, customers: pd.DataFrame) -> list[dict[str, Any]]:
    """Each customer's segment in every segmentation the engine valued."""
    ids = analysis.customers["customer_id"].astype(str)
    attrs = customers.assign(customer_id=customers["customer_id"].astype(str))
    attrs = attrs.drop_duplicates("customer_id").set_index("customer_id")
    rows: list[dict[str, Any]] = []
    for name in analysis.segments["segmentation"].drop_duplicates():
        if name in _COLUMN_OF:
            labels = analysis.customers[_COLUMN_OF[name]].astype(str)
        elif name in attrs:
            labels = attrs[name].reindex(ids).fillna("unknown").astype(str)
        else:  # a segmentation the store does not know how to list: values only
            continue
        rows.extend(
            {"segmentation": str(name), "segment": s, "golden_id": g}
            for g, s in zip(ids, labels.to_numpy(), strict=True)
        )
    return rows


def _segments(analysis: Analysis, run_id: int) -> list[dict[str, Any]]:
    return [
        {
            "segmentation": str(r["segmentation"]),
            "segment": str(r["segment"]),
            "run_id": run_id,
            "customers": int(r["customers"]),
            "customers_share": _number(r["customers_share"]) or 0.0,
            "revenue_share": _number(r["revenue_share"]) or 0.0,
            "profit_share": _number(r["profit_share"]) or 0.0,
            "revenue": _number(r["revenue"], 4) or 0.0,
            "profit": _number(r["profit"], 4) or 0.0,
        }
        for r in analysis.segments.to_dict("records")
    ]


def _insert(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _CHUNK:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)


def _stage_changes(
    conn: Connection, stages: Mapping[str, str], run_id: int, as_of: dt.date
) -> list[dict[str, Any]]:
    """A history row for each customer whose stage differs from its latest recorded one."""
    h = stage_history.c
    latest = sa.select(sa.func.max(h.id).label("id")).group_by(h.golden_id).subquery()
    current = dict(
        conn.execute(sa.select(h.golden_id, h.stage).join(latest, latest.c.id == h.id)).all()
    )
    return [
        {"golden_id": gid, "stage": stage, "entered_at": as_of, "run_id": run_id}
        for gid, stage in stages.items()
        if current.get(gid) != stage
    ]


def _note(analysis: Analysis) -> str:
    model = analysis.churn_model
    purchases = f"purchases: {describe_purchase_model(analysis.bgnbd)}"
    if model is None:
        return f"churn: rules (too little history); {purchases}"
    return f"churn: gradient boosting on {model.rows:,} snapshots; {purchases}"


def _write(
    conn: Connection,
    analysis: Analysis,
    customers: pd.DataFrame,
    run_id: int,
    as_of: dt.date,
    audiences: Sequence[AudienceConfig] = (),
) -> tuple[int, list[AudienceChange]]:
    """Replace the previous run's results with this one's; append stage changes; recompute
    the audiences on the new profiles (hub.analyse.audiences)."""
    for table in (customer_profiles, segment_values, segment_members, profit_lorenz):
        conn.execute(table.delete())
    profiles = _profiles(analysis, run_id, as_of)
    _insert(conn, customer_profiles, profiles)
    _insert(conn, segment_values, _segments(analysis, run_id))
    _insert(conn, segment_members, _members(analysis, customers))
    curve = analysis.lorenz.to_dict("records")
    _insert(
        conn,
        profit_lorenz,
        (
            {
                "point": n,
                "run_id": run_id,
                "customer_share": float(p["customers_share"]),
                "profit_share": _number(p["value_share"]) or 0.0,
            }
            for n, p in enumerate(curve, start=1)
        ),
    )
    changes = _stage_changes(conn, {p["golden_id"]: p["stage"] for p in profiles}, run_id, as_of)
    _insert(conn, stage_history, changes)
    moved = recompute(conn, audiences, profile_frame(profiles), run_id) if audiences else []
    return len(changes), moved


def analyse_store(
    config: HubConfig,
    store: Store,
    *,
    as_of: dt.date | None = None,
    horizon_days: int | None = None,
    actor: str = "crmhub analyse",
    progress: Callable[[str], None] = lambda _: None,
    spec: AnalysisSpec | None = None,
    engine: Engine | None = None,
) -> AnalyseSummary:
    """Analyse the store's interactions as of `as_of` (only what happened before that day;
    default today, UTC) and persist the results atomically. `horizon_days` (the churn
    question: no purchase in that many days) defaults to hub.yaml's `analytics.horizon_days`.
    The engine runs on `engine` (default: the one hub.yaml's `analytics.engine` names);
    whichever runs it, the results are written by the same code.

    Raises LockError while another analysis of this store runs; HubError for a bad horizon
    or when the engine cannot run (pyspark missing).
    """
    engine = engine or choose_engine(config)
    spec = spec or spec_from_config(config.analytics)  # hub.yaml's traits, margins, costs
    check_audiences(config, spec)  # an unknown trait is refused before the run, by key path
    check_worklists(config, spec)  # in a worklist rule too
    if horizon_days is None:
        horizon_days = spec.churn.horizon_days
    if horizon_days < 1:
        raise HubError("--horizon-days must be at least 1")
    day = as_of or now().date()
    with hub_lock(store, LOCK):
        with store.transaction() as conn:
            inserted = conn.execute(
                analysis_runs.insert().values(
                    status=RunStatus.RUNNING,
                    actor=actor,
                    started_at=now(),
                    pid=os.getpid(),
                    as_of=day,
                    horizon_days=horizon_days,
                    rejected={},
                )
            ).inserted_primary_key
            assert inserted is not None
            run_id = int(inserted[0])
        try:
            summary = _run(
                store, run_id, day, horizon_days, progress, spec, config.audiences, engine
            )
        except BaseException as exc:
            with store.transaction() as conn:
                conn.execute(
                    analysis_runs.update()
                    .where(analysis_runs.c.id == run_id)
                    .values(status=RunStatus.FAILED, finished_at=now(), error=one_line(exc))
                )
            raise
        try:
            with store.transaction() as conn:  # the proactive worklist on the new profiles
                worklist = generate_worklists(conn, config.worklists, day)
        except Exception as exc:  # the analysis stands; the run says the worklist failed
            problem = f"worklist rules failed: {one_line(exc)}"
            with store.transaction() as conn:
                conn.execute(
                    analysis_runs.update().where(analysis_runs.c.id == run_id).values(error=problem)
                )
            raise HubError(f"{problem} (the analysis itself succeeded: run {run_id})") from exc
    return replace(summary, worklist=tuple(worklist))


def _run(
    store: Store,
    run_id: int,
    day: dt.date,
    horizon_days: int,
    progress: Callable[[str], None],
    spec: AnalysisSpec | None,
    audiences: Sequence[AudienceConfig] = (),
    engine: Engine | None = None,
) -> AnalyseSummary:
    progress(STEPS[0])
    spec = with_horizon(spec or AnalysisSpec(), horizon_days)
    engine = engine or Engine()
    if engine.name == "spark":
        analysis, customers, read, unmapped = _on_spark(store, engine, day, spec, progress)
    else:
        with store.engine.connect() as conn:
            raw, unmapped = load_interactions(conn)
            customers = load_customers(conn)
        read = len(raw)
        analysis = run_engine(raw, str(day), spec, customers=customers, progress=progress)
    progress(STEPS[-1])
    note = _note(analysis)
    rejected = {str(k): int(v) for k, v in analysis.rejected.items()}
    with store.transaction() as conn:
        changes, moved = _write(conn, analysis, customers, run_id, day, audiences)
        conn.execute(
            analysis_runs.update()
            .where(analysis_runs.c.id == run_id)
            .values(
                status=RunStatus.SUCCEEDED,
                finished_at=now(),
                customers=len(analysis.customers),
                interactions=read + unmapped,
                unmapped=unmapped,
                rejected=rejected,
                note=note,
            )
        )
    return AnalyseSummary(
        run_id=run_id,
        as_of=day,
        customers=len(analysis.customers),
        interactions=read + unmapped,
        unmapped=unmapped,
        rejected=rejected,
        at_risk=int((analysis.customers["stage"] == "at risk").sum()),
        stage_changes=changes,
        segments=len(analysis.segments),
        note=note,
        audiences=tuple(moved),
        engine=engine.name,
        master=engine.master if engine.name == "spark" else "",
    )


def _on_spark(
    store: Store,
    engine: Engine,
    day: dt.date,
    spec: AnalysisSpec,
    progress: Callable[[str], None],
) -> tuple[Analysis, pd.DataFrame, int, int]:
    """The engine on Spark: the interactions written to Parquet in batches by the driver
    (hub.analyse.parquet) and read by Spark; the customer list (one row per active golden
    record: its id and ATTRIBUTES) stays on the driver, as the per-customer results do.
    Returns the analysis, the customer list, and the interactions read and unmapped."""
    from hub.analyse.parquet import write_interactions

    backend = engine.backend()  # pyspark missing: HubError before the store is read
    path = engine.folder / "interactions.parquet"
    try:
        with store.engine.connect() as conn:
            read, unmapped = write_interactions(conn, path)
            customers = load_customers(conn)
        source = backend.spark.read.parquet(str(path))
        as_of = pd.Timestamp(str(day))
        progress("preparing interactions")
        prepared = backend.prepare(source, spec, as_of, customers["customer_id"].astype(str))
        try:
            analysis = run_engine(
                prepared, str(day), spec, customers=customers, backend=backend, progress=progress
            )
        finally:
            backend.release(prepared)
    finally:
        engine.clear()
    return analysis, customers, read, unmapped
