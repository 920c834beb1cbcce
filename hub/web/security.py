"""Who is calling, what they may do, and CSRF protection — as FastAPI dependencies.

Machines send `Authorization: Bearer <token>` (created with `crmhub user token`); people
log in and get an HttpOnly session cookie. A mutating request carried by the cookie must
also send the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`); a
bearer token is not sent by browsers on their own, so it needs none.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from hub.steward import SurvivorshipSettings, User, has_role, session_user
from hub.steward.auth import token_lookup, touch_token
from hub.store.database import Store

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "SESSION_COOKIE",
    "Hub",
    "LoginRequired",
    "current_user",
    "get_hub",
    "optional_user",
    "require",
]

SESSION_COOKIE = "crmhub_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Hub:
    """What the server works on: the store and the survivorship settings of hub.yaml."""

    store: Store
    settings: SurvivorshipSettings
    secure_cookies: bool = False
    # SQLite lets one writer in at a time and makes the others poll (sleeps of 1 to 100 ms):
    # the process's writers queue on this lock instead, and each starts the moment the
    # previous one commits; the server's other processes (`--workers`) queue with them on
    # a lock file next to the database. PostgreSQL writers run concurrently and take
    # neither.
    _writer: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def read(self) -> AbstractContextManager[Connection]:
        return self.store.engine.connect()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        if self.store.dialect != "sqlite":
            with self.store.write_transaction() as conn:
                yield conn
            return
        with self._writer, _between_processes(self.store), self.store.write_transaction() as conn:
            yield conn


@contextmanager
def _between_processes(store: Store) -> Iterator[None]:
    """An exclusive lock on `<database>.writer-lock` while the block runs: the kernel hands
    it to the next process the moment it is released, where SQLite's busy handler would
    sleep up to 100 ms between tries (the other workers' override tail)."""
    database = store.engine.url.database
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    fd = os.open(f"{database}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits with the GIL released
        yield
    finally:
        os.close(fd)  # releases the lock


class LoginRequired(Exception):
    """A page needs a signed-in user: the app answers with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


async def get_hub(request: Request) -> Hub:
    """The app's Hub. Async, so FastAPI calls it on the event loop: as a plain function it
    took a worker-thread hop of its own on every request, for one attribute read."""
    hub: Hub = request.app.state.hub
    return hub


async def _csrf_value(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def _token_caller(hub: Hub, token: str) -> User | None:
    """The token's user, checked with a read (a SHA-256 lookup); its use is written at most
    once a minute — a write per request took the write lock on every API call."""
    with hub.read() as conn:
        found = token_lookup(conn, token)
    return _token_used(hub, found)


def _token_used(hub: Hub, found: tuple[User, int | None] | None) -> User | None:
    if found is None:
        return None
    user, stale_id = found
    if stale_id is not None:
        with hub.write() as conn:
            touch_token(conn, stale_id)
    return user


def _reads_inline(hub: Hub) -> bool:
    """Whether the token is read on the event loop rather than in a worker thread: on a
    SQLite file in WAL mode a reader never waits for a writer, and the read of one indexed
    row costs less than the thread hop (under 20 clients a hop also waited its turn for the
    GIL behind the searches). A server database is read over the network, in a thread."""
    database = hub.store.engine.url.database
    return (
        hub.store.dialect == "sqlite"
        and bool(database)
        and database != ":memory:"
        and not str(database).startswith("file:")
    )


def _user(found: tuple[User, int | None] | None) -> User | None:
    return None if found is None else found[0]


def _session_caller(hub: Hub, cookie: str) -> User | None:
    with hub.read() as conn:
        return session_user(conn, cookie)


async def optional_user(request: Request, hub: Annotated[Hub, Depends(get_hub)]) -> User | None:
    """The caller (token or session), or None; a cookie request without CSRF is refused."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        # A blocking store call here would stall every request (this dependency is async):
        # a server database is read in a worker thread, and so is the once-a-minute write
        # of the token's use, which may wait for SQLite's write lock.
        token = auth[7:].strip()
        if _reads_inline(hub):
            with hub.read() as conn:
                found = token_lookup(conn, token)
            stale = found is not None and found[1] is not None
            user = await run_in_threadpool(_token_used, hub, found) if stale else _user(found)
        else:
            user = await run_in_threadpool(_token_caller, hub, token)
        if user is None:
            raise HTTPException(
                401, "invalid or revoked API token; create one with `crmhub user token`"
            )
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    user = await run_in_threadpool(_session_caller, hub, cookie)
    if user is None:
        return None
    if request.method not in _SAFE_METHODS:
        sent = await _csrf_value(request)
        if not sent or not hmac.compare_digest(sent, user.csrf_token or ""):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return user


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


async def current_user(
    request: Request, user: Annotated[User | None, Depends(optional_user)]
) -> User:
    if user is None:
        if _is_page(request) and request.method in _SAFE_METHODS:
            raise LoginRequired(str(request.url.path))
        raise HTTPException(
            401,
            "sign in first (POST /login) or send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def require(role: str) -> Callable[..., Any]:
    """A dependency admitting users with `role` or above (403 otherwise)."""

    async def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if not has_role(user, role):
            raise HTTPException(403, f"this needs the {role} role; {user.username} is {user.role}")
        return user

    return dependency
