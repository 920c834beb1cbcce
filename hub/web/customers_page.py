"""The customers page: browse every golden record (paged, sorted, filtered by source and
kind) or search them by name, e-mail, phone or source id (paged, with the total)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hub.steward import BROWSE_SORTS, User, browse_customers, search_page
from hub.store.tables import connector_runs
from hub.web.render import render
from hub.web.security import Hub, get_hub, require

__all__ = ["PAGE_SIZE", "router"]

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]
PAGE_SIZE = 20
MAX_SIZE = 100
SIZES = (20, 50, 100)
KINDS = ("person", "organization")


def matched_on(matched: str) -> str:
    """What a search hit matched, for the score's label: `name: Anna K` → `name`."""
    field, sep, _ = matched.partition(":")
    return field.strip() if sep else "text"


@router.get("/customers", response_class=HTMLResponse)
def customers(
    request: Request,
    hub: HubDep,
    user: Viewer,
    q: str = "",
    source: str = "",
    kind: str = "",
    sort: str = "name",
    order: str = "asc",
    page: int = 1,
    size: int = PAGE_SIZE,
) -> HTMLResponse:
    page = max(page, 1)
    size = min(max(size, 1), MAX_SIZE)
    offset = (page - 1) * size
    sort = sort if sort in BROWSE_SORTS else "name"
    descending = order == "desc"
    with hub.read() as conn:
        sources = list(
            conn.execute(  # the synced systems (a small table, unlike the crosswalk)
                sa.select(connector_runs.c.connector)
                .distinct()
                .order_by(connector_runs.c.connector)
            )
            .scalars()
            .all()
        )
        if q.strip():
            found = search_page(conn, q, limit=size, offset=offset)
            context = {
                "hits": found.hits,
                "total": found.total,
                "capped": found.capped,
                "query": urlencode({"q": q, "size": size}),
            }
        else:
            listed = browse_customers(
                conn,
                sort=sort,
                descending=descending,
                source=source or None,
                kind=kind or None,
                limit=size,
                offset=offset,
            )
            context = {
                "rows": listed.rows,
                "total": listed.total,
                "capped": False,
                "query": urlencode(
                    {"source": source, "kind": kind, "sort": sort, "order": order, "size": size}
                ),
            }
    total = int(context["total"])  # type: ignore[call-overload]
    return render(
        request,
        "search.html",
        user,
        q=q,
        source=source,
        kind=kind,
        sort=sort,
        order="desc" if descending else "asc",
        sorts=BROWSE_SORTS,
        kinds=KINDS,
        sources=sources,
        page=page,
        pages=max(1, -(-total // size)),
        size=size,
        sizes=SIZES,
        matched_on=matched_on,
        filtered=bool(source or kind),
        **context,
    )
