"""The read side of `crmhub analyse`: what the last run found, as plain JSON-ready values.

Every function takes an open SQLAlchemy `Connection` and returns dicts, lists and numbers
(money as floats, dates as ISO text), so the API can return them as they are and the pages
can chart them. The tables hold the latest run only (replaced by each run), except the
append-only `stage_history`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analytics.lifecycle import STAGES
from hub.core.clock import as_utc
from hub.core.states import RunStatus
from hub.store.tables import (
    analysis_runs,
    customer_profiles,
    golden_records,
    profit_lorenz,
    stage_history,
)
from hub.store.tables import segment_members as members_table
from hub.store.tables import segment_values as values_table

__all__ = [
    "last_run",
    "lorenz_points",
    "profile",
    "risk_distribution",
    "segment_members",
    "segment_values",
    "segmentations",
    "stage_funnel",
    "value_deciles",
]

NO_GOLDEN_ID = "no_golden_id"
"""The `rejected` key of interactions whose customer record has no golden id (yet)."""
_MAX_BINS = 100


def _money(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _iso(value: dt.date | dt.datetime | str | None) -> str | None:
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat()
    return value.isoformat() if isinstance(value, dt.date) else value


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(";") if part.strip()]


def _display_name(record: dict[str, Any] | None) -> str:
    """A golden record's name as people read it: given + family, else full or company name."""
    record = record or {}
    joined = " ".join(p for p in (record.get("given_name"), record.get("family_name")) if p)
    return joined or record.get("full_name") or record.get("organization_name") or ""


