"""Rendering a page: the Jinja2 templates and the context every page gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hub.steward import User

__all__ = ["render", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def render(request: Request, name: str, user: User | None, **context: Any) -> HTMLResponse:
    """Template `name` with the signed-in user and the one-line message of the last action."""
    context.update(user=user, msg=request.query_params.get("msg"), request=request)
    return templates.TemplateResponse(request, name, context)
