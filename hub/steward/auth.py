"""Users, roles, password hashing (Argon2id), web sessions and API tokens.

Passwords are stored only as Argon2id hashes; session cookies and API tokens only as SHA-256
digests, so a copy of the store gives no way in. Roles are ordered: viewer < steward < admin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection

from hub.core.clock import as_utc, now
from hub.core.states import Role
from hub.steward.audit import record_audit
from hub.steward.errors import InvalidInput, NotFound
from hub.store.tables import api_tokens, audit_log, users, web_sessions

__all__ = [
    "ROLES",
    "SESSION_TTL",
    "User",
    "add_user",
    "authenticate",
    "create_session",
    "create_token",
    "end_session",
    "has_role",
    "list_tokens",
    "list_users",
    "login_delay",
    "revoke_token",
    "session_user",
    "set_user",
    "token_user",
]

ROLES: tuple[str, ...] = tuple(Role)
SESSION_TTL = dt.timedelta(hours=12)
LOCKOUT_FAILURES = 5  # failed sign-ins for one user name before attempts slow down
CLIENT_FAILURES = 20  # failed sign-ins from one address (any names) before they slow down
LOCKOUT_WINDOW = dt.timedelta(minutes=15)
MAX_DELAY = dt.timedelta(seconds=30)  # the longest a throttled sign-in waits
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("crm-hub: equalises timing for unknown user names")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,100}$")
MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class User:
    """Who is calling, and what they may do."""

    id: int
    username: str
    role: str
    csrf_token: str | None = None  # set for browser sessions: forms must echo it

    @property
    def actor(self) -> str:
        return self.username


def has_role(user: User, role: str) -> bool:
    """True when the user's role is `role` or above."""
    return ROLES.index(user.role) >= ROLES.index(role)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of {', '.join(ROLES)}")


