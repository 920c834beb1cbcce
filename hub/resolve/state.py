"""What an incremental resolve builds on, kept in `resolve_state` (migration 0011).

One row: the fitted model of the last full run and the watermarks of the last successful
run — the newest `customer_records.loaded_at`, steward decision, field override and
crosswalk assignment it had seen. Anything newer is what the next run has to look at.

The key index of the live records (`identity.incremental.KeyIndex`, ~180 bytes a record)
is kept beside it in `resolve_index` (migration 0014) as a `base`, written by a full run,
and a `delta` (`IndexDelta`: the rows set and the ids gone since, with the links between
golden records and the index's pair estimates), which an incremental run rewrites — a few
MB after a sync instead of the whole index.
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
    resolve_index,
    resolve_state,
    steward_decisions,
)
from identity.incremental import KeyIndex

__all__ = [
    "IndexDelta",
    "Marks",
    "ResolveState",
    "current_marks",
    "index_from_bytes",
    "index_to_bytes",
    "load_state",
    "save_state",
]

_ROW = 1
_PIECE = 64 << 20
"""Bytes per `resolve_index` row: a part is split in pieces of this size (SQLite and
PostgreSQL both refuse a single value past 1 GB: the base index of ~5.5M records)."""


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
    # the index's changes since the stored base: None to store `index` as the new base
    delta: IndexDelta | None = None


@dataclass(frozen=True)
class IndexDelta:
    """Index rows set (added or overwritten: `ids` with their `keys` and `ident`) and ids
    `gone`, on top of a base index."""

    ids: np.ndarray
    keys: np.ndarray
    ident: np.ndarray
    gone: np.ndarray

    @classmethod
    def empty(cls, index: KeyIndex) -> IndexDelta:
        return cls.of(index, np.empty(0, np.int64), np.empty(0, np.int64))

    @classmethod
    def of(cls, index: KeyIndex, ids: np.ndarray, gone: np.ndarray) -> IndexDelta:
        """The rows of `ids` as `index` holds them (all held), and `gone` (held by none)."""
        rows = index.rows(ids)
        assert (rows >= 0).all() and (index.rows(gone) < 0).all()
        return cls(
            np.asarray(ids, np.int64),
            index.keys[rows],
            index.ident[rows],
            np.asarray(gone, np.int64),
        )

    def then(self, later: IndexDelta) -> IndexDelta:
        """This delta followed by `later`, as one."""
        replaced = np.isin(self.ids, np.concatenate([later.ids, later.gone]))
        gone = np.union1d(self.gone, later.gone)
        return IndexDelta(
            np.concatenate([self.ids[~replaced], later.ids]),
            np.concatenate([self.keys[~replaced], later.keys]),
            np.concatenate([self.ident[~replaced], later.ident]),
            gone[~np.isin(gone, later.ids)],
        )

    def applied(self, base: KeyIndex) -> KeyIndex:
        return base.replaced(self.gone, self.ids, self.keys, self.ident)


def current_marks(conn: Connection) -> Marks:
    """The newest record load, decision, override and crosswalk assignment in the store."""
    loaded = conn.execute(sa.select(sa.func.max(customer_records.c.loaded_at))).scalar()
    decision = conn.execute(sa.select(sa.func.max(steward_decisions.c.id))).scalar()
    override = conn.execute(sa.select(sa.func.max(golden_overrides.c.id))).scalar()
    assigned = conn.execute(sa.select(sa.func.max(crosswalk.c.assigned_at))).scalar()
    return Marks(loaded, int(decision or 0), int(override or 0), assigned)


def index_to_bytes(index: KeyIndex, bridges: np.ndarray) -> bytes:
    """The index and the bridges as an .npz archive (plain arrays: nothing is pickled)."""
    return _npz(ids=index.ids, keys=index.keys, ident=index.ident, bridges=bridges)


def index_from_bytes(data: bytes) -> tuple[KeyIndex, np.ndarray | None]:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        index = KeyIndex(arrays["ids"], arrays["keys"], arrays["ident"])
        if "bridges" not in arrays.files:  # written before bridges were kept: a full run
            return index, None
        return index, arrays["bridges"].reshape(-1, 2)


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _delta_to_bytes(delta: IndexDelta, bridges: np.ndarray, index: KeyIndex) -> bytes:
    known = index.known_estimates()
    blocks = np.array(sorted(known), dtype=np.int64)
    rules = index.keys.shape[1]
    estimates = np.array([known[b] for b in blocks.tolist()], dtype=np.int64).reshape(-1, rules)
    return _npz(
        ids=delta.ids,
        keys=delta.keys,
        ident=delta.ident,
        gone=delta.gone,
        bridges=bridges,
        max_blocks=blocks,
        estimates=estimates,
    )


def _with_delta(base: KeyIndex, data: bytes) -> tuple[KeyIndex, IndexDelta, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as a:
        delta = IndexDelta(a["ids"], a["keys"], a["ident"], a["gone"])
        index = delta.applied(base) if delta.ids.size or delta.gone.size else base
        estimates = dict(zip(a["max_blocks"].tolist(), a["estimates"], strict=True))
        return index.with_estimates(estimates), delta, a["bridges"].reshape(-1, 2)


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
        columns.append(s.model)
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
        parts = _read_parts(conn)
        if "base" not in parts:  # both are written in one transaction: only a hand edit; a full run
            return None
        index, bridges = index_from_bytes(bytes(parts["base"]))
        delta = IndexDelta.empty(index)
        if "delta" in parts:
            index, delta, bridges = _with_delta(index, bytes(parts["delta"]))
        state = replace(state, model=bytes(row.model), index=index, bridges=bridges, delta=delta)
    return state


def save_state(conn: Connection, state: ResolveState) -> None:
    """Replace the stored state (in the caller's transaction, with the run's writes): the
    index as a new base when `state.delta` is None, else only the delta on the stored base."""
    assert state.index is not None and state.bridges is not None and state.model
    stamp = now()
    parts = {
        "delta": _delta_to_bytes(
            state.delta or IndexDelta.empty(state.index), state.bridges, state.index
        )
    }
    if state.delta is None:
        parts["base"] = index_to_bytes(state.index, state.bridges)
    _write_parts(conn, parts, stamp)
    values = {
        "fingerprint": state.fingerprint,
        "model": state.model,
        "records": state.records,
        "records_at_full": state.records_at_full,
        "changed_since_full": state.changed_since_full,
        "full_at": state.full_at,
        "loaded_mark": state.marks.loaded,
        "decision_mark": state.marks.decision,
        "override_mark": state.marks.override,
        "crosswalk_mark": state.marks.crosswalk,
        "updated_at": stamp,
    }
    conn.execute(resolve_state.delete().where(resolve_state.c.id == _ROW))
    conn.execute(resolve_state.insert().values(id=_ROW, **values))


def _read_parts(conn: Connection) -> dict[str, bytes]:
    """The stored index parts, each joined from its pieces."""
    x = resolve_index.c
    pieces: dict[str, list[bytes]] = {}
    for row in conn.execute(sa.select(x.part, x.arrays).order_by(x.part, x.piece)):
        pieces.setdefault(row.part, []).append(bytes(row.arrays))
    return {part: b"".join(chunks) for part, chunks in pieces.items()}


def _write_parts(conn: Connection, parts: dict[str, bytes], stamp: dt.datetime) -> None:
    """Replace these index parts, each in pieces of at most `_PIECE` bytes."""
    x = resolve_index.c
    conn.execute(resolve_index.delete().where(x.part.in_(sorted(parts))))
    for part, data in parts.items():
        for number, at in enumerate(range(0, max(len(data), 1), _PIECE)):
            conn.execute(
                resolve_index.insert().values(
                    part=part, piece=number, arrays=data[at : at + _PIECE], updated_at=stamp
                )
            )
