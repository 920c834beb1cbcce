"""What a push would send: per record of one system, the golden id and the field changes
the hub.yaml policies allow — and nothing the system already has or the hub already sent.

Policies per field: `fill-only` (write only where the system's value is empty),
`overwrite` (also replace a differing value, when the golden value comes from a source
more trusted than this system — `identity.source_priority` — or from a steward), `never`.
A value equal up to format (same e-mail in other case, same phone in another format) is no
change. A value the hub wrote and the system has not echoed back yet is not sent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.writers import Writer, load_writer
from hub.core.errors import HubError
from hub.core.states import GoldenStatus
from hub.store.tables import crosswalk, customer_records, golden_records, push_state
from hub.sync.echo import empty as _empty
from hub.sync.echo import same_value
from schemas.config import ConnectorConfig, HubConfig, PushbackTarget
from schemas.customer import CUSTOMER_FIELDS

__all__ = ["Change", "Plan", "PushTargetError", "build_plan", "same_value", "writer_for"]


class PushTargetError(HubError):
    """A connector cannot be pushed to as configured; the message says what to change."""


@dataclass(frozen=True)
class Change:
    """One record's planned write."""

    kind: Literal["create", "update"]
    source_id: str | None
    stream: str
    golden_id: str
    values: dict[str, Any]
    before: dict[str, Any]
    golden_id_changed: bool
    system_fields: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The failure-tracking key: the record's id, or the golden id it is created for."""
        return self.source_id if self.source_id is not None else f"create:{self.golden_id}"


@dataclass
class Plan:
    connector: str
    mode: str
    golden_id_field: str
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def creates(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "create"]

    @property
    def updates(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "update"]


def writer_for(
    config: HubConfig, name: str
) -> tuple[ConnectorConfig, PushbackTarget, type[Writer]]:
    """The connector, its push-back target and its writer class, or a clear error."""
    connector = config.connector(name)
    target = config.pushback.targets.get(name)
    if target is None:
        raise PushTargetError(
            f"connector {name!r} has no push-back target; add pushback.targets.{name} to hub.yaml"
        )
    writer = load_writer(connector.type)
    if writer is None:
        raise PushTargetError(f"connector {name!r} (type {connector.type}) cannot be written to")
    return connector, target, writer


def _system_fields(connector: ConnectorConfig, stream: str) -> dict[str, str]:
    """canonical field -> source field, where the stream's mapping names a plain field."""
    conf = connector.streams.get(stream)
    mapped = {k: v for k, v in (conf.mapping if conf else {}).items() if isinstance(v, str)}
    return {f: mapped.get(f, f) for f in CUSTOMER_FIELDS}


def _trust(config: HubConfig) -> Mapping[str, int]:
    return {s: i for i, s in reversed(list(enumerate(config.identity.source_priority)))}


def build_plan(conn: Connection, config: HubConfig, name: str) -> Plan:
    """The plan for one connector, from the store as it is now."""
    connector, target, writer = writer_for(config, name)
    policies = {f: p for f, p in target.fields.items() if p != "never"}
    plan = Plan(name, target.mode, target.golden_id_field)
    unknown = sorted(set(policies) - writer.writable_fields)
    if unknown:
        plan.notes.append(f"{name} cannot take {', '.join(unknown)}: skipped")
        policies = {f: p for f, p in policies.items() if f in writer.writable_fields}
    trust = _trust(config)
    own_rank = trust.get(name, len(trust))
    state = {
        r.source_id: (r.golden_id, r.written or {})
        for r in conn.execute(sa.select(push_state).where(push_state.c.connector == name))
    }
    c, x, g = customer_records.c, crosswalk.c, golden_records.c
    rows = conn.execute(
        sa.select(customer_records, g.golden_id, g.record, g.provenance)
        .join(crosswalk, sa.and_(x.source == c.source, x.source_id == c.source_id))
        .join(golden_records, g.golden_id == x.golden_id)
        .where(c.source == name, c.deleted.is_(False), g.status == GoldenStatus.ACTIVE)
        .order_by(c.source_id)
    )
    linked: set[str] = set()
    for row in rows:
        linked.add(row.golden_id)
        last_gid, last_values = state.get(row.source_id, (None, {}))
        values: dict[str, Any] = {}
        before: dict[str, Any] = {}
        for f, policy in policies.items():
            new, old = row.record.get(f), getattr(row, f, None)
            country = row.record.get("country") or row.country
            if _empty(new) or same_value(f, new, old, country):
                continue
            if f in last_values and same_value(f, last_values[f], new, country):
                continue  # already sent; the system's echo arrives with the next sync
            if not _empty(old):
                if policy == "fill-only":
                    continue
                source = (row.provenance or {}).get(f, {}).get("source")
                rank = -1 if source is None else trust.get(source, len(trust))
                if rank >= own_rank:
                    continue  # the golden value is not from a more trusted source
            values[f], before[f] = new, old
        gid_changed = last_gid != row.golden_id
        if values or gid_changed:
            plan.changes.append(
                Change(
                    "update",
                    row.source_id,
                    row.stream,
                    row.golden_id,
                    values,
                    before,
                    gid_changed,
                    _system_fields(connector, row.stream),
                )
            )
        else:
            plan.unchanged += 1
    if target.mode == "upsert":
        _plan_creates(conn, plan, connector, policies, linked, state)
    return plan


def _plan_creates(
    conn: Connection,
    plan: Plan,
    connector: ConnectorConfig,
    policies: Mapping[str, str],
    linked: set[str],
    state: Mapping[str, tuple[str, Any]],
) -> None:
    """Golden records this system does not know yet (and the hub has not created there)."""
    stream = next((s for s, conf in connector.streams.items() if conf.entity == "customer"), None)
    if stream is None:
        plan.notes.append(f"{connector.name} has no customer stream to create records in")
        return
    pending = {gid for gid, _ in state.values()}
    g = golden_records.c
    for row in conn.execute(
        sa.select(g.golden_id, g.record)
        .where(g.status == GoldenStatus.ACTIVE)
        .order_by(g.golden_id)
    ):
        if row.golden_id in linked or row.golden_id in pending:
            continue
        values = {f: row.record.get(f) for f in policies if not _empty(row.record.get(f))}
        plan.changes.append(
            Change(
                "create",
                None,
                stream,
                row.golden_id,
                values,
                {},
                True,
                _system_fields(connector, stream),
            )
        )
