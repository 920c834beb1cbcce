"""The REST API behind the home, quarantine and customers-list pages (viewer role and up):
`GET /api/dashboard`, `GET /api/quarantine`, `GET /api/customers/browse`.

Registered before hub.web.api's router, whose `/api/customers/{golden_id}` would otherwise
take `browse` for a golden id.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from hub.steward import User, browse_customers, dashboard, list_quarantine
from hub.web.security import Hub, get_hub, require

__all__ = ["router"]

router = APIRouter(prefix="/api")
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]


@router.get("/dashboard", tags=["dashboard"])
def hub_dashboard(hub: HubDep, _user: Viewer) -> dict[str, Any]:
    """Per-source counts and last runs, quarantine, review queue, golden records, merges."""
    with hub.read() as conn:
        return asdict(dashboard(conn))


@router.get("/quarantine", tags=["dashboard"])
def quarantine_rows(
    hub: HubDep,
    _user: Viewer,
    source: str | None = None,
    stage: str | None = None,
    text: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Open quarantine rows (raw text and reason), newest first, with the total."""
    with hub.read() as conn:
        found = list_quarantine(
            conn, source=source, stage=stage, text=text, limit=limit, offset=offset
        )
    return asdict(found)


@router.get("/customers/browse", tags=["customers"])
def customers_browse(
    hub: HubDep,
    _user: Viewer,
    sort: Literal["name", "city", "sources", "updated"] = "name",
    order: Literal["asc", "desc"] = "asc",
    source: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Every active golden record, paged and sorted, filtered by source and kind."""
    with hub.read() as conn:
        found = browse_customers(
            conn,
            sort=sort,
            descending=order == "desc",
            source=source,
            kind=kind,
            limit=limit,
            offset=offset,
        )
    return asdict(found)
