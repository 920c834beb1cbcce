"""What changed in the store since the last successful resolve, and who the affected
records' previous golden records are.

Since the watermarks of `hub.resolve.state`: customer records loaded (inserted, updated,
re-appeared) or marked deleted — a sync stamps `loaded_at` on both — steward pair
decisions, field overrides, and crosswalk rows a steward moved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.clock import as_utc, now
from hub.core.states import RunStatus
from hub.resolve.records import CONSTRAINING, Pair
from hub.resolve.state import Marks
from hub.store.database import process_alive
from hub.store.tables import (
    connector_runs,
    crosswalk,
    customer_records,
    golden_overrides,
    steward_decisions,
)
from identity.resolve import Key

__all__ = [
    "Changes",
    "Member",
    "assignments",
    "find_changes",
    "held_back",
    "ids_of",
    "live_count",
    "members_of",
    "orphaned",
    "unindexed",
]

_CHUNK = 500
CLOCK_SLACK = dt.timedelta(seconds=2)  # between the clocks of the hosts a sync and a resolve run on


@dataclass
class Changes:
    """What the next run has to look at, and the watermarks once it has."""

    loaded: list[int] = field(default_factory=list)  # live records loaded since (ids)
    deleted: list[int] = field(default_factory=list)  # records marked deleted since (ids)
    decided: list[Pair] = field(default_factory=list)  # pairs with a new constraining decision
    overridden: set[str] = field(default_factory=set)  # golden ids with new field overrides
    moved: list[Key] = field(default_factory=list)  # records a steward moved to a golden record
    marks: Marks | None = None

    def __bool__(self) -> bool:
        return bool(self.loaded or self.deleted or self.decided or self.overridden or self.moved)


def find_changes(conn: Connection, marks: Marks) -> Changes:
    """Everything newer than `marks`, with the marks that cover it."""
    c, d, o, x = customer_records.c, steward_decisions.c, golden_overrides.c, crosswalk.c
    out = Changes()
    read_from = now()
    query = sa.select(c.id, c.deleted, c.loaded_at)
    if marks.loaded is not None:
        query = query.where(c.loaded_at > marks.loaded)
    newest = marks.loaded
    for loaded in conn.execute(query):
        (out.deleted if loaded.deleted else out.loaded).append(int(loaded.id))
        if newest is None or loaded.loaded_at > newest:
            newest = loaded.loaded_at
    newest = held_back(conn, newest, read_from)
    decision_mark = marks.decision
    for row in conn.execute(
        sa.select(
            d.id, d.left_source, d.left_source_id, d.right_source, d.right_source_id, d.decision
        )
        .where(d.id > marks.decision)
        .order_by(d.id)
    ):
        decision_mark = max(decision_mark, int(row.id))
        if row.decision in CONSTRAINING:
            a, b = sorted(
                [(row.left_source, row.left_source_id), (row.right_source, row.right_source_id)]
            )
            out.decided.append((a, b))
    override_mark = marks.override
    for override in conn.execute(sa.select(o.id, o.golden_id).where(o.id > marks.override)):
        override_mark = max(override_mark, int(override.id))
        out.overridden.add(str(override.golden_id))
    moved = sa.select(x.source, x.source_id).where(x.assigned_by != "engine")
    if marks.crosswalk is not None:
        moved = moved.where(x.assigned_at > marks.crosswalk)
    out.moved = [(r.source, r.source_id) for r in conn.execute(moved)]
    out.marks = Marks(newest, decision_mark, override_mark, marks.crosswalk)
    return out


def held_back(
    conn: Connection, loaded: dt.datetime | None, read_from: dt.datetime
) -> dt.datetime | None:
    """The load watermark `loaded`, moved back to just before the start of the oldest sync
    that may still commit records stamped below it.

    A sync stamps `loaded_at` when it writes a batch and commits it later, and syncs of
    different sources run side by side: the newest stamp a run sees does not prove that every
    older one is in. A sync may still commit if its process runs, or if it ended after this
    run began reading (`read_from`, taken before the records were read; call this after
    reading them). The records such a sync has already committed are looked at again next
    time, which is harmless: a run over unchanged records changes nothing."""
    if loaded is None:
        return None
    r = connector_runs.c
    in_flight = [
        as_utc(row.started_at)
        for row in conn.execute(
            sa.select(r.started_at, r.status, r.pid).where(
                r.dry_run.is_(False),
                sa.or_(r.status == RunStatus.RUNNING, r.finished_at >= read_from - CLOCK_SLACK),
            )
        )
        # a `running` row whose process has died can commit nothing more
        if row.status != RunStatus.RUNNING or row.pid is None or process_alive(int(row.pid))
    ]
    if not in_flight:
        return loaded
    floor = min(in_flight) - dt.timedelta(microseconds=1)
    return floor if floor < as_utc(loaded) else loaded


def live_count(conn: Connection) -> int:
    c = customer_records.c
    return int(conn.execute(sa.select(sa.func.count()).where(c.deleted.is_(False))).scalar_one())


def unindexed(conn: Connection, indexed: np.ndarray) -> tuple[list[int], list[int]]:
    """The live records the index lacks, and the indexed ones no longer live — written
    without a new `loaded_at` (or removed from the table): the slow path, a scan of the
    ids, taken only when the live count does not add up."""
    c = customer_records.c
    live = np.fromiter(
        (int(i) for (i,) in conn.execute(sa.select(c.id).where(c.deleted.is_(False)))),
        dtype=np.int64,
    )
    return (
        np.setdiff1d(live, indexed).tolist(),
        np.setdiff1d(indexed, live).tolist(),
    )


@dataclass(frozen=True)
class Member:
    """A customer record: its id, key, previous golden id (None: never resolved), and
    whether it is still live."""

    id: int
    key: Key
    golden_id: str | None
    live: bool


def _joined() -> sa.Select[tuple[int, str, str, bool, str | None]]:
    c, x = customer_records.c, crosswalk.c
    return sa.select(c.id, c.source, c.source_id, c.deleted, x.golden_id).select_from(
        customer_records.outerjoin(
            crosswalk, sa.and_(x.source == c.source, x.source_id == c.source_id)
        )
    )


def _members(
    conn: Connection, query: sa.Select[tuple[int, str, str, bool, str | None]]
) -> list[Member]:
    return [
        Member(int(r.id), (r.source, r.source_id), r.golden_id, not r.deleted)
        for r in conn.execute(query)
    ]


def assignments(conn: Connection, ids: Iterable[int]) -> list[Member]:
    """The records with these ids (live or deleted) and their previous golden ids."""
    c = customer_records.c
    wanted = sorted({int(i) for i in ids})
    out: list[Member] = []
    for at in range(0, len(wanted), _CHUNK):
        out += _members(conn, _joined().where(c.id.in_(wanted[at : at + _CHUNK])))
    return out


def members_of(conn: Connection, golden_ids: Iterable[str]) -> list[Member]:
    """The live records the crosswalk maps to these golden ids."""
    c, x = customer_records.c, crosswalk.c
    wanted = sorted(set(golden_ids))
    out: list[Member] = []
    joined = crosswalk.join(
        customer_records, sa.and_(c.source == x.source, c.source_id == x.source_id)
    )
    for at in range(0, len(wanted), _CHUNK):  # from the crosswalk's golden id index
        query = (
            sa.select(c.id, c.source, c.source_id, c.deleted, x.golden_id)
            .select_from(joined)
            .where(x.golden_id.in_(wanted[at : at + _CHUNK]), c.deleted.is_(False))
        )
        out += _members(conn, query)
    return out


def ids_of(conn: Connection, keys: Sequence[Key]) -> list[Member]:
    """The live records with these (source, source_id) keys."""
    c = customer_records.c
    wanted = sorted(set(keys))
    out: list[Member] = []
    for at in range(0, len(wanted), _CHUNK):
        chunk = wanted[at : at + _CHUNK]
        query = _joined().where(
            c.source.in_(sorted({k[0] for k in chunk})),
            c.source_id.in_(sorted({k[1] for k in chunk})),
            sa.tuple_(c.source, c.source_id).in_(chunk),
            c.deleted.is_(False),
        )
        out += _members(conn, query)
    return out


def orphaned(conn: Connection) -> list[Member]:
    """Crosswalk rows whose record is not live (removed from the table outright: no id to
    find it by), as departed members with id -1. The slow path, with `unindexed`."""
    c, x = customer_records.c, crosswalk.c
    live = sa.exists().where(c.source == x.source, c.source_id == x.source_id, c.deleted.is_(False))
    query = sa.select(x.source, x.source_id, x.golden_id).where(~live)
    return [Member(-1, (r.source, r.source_id), r.golden_id, False) for r in conn.execute(query)]
