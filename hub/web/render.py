"""Rendering a page: the Jinja2 templates and the context every page gets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from hub.steward import User
from hub.web import formatting

__all__ = ["flash", "render", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
formatting.install(templates.env)


# Flash messages travel in the redirect's URL, signed with a key only this server knows, so
# a link someone else wrote (`?msg=Your account is locked, call ...`) shows no banner.
_FLASH_KEY = secrets.token_bytes(32)


def _signature(message: str) -> str:
    return hmac.new(_FLASH_KEY, message.encode(), hashlib.sha256).hexdigest()[:32]


def flash(url: str, message: str) -> RedirectResponse:
    """Redirect (303) to `url`, which then shows `message` as the one-line result."""
    joiner = "&" if "?" in url else "?"
    signed = f"msg={quote(message)}&sig={_signature(message)}"
    return RedirectResponse(f"{url}{joiner}{signed}", status_code=303)


def _message(request: Request) -> str | None:
    message = request.query_params.get("msg")
    signature = request.query_params.get("sig", "")
    if message is None or not hmac.compare_digest(signature, _signature(message)):
        return None  # unsigned or altered: not ours, not shown
    return message


def render(request: Request, name: str, user: User | None, **context: Any) -> HTMLResponse:
    """Template `name` with the signed-in user and the one-line message of the last action."""
    context.update(user=user, msg=_message(request), request=request)
    return templates.TemplateResponse(request, name, context)