def add_user(conn: Connection, username: str, password: str, role: str, *, actor: str) -> User:
    """Create a user; the password is kept only as an Argon2id hash."""
    _check_role(role)
    if not _USERNAME.match(username):
        raise InvalidInput(
            f"user name {username!r}: use 2-100 letters, digits, '.', '_', '-' or '@'"
        )
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password too short: use at least {MIN_PASSWORD} characters")
    exists = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
    if exists:
        raise InvalidInput(f"user {username!r} already exists")
    result = conn.execute(
        users.insert().values(
            username=username,
            password_hash=_HASHER.hash(password),
            role=role,
            active=True,
            created_at=now(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    record_audit(conn, actor, "user.add", "user", username, {"role": role})
    return User(int(key[0]), username, role)


def set_user(
    conn: Connection,
    username: str,
    *,
    actor: str,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> None:
    """Change a user's role, activity or password (admins only, checked by the caller)."""
    row = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"no user {username!r}")
    values: dict[str, object] = {}
    if role is not None:
        _check_role(role)
        values["role"] = role
    if active is not None:
        values["active"] = active
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(f"password too short: use at least {MIN_PASSWORD} characters")
        values["password_hash"] = _HASHER.hash(password)
    if not values:
        return
    conn.execute(users.update().where(users.c.id == row.id).values(**values))
    if active is False or password is not None:  # end their sessions
        conn.execute(web_sessions.delete().where(web_sessions.c.user_id == row.id))
    if active is False:  # and revoke their tokens: reactivating brings none of them back
        conn.execute(
            api_tokens.update()
            .where(api_tokens.c.user_id == row.id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
    shown = {k: v for k, v in values.items() if k != "password_hash"}
    if password is not None:
        shown["password_changed"] = True
    record_audit(conn, actor, "user.update", "user", username, shown)


def list_users(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        sa.select(users.c.username, users.c.role, users.c.active, users.c.created_at).order_by(
            users.c.username
        )
    )
    return [dict(r._mapping) for r in rows]


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same work either way)."""
    row = conn.execute(
        sa.select(users.c.id, users.c.username, users.c.role, users.c.password_hash).where(
            users.c.username == username, users.c.active.is_(True)
        )
    ).first()
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        conn.execute(
            users.update().where(users.c.id == row.id).values(password_hash=_HASHER.hash(password))
        )
    return User(row.id, row.username, row.role)


def _backoff(failures: int, threshold: int, last: dt.datetime | None, at: dt.datetime) -> float:
    """Seconds still to wait: none below `threshold` failures, then 2, 4, 8 ... up to
    MAX_DELAY seconds after the last failure."""
    if last is None or failures < threshold:
        return 0.0
    delay = min(2.0 ** (failures - threshold + 1), MAX_DELAY.total_seconds())
    return max(0.0, (as_utc(last) + dt.timedelta(seconds=delay) - at).total_seconds())


def login_delay(
    conn: Connection, username: str, client: str, *, at: dt.datetime | None = None
) -> float:
    """Seconds before a sign-in for `username` from `client` may be checked (0: now).

    Failed sign-ins slow down, they never lock: after LOCKOUT_FAILURES failures for one
    user name (since its last success) or CLIENT_FAILURES from one address within
    LOCKOUT_WINDOW, each attempt waits 2, 4, 8 ... up to MAX_DELAY seconds after the last
    failure. A throttled attempt is not checked and so not counted, which means a stranger
    guessing at someone's name delays the right password by MAX_DELAY at most. The audit
    log (with each failure's client address) is the record of attempts.
    """
    at = at or now()
    a = audit_log.c
    since = at - LOCKOUT_WINDOW
    last_ok = conn.execute(
        sa.select(sa.func.max(a.at)).where(
            a.action == "session.login", a.target_id == username, a.at >= since
        )
    ).scalar()
    failed = a.action == "session.login_failed"
    by_name = conn.execute(
        sa.select(sa.func.count(), sa.func.max(a.at)).where(
            failed, a.target_id == username, a.at >= (last_ok or since)
        )
    ).one()
    by_client = conn.execute(
        sa.select(sa.func.count(), sa.func.max(a.at)).where(
            failed, a.detail["client"].as_string() == client, a.at >= since
        )
    ).one()
    return max(
        _backoff(int(by_name[0]), LOCKOUT_FAILURES, by_name[1], at),
        _backoff(int(by_client[0]), CLIENT_FAILURES, by_client[1], at),
    )


def create_session(conn: Connection, user: User) -> tuple[str, str]:
    """A new browser session: (cookie value, CSRF token). Only the cookie's digest is kept."""
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    stamp = now()
    conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < stamp))
    conn.execute(
        web_sessions.insert().values(
            id_hash=_digest(cookie),
            user_id=user.id,
            csrf_token=csrf,
            created_at=stamp,
            expires_at=stamp + SESSION_TTL,
        )
    )
    return cookie, csrf


def end_session(conn: Connection, cookie: str) -> None:
    conn.execute(web_sessions.delete().where(web_sessions.c.id_hash == _digest(cookie)))


def session_user(conn: Connection, cookie: str) -> User | None:
    """The user of a live session cookie, with the session's CSRF token."""
    s, u = web_sessions.c, users.c
    row = conn.execute(
        sa.select(u.id, u.username, u.role, s.csrf_token, s.expires_at)
        .join(users, users.c.id == s.user_id)
        .where(s.id_hash == _digest(cookie), u.active.is_(True))
    ).first()
    if row is None or as_utc(row.expires_at) < now():
        return None
    return User(row.id, row.username, row.role, row.csrf_token)


def create_token(
    conn: Connection, username: str, name: str, *, actor: str, expires_days: int | None = None
) -> str:
    """A new API token for a user (shown once; only its digest is stored), valid until
    revoked or, with `expires_days`, until then."""
    row = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"no user {username!r}; create it with `crmhub user add`")
    if expires_days is not None and expires_days < 1:
        raise InvalidInput("a token's expiry is at least 1 day")
    token = "chub_" + secrets.token_urlsafe(32)
    stamp = now()
    expires = stamp + dt.timedelta(days=expires_days) if expires_days else None
    conn.execute(
        api_tokens.insert().values(
            user_id=row.id,
            name=name,
            token_hash=_digest(token),
            created_at=stamp,
            expires_at=expires,
        )
    )
    detail = {"name": name, "expires_at": expires.isoformat() if expires else None}
    record_audit(conn, actor, "token.create", "user", username, detail)
    return token


def list_tokens(conn: Connection, username: str) -> list[dict[str, Any]]:
    """A user's API tokens, newest first: id, name, created, last used, expiry, revoked."""
    t = api_tokens.c
    user = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    rows = conn.execute(
        sa.select(t.id, t.name, t.created_at, t.last_used_at, t.expires_at, t.revoked_at)
        .where(t.user_id == user.id)
        .order_by(t.id.desc())
    ).all()
    return [dict(r._mapping) for r in rows]


def revoke_token(conn: Connection, token_id: int, *, actor: str) -> dict[str, Any]:
    """Revoke one API token (for good: a revoked token never works again); audited."""
    t = api_tokens.c
    row = conn.execute(
        sa.select(t.id, t.name, t.revoked_at, users.c.username)
        .join(users, users.c.id == t.user_id)
        .where(t.id == token_id)
    ).first()
    if row is None:
        raise NotFound(f"no API token {token_id}; list them with `crmhub user tokens NAME`")
    if row.revoked_at is None:
        conn.execute(api_tokens.update().where(t.id == token_id).values(revoked_at=now()))
        detail = {"token_id": token_id, "name": row.name}
        record_audit(conn, actor, "token.revoke", "user", row.username, detail)
    return {"id": token_id, "name": row.name, "username": row.username}


TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)  # last_used_at is kept to this precision


def token_user(conn: Connection, token: str, *, touch: bool = True) -> User | None:
    """The active user an unrevoked API token belongs to (a SHA-256 lookup, no Argon2).

    The token's `last_used_at` is written only when it is older than `TOKEN_TOUCH_INTERVAL`
    (and only if `touch`): a write per request would take the store's write lock on every
    API call and serialise them all. The web server uses `token_lookup` instead.
    """
    row = _token_row(conn, token)
    if row is None:
        return None
    if touch and _stale(row.last_used_at):
        touch_token(conn, row.token_id)
    return User(row.id, row.username, row.role)


def token_lookup(conn: Connection, token: str) -> tuple[User, int | None] | None:
    """The token's user and — if its `last_used_at` is due for a refresh — its id, in one
    read; the caller then calls `touch_token` in a write transaction of its own."""
    row = _token_row(conn, token)
    if row is None:
        return None
    return User(row.id, row.username, row.role), (
        row.token_id if _stale(row.last_used_at) else None
    )


def touch_token(conn: Connection, token_id: int) -> None:
    """Record that the token was used now."""
    t = api_tokens.c
    conn.execute(api_tokens.update().where(t.id == token_id).values(last_used_at=now()))


def _stale(last_used: dt.datetime | None) -> bool:
    return last_used is None or now() - as_utc(last_used) >= TOKEN_TOUCH_INTERVAL


# Built once: every API request runs it, and building and keying a statement per request
# cost more CPU than the SQLite lookup itself.
_TOKEN_ROW = (
    sa.select(
        users.c.id,
        users.c.username,
        users.c.role,
        api_tokens.c.id.label("token_id"),
        api_tokens.c.last_used_at,
    )
    .join(users, users.c.id == api_tokens.c.user_id)
    .where(
        api_tokens.c.token_hash == sa.bindparam("token_hash"),
        api_tokens.c.revoked_at.is_(None),
        sa.or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > sa.bindparam("at")),
        users.c.active.is_(True),
    )
)


def _token_row(conn: Connection, token: str) -> Any:
    return conn.execute(_TOKEN_ROW, {"token_hash": _digest(token), "at": now()}).first()
