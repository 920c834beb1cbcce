"""The admin's users page: users and roles, and each user's API tokens — listed with their
name, creation, last use and expiry, created (the secret shown once, on the page that
answers the form, never in a URL) and revoked. Admin only; every change is audited by the
steward API it calls (`token.create`, `token.revoke`, `user.*`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from hub.core.clock import now
from hub.steward import (
    ROLES,
    User,
    add_user,
    create_token,
    list_tokens,
    list_users,
    revoke_token,
    set_user,
)
from hub.steward.errors import InvalidInput
from hub.web.render import flash, render
from hub.web.security import Hub, get_hub, require

__all__ = ["router", "token_state"]

router = APIRouter(include_in_schema=False)
HubDep = Annotated[Hub, Depends(get_hub)]
Admin = Annotated[User, Depends(require("admin"))]


def _aware(stamp: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC timestamps; PostgreSQL aware ones."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def token_state(token: dict[str, Any], at: dt.datetime) -> str:
    """`active`, `expired` or `revoked`."""
    if token["revoked_at"] is not None:
        return "revoked"
    expires = token["expires_at"]
    return "expired" if expires is not None and _aware(expires) <= at else "active"


def _users_page(request: Request, hub: Hub, user: User, **extra: Any) -> HTMLResponse:
    at = now()
    with hub.read() as conn:
        rows = list_users(conn)
        tokens = {
            str(row["username"]): [
                {**t, "state": token_state(t, at)} for t in list_tokens(conn, str(row["username"]))
            ]
            for row in rows
        }
    return render(request, "users.html", user, users=rows, roles=ROLES, tokens=tokens, **extra)


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, hub: HubDep, user: Admin) -> HTMLResponse:
    return _users_page(request, hub, user)


@router.post("/users")
def users_add(
    hub: HubDep,
    user: Admin,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
) -> Response:
    with hub.write() as conn:
        add_user(conn, username, password, role, actor=user.actor)
    return flash("/users", f"user {username} added as {role}")


@router.post("/users/{username}")
def users_change(
    username: str,
    hub: HubDep,
    user: Admin,
    role: Annotated[str, Form()],
    active: Annotated[str, Form()] = "",
) -> Response:
    if username == user.username:
        return flash("/users", "you cannot change your own role here; ask another admin")
    with hub.write() as conn:
        set_user(conn, username, actor=user.actor, role=role, active=active == "on")
    return flash("/users", f"user {username} updated")


@router.post("/users/{username}/tokens", response_class=HTMLResponse)
def users_token(
    request: Request,
    username: str,
    hub: HubDep,
    user: Admin,
    name: Annotated[str, Form()],
    expires_days: Annotated[str, Form()] = "",
) -> HTMLResponse:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a token's name: 1 to 100 characters, e.g. 'nightly export'")
    days: int | None = None
    if expires_days.strip():
        try:
            days = int(expires_days)
        except ValueError as exc:
            raise InvalidInput(
                f"expiry {expires_days!r}: a whole number of days, or empty for no expiry"
            ) from exc
    with hub.write() as conn:
        secret = create_token(conn, username, name, actor=user.actor, expires_days=days)
    response = _users_page(
        request,
        hub,
        user,
        new_token={"username": username, "name": name, "secret": secret},
    )
    response.headers["Cache-Control"] = "no-store"  # the secret is on this page only
    return response


@router.post("/tokens/{token_id}/revoke")
def tokens_revoke(token_id: int, hub: HubDep, user: Admin) -> Response:
    with hub.write() as conn:
        revoked = revoke_token(conn, token_id, actor=user.actor)
    return flash("/users", f"token {revoked['name']!r} of {revoked['username']} revoked")
