"""What an incremental resolve builds on, kept in `resolve_state` (migration 0011).

One row: the fitted model of the last full run, the key index of the live records
(`identity.incremental.KeyIndex`) and the watermarks of the last successful run — the
newest `customer_records.loaded_at`, steward decision, field override and crosswalk
assignment it had seen. Anything newer is what the next run has to look at.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, replace

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.clock import now
from hub.store.tables import (
    crosswalk,
    customer_records,
    golden_overrides,
    resolve_state,
    steward_decisions,
)
from identity.incremental import KeyIndex

__all__ = [
    "Marks",
    "ResolveState",
    "current_marks",
    "index_from_bytes",
    "index_to_bytes",
    "load_state",
    "save_state",
]

_ROW = 1


@dataclass(frozen=True)
class Marks:
    """How far a run has seen: newest record load, decision id, override id, crosswalk stamp."""

    loaded: dt.datetime | None
    decision: int
    override: int
    crosswalk: dt.datetime | None


@dataclass(frozen=True)
class ResolveState:
    fingerprint: str
    records: int
    records_at_full: int
    changed_since_full: int
    full_at: dt.datetime
    marks: Marks
    model: bytes = b""
    index: KeyIndex | None = None
    bridges: np.ndarray | None = None  # (m x 2) record ids: `identity.incremental.bridges_of`


def current_marks(conn: Connection) -> Marks:
    """The newest record load, decision, override and crosswalk assignment in the store."""
    loaded = conn.execute(sa.select(sa.func.max(customer_records.c.loaded_at))).scalar()
    decision = conn.execute(sa.select(sa.func.max(steward_decisions.c.id))).scalar()
    override = conn.execute(sa.select(sa.func.max(golden_overrides.c.id))).scalar()
    assigned = conn.execute(sa.select(sa.func.max(crosswalk.c.assigned_at))).scalar()
    return Marks(loaded, int(decision or 0), int(override or 0), assigned)


def index_to_bytes(index: KeyIndex, bridges: np.ndarray) -> bytes:
    """The index and the bridges as an .npz archive (plain arrays: nothing is pickled)."""
    buffer = io.BytesIO()
    np.savez(buffer, ids=index.ids, keys=index.keys, ident=index.ident, bridges=bridges)
    return buffer.getvalue()


def index_from_bytes(data: bytes) -> tuple[KeyIndex, np.ndarray | None]:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        index = KeyIndex(arrays["ids"], arrays["keys"], arrays["ident"])
        if "bridges" not in arrays.files:  # written before bridges were kept: a full run
            return index, None
        return index, arrays["bridges"].reshape(-1, 2)


def load_state(conn: Connection, *, blobs: bool = True) -> ResolveState | None:
    """The stored state (None before the first full run); without `blobs` only its small
    columns — enough to tell whether anything changed."""
    s = resolve_state.c
    columns = [
        s.fingerprint,
        s.records,
        s.records_at_full,
        s.changed_since_full,
        s.full_at,
        s.loaded_mark,
        s.decision_mark,
        s.override_mark,
        s.crosswalk_mark,
    ]
    if blobs:
        columns += [s.model, s.record_index]
    row = conn.execute(sa.select(*columns).where(s.id == _ROW)).first()
    if row is None:
        return None
    marks = Marks(
        row.loaded_mark, int(row.decision_mark), int(row.override_mark), row.crosswalk_mark
    )
    state = ResolveState(
        fingerprint=row.fingerprint,
        records=int(row.records),
        records_at_full=int(row.records_at_full),
        changed_since_full=int(row.changed_since_full),
        full_at=row.full_at,
        marks=marks,
    )
    if blobs:
        index, bridges = index_from_bytes(bytes(row.record_index))
        state = replace(state, model=bytes(row.model), index=index, bridges=bridges)
    return state


def save_state(conn: Connection, state: ResolveState) -> None:
    """Replace the stored state (in the caller's transaction, with the run's writes)."""
    assert state.index is not None and state.bridges is not None and state.model
    values = {
        "fingerprint": state.fingerprint,
        "model": state.model,
        "record_index": index_to_bytes(state.index, state.bridges),
        "records": state.records,
        "records_at_full": state.records_at_full,
        "changed_since_full": state.changed_since_full,
        "full_at": state.full_at,
        "loaded_mark": state.marks.loaded,
        "decision_mark": state.marks.decision,
        "override_mark": state.marks.override,
        "crosswalk_mark": state.marks.crosswalk,
        "updated_at": now(),
    }
    conn.execute(resolve_state.delete().where(resolve_state.c.id == _ROW))
    conn.execute(resolve_state.insert().values(id=_ROW, **values))
