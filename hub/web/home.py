"""The home page (the steward's operational dashboard) and the quarantine page.

Every figure on the dashboard links to the page where one acts on it: a source's records to
the customers list filtered by that source, its quarantine to the quarantine page filtered
by it, the review queue to the queue, a merge to the customer it made.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.steward import User, dashboard, list_quarantine, quarantine_facets
from hub.web.render import render
from hub.web.security import Hub, get_hub, optional_user, require

__all__ = ["QUARANTINE_PAGE", "router"]

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]
QUARANTINE_PAGE = 50


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, hub: HubDep, user: Annotated[User | None, Depends(optional_user)]
) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    with hub.read() as conn:
        board = dashboard(conn)
    return render(request, "home.html", user, board=board)


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    hub: HubDep,
    user: Viewer,
    source: str = "",
    stage: str = "",
    text: str = "",
    page: int = 1,
) -> HTMLResponse:
    page = max(page, 1)
    with hub.read() as conn:
        found = list_quarantine(
            conn,
            source=source or None,
            stage=stage or None,
            text=text or None,
            limit=QUARANTINE_PAGE,
            offset=(page - 1) * QUARANTINE_PAGE,
        )
        facets = quarantine_facets(conn)
    return render(
        request,
        "quarantine.html",
        user,
        found=found,
        facets=facets,
        source=source,
        stage=stage,
        text=text,
        page=page,
        pages=max(1, -(-found.total // QUARANTINE_PAGE)),
        query=urlencode({"source": source, "stage": stage, "text": text}),
    )
