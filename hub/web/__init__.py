"""The steward web server: REST API (`/api`, `/openapi.json`) and server-rendered pages."""

from __future__ import annotations

from hub.web.app import create_app

__all__ = ["create_app"]
