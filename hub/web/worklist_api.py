"""The REST API of logged contacts and the worklist.

`POST /api/customers/{id}/contacts` logs a call, visit, note or complaint (and opens its
call-back item); `GET /api/worklist` pages the items of one owner or everyone; `POST
/api/worklist/{item}/assign|snooze|done` move an item on. Reading needs the viewer role,
every change steward; each change is one transaction and one audit entry. Days are in the
hub's time zone, UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.steward import User
from hub.steward.contacts import ContactIn, check_owner, log_contact
from hub.steward.worklist import (
    DUE_FILTERS,
    ITEM_KINDS,
    PAGE_SIZE,
    assign_item,
    complete_item,
    list_worklist,
    snooze_item,
)
from hub.web import brief
from hub.web.responses import JSON_200, json_response
from hub.web.security import Hub, get_hub, require

__all__ = ["AssignIn", "DoneIn", "SnoozeIn", "router"]

router = APIRouter(prefix="/api", tags=["worklist"])
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]
Steward = Annotated[User, Depends(require("steward"))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    version: int | None = Field(
        None, description="the item's version you saw; 409 if it changed since"
    )


class AssignIn(_Body):
    owner: str = Field(min_length=1, max_length=100)


class SnoozeIn(_Body):
    until: dt.date = Field(description="a day after today (UTC): the item is due then")


class DoneIn(_Body):
    outcome: str = Field(min_length=1, max_length=100, description="shown on the timeline")
    kind: Literal["call", "visit", "note"] = "call"
    note: str | None = Field(None, max_length=4000)


@router.post("/customers/{golden_id}/contacts", status_code=201)
def contacts_log(golden_id: str, body: ContactIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Log a call, visit, note or complaint on a customer: an interaction of source `hub`
    (`interaction_id` `hub/<uuid>`) on their timeline; with `call_back_on` (today or later,
    UTC) also a worklist item for `call_back_owner` (default: you). 404 for an unknown
    customer, 422 naming the field for bad input."""
    with hub.write() as conn:
        logged = log_contact(conn, user.actor, golden_id, body)
    return {
        "interaction_id": logged.interaction_id,
        "golden_id": logged.golden_id,
        "worklist_item": logged.worklist_item,
        "summary": logged.summary,
    }


@router.get("/worklist", responses=JSON_200)
def worklist(
    hub: HubDep,
    user: Viewer,
    owner: Annotated[
        str | None,
        Query(max_length=100, description="a user name, or `all`; default: your own items"),
    ] = None,
    due: Annotated[
        str, Query(description=f"{', '.join(DUE_FILTERS)} or a day YYYY-MM-DD (UTC)")
    ] = "all",
    status: Literal["open", "done"] = "open",
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
    kind: Annotated[
        str | None, Query(description=f"only one kind: {', '.join(ITEM_KINDS)}")
    ] = None,
) -> Response:
    """A page of worklist items, soonest due first: `items` (customer, topic, reason,
    channel, owner, due_on, overdue, status, outcome, version, …), `total`, `page`, `pages`,
    `today` and `timezone` (UTC)."""
    who = user.username if owner is None else (None if owner == "all" else owner)
    with hub.read() as conn:
        found = list_worklist(
            conn, owner=who, due=due, status=status, page=page, size=size, kind=kind
        )
    return json_response(found.as_json())


@router.post("/worklist/{item_id}/assign")
def worklist_assign(item_id: int, body: AssignIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Give the item to another steward or admin."""
    with hub.write() as conn:
        owner = check_owner(conn, body.owner, "owner")
        summary = assign_item(conn, user.actor, item_id, owner, body.version)
    return {"item": item_id, "owner": owner, "summary": summary}


@router.post("/worklist/{item_id}/snooze")
def worklist_snooze(item_id: int, body: SnoozeIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Put the item off until a later day."""
    with hub.write() as conn:
        summary = snooze_item(conn, user.actor, item_id, body.until, body.version)
    return {"item": item_id, "due_on": body.until.isoformat(), "summary": summary}


@router.post("/worklist/{item_id}/done")
def worklist_done(item_id: int, body: DoneIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Mark the item done: the outcome becomes an interaction on the customer's timeline."""
    with hub.write() as conn:
        interaction_id, summary = complete_item(
            conn,
            user.actor,
            item_id,
            body.outcome,
            kind=body.kind,
            note=body.note,
            version=body.version,
        )
    return {"item": item_id, "interaction_id": interaction_id, "summary": summary}


router.include_router(brief.api_router)  # the field-service brief and visit reports
