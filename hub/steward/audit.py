"""The audit log: every mutation writes one entry; admins read and export it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.clock import now
from hub.core.files import neutralise
from hub.store.database import dumps
from hub.store.tables import audit_log, audit_targets

__all__ = [
    "AUDIT_COLUMNS",
    "SIGN_IN_ATTEMPTS",
    "TARGET_LENGTH",
    "about",
    "export_audit",
    "golden_ids",
    "list_audit",
    "record_audit",
    "who",
]

AUDIT_COLUMNS = ("id", "at", "actor", "action", "target_type", "target_id", "detail")
TARGET_LENGTH = 500  # audit_log.target_id

# sign-ins that did not succeed: their actor is the text typed as the user name, not a user
SIGN_IN_ATTEMPTS = ("session.login_failed", "session.login_throttled")


def who(entry: Mapping[str, Any]) -> str:
    """Who an entry is by, for people: a user's name, or for a failed or throttled sign-in
    `attempt for 'x'` with the text typed as it was typed (anyone can type a name)."""
    if entry["action"] in SIGN_IN_ATTEMPTS:
        return f"attempt for '{entry['target_id']}'"
    return str(entry["actor"])


def record_audit(
    conn: Connection,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    detail: Mapping[str, Any],
) -> None:
    """Append one audit entry inside the caller's transaction. A target of several golden
    records is their ids joined by commas; each is also filed in `audit_targets`, so the
    history of any of them is found from an index (the stored text is cut at 500
    characters, the filing is not)."""
    result = conn.execute(  # parameters, not .values(): building the statement cost more
        audit_log.insert(),
        {
            "at": now(),
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id[:TARGET_LENGTH],
            "detail": dict(detail),
        },
    )
    if target_type == "golden" and "," in target_id:
        key = result.inserted_primary_key
        assert key is not None
        conn.execute(
            audit_targets.insert(),
            [{"golden_id": gid, "audit_id": int(key[0])} for gid in golden_ids(target_id)],
        )


def golden_ids(target_id: str) -> list[str]:
    """The golden ids an entry's target names (one, or several joined by commas)."""
    return sorted({part.strip() for part in target_id.split(",") if part.strip()})


def about(limit: int) -> sa.Select[Any]:
    """The latest `limit` audit entries about the golden record bound as `gid`, newest
    first: those whose target is it, and those filed under it among several (two index
    lookups, no scan of the log). Build it once and execute it with `{"gid": ...}`."""
    a, t = audit_log.c, audit_targets.c
    gid: sa.BindParameter[str] = sa.bindparam("gid")
    alone = sa.select(audit_log).where(a.target_id == gid)
    among = sa.select(audit_log).where(a.id.in_(sa.select(t.audit_id).where(t.golden_id == gid)))
    both = sa.union_all(alone, among).subquery()
    return sa.select(both).order_by(both.c.id.desc()).limit(limit)


def _query(actor: str | None, action: str | None, target_id: str | None) -> sa.Select[Any]:
    a = audit_log.c
    query = sa.select(*(a[name] for name in AUDIT_COLUMNS)).order_by(a.id.desc())
    if actor:
        query = query.where(a.actor == actor)
    if action:
        query = query.where(a.action.startswith(action))
    if target_id:
        query = query.where(a.target_id == target_id)
    return query


def list_audit(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest first, filtered by actor, action prefix (e.g. `golden.`) or target; each entry
    also says `who` it is by, as people should read it (see `who`)."""
    rows = conn.execute(_query(actor, action, target_id).limit(limit).offset(offset))
    return [{**row, "who": who(row)} for row in (dict(r._mapping) for r in rows)]


def export_audit(conn: Connection, fmt: str) -> Iterator[str]:
    """The whole audit log as CSV or JSON Lines, streamed in chunks."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r}; use csv or jsonl")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(AUDIT_COLUMNS)
        yield buffer.getvalue()
    for row in conn.execute(_query(None, None, None).execution_options(yield_per=1000)):
        values = dict(row._mapping)
        if fmt == "jsonl":
            yield dumps(values) + "\n"
        else:
            buffer = io.StringIO()
            csv.writer(buffer).writerow(
                [
                    neutralise(dumps(values["detail"]) if k == "detail" else values[k])
                    for k in AUDIT_COLUMNS
                ]
            )
            yield buffer.getvalue()
