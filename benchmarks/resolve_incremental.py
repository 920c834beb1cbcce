"""Incremental store resolve: a full `crmhub resolve` against a re-run with no change and a
re-run after a share of the records changed, on one generated hub store, in one run.

    python -m benchmarks.resolve_incremental --entities 90000 --changed 0.01

Generates CRM records (`benchmarks.identity.crm_generator`, ~2.2 records an entity), writes
them into a fresh SQLite hub store as a sync does, then times, each in this process:

1. the first `resolve_store` (a full run: EM, every record);
2. a re-run with nothing changed;
3. after `--changed` of the records changed (a third updated, a third new duplicates of
   existing customers, a third deleted), an incremental re-run;
4. a full run (`full=True`, the model estimated again) on the same data with the history
   the incremental run had, in a copy of the store taken before step 3's run — the
   reference the incremental result is compared with (pairwise F1, golden ids kept).

Prints one JSON document: seconds and peak RSS growth per step, the incremental/full time
ratio (goal ≤ 0.10 at 1M records), records re-clustered, and the agreement.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

__all__ = ["main"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    from schemas.customer import CUSTOMER_FIELDS

    rows = []
    for record in records:
        row: dict[str, Any] = {f: record.get(f) for f in CUSTOMER_FIELDS}
        row["updated_at"] = None
        row["extra"] = {}
        digest = json.dumps(record, sort_keys=True, default=str).encode()
        row["content_hash"] = hashlib.sha256(digest).hexdigest()
        rows.append(row)
    return rows


def _put(store: Any, records: Sequence[Mapping[str, Any]]) -> None:
    from hub.store.database import now
    from hub.store.tables import customer_records
    from hub.store.upsert import upsert

    with store.transaction() as conn:
        for at in range(0, len(records), 20_000):
            upsert(
                conn,
                customer_records,
                _rows(records[at : at + 20_000]),
                key=("source", "source_id"),
                constants={"stream": "customers", "loaded_at": now(), "deleted": False},
            )


def _delete(store: Any, keys: Sequence[tuple[str, str]]) -> None:
    from hub.store.database import now
    from hub.store.tables import customer_records

    c = customer_records.c
    with store.transaction() as conn:
        for source, source_id in keys:
            conn.execute(
                customer_records.update()
                .where(c.source == source, c.source_id == source_id)
                .values(deleted=True, loaded_at=now())
            )


def _changes(
    records: Sequence[Mapping[str, Any]], share: float, seed: int
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    rng = random.Random(seed)
    picked = rng.sample(list(records), max(3, int(len(records) * share)))
    third = len(picked) // 3
    updated = []
    for r in picked[:third]:
        out = dict(r)
        if out.get("email"):
            out["email"] = "x" + str(out["email"])
        else:
            out["city"] = "Budapest"
        updated.append(out)
    new = [
        dict(r, source="web", source_id=f"bench-new-{k}")
        for k, r in enumerate(picked[third : 2 * third])
    ]
    gone = [(str(r["source"]), str(r["source_id"])) for r in picked[2 * third :]]
    return updated + new, gone


def _crosswalk(store: Any) -> dict[tuple[str, str], str]:
    from hub.store.tables import crosswalk

    with store.engine.connect() as conn:
        return {(r.source, r.source_id): r.golden_id for r in conn.execute(sa.select(crosswalk))}


def _pairwise_f1(a: Mapping[Any, str], b: Mapping[Any, str]) -> float:
    def pairs(m: Mapping[Any, str]) -> set[tuple[Any, Any]]:
        groups: dict[str, list[Any]] = {}
        for k, g in m.items():
            groups.setdefault(g, []).append(k)
        return {
            (x, y)
            for g in groups.values()
            for i, x in enumerate(sorted(g))
            for y in sorted(g)[i + 1 :]
        }

    pa, pb = pairs(a), pairs(b)
    return 1.0 if not pa and not pb else 2 * len(pa & pb) / (len(pa) + len(pb))


def _history(store: Any) -> Any:
    """What the next run builds on (crosswalk, creation order, decisions, overrides)."""
    from hub.resolve.records import latest_decisions, load_overrides
    from hub.store.tables import golden_records
    from identity.resolve import History

    with store.engine.connect() as conn:
        decisions = latest_decisions(conn)
        created = dict(
            conn.execute(sa.select(golden_records.c.golden_id, golden_records.c.created_at)).all()
        )
        overrides = load_overrides(conn)
    return History(
        previous=_crosswalk(store),
        created_order=created,
        must_link=[p for p, v in decisions.items() if v == "match"],
        cannot_link=[p for p, v in decisions.items() if v == "no_match"],
        overrides=overrides,
    )


def _stored_model_full(config: Any, store: Any, before: Any) -> Any:
    """The engine's full run over every record, scored with the store's stored model (no
    EM) and the history the incremental run had: what the incremental run must equal."""
    from hub.resolve.records import load_customer_records
    from hub.resolve.run import settings_of
    from hub.resolve.state import load_state
    from identity.backends.local import LocalBackend
    from identity.model import ModelSpec
    from identity.model_io import model_from_bytes
    from identity.resolve import run

    spec = ModelSpec.from_settings(settings_of(config))
    with store.engine.connect() as conn:
        records = load_customer_records(conn)
        state = load_state(conn)
    model = model_from_bytes(state.model, spec.comparisons)

    class Stored(LocalBackend):
        def estimate(self, *args: Any, **kwargs: Any) -> Any:
            return model

    return run(records, spec, history=before, backend=Stored(), build_golden=False)


def _timed(step: str, out: dict[str, Any], call: Any) -> Any:
    gc.collect()
    before = _rss_mb()
    started = time.perf_counter()
    result = call()
    out[step] = {
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_growth_mb": round(_rss_mb() - before),
    }
    if hasattr(result, "line"):
        out[step]["summary"] = result.line()
    print(json.dumps({step: out[step]}), file=sys.stderr, flush=True)  # progress
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=90_000, help="~2.2 records each")
    parser.add_argument("--changed", type=float, default=0.01, help="share of records changed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    parser.add_argument("--no-reference", action="store_true", help="skip the full reference run")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="also compare with a full run scored with the stored model (must be equal)",
    )
    args = parser.parse_args(argv)

    from benchmarks.identity.crm_generator import generate
    from hub.cli.example import write_example
    from hub.resolve.run import resolve_store
    from hub.store.database import Store
    from schemas.config import load_config

    folder = args.dir or Path(tempfile.mkdtemp(prefix="crmhub-resolve-inc-"))
    folder.mkdir(parents=True, exist_ok=True)
    write_example(folder)
    config = load_config(folder / "hub.yaml")
    db = folder / ".crmhub" / "hub.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    store = Store.open(config)
    out: dict[str, Any] = {"entities": args.entities, "changed_share": args.changed}
    started = time.perf_counter()
    records, _ = generate(args.entities, args.seed)
    _put(store, records)
    out["records"] = len(records)
    out["setup_seconds"] = round(time.perf_counter() - started, 1)

    _timed("full", out, lambda: resolve_store(config, store, actor="bench"))
    _timed("no_change", out, lambda: resolve_store(config, store, actor="bench"))
    changed, gone = _changes(records, args.changed, args.seed)
    del records
    _put(store, changed)
    _delete(store, gone)
    out["changes"] = {"put": len(changed), "deleted": len(gone)}
    reference_db = folder / "reference.db"
    if not args.no_reference:
        store.dispose()
        shutil.copyfile(db, reference_db)
        store = Store.open(config)
    before = _history(store) if args.exact else None
    _timed("incremental", out, lambda: resolve_store(config, store, actor="bench"))
    incremental = _crosswalk(store)
    if before is not None:
        same = _timed("stored_model_full", out, lambda: _stored_model_full(config, store, before))
        out["exact"] = {
            "same_golden_id": sum(incremental[k] == same.crosswalk.get(k) for k in incremental)
            / max(len(incremental), 1),
            "records_compared": len(incremental),
        }
    store.dispose()
    if not args.no_reference:
        reference = Store.open(f"sqlite:///{reference_db}")
        _timed(
            "reference_full",
            out,
            lambda: resolve_store(config, reference, actor="bench", full=True),
        )
        full = _crosswalk(reference)
        reference.dispose()
        same_id = sum(incremental[k] == full.get(k) for k in incremental) / max(len(incremental), 1)
        out["agreement"] = {
            "pairwise_f1": round(_pairwise_f1(incremental, full), 5),
            "same_golden_id": round(same_id, 5),
        }
        out["ratio_incremental_to_full"] = round(
            out["incremental"]["seconds"] / out["reference_full"]["seconds"], 3
        )
    out["ratio_incremental_to_first_full"] = round(
        out["incremental"]["seconds"] / out["full"]["seconds"], 3
    )
    out["ratio_no_change_to_first_full"] = round(
        out["no_change"]["seconds"] / out["full"]["seconds"], 3
    )
    print(json.dumps(out, indent=2))
    if args.dir is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
