"""The steward web server: the FastAPI app behind `crmhub serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hub.steward import StewardError, SurvivorshipSettings, warm_search_index
from hub.store.database import Store
from hub.web import (
    admin_pages,
    analytics_api,
    api,
    audiences_api,
    customers_page,
    dashboard_api,
    home,
    insights,
    pages,
    review_pages,
    worklist_api,
    worklist_pages,
)
from hub.web.connections import RecycleConnections
from hub.web.headers import SecurityHeaders
from hub.web.security import Hub, LoginRequired
from schemas.config import HubConfig

__all__ = ["WORKER_THREADS", "create_app"]

# Threads serving the routes (anyio's default is 40). The routes hold the GIL for most of
# their time, so 40 threads only took turns at it: with 20 clients the slowest requests
# waited for many others' turns (override p99 455 ms). With 10, requests beyond them wait
# in order on the event loop instead: the same throughput and a tighter tail.
WORKER_THREADS = 10


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    user = getattr(request.state, "user", None)
    response = pages.templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "user": user, "msg": None},
        status_code=status,
    )
    return response


def create_app(config: HubConfig, store: Store, *, secure_cookies: bool = False) -> FastAPI:
    """The app for one hub: its store and its survivorship settings.

    Starting the app (its lifespan) builds the customer search index, so no request pays
    for it, and sets the route threads to WORKER_THREADS; requests served without the
    lifespan (e.g. a bare TestClient) build the index lazily.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        await anyio.to_thread.run_sync(warm_search_index, store.engine)
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="crm-hub steward API",
        version="1",
        description=(
            "Review queue, golden record maintenance and the single customer view. "
            "Authenticate with `Authorization: Bearer <token>` (`crmhub user token NAME`)."
        ),
    )
    app.state.hub = Hub(store, SurvivorshipSettings.from_config(config), secure_cookies)
    app.include_router(dashboard_api.router)  # before api: /api/customers/browse
    app.include_router(api.router)
    app.include_router(audiences_api.router)  # before analytics: /api/analytics/audiences
    app.include_router(analytics_api.router)
    app.include_router(pages.router)
    app.include_router(review_pages.router)
    app.include_router(home.router)
    app.include_router(customers_page.router)
    app.include_router(admin_pages.router)
    app.include_router(insights.router)
    for worklist_router in (worklist_api.router, worklist_pages.router):  # issue 16
        app.include_router(worklist_router)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )

    @app.exception_handler(StewardError)
    async def steward_error(request: Request, error: StewardError) -> Response:
        return _error(request, error.status, str(error))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(error.next_url)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": error.detail}, status_code=error.status_code, headers=error.headers
            )
        response = _error(request, error.status_code, str(error.detail))
        response.headers.update(error.headers or {})  # e.g. Retry-After on a throttled sign-in
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
            for e in error.errors()
        )
        if _is_api(request):
            # a validator's own exception sits in each error's ctx: sent as its text
            errors = jsonable_encoder(error.errors(), custom_encoder={Exception: str})
            return JSONResponse({"detail": problems, "errors": errors}, status_code=422)
        return _error(request, 422, problems)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(RecycleConnections)  # outermost: every response, errors too
    return app