def last_run(conn: Connection) -> dict[str, Any] | None:
    """The latest successful analysis run: when, as of which day, how many customers and
    interactions, what was left out and why (`rejected`: reason -> count, including the
    interactions without a golden id) and how churn risk was scored (`note`)."""
    r = analysis_runs.c
    row = conn.execute(
        sa.select(analysis_runs)
        .where(r.status == RunStatus.SUCCEEDED)
        .order_by(r.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    rejected = {str(k): int(v) for k, v in (row.rejected or {}).items()}
    if row.unmapped:
        rejected[NO_GOLDEN_ID] = int(row.unmapped)
    return {
        "id": row.id,
        "as_of": _iso(row.as_of),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "horizon_days": row.horizon_days,
        "customers": row.customers,
        "interactions": row.interactions,
        "unmapped": row.unmapped,
        "rejected": rejected,
        "note": row.note or "",
    }


def profile(conn: Connection, golden_id: str) -> dict[str, Any] | None:
    """One customer's profile from the last run, with its stage history (oldest first),
    or None when the last run did not see this golden id."""
    p, r = customer_profiles.c, analysis_runs.c
    row = conn.execute(
        sa.select(customer_profiles, r.note)
        .join(analysis_runs, r.id == p.run_id, isouter=True)
        .where(p.golden_id == golden_id)
    ).first()
    if row is None:
        return None
    h = stage_history.c
    history = [
        {"stage": s.stage, "entered_at": _iso(s.entered_at)}
        for s in conn.execute(
            sa.select(h.stage, h.entered_at).where(h.golden_id == golden_id).order_by(h.id)
        )
    ]
    return {
        "golden_id": row.golden_id,
        "as_of": _iso(row.as_of),
        "recency_days": row.recency_days,
        "frequency": row.frequency,
        "monetary": _money(row.monetary),
        "revenue": _money(row.revenue),
        "profit": _money(row.profit),
        "clv_12m": _money(row.clv_12m),
        "p_alive": row.p_alive,
        "churn_risk": row.churn_risk,
        "churn_reasons": _split(row.churn_reasons),
        "stage": row.stage,
        "customer_type": row.customer_type,
        "rfm_segment": row.rfm_segment,
        "next_best_offers": _split(row.next_best_offers),
        "traits": dict(row.traits or {}),
        "stage_history": history,
        "note": row.note or "",
    }


def segmentations(conn: Connection) -> list[str]:
    """The segmentations the last run valued (customer_type, rfm, stage, attributes…)."""
    s = values_table.c
    return [
        name
        for (name,) in conn.execute(sa.select(s.segmentation).distinct().order_by(s.segmentation))
    ]


def segment_values(conn: Connection, segmentation: str) -> list[dict[str, Any]]:
    """Each segment of `segmentation`: customers and their share against the share of
    revenue and operating profit, money-losing segments flagged; largest profit first."""
    s = values_table.c
    rows = conn.execute(
        sa.select(values_table)
        .where(s.segmentation == segmentation)
        .order_by(s.profit.desc(), s.segment)
    )
    return [
        {
            "segment": row.segment,
            "customers": row.customers,
            "customers_share": row.customers_share,
            "revenue_share": row.revenue_share,
            "profit_share": row.profit_share,
            "revenue": _money(row.revenue),
            "profit": _money(row.profit),
            "negative_profit": bool(row.profit is not None and row.profit < 0),
        }
        for row in rows
    ]


def segment_members(
    conn: Connection, segmentation: str, segment: str, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """The customers in one segment, most profitable first: golden id, name, stage, type,
    churn risk, 12-month value and profit."""
    m, p, g = members_table.c, customer_profiles.c, golden_records.c
    query = (
        sa.select(m.golden_id, g.record, p.stage, p.customer_type, p.churn_risk, p.clv_12m)
        .add_columns(p.profit)
        .join(customer_profiles, p.golden_id == m.golden_id, isouter=True)
        .join(golden_records, g.golden_id == m.golden_id, isouter=True)
        .where(m.segmentation == segmentation, m.segment == segment)
        .order_by(sa.func.coalesce(p.profit, 0).desc(), m.golden_id)
    )
    if limit is not None:
        query = query.limit(max(int(limit), 0))
    return [
        {
            "golden_id": row.golden_id,
            "name": _display_name(row.record),
            "stage": row.stage,
            "customer_type": row.customer_type,
            "churn_risk": row.churn_risk,
            "clv_12m": _money(row.clv_12m),
            "profit": _money(row.profit),
        }
        for row in conn.execute(query)
    ]


def stage_funnel(conn: Connection) -> list[dict[str, Any]]:
    """Customers per lifecycle stage, in lifecycle order (prospect, new, repeat, expanding,
    at risk, lapsed); every stage present, zero when empty."""
    p = customer_profiles.c
    counts: dict[str, int] = dict(
        conn.execute(sa.select(p.stage, sa.func.count()).group_by(p.stage)).all()
    )
    stages = [*STAGES, *sorted(set(counts) - set(STAGES))]  # an engine's new stage too
    return [{"stage": stage, "customers": int(counts.get(stage, 0))} for stage in stages]


def risk_distribution(conn: Connection, bins: int = 10) -> list[dict[str, Any]]:
    """Customers per band of churn risk: `bins` equal bands over [0, 1] (the last one
    closed), every band present; customers without a score (prospects) are not counted."""
    bins = min(max(int(bins), 1), _MAX_BINS)
    risk = customer_profiles.c.churn_risk
    cuts = [(risk < (k + 1) / bins, k) for k in range(bins - 1)]
    band = (sa.case(*cuts, else_=bins - 1) if cuts else sa.literal(0)).label("band")
    counts: dict[int, int] = dict(
        conn.execute(sa.select(band, sa.func.count()).where(risk.is_not(None)).group_by(band)).all()
    )
    return [
        {"low": k / bins, "high": (k + 1) / bins, "customers": int(counts.get(k, 0))}
        for k in range(bins)
    ]


def value_deciles(conn: Connection) -> list[dict[str, Any]]:
    """Customers in ten equal groups by operating profit, decile 1 the most profitable:
    customers, revenue, profit and the share of all profit per decile (all ten present)."""
    p = customer_profiles.c
    profit = sa.func.coalesce(p.profit, 0)
    ranked = sa.select(
        sa.func.ntile(10).over(order_by=(profit.desc(), p.golden_id)).label("decile"),
        sa.func.coalesce(p.revenue, 0).label("revenue"),
        profit.label("profit"),
    ).subquery()
    rows = {
        row.decile: row
        for row in conn.execute(
            sa.select(
                ranked.c.decile,
                sa.func.count().label("customers"),
                sa.func.sum(ranked.c.revenue).label("revenue"),
                sa.func.sum(ranked.c.profit).label("profit"),
            ).group_by(ranked.c.decile)
        )
    }
    total = sum(float(r.profit or 0) for r in rows.values())
    out = []
    for decile in range(1, 11):
        row = rows.get(decile)
        value = float(row.profit or 0) if row is not None else 0.0
        revenue = float(row.revenue or 0) if row is not None else 0.0
        out.append(
            {
                "decile": decile,
                "customers": int(row.customers) if row is not None else 0,
                "revenue": round(revenue, 4),
                "profit": round(value, 4),
                "profit_share": value / total if total else 0.0,
            }
        )
    return out


def lorenz_points(conn: Connection) -> list[tuple[float, float]]:
    """The profit concentration curve: (share of customers, most profitable first; share of
    all profit they bring), from (0, 0); empty before the first run."""
    z = profit_lorenz.c
    points = [
        (float(a), float(b))
        for a, b in conn.execute(sa.select(z.customer_share, z.profit_share).order_by(z.point))
    ]
    return [(0.0, 0.0), *points] if points else []
