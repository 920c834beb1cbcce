"""The analytics API (`/api/analytics/...`): what the last `crmhub analyse` found.

Read-only, viewer role: the last run, a customer's profile (value, lifetime value, churn
risk with its reasons, stage and its history, type, next best offers), the segmentations
and the value of their segments, a segment's members as JSON or CSV, the lifecycle funnel,
the churn-risk distribution, value deciles and the profit Lorenz curve. Before the first
run the collections are empty and the single items answer 404.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from hub.analyse import queries
from hub.core.files import neutralise
from hub.steward import User
from hub.web.security import Hub, get_hub, require

__all__ = ["MEMBER_COLUMNS", "router"]

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]

MEMBER_COLUMNS = (
    "golden_id", "name", "stage", "customer_type", "churn_risk", "clv_12m", "profit",
)  # fmt: skip


class Run(BaseModel):
    id: int
    as_of: str
    started_at: str | None
    finished_at: str | None
    horizon_days: int
    customers: int
    interactions: int
    unmapped: int
    rejected: dict[str, int]
    note: str


class StageEntry(BaseModel):
    stage: str
    entered_at: str


class Profile(BaseModel):
    golden_id: str
    as_of: str
    recency_days: float | None
    frequency: int
    monetary: float | None
    revenue: float | None
    profit: float | None
    clv_12m: float | None
    p_alive: float | None
    churn_risk: float | None
    churn_reasons: list[str]
    stage: str
    customer_type: str
    rfm_segment: str | None
    next_best_offers: list[str]
    traits: dict[str, Any]
    stage_history: list[StageEntry]
    note: str


class Segment(BaseModel):
    segment: str
    customers: int
    customers_share: float
    revenue_share: float
    profit_share: float
    revenue: float | None
    profit: float | None
    negative_profit: bool


class Segments(BaseModel):
    segmentation: str
    segments: list[Segment]


class Member(BaseModel):
    golden_id: str
    name: str
    stage: str | None
    customer_type: str | None
    churn_risk: float | None
    clv_12m: float | None
    profit: float | None


class Members(BaseModel):
    segmentation: str
    segment: str
    members: list[Member]


class Stage(BaseModel):
    stage: str
    customers: int


class RiskBand(BaseModel):
    low: float
    high: float
    customers: int


class Decile(BaseModel):
    decile: int
    customers: int
    revenue: float
    profit: float
    profit_share: float


@router.get("/runs/last", response_model=Run)
def last_run(hub: HubDep, _user: Viewer) -> dict[str, Any]:
    """The last successful analysis: as of which day, how many customers and interactions,
    what was left out and why, and whether churn risk came from a model or from rules."""
    with hub.read() as conn:
        run = queries.last_run(conn)
    if run is None:
        raise HTTPException(404, "no analysis yet: run `crmhub analyse`")
    return run


@router.get("/customers/{golden_id}", response_model=Profile)
def customer_profile(golden_id: str, hub: HubDep, _user: Viewer) -> dict[str, Any]:
    """One customer's profile from the last analysis, with its stage history."""
    with hub.read() as conn:
        found = queries.profile(conn, golden_id)
    if found is None:
        raise HTTPException(
            404, f"no profile for {golden_id}: not a golden id of the last `crmhub analyse`"
        )
    return found


@router.get("/segmentations")
def segmentations(hub: HubDep, _user: Viewer) -> dict[str, list[str]]:
    """The segmentations the last analysis valued (customer_type, rfm, stage, …)."""
    with hub.read() as conn:
        return {"segmentations": queries.segmentations(conn)}


def _known(conn: Any, segmentation: str) -> None:
    names = queries.segmentations(conn)
    if segmentation not in names:
        raise HTTPException(
            404, f"no segmentation {segmentation!r}; known: {', '.join(names) or 'none yet'}"
        )


@router.get("/segments/{segmentation}", response_model=Segments)
def segment_values(segmentation: str, hub: HubDep, _user: Viewer) -> dict[str, Any]:
    """Share of customers against share of revenue and operating profit per segment,
    money-losing segments flagged; largest profit first."""
    with hub.read() as conn:
        _known(conn, segmentation)
        return {
            "segmentation": segmentation,
            "segments": queries.segment_values(conn, segmentation),
        }


@router.get(
    "/segments/{segmentation}/{segment}/members",
    response_model=Members,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def segment_members(
    segmentation: str,
    segment: str,
    hub: HubDep,
    _user: Viewer,
    format: Literal["json", "csv"] = "json",
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Any:
    """A segment's customers, most profitable first, as JSON or as a CSV download (text
    cells a spreadsheet would run as formulas are neutralised with a leading ')."""
    with hub.read() as conn:
        _known(conn, segmentation)
        members = queries.segment_members(conn, segmentation, segment, limit=limit)
    if format == "json":
        return {"segmentation": segmentation, "segment": segment, "members": members}

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow(MEMBER_COLUMNS)
        for row in members:
            out.writerow([neutralise(row[c]) for c in MEMBER_COLUMNS])
            if buffer.tell() > 1 << 16:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{segmentation}-{segment}")
    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="crmhub-segment-{name}.csv"'},
    )


@router.get("/funnel", response_model=list[Stage])
def funnel(hub: HubDep, _user: Viewer) -> list[dict[str, Any]]:
    """Customers per lifecycle stage, in lifecycle order (prospect … lapsed)."""
    with hub.read() as conn:
        return queries.stage_funnel(conn)


@router.get("/risk", response_model=list[RiskBand])
def risk(
    hub: HubDep, _user: Viewer, bins: Annotated[int, Query(ge=1, le=100)] = 10
) -> list[dict[str, Any]]:
    """Customers per equal band of churn risk (probability of no purchase in the horizon)."""
    with hub.read() as conn:
        return queries.risk_distribution(conn, bins)


@router.get("/deciles", response_model=list[Decile])
def deciles(hub: HubDep, _user: Viewer) -> list[dict[str, Any]]:
    """Customers in ten groups by operating profit (1 = most profitable) and their share."""
    with hub.read() as conn:
        return queries.value_deciles(conn)


@router.get("/lorenz")
def lorenz(hub: HubDep, _user: Viewer) -> dict[str, list[tuple[float, float]]]:
    """The profit concentration curve: (share of customers, most profitable first; share
    of all profit they bring)."""
    with hub.read() as conn:
        return {"points": queries.lorenz_points(conn)}
