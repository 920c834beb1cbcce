"""Server-rendered pages (Jinja2): sign-in, customer 360 and the audit log (the review
queue: hub/web/review_pages.py; the home page and quarantine: hub/web/home.py; the customers list:
hub/web/customers_page.py; users and tokens: hub/web/admin_pages.py). Every form posts its
CSRF token; every change redirects (303) back to a page that shows it, with a one-line message."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.analyse.queries import profile
from hub.core.states import GoldenStatus
from hub.steward import (
    User,
    authenticate,
    create_session,
    customer_view,
    end_session,
    list_audit,
    login_delay,
    merge_golden,
    override_field,
    record_audit,
    undo_action,
    unmerge_golden,
)
from hub.steward.errors import InvalidInput
from hub.steward.maintenance import EDITABLE
from hub.steward.worklist import open_items_of
from hub.store.tables import golden_records
from hub.web.render import flash, render, templates
from hub.web.security import SESSION_COOKIE, Hub, get_hub, require

__all__ = ["router", "templates"]

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]
Steward = Annotated[User, Depends(require("steward"))]
Admin = Annotated[User, Depends(require("admin"))]
_LOGIN_CSRF = "crmhub_login_csrf"


_page = render


_back = flash


def _safe_next(url: str | None) -> str:
    return url if url and url.startswith("/") and not url.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = _page(request, "login.html", None, login_csrf=token, next=_safe_next(next))
    response.set_cookie(_LOGIN_CSRF, token, httponly=True, samesite="strict")
    return response


@router.post("/login")
def login(
    request: Request,
    hub: HubDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not secrets.compare_digest(csrf_token, request.cookies.get(_LOGIN_CSRF, "")):
        raise HTTPException(403, "the sign-in form expired; reload the page and sign in again")
    client = request.client.host if request.client else "unknown"
    with hub.write() as conn:
        wait = login_delay(conn, username, client)
        if wait:  # a burst of failures: audited, so an admin sees the attack
            detail = {"client": client, "wait_seconds": math.ceil(wait)}
            record_audit(
                conn, username[:100], "session.login_throttled", "user", username[:500], detail
            )
    if wait:
        raise HTTPException(
            429,
            f"too many failed sign-ins: try again in {math.ceil(wait)} seconds",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    with hub.write() as conn:
        user = authenticate(conn, username, password)
        if user is None:
            record_audit(
                conn,
                username[:100],
                "session.login_failed",
                "user",
                username[:500],
                {"client": client},
            )
        else:
            cookie, _ = create_session(conn, user)
            record_audit(conn, user.actor, "session.login", "user", user.username, {})
    if user is None:
        token = secrets.token_urlsafe(24)
        response: Response = _page(
            request,
            "login.html",
            None,
            login_csrf=token,
            next=_safe_next(next),
            error="Wrong user name or password.",
        )
        response.status_code = 401
        response.set_cookie(_LOGIN_CSRF, token, httponly=True, samesite="strict")
        return response
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=hub.secure_cookies
    )
    response.delete_cookie(_LOGIN_CSRF)
    return response


@router.post("/logout")
def logout(request: Request, hub: HubDep, user: Viewer) -> Response:
    with hub.write() as conn:
        end_session(conn, request.cookies.get(SESSION_COOKIE, ""))
        record_audit(conn, user.actor, "session.logout", "user", user.username, {})
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/customers/{golden_id}", response_class=HTMLResponse)
def customer(request: Request, golden_id: str, hub: HubDep, user: Viewer) -> Response:
    with hub.read() as conn:
        view = customer_view(conn, golden_id)
        card = profile(conn, golden_id) if view["status"] != GoldenStatus.MERGED else None
        call_backs = open_items_of(conn, golden_id)  # issue 16: the customer's open items
    if view["status"] == GoldenStatus.MERGED:
        return _back(f"/customers/{view['merged_into']}", f"{golden_id} was merged into this one")
    return _page(
        request, "customer.html", user, c=view, editable=EDITABLE, profile=card, calls=call_backs
    )


@router.post("/customers/{golden_id}/merge")
def customer_merge(
    golden_id: str,
    hub: HubDep,
    user: Steward,
    other: Annotated[str, Form()],
    version: Annotated[int, Form()],
) -> Response:
    other = other.strip()
    with hub.write() as conn:
        result = merge_golden(
            conn, hub.settings, user.actor, [golden_id, other], {golden_id: version}
        )
    with hub.read() as conn:  # the oldest id survived; show that one
        survivor = conn.execute(
            sa.select(golden_records.c.golden_id).where(
                golden_records.c.golden_id.in_([golden_id, other]),
                golden_records.c.status == GoldenStatus.ACTIVE,
            )
        ).scalar()
    return _back(f"/customers/{survivor or golden_id}", result.summary)


@router.post("/customers/{golden_id}/unmerge")
async def customer_unmerge(
    request: Request, golden_id: str, hub: HubDep, user: Steward
) -> Response:
    form = await request.form()
    members = []
    for value in form.getlist("member"):
        source, _, source_id = str(value).partition("/")  # connector names have no "/"
        members.append((source, source_id))
    target = str(form.get("target") or "").strip() or None
    try:
        version = int(str(form.get("version") or ""))
    except ValueError as exc:
        raise InvalidInput("the form lost its version; reload the page and try again") from exc
    with hub.write() as conn:
        result = unmerge_golden(conn, hub.settings, user.actor, golden_id, members, version, target)
    return _back(f"/customers/{golden_id}", result.summary)


@router.post("/customers/{golden_id}/fields")
def customer_override(
    golden_id: str,
    hub: HubDep,
    user: Steward,
    field: Annotated[str, Form()],
    version: Annotated[int, Form()],
    value: Annotated[str, Form()] = "",
) -> Response:
    with hub.write() as conn:
        result = override_field(
            conn, hub.settings, user.actor, golden_id, field, value or None, version
        )
    return _back(f"/customers/{golden_id}", result.summary)


@router.post("/actions/{action_id}/undo")
def action_undo(
    action_id: int, hub: HubDep, user: Steward, back: Annotated[str, Form()] = "/review"
) -> Response:
    with hub.write() as conn:
        result = undo_action(conn, hub.settings, user.actor, action_id)
    return _back(_safe_next(back), result.summary)


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request, hub: HubDep, user: Admin, actor: str = "", action: str = "", page: int = 1
) -> HTMLResponse:
    size = 100
    with hub.read() as conn:
        entries = list_audit(
            conn,
            actor=actor or None,
            action=action or None,
            limit=size,
            offset=(max(page, 1) - 1) * size,
        )
    return _page(
        request, "audit.html", user, entries=entries, actor=actor, action=action, page=page
    )
