"""A generated customer population in a hub store, random changes to it, and the two
resolutions to compare: the store's (incremental) and a full run on the same data.

Records are written as a sync writes them (`upsert` on (source, source_id), `loaded_at`
stamped, deletions flagged with a new `loaded_at`), without running connectors: the
population is the benchmarks' generated CRM data (`benchmarks.identity.crm_generator`).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from benchmarks.identity.crm_generator import generate
from hub.resolve.records import latest_decisions, load_customer_records, load_overrides
from hub.resolve.run import settings_of
from hub.resolve.state import load_state
from hub.store.database import Store, now
from hub.store.tables import crosswalk, customer_records, golden_records
from hub.store.upsert import upsert
from identity.backends.local import LocalBackend
from identity.model import ModelSpec
from identity.model_io import model_from_bytes
from identity.resolve import History, Key, Resolution, run
from identity.score import Model
from schemas.config import HubConfig
from schemas.customer import CUSTOMER_FIELDS

__all__ = [
    "delete",
    "full_resolution",
    "history",
    "mapping",
    "pairwise_f1",
    "population",
    "put",
    "random_changes",
]


def population(entities: int, seed: int) -> list[dict[str, Any]]:
    """Generated CRM records (several per entity, hard negatives included)."""
    records, _ = generate(entities, seed)
    return records


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    row = {f: record.get(f) for f in CUSTOMER_FIELDS}
    if isinstance(row["updated_at"], str):
        row["updated_at"] = None
    row["extra"] = {k: v for k, v in record.items() if k not in CUSTOMER_FIELDS}
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()
    return {**row, "content_hash": digest}


def put(store: Store, records: Iterable[Mapping[str, Any]]) -> None:
    """Insert or update records as a sync does (loaded_at stamped, deleted cleared)."""
    rows = [_row(r) for r in records]
    with store.transaction() as conn:
        upsert(
            conn,
            customer_records,
            rows,
            key=("source", "source_id"),
            constants={"stream": "customers", "loaded_at": now(), "deleted": False},
        )


def delete(store: Store, keys: Iterable[Key]) -> None:
    """Flag records deleted as a sync does when the source no longer has them."""
    c = customer_records.c
    with store.transaction() as conn:
        for source, source_id in keys:
            conn.execute(
                customer_records.update()
                .where(c.source == source, c.source_id == source_id)
                .values(deleted=True, loaded_at=now())
            )


def _variant(record: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    out = dict(record)
    choice = rng.randrange(4)
    if choice == 0 and out.get("email"):
        out["email"] = "x" + str(out["email"])  # a typo in the e-mail
    elif choice == 1 and out.get("family_name"):
        out["family_name"] = str(out["family_name"]) + "a"
    elif choice == 2:
        out["phone"] = None
    else:
        out["city"] = rng.choice(["Budapest", "Warszawa", "London", "Haifa", "Boston"])
    return out


def random_changes(
    live: Sequence[Mapping[str, Any]], rng: random.Random, share: float, round_no: int
) -> tuple[list[dict[str, Any]], list[Key]]:
    """About `share` of the records changed: a third updated, a third new (copies of an
    existing record under another id, some with a variation: a new duplicate of someone),
    a third deleted. Returns (records to put, keys to delete)."""
    count = max(3, int(len(live) * share))
    picked = rng.sample(list(live), min(len(live), count))
    third = max(1, len(picked) // 3)
    updated = [_variant(r, rng) for r in picked[:third]]
    new = []
    for k, r in enumerate(picked[third : 2 * third]):
        copy = dict(r, source="web", source_id=f"new-{round_no}-{k}")
        new.append(_variant(copy, rng) if rng.random() < 0.5 else copy)
    gone = [(str(r["source"]), str(r["source_id"])) for r in picked[2 * third :]]
    return updated + new, gone


def mapping(store: Store) -> dict[Key, str]:
    """The store's crosswalk."""
    with store.engine.connect() as conn:
        return {(r.source, r.source_id): r.golden_id for r in conn.execute(sa.select(crosswalk))}


class _Stored(LocalBackend):
    """The local backend with the store's model instead of estimating one."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def estimate(self, *args: Any, **kwargs: Any) -> Model:
        return self.model


def history(store: Store) -> History:
    """What a run of the store builds on now: crosswalk, golden ids' creation order,
    steward decisions and overrides (taken before the run, to give a full run the same)."""
    with store.engine.connect() as conn:
        decisions = latest_decisions(conn)
        created = dict(
            conn.execute(sa.select(golden_records.c.golden_id, golden_records.c.created_at)).all()
        )
        return History(
            previous=mapping(store),
            created_order=created,
            must_link=[p for p, v in decisions.items() if v == "match"],
            cannot_link=[p for p, v in decisions.items() if v == "no_match"],
            overrides=load_overrides(conn),
        )


def full_resolution(
    config: HubConfig, store: Store, before: History, *, stored_model: bool
) -> Resolution:
    """A full run of the engine on the store's records with the history the store had
    before its last run (`before`); with `stored_model`, scored with the model the store
    keeps (no EM), else with a newly estimated one."""
    spec = ModelSpec.from_settings(settings_of(config))
    with store.engine.connect() as conn:
        records = load_customer_records(conn)
        state = load_state(conn)
    backend = None
    if stored_model:
        assert state is not None
        backend = _Stored(model_from_bytes(state.model, spec.comparisons))
    return run(records, spec, history=before, backend=backend)


def pairwise_f1(a: Mapping[Key, str], b: Mapping[Key, str]) -> float:
    """Pairwise F1 of clustering `a` against `b` (the same records): 1.0 when identical."""
    assert a.keys() == b.keys()

    def pairs(m: Mapping[Key, str]) -> set[tuple[Key, Key]]:
        groups: dict[str, list[Key]] = {}
        for k, g in m.items():
            groups.setdefault(g, []).append(k)
        out = set()
        for members in groups.values():
            members.sort()
            out.update((x, y) for i, x in enumerate(members) for y in members[i + 1 :])
        return out

    pa, pb = pairs(a), pairs(b)
    if not pa and not pb:
        return 1.0
    both = len(pa & pb)
    return 2 * both / (len(pa) + len(pb))
