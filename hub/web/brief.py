"""The field-service brief: a printable page per customer and per worklist item, its JSON,
and the visit report form that follows the visit.

Pages: `GET /customers/{id}/brief`, `GET /worklist/{item}/brief` (viewer; print CSS hides
the navigation and the forms), `POST /customers/{id}/visits` and `POST /worklist/{item}/visit`
(steward, CSRF-checked; redirect back to the brief with a one-line message). API: `GET
/api/customers/{id}/brief`, `GET /api/worklist/{item}/brief`, `POST /api/customers/{id}/visits`,
`POST /api/worklist/{item}/visit`. A visit is a logged contact of kind `visit` (one
interaction, one audit entry); from an item's brief it may also settle the item.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.steward import User
from hub.steward.brief import Brief, VisitReport, field_brief, record_visit
from hub.steward.errors import Conflict, InvalidInput
from hub.store.tables import golden_records
from hub.web.render import flash, render
from hub.web.responses import JSON_200, json_response
from hub.web.security import Hub, get_hub, require

__all__ = ["VisitIn", "api_router", "page_router"]

api_router = APIRouter()  # included under /api by hub.web.worklist_api
page_router = APIRouter(include_in_schema=False)  # included by hub.web.worklist_pages
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]
Steward = Annotated[User, Depends(require("steward"))]


class VisitIn(BaseModel):
    """A visit report: what was found (required) and done, a short outcome, a follow-up day."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    found: str = Field(min_length=1, max_length=200, description="what the visit found")
    done: str = Field("", max_length=4000, description="what was done (the contact's note)")
    outcome: str = Field("", max_length=100, description="how it ended, on the timeline")
    follow_up_on: str = Field("", description="a follow-up call on this day (UTC), optional")
    settles_item: bool = Field(False, description="item visits only: the item is done with it")
    version: int | None = Field(None, description="item visits only: the item's version seen")

    def report(self) -> VisitReport:
        return VisitReport(
            found=self.found,
            done=self.done,
            outcome=self.outcome,
            follow_up_on=self.follow_up_on,
            settles_item=self.settles_item,
        )


def _merged_into(hub: Hub, golden_id: str) -> str | None:
    g = golden_records.c
    with hub.read() as conn:
        row = conn.execute(
            golden_records.select().with_only_columns(g.merged_into).where(g.golden_id == golden_id)
        ).first()
    return None if row is None else row.merged_into


def _brief(hub: Hub, golden_id: str = "", item_id: int | None = None) -> Brief:
    with hub.read() as conn:
        return field_brief(conn, golden_id, item_id=item_id)


# -- API ---------------------------------------------------------------------------------


@api_router.get("/customers/{golden_id}/brief", responses=JSON_200)
def brief_json(golden_id: str, hub: HubDep, user: Viewer) -> Response:
    """The field-service brief of one customer: contact and address, equipment and
    contracts, open tickets, the last contacts with their notes, open worklist items, and
    risk and value in one line. 404 unknown, 409 merged (the message names the survivor)."""
    return json_response(_brief(hub, golden_id).as_json())


@api_router.get("/worklist/{item_id}/brief", responses=JSON_200)
def item_brief_json(item_id: int, hub: HubDep, user: Viewer) -> Response:
    """The brief of a worklist item's customer, with the item (`item`)."""
    return json_response(_brief(hub, item_id=item_id).as_json())


def _answer(logged: Any) -> dict[str, Any]:
    return {
        "interaction_id": logged.interaction_id,
        "golden_id": logged.golden_id,
        "worklist_item": logged.worklist_item,
        "summary": logged.summary,
    }


@api_router.post("/customers/{golden_id}/visits", status_code=201)
def visit_log(golden_id: str, body: VisitIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Report a visit: a logged contact of kind `visit` on the customer's timeline (found
    as its topic, done as its note; a follow-up day opens a call-back). 422 names the field."""
    if body.settles_item or body.version is not None:
        raise Conflict(
            "settles_item and version belong to an item's visit: post to /api/worklist/{item}/visit"
        )
    with hub.write() as conn:
        return _answer(record_visit(conn, user.actor, golden_id, body.report()))


@api_router.post("/worklist/{item_id}/visit", status_code=201)
def item_visit(item_id: int, body: VisitIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Report the visit for a worklist item's customer; with `settles_item` the item is done
    with this visit as its outcome (409 if it changed since `version`)."""
    with hub.write() as conn:
        logged = record_visit(
            conn, user.actor, "", body.report(), item_id=item_id, version=body.version
        )
    return _answer(logged)


# -- pages -------------------------------------------------------------------------------


@page_router.get("/customers/{golden_id}/brief", response_class=HTMLResponse)
def brief_page(request: Request, golden_id: str, hub: HubDep, user: Viewer) -> Response:
    survivor = _merged_into(hub, golden_id)
    if survivor:
        return flash(f"/customers/{survivor}/brief", f"{golden_id} was merged into this one")
    return render(request, "brief.html", user, b=_brief(hub, golden_id))


@page_router.get("/worklist/{item_id}/brief", response_class=HTMLResponse)
def item_brief_page(request: Request, item_id: int, hub: HubDep, user: Viewer) -> Response:
    return render(request, "brief.html", user, b=_brief(hub, item_id=item_id))


async def _form(request: Request) -> VisitIn:
    """The brief's form as a VisitIn; a mistake is InvalidInput (422) naming the field."""
    form = await request.form()
    fields: dict[str, Any] = {
        k: str(v) for k, v in form.items() if k != "csrf_token" and isinstance(v, str)
    }
    fields["settles_item"] = fields.get("settles_item") == "on"
    if "version" in fields:
        fields["version"] = int(fields["version"]) if fields["version"].isdigit() else None
    try:
        return VisitIn.model_validate(fields)
    except ValidationError as error:
        raise InvalidInput(
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}"
                for e in error.errors()
            )
        ) from error


@page_router.post("/customers/{golden_id}/visits")
async def visit_form(request: Request, golden_id: str, hub: HubDep, user: Steward) -> Response:
    body = await _form(request)
    with hub.write() as conn:
        logged = record_visit(conn, user.actor, golden_id, body.report())
    return flash(f"/customers/{logged.golden_id}/brief", logged.summary)


@page_router.post("/worklist/{item_id}/visit")
async def item_visit_form(request: Request, item_id: int, hub: HubDep, user: Steward) -> Response:
    body = await _form(request)
    with hub.write() as conn:
        logged = record_visit(
            conn, user.actor, "", body.report(), item_id=item_id, version=body.version
        )
    return flash(f"/worklist/{item_id}/brief", logged.summary)
