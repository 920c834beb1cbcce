"""The review pages: the queue grouped by (candidate, golden record), one group at a time
with every comparison's explanation, and the decisions (one per group, or bulk).

Every probability is shown on one scale through the `percent` filter ("93 %"); the API
(`hub.web.api`) keeps raw floats 0..1.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from hub.core.states import CandidateStatus
from hub.steward import DECISIONS, QueueFilter, User, decide_group, decide_many, list_groups
from hub.steward import review_group as load_group
from hub.steward.errors import InvalidInput
from hub.web.render import flash, render
from hub.web.security import Hub, get_hub, require

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]
Steward = Annotated[User, Depends(require("steward"))]
PAGE_SIZE = 50
BANDS = (  # (query value 0..1, label on the percent scale)
    ("0.9-1", "90 to 100 %"),
    ("0.8-0.9", "80 to 90 %"),
    ("0.7-0.8", "70 to 80 %"),
    ("0-0.7", "below 70 %"),
)


ORDERS = (  # (query value, label)
    ("impact", "most records affected"),
    ("informative", "teaches the model most"),
)


def queue_filter(
    source: str | None,
    band: str | None,
    kind: str | None,
    status: str = CandidateStatus.OPEN,
    order: str = "impact",
) -> QueueFilter:
    """The queue's filter from the page's query: a score band is `LOW-HIGH` (0..1)."""
    low, high = None, None
    if band:
        lo, _, hi = band.partition("-")
        try:
            low, high = float(lo), float(hi)
        except ValueError as exc:
            raise InvalidInput(f"score band {band!r}: use LOW-HIGH, e.g. 0.7-0.8") from exc
        if not (0 <= low <= high <= 1):
            raise InvalidInput(f"score band {band!r}: both ends between 0 and 1, low first")
    return QueueFilter(
        source=source or None,
        min_score=low,
        max_score=high,
        kind=kind or None,
        status=status,
        order=order or "impact",
    )


def _unpack(query: str) -> tuple[str | None, str | None, str | None, str, str]:
    values = {k: v[0] for k, v in parse_qs(query).items()}
    status = values.get("status", CandidateStatus.OPEN)
    if status not in CandidateStatus.undecided():
        status = CandidateStatus.OPEN
    order = values.get("order", "impact")
    if order not in dict(ORDERS):
        order = "impact"
    return values.get("source"), values.get("band"), values.get("kind"), status, order


@router.get("/review", response_class=HTMLResponse)
def review_list(
    request: Request,
    hub: HubDep,
    user: Viewer,
    source: str = "",
    band: str = "",
    kind: str = "",
    status: str = CandidateStatus.OPEN,
    order: str = "impact",
    page: int = 1,
) -> HTMLResponse:
    status = status if status in CandidateStatus.undecided() else CandidateStatus.OPEN
    flt = queue_filter(source, band, kind, status, order)
    page = max(page, 1)
    with hub.read() as conn:
        groups, total = list_groups(conn, flt, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    query = urlencode(
        {"source": source, "band": band, "kind": kind, "status": status, "order": flt.order}
    )
    return render(
        request,
        "review_list.html",
        user,
        groups=groups,
        total=total,
        pairs_on_page=sum(g["pair_count"] for g in groups),
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        source=source,
        band=band,
        bands=BANDS,
        kind=kind,
        status=status,
        order=flt.order,
        orders=ORDERS,
        query=query,
    )


@router.get("/review/{item_id}", response_class=HTMLResponse)
def review_item(
    request: Request, item_id: int, hub: HubDep, user: Viewer, q: str = ""
) -> HTMLResponse:
    with hub.read() as conn:
        group = load_group(conn, hub.settings, item_id)
    return render(request, "review_cluster.html", user, g=group, decisions=DECISIONS, query=q)


@router.post("/review/{item_id}/decision")
def review_decide(
    item_id: int,
    hub: HubDep,
    user: Steward,
    decision: Annotated[str, Form()],
    note: Annotated[str | None, Form()] = None,
    query: Annotated[str, Form()] = "",
    pairs: Annotated[str, Form()] = "",
) -> Response:
    try:
        expected = [int(p) for p in pairs.split(",") if p.strip()] or None
    except ValueError as exc:
        raise InvalidInput("the form lost its pair list; reload the page and decide again") from exc
    with hub.write() as conn:
        result = decide_group(
            conn,
            hub.settings,
            user.actor,
            item_id,
            decision,
            note=note or None,
            expected_pairs=expected,
        )
    flt = queue_filter(*_unpack(query))
    with hub.read() as conn:
        groups, _ = list_groups(conn, flt, limit=1)
    target = f"/review/{groups[0]['id']}?q={quote(query)}" if groups else f"/review?{query}"
    return flash(target, f"{result.summary} (action {result.action_id})")


@router.post("/review/bulk")
def review_bulk(
    hub: HubDep,
    user: Steward,
    decision: Annotated[str, Form()],
    source: Annotated[str, Form()] = "",
    band: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
) -> Response:
    flt = queue_filter(source, band, kind)
    outcome = decide_many(hub.write, hub.settings, user.actor, flt, decision)
    msg = (
        f"{outcome['groups']} group{'' if outcome['groups'] == 1 else 's'} decided "
        f"({outcome['decided']} pair{'' if outcome['decided'] == 1 else 's'}, {decision})"
    )
    meanwhile = len(outcome["conflicts"]) - outcome["refused"]
    if meanwhile:
        msg += f", {meanwhile} skipped: decided by someone else meanwhile"
    if outcome["refused"]:
        msg += (
            f", {outcome['refused']} match{'' if outcome['refused'] == 1 else 'es'} refused: "
            "an earlier 'not a match' stands (open the group to see it and undo it)"
        )
    return flash("/review?" + urlencode({"source": source, "band": band, "kind": kind}), msg)
