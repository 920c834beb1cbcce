"""The building blocks of every steward action, applied inside one transaction.

An `Edit` moves source records between golden records, appends the pair decisions that
make the change a constraint for every later resolution (must-link / cannot-link), rebuilds
the touched golden records with survivorship, and finally records the action (append-only)
with what an undo needs. Golden records are optimistically locked by their `version`: a
caller that loaded version 3 cannot change a record someone else has since moved to 4.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from hub.core.clock import now
from hub.core.states import Decision, GoldenStatus
from hub.resolve.run import CONSTRAINING, load_customer_records, provenance_json
from hub.steward.audit import record_audit
from hub.steward.errors import Conflict, NotFound
from hub.store.database import dumps
from hub.store.tables import (
    crosswalk,
    golden_overrides,
    golden_records,
    steward_actions,
    steward_decisions,
)
from identity.ids import golden_id_for
from identity.survivorship import Override, survive
from schemas.config import HubConfig

__all__ = ["ActionResult", "Edit", "Key", "SurvivorshipSettings"]

Key = tuple[str, str]

# Built once: every steward action runs these, and building a statement (coercing its
# clauses) cost more CPU than SQLite's answer — a third of an override's time.
_g, _x, _o = golden_records.c, crosswalk.c, golden_overrides.c
_GOLDEN = sa.select(golden_records).where(_g.golden_id == sa.bindparam("gid"))
_MEMBERS = sa.select(_x.source, _x.source_id).where(_x.golden_id == sa.bindparam("gid"))
# the latest row per field (the table is append-only: every earlier row is history, and
# reading all of them made each override of a much-edited record slower than the last)
_OVERRIDES = (
    sa.select(_o.field, _o.value, _o.cleared, _o.by, _o.at)
    .where(
        _o.id.in_(
            sa.select(sa.func.max(_o.id))
            .where(_o.golden_id == sa.bindparam("gid"))
            .group_by(_o.field)
            .scalar_subquery()
        )
    )
    .order_by(_o.id)
)
# SET columns come from the parameters; the WHERE binds are named apart from the columns
_WRITE = golden_records.update().where(
    _g.golden_id == sa.bindparam("where_gid"), _g.version == sa.bindparam("where_version")
)


@dataclass(frozen=True)
class SurvivorshipSettings:
    """How golden records are rebuilt after an edit: the hub.yaml identity settings."""

    source_priority: tuple[str, ...] = ()
    rules: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: HubConfig) -> SurvivorshipSettings:
        ident = config.identity
        return cls(tuple(ident.source_priority), dict(ident.survivorship))


@dataclass(frozen=True)
class ActionResult:
    """What a steward action did: its id (for undo), a summary and the versions it left."""

    action_id: int
    summary: str
    versions: dict[str, int]


class Edit:
    """One steward action in progress (one transaction, one actor)."""

    def __init__(self, conn: Connection, settings: SurvivorshipSettings, actor: str) -> None:
        self.conn, self.settings, self.actor = conn, settings, actor
        self.stamp = now()
        self.pairs: list[dict[str, Any]] = []  # decisions appended, with the ones they replaced
        self.versions: dict[str, int] = {}  # golden id -> version this edit left it at
        self._decision_ids: list[int] = []

    # -- reading ---------------------------------------------------------------------------
    def golden(self, golden_id: str) -> Row[Any]:
        row = self.conn.execute(_GOLDEN, {"gid": golden_id}).first()
        if row is None:
            raise NotFound(f"no golden record {golden_id}; search for the customer again")
        return row

    def active(self, golden_id: str, expected_version: int | None) -> Row[Any]:
        """The golden record, refused when not active or not at the version the caller saw."""
        row = self.golden(golden_id)
        if row.status != GoldenStatus.ACTIVE:
            where = f" into {row.merged_into}" if row.merged_into else ""
            raise Conflict(f"golden record {golden_id} is {row.status}{where}; open that one")
        if expected_version is not None and row.version != expected_version:
            raise Conflict(
                f"golden record {golden_id} changed since you loaded it (version "
                f"{expected_version}, now {row.version}); reload the page and try again"
            )
        self.versions.setdefault(golden_id, int(row.version))  # what later writes must find
        return row

    def members(self, golden_id: str) -> list[Key]:
        rows = self.conn.execute(_MEMBERS, {"gid": golden_id})
        return sorted((r.source, r.source_id) for r in rows)

    def golden_of(self, key: Key) -> str:
        x = crosswalk.c
        gid = self.conn.execute(
            sa.select(x.golden_id).where(x.source == key[0], x.source_id == key[1])
        ).scalar()
        if gid is None:
            raise NotFound(f"source record {key[0]}/{key[1]} is in no golden record")
        return str(gid)

    def overrides(self, golden_id: str) -> dict[str, Override]:
        """The overrides in force: the latest row of each field, unless it cleared it."""
        rows = self.conn.execute(_OVERRIDES, {"gid": golden_id})
        return {row.field: (row.value, row.by, row.at) for row in rows if not row.cleared}

    # -- changing --------------------------------------------------------------------------
    def move(self, keys: Iterable[Key], to_golden: str) -> None:
        x = crosswalk.c
        for source, source_id in keys:
            self.conn.execute(
                crosswalk.update()
                .where(x.source == source, x.source_id == source_id)
                .values(
                    golden_id=to_golden,
                    assigned_by=f"steward:{self.actor}",
                    assigned_at=self.stamp,
                )
            )

    def constrain(self, a: Key, b: Key, decision: str, **extra: Any) -> None:
        """Append a pair decision (match / no_match / reset), remembering the one it replaces."""
        (ls, lid), (rs, rid) = sorted([a, b])
        d = steward_decisions.c
        previous = self.conn.execute(
            sa.select(d.decision)
            .where(
                d.left_source == ls,
                d.left_source_id == lid,
                d.right_source == rs,
                d.right_source_id == rid,
                d.decision.in_(CONSTRAINING),
            )
            .order_by(d.id.desc())
            .limit(1)
        ).scalar()
        result = self.conn.execute(
            steward_decisions.insert().values(
                left_source=ls,
                left_source_id=lid,
                right_source=rs,
                right_source_id=rid,
                decision=decision,
                decided_by=self.actor,
                decided_at=self.stamp,
                **extra,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        self._decision_ids.append(int(key[0]))
        self.pairs.append({"pair": [ls, lid, rs, rid], "decision": decision, "was": previous})

    def restore_pairs(self, pairs: Sequence[Mapping[str, Any]]) -> None:
        """Put back the constraints an earlier action replaced (its undo)."""
        for entry in pairs:
            ls, lid, rs, rid = entry["pair"]
            self.constrain((ls, lid), (rs, rid), entry["was"] or Decision.RESET, note="undo")

    def new_golden_id(self, members: Sequence[Key]) -> str:
        for attempt in range(1000):
            gid = golden_id_for(members, attempt)
            taken = self.conn.execute(
                sa.select(golden_records.c.golden_id).where(golden_records.c.golden_id == gid)
            ).first()
            if taken is None:
                return gid
        raise RuntimeError("no free golden id after 1000 attempts")  # pragma: no cover

    def rebuild(self, golden_id: str, *, new: bool = False) -> None:
        """Recompute a golden record from its members and overrides; bump its version.

        A golden record left without members is retired.
        """
        members = self.members(golden_id)
        if not members:
            self._write(golden_id, status=GoldenStatus.RETIRED, updated_at=self.stamp)
            return
        golden = survive(
            load_customer_records(self.conn, members),
            source_priority=self.settings.source_priority,
            rules=dict(self.settings.rules) or None,
            overrides=self.overrides(golden_id),
        )
        values: dict[str, Any] = {
            "kind": golden.values.get("kind"),
            "record": _stored(golden.values),
            "provenance": _stored(provenance_json(golden)),
            "status": GoldenStatus.ACTIVE,
            "merged_into": None,
            "updated_at": self.stamp,
        }
        if new:
            self.conn.execute(
                golden_records.insert().values(
                    golden_id=golden_id, version=1, created_at=self.stamp, **values
                )
            )
            self.versions[golden_id] = 1
            return
        self._write(golden_id, **values)

    def retire_into(self, golden_id: str, survivor: str) -> None:
        self._write(
            golden_id, status=GoldenStatus.MERGED, merged_into=survivor, updated_at=self.stamp
        )

    def _write(self, golden_id: str, **values: Any) -> None:
        """Update a golden record at the version this edit read (optimistic lock)."""
        version = self.versions.get(golden_id)
        if version is None:
            version = int(self.golden(golden_id).version)
        result = self.conn.execute(
            _WRITE,
            {**values, "version": version + 1, "where_gid": golden_id, "where_version": version},
        )
        if result.rowcount != 1:
            raise Conflict(
                f"golden record {golden_id} was changed by someone else at the same time; "
                "reload and try again"
            )
        self.versions[golden_id] = version + 1

    def finish(
        self, kind: str, summary: str, detail: Mapping[str, Any], *, undoes: int | None = None
    ) -> ActionResult:
        """Record the action (append-only) and its audit entry; link its pair decisions."""
        full = {**detail, "pairs": self.pairs, "versions_after": self.versions}
        result = self.conn.execute(
            steward_actions.insert(),
            {
                "kind": kind,
                "actor": self.actor,
                "at": self.stamp,
                "summary": summary,
                "detail": _stored(full),
                "undoes": undoes,
            },
        )
        key = result.inserted_primary_key
        assert key is not None
        action_id = int(key[0])
        if self._decision_ids:
            d = steward_decisions.c
            self.conn.execute(
                steward_decisions.update()
                .where(d.id.in_(self._decision_ids))
                .values(action_id=action_id)
            )
        target = ",".join(sorted(self.versions)) or str(detail.get("candidate_id", ""))
        record_audit(
            self.conn,
            self.actor,
            f"steward.{kind}",
            "golden" if self.versions else "review",
            target,
            {"action_id": action_id, "summary": summary, **detail},
        )
        return ActionResult(action_id, summary, dict(self.versions))


def _stored(value: object) -> Any:
    """A value as the store's JSON columns hold it (so later comparisons are exact)."""
    return json.loads(dumps(value))
