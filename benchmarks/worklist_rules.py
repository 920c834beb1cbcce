"""The proactive worklist rules after analyse, at scale (issue 16).

    python -m benchmarks.worklist_rules [--customers 200000] [--json]

Builds (once, cached in /tmp/crmhub-bench/worklist-rules-<customers>) a SQLite hub store with
`--customers` golden records, one member record each, and a profile each as analyse writes
it (birthday for all, a contract renewal day for 30 %, tenure, churn risk and CLV), plus the
steward who owns the items. Then times, in one run, `generate_worklists` with the four
kinds of rule as analyse calls it: day 1 (opens birthdays, services and welcomes; records
every risk), day 2 after 1 % of customers' risk rose (opens their churn_rise items) and day
2 again (nothing new: the idempotent re-run). Prints each run's seconds, items opened, and
the re-run as a share of the first run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

CACHE = Path(tempfile.gettempdir()) / "crmhub-bench"
DAY1 = dt.date(2026, 12, 5)
_CHUNK = 20_000
RULES = {
    "rules": [
        {"name": "birthdays", "kind": "birthday", "days": 7, "owner": "bench"},
        {"name": "renewals", "kind": "service", "days": 30, "lead_days": 7, "owner": "bench"},
        {"name": "rising", "kind": "churn_rise", "min_value": 100, "min_rise": 0.2,
         "owner": "bench"},
        {"name": "welcome", "kind": "welcome", "days": 14, "after_days": 3, "owner": "bench"},
    ]
}  # fmt: skip


def _profile(i: int, rng: random.Random, run_id: int) -> dict[str, Any]:
    traits: dict[str, Any] = {
        "birthday": f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "tenure_days": rng.random() * 1500,
    }
    if rng.random() < 0.3:
        traits["next_renewal"] = (DAY1 + dt.timedelta(days=rng.randint(-200, 400))).isoformat()
    return {
        "golden_id": f"G{i:016x}", "run_id": run_id, "as_of": DAY1, "frequency": 3,
        "clv_12m": round(rng.random() * 2000, 2), "churn_risk": round(rng.random() * 0.5, 4),
        "churn_reasons": "no purchase in 120 days", "stage": "active",
        "customer_type": "regular", "next_best_offers": "", "traits": traits,
    }  # fmt: skip


def generate(folder: Path, customers: int) -> Path:
    """The store (cached by size): golden records, crosswalk, profiles, one steward."""
    from hub.steward import add_user
    from hub.store.database import Store
    from hub.store.tables import analysis_runs, crosswalk, customer_profiles, golden_records

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "hub.db"
    if (folder / "done").exists():
        return db
    db.unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    store.migrate()
    rng = random.Random(16)
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with store.transaction() as conn:
        run_id = conn.execute(
            analysis_runs.insert().values(
                status="succeeded", actor="bench", started_at=at, pid=0, as_of=DAY1,
                horizon_days=90, rejected={},
            )
        ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        add_user(conn, "bench", "bench-worklist-password", "steward", actor="bench")
    for offset in range(0, customers, _CHUNK):
        ids = range(offset, min(offset + _CHUNK, customers))
        with store.transaction() as conn:
            conn.execute(golden_records.insert(), [
                {"golden_id": f"G{i:016x}", "kind": "person", "status": "active",
                 "record": {"given_name": f"Given{i}", "family_name": f"Family{i % 997}"},
                 "provenance": {}, "version": 1, "created_at": at, "updated_at": at}
                for i in ids
            ])  # fmt: skip
            conn.execute(crosswalk.insert(), [
                {"source": "erp", "source_id": str(i), "golden_id": f"G{i:016x}",
                 "assigned_by": "engine", "assigned_at": at}
                for i in ids
            ])  # fmt: skip
            conn.execute(customer_profiles.insert(), [_profile(i, rng, run_id) for i in ids])
    store.dispose()
    (folder / "done").touch()
    return db


def run(customers: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from hub.analyse.worklists import generate_worklists
    from hub.store.database import Store
    from hub.store.tables import customer_profiles, worklist_items, worklist_risk_seen
    from schemas.worklists import Worklists

    folder = CACHE / f"worklist-rules-{customers}"
    db = generate(folder, customers)
    work = folder / "run.db"
    work.write_bytes(db.read_bytes())  # each run starts from the same store
    store = Store(f"sqlite:///{work}")
    rules = Worklists.model_validate(RULES)
    timings: dict[str, Any] = {}

    def timed(label: str, day: dt.date) -> None:
        started = time.perf_counter()
        with store.transaction() as conn:
            runs = generate_worklists(conn, rules, day)
        timings[label] = {
            "seconds": round(time.perf_counter() - started, 2),
            "opened": {r.rule: r.opened for r in runs},
        }

    try:
        with store.transaction() as conn:
            conn.execute(worklist_items.delete())
            conn.execute(worklist_risk_seen.delete())
        timed("day 1", DAY1)
        p = customer_profiles.c
        with store.transaction() as conn:  # 1 % of customers: risk up by 0.4
            conn.execute(
                customer_profiles.update()
                .where(p.golden_id.in_(
                    sa.select(p.golden_id).order_by(p.golden_id).limit(customers // 100)
                ))
                .values(churn_risk=p.churn_risk + 0.4)
            )  # fmt: skip
        timed("day 2", DAY1 + dt.timedelta(days=1))
        timed("day 2 again", DAY1 + dt.timedelta(days=1))
    finally:
        store.dispose()
        work.unlink(missing_ok=True)
    first = timings["day 1"]["seconds"]
    return {
        "customers": customers,
        "runs": timings,
        "rerun_share_of_first": round(timings["day 2 again"]["seconds"] / first, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.customers)
    if args.json:
        print(json.dumps(result))
        return
    print(f"worklist rules at {result['customers']:,} customers (SQLite, one process):")
    for label, figures in result["runs"].items():
        opened = ", ".join(f"{k} {v:,}" for k, v in figures["opened"].items())
        print(f"  {label:12} {figures['seconds']:7.2f} s  opened: {opened}")
    print(f"  the idempotent re-run takes {result['rerun_share_of_first']:.0%} of the first run")


if __name__ == "__main__":
    main()
