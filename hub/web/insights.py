"""The Insights page: what the last `crmhub analyse` found, as charts a colleague can read.

Segment value (% of customers against % of revenue and of profit, money-losing segments in
red), the lifecycle funnel, the churn-risk distribution, profit by value decile and the
profit concentration (Lorenz) curve; the segment table links each segment's members as CSV
and JSON (`/api/analytics/...`); the audience builder counts a rule's customers live
(`/api/analytics/audiences/count`, hub.web.audiences_api). Viewer role; read-only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hub.analyse import queries
from hub.steward import User
from hub.web import charts
from hub.web.audiences_api import known_profile_traits
from hub.web.render import render
from hub.web.security import Hub, get_hub, require

__all__ = ["OPERATOR_LABELS", "router", "stage_label"]

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]


OPERATOR_LABELS = (
    ("gte", "at least"), ("lte", "at most"), ("gt", "more than"), ("lt", "less than"),
    ("eq", "is"), ("ne", "is not"), ("in", "is one of"), ("between", "between"),
    ("is_null", "is missing (true/false)"),
)  # fmt: skip
"""The audience builder's operators, as hub.yaml names them and as the page says them."""


def stage_label(stage: str) -> str:
    """`at_risk` → `at risk`: stage names as people say them."""
    return stage.replace("_", " ")


def _charts(conn: Any, segmentation: str) -> dict[str, Any]:
    rows = queries.segment_values(conn, segmentation)
    segment_chart = charts.paired_bars(
        [(r["segment"], r["customers_share"], r["revenue_share"], r["profit_share"]) for r in rows],
        title=f"Segment value by {segmentation}",
        labels=("% of customers", "% of revenue", "% of profit"),
    )
    funnel = queries.stage_funnel(conn)
    deciles = queries.value_deciles(conn)
    return {
        "segments": rows,
        "segment_chart": segment_chart,
        "funnel_chart": charts.horizontal_bars(
            [(stage_label(r["stage"]), r["customers"]) for r in funnel],
            title="Lifecycle funnel (customers per stage)",
        ),
        "risk_chart": charts.histogram(
            [(r["low"], r["high"], r["customers"]) for r in queries.risk_distribution(conn)],
            title="Churn risk: customers per band of probability of no purchase",
        ),
        "decile_chart": charts.horizontal_bars(
            [(f"decile {r['decile']}", float(r["profit"])) for r in deciles],
            title="Operating profit per value decile (1 = most valuable)",
        ),
        "lorenz_chart": charts.lorenz_curve(
            queries.lorenz_points(conn), title="Profit concentration"
        ),
    }


@router.get("/insights", response_class=HTMLResponse)
def insights(
    request: Request, hub: HubDep, user: Viewer, segmentation: str = "customer_type"
) -> HTMLResponse:
    with hub.read() as conn:
        run = queries.last_run(conn)
        names = queries.segmentations(conn)
        if run is None:
            return render(request, "insights.html", user, run=None, names=[], segmentation="")
        if segmentation not in names and names:
            segmentation = names[0]
        context = _charts(conn, segmentation)
    return render(
        request,
        "insights.html",
        user,
        run=run,
        names=names,
        segmentation=segmentation,
        traits=known_profile_traits(hub),  # the audience builder's choices
        operators=OPERATOR_LABELS,
        **context,
    )
