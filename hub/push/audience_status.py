"""Where each audience stands: its members, its latest changes, and per destination what has
been delivered, what is due and what was refused (`crmhub audiences list|show`).

Read-only. A destination is described by kind and target without its secret: a webhook by
scheme, host and port only (its URL may hold a token), a file destination by its folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.analyse.audiences import rule_hash
from hub.push.audiences import connector_name
from hub.store.tables import audience_cursors, audience_events, audiences, push_failures
from schemas.audiences import (
    AudienceConfig,
    DestinationConfig,
    SqlTableDestination,
    SystemDestination,
    WebhookDestination,
)

__all__ = ["AudienceStatus", "DestinationStatus", "audience_status"]


@dataclass(frozen=True)
class DestinationStatus:
    """One destination: delivered up to `cursor`; `entered`/`exited` due; `refused` kept."""

    name: str
    kind: str
    target: str
    cursor: int
    entered: int
    exited: int
    refused: int
    delivered_at: str | None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AudienceStatus:
    """One audience of hub.yaml and its state in the store."""

    name: str
    description: str
    rule: dict[str, Any]
    fields: list[str]
    members: int | None  # None: never computed
    computed_at: str | None
    stale: bool  # the rule changed since it was computed: the next sync recomputes it
    destinations: list[DestinationStatus]
    recent: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["destinations"] = [d.as_json() for d in self.destinations]
        return out


def _target(dest: DestinationConfig) -> str:
    if isinstance(dest, WebhookDestination):
        if "${" in dest.url:
            return dest.url.split("?")[0]  # an ${ENV} reference: shown as written
        parts = urlsplit(dest.url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    if isinstance(dest, SqlTableDestination):
        if "${" in dest.url:
            return f"{dest.url} table {dest.table}"
        url = sa.engine.make_url(dest.url)  # shown without user and password
        return (
            f"{url.get_backend_name()}://{url.host or ''}/{url.database or ''} table {dest.table}"
        )
    if isinstance(dest, SystemDestination):
        return f"connector {dest.connector}"
    return f"{dest.path} ({dest.format})"


def _destination(conn: Connection, audience: str, dest: DestinationConfig) -> DestinationStatus:
    c, e, f = audience_cursors.c, audience_events.c, push_failures.c
    row = conn.execute(
        sa.select(c.event_id, c.delivered_at).where(
            c.audience == audience, c.destination == dest.name
        )
    ).first()
    cursor = int(row.event_id) if row else 0
    due: dict[str, int] = dict(
        conn.execute(  # type: ignore[arg-type]
            sa.select(e.event, sa.func.count())
            .where(e.audience == audience, e.id > cursor)
            .group_by(e.event)
        ).all()
    )
    refused = conn.execute(
        sa.select(sa.func.count()).where(f.connector == connector_name(audience, dest.name))
    ).scalar_one()
    return DestinationStatus(
        name=dest.name,
        kind=dest.kind,
        target=_target(dest),
        cursor=cursor,
        entered=int(due.get("entered", 0)),
        exited=int(due.get("exited", 0)),
        refused=int(refused),
        delivered_at=row.delivered_at.isoformat() if row and row.delivered_at else None,
    )


def audience_status(
    conn: Connection, configured: list[AudienceConfig], *, recent: int = 0
) -> list[AudienceStatus]:
    """Each configured audience's state, with its last `recent` changes (newest first)."""
    e = audience_events.c
    stored = {r.name: r for r in conn.execute(sa.select(audiences))}
    out: list[AudienceStatus] = []
    for item in configured:
        row = stored.get(item.name)
        latest: list[dict[str, Any]] = []
        if recent:
            rows = conn.execute(
                sa.select(e.id, e.golden_id, e.event, e.at)
                .where(e.audience == item.name)
                .order_by(e.id.desc())
                .limit(recent)
            )
            latest = [
                {"event_id": r.id, "golden_id": r.golden_id, "event": r.event,
                 "at": r.at.isoformat()}
                for r in rows
            ]  # fmt: skip
        out.append(
            AudienceStatus(
                name=item.name,
                description=item.description,
                rule=item.rule.model_dump(by_alias=True, exclude_none=True),
                fields=list(item.fields),
                members=int(row.members) if row else None,
                computed_at=row.computed_at.isoformat() if row else None,
                stale=row is None or row.rule_hash != rule_hash(item),
                destinations=[_destination(conn, item.name, d) for d in item.destinations],
                recent=latest,
            )
        )
    return out
