"""The worklist page and the forms of logged contacts (the "Log a contact" form on the
customer page, and assign / snooze / done on the worklist). Every form posts its CSRF token
and redirects (303) back with a one-line message; days are in the hub's time zone, UTC."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from hub.core.states import Role
from hub.steward import User
from hub.steward.contacts import CHANNELS, KINDS, check_owner, contact_from_form, log_contact
from hub.steward.errors import InvalidInput
from hub.steward.worklist import (
    DONE_KINDS,
    DUE_FILTERS,
    HUB_TIMEZONE,
    ITEM_KINDS,
    PAGE_SIZE,
    assign_item,
    complete_item,
    hub_today,
    list_worklist,
    snooze_item,
)
from hub.store.tables import users
from hub.web import brief
from hub.web.render import flash, render, templates
from hub.web.security import Hub, get_hub, require

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]
Steward = Annotated[User, Depends(require("steward"))]

# the "Log a contact" form on the customer page needs these too
templates.env.globals.update(
    contact_kinds=KINDS, contact_channels=CHANNELS, hub_today=hub_today, hub_tz=HUB_TIMEZONE
)


def _back(url: str | None) -> str:
    return url if url and url.startswith("/worklist") else "/worklist"


def _owners(hub: Hub) -> list[str]:
    """The users who may own items (active stewards and admins), for the pickers."""
    u = users.c
    with hub.read() as conn:
        return list(
            conn.execute(
                sa.select(u.username)
                .where(u.active.is_(True), u.role.in_([Role.STEWARD, Role.ADMIN]))
                .order_by(u.username)
            ).scalars()
        )


@router.get("/worklist", response_class=HTMLResponse)
def worklist(
    request: Request,
    hub: HubDep,
    user: Viewer,
    owner: str = "",
    due: str = "all",
    status: str = "open",
    page: int = 1,
    kind: str = "",
) -> HTMLResponse:
    """One owner's items (default: yours; `all`: everyone's), soonest due first."""
    who = owner or user.username
    status = "done" if status == "done" else "open"
    with hub.read() as conn:
        found = list_worklist(
            conn,
            owner=None if who == "all" else who,
            due=due or "all",
            status="done" if status == "done" else "open",
            page=page,
            size=PAGE_SIZE,
            kind=kind or None,
        )

    def link(**changes: object) -> str:
        params = {"owner": who, "due": found.due, "status": status, "page": found.page}
        if kind:
            params["kind"] = kind
        params.update(changes)  # type: ignore[arg-type]
        return "/worklist?" + urlencode(params)

    return render(
        request,
        "worklist.html",
        user,
        w=found,
        who=who,
        owners=_owners(hub),
        due_filters=DUE_FILTERS,
        done_kinds=DONE_KINDS,
        item_kinds=ITEM_KINDS,
        kind=kind,
        tomorrow=found.today + dt.timedelta(days=1),
        back=link(),
        link=link,
    )


@router.post("/customers/{golden_id}/contacts")
async def contact_log(request: Request, golden_id: str, hub: HubDep, user: Steward) -> Response:
    form = await request.form()
    fields = {
        name: str(value)
        for name, value in form.items()
        if name != "csrf_token" and isinstance(value, str)
    }
    contact = contact_from_form(fields)
    with hub.write() as conn:
        logged = log_contact(conn, user.actor, golden_id, contact)
    return flash(f"/customers/{golden_id}", logged.summary)


@router.post("/worklist/{item_id}/assign")
def item_assign(
    item_id: int,
    hub: HubDep,
    user: Steward,
    owner: Annotated[str, Form()],
    version: Annotated[int, Form()],
    back: Annotated[str, Form()] = "/worklist",
) -> Response:
    with hub.write() as conn:
        chosen = check_owner(conn, owner.strip(), "owner")
        summary = assign_item(conn, user.actor, item_id, chosen, version)
    return flash(_back(back), summary)


@router.post("/worklist/{item_id}/snooze")
def item_snooze(
    item_id: int,
    hub: HubDep,
    user: Steward,
    until: Annotated[str, Form()],
    version: Annotated[int, Form()],
    back: Annotated[str, Form()] = "/worklist",
) -> Response:
    try:
        day = dt.date.fromisoformat(until.strip())
    except ValueError:
        raise InvalidInput(f"until: {until!r} is not a day; write YYYY-MM-DD") from None
    with hub.write() as conn:
        summary = snooze_item(conn, user.actor, item_id, day, version)
    return flash(_back(back), summary)


@router.post("/worklist/{item_id}/done")
def item_done(
    item_id: int,
    hub: HubDep,
    user: Steward,
    outcome: Annotated[str, Form()],
    version: Annotated[int, Form()],
    kind: Annotated[str, Form()] = "call",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/worklist",
) -> Response:
    with hub.write() as conn:
        _, summary = complete_item(
            conn, user.actor, item_id, outcome, kind=kind, note=note or None, version=version
        )
    return flash(_back(back), summary)


router.include_router(brief.page_router)  # the printable brief and its visit form
