"""The worklist page for a user with 10,000 open items, at a million customers (issue 16).

    python -m benchmarks.worklist_page [--golden 1000000] [--items 10000] [--owners 10]
                                       [--rounds 30] [--json]

Generates (once, cached in /tmp/crmhub-bench/worklist-<golden>) a SQLite hub store with
`--golden` golden records, one member record each in the crosswalk, and `--owners` users who
each own `--items` open call-back items spread over 200 days around today; then signs in
through the login form like a browser and times — one request at a time, `--rounds` times
each, in-process through the whole app (authentication, the store, the template) — the
worklist page (first, middle and last page of the owner's items, due tomorrow, overdue) and
the API's first page. Prints p50/p95/max per request and p95 as a share of the 300 ms goal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import tempfile
import time
from pathlib import Path

GOAL_MS = 300.0
CACHE = Path(tempfile.gettempdir()) / "crmhub-bench"
PASSWORD = "bench-worklist-password"
_CHUNK = 20_000


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _owner(n: int) -> str:
    return f"bench{n}"


def generate(folder: Path, golden: int, items: int, owners: int) -> Path:
    """The store (cached by its sizes): golden records, crosswalk, users and open items."""
    import sqlalchemy as sa

    from hub.steward import add_user
    from hub.steward.worklist import hub_today
    from hub.store.database import Store
    from hub.store.tables import crosswalk, golden_records, worklist_items

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "hub.db"
    done = folder / f"done-{items}x{owners}-{hub_today()}"
    if done.exists():
        return db
    db.unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    store.migrate()
    rng = random.Random(16)
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    for offset in range(0, golden, _CHUNK):
        ids = range(offset, min(offset + _CHUNK, golden))
        with store.transaction() as conn:
            conn.execute(
                golden_records.insert(),
                [
                    {"golden_id": f"G{i:016x}", "kind": "person", "status": "active",
                     "record": {"given_name": f"Given{i}", "family_name": f"Family{i % 997}"},
                     "provenance": {}, "version": 1, "created_at": at, "updated_at": at}
                    for i in ids
                ],
            )  # fmt: skip
            conn.execute(
                crosswalk.insert(),
                [
                    {"source": "erp", "source_id": str(i), "golden_id": f"G{i:016x}",
                     "assigned_by": "engine", "assigned_at": at}
                    for i in ids
                ],
            )  # fmt: skip
    today = hub_today()
    with store.transaction() as conn:
        for n in range(owners):
            add_user(conn, _owner(n), PASSWORD, "steward", actor="benchmark")
    rows = []
    for n in range(owners):
        for _ in range(items):
            i = rng.randrange(golden)
            due = today + dt.timedelta(days=rng.randrange(-30, 170))
            rows.append(
                {"kind": "call_back", "golden_id": f"G{i:016x}", "member": f"erp/{i}",
                 "topic": f"Quote {i}", "reason": f"Call back: Quote {i}", "channel": "phone",
                 "owner": _owner(n), "due_on": due, "first_due_on": due, "status": "open",
                 "created_by": "benchmark", "created_at": at, "updated_at": at, "version": 1}
            )  # fmt: skip
    for start in range(0, len(rows), _CHUNK):
        with store.transaction() as conn:
            conn.execute(worklist_items.insert(), rows[start : start + _CHUNK])
    with store.transaction() as conn:
        conn.execute(sa.text("ANALYZE"))
    store.dispose()
    print(f"generated {golden:,} customers, {owners * items:,} items in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    done.write_text("1")
    return db


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=10_000, help="open items per owner")
    parser.add_argument("--owners", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    from hub.steward import create_token
    from hub.store.database import Store
    from hub.web import create_app
    from schemas.config import HubConfig

    db = generate(CACHE / f"worklist-{args.golden}", args.golden, args.items, args.owners)
    url = f"sqlite:///{db}"
    store = Store(url)
    config = HubConfig.model_validate({"store": {"url": url}, "connectors": []})
    app = create_app(config, store)
    owner = _owner(0)
    with store.transaction() as conn:
        token = create_token(conn, owner, "bench", actor="benchmark")
    client = TestClient(app)
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf, "the login page has no csrf_token field"
    signed = client.post(
        "/login",
        data={"username": owner, "password": PASSWORD, "csrf_token": csrf[1]},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text[:300]
    pages = -(-args.items // 50)
    requests = {
        "page 1": ("/worklist", {}),
        f"page {pages // 2}": ("/worklist", {"page": str(pages // 2)}),
        f"page {pages} (last)": ("/worklist", {"page": str(pages)}),
        "due tomorrow": ("/worklist", {"due": "tomorrow"}),
        "overdue": ("/worklist", {"due": "overdue"}),
        "API page 1": ("/api/worklist", {}),
    }
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    print(f"store: {args.golden:,} customers; {owner} owns {args.items:,} of "
          f"{args.items * args.owners:,} open items; {args.rounds} rounds each")  # fmt: skip
    print(f"\n{'request':<18}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  p95/goal")
    figures = {}
    for name, (path, params) in requests.items():
        use = api if path.startswith("/api/") else client
        first = use.get(path, params=params)
        assert first.status_code == 200, (name, first.status_code, first.text[:300])
        assert "item-" in first.text or "items" in first.text
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            response = use.get(path, params=params)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        p50, p95 = _pct(times, 0.5), _pct(times, 0.95)
        figures[name] = {"p50_ms": p50, "p95_ms": p95, "max_ms": max(times)}
        print(f"{name:<18}{p50:>9.1f}{p95:>9.1f}{max(times):>9.1f}  {p95 / GOAL_MS:.0%}")
    store.dispose()
    if args.json:
        print(json.dumps({"goal_ms": GOAL_MS, "requests": figures}))


if __name__ == "__main__":
    main()
