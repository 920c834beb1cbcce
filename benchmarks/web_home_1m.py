"""The steward app's pages at a million golden records, as a steward meets them.

    python -m benchmarks.web_home_1m [--golden 1000000] [--rounds 40] [--workers 1]

Generates (once, cached in /tmp/crmhub-bench, see benchmarks/web_load.py) a store of
`--golden` golden records with a raw record each, starts `crmhub serve` on it, signs in
through the login form like a browser (session cookie, CSRF), and times — one request at a
time, `--rounds` times each — the home page (the dashboard: counts per source, quarantine,
review queue, golden records, recent merges), a search on the customers page and through the
API (names, sometimes misspelt; e-mails; phones), and the customers list browsed without a
query, sorted by name and by last update. Prints p50/p95/max per page against the goal of
300 ms for the home page and a search, the server's start-up time (index build) and RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import httpx

from benchmarks.web_load import (
    CACHE,
    _misspell,
    _pct,
    _rss_mb,
    generate_store,
    make_demo,
    prepare,
    served,
)

GOAL_MS = 300.0
USER, PASSWORD = "bench-home", "bench-home-password"


def _ensure_user(config: Path) -> None:
    import sqlalchemy as sa

    from hub.steward import add_user
    from hub.store.database import Store
    from hub.store.tables import users
    from schemas.config import load_config

    store = Store(load_config(config).store.url, base_dir=config.parent)
    with store.transaction() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == USER)).first() is None:
            add_user(conn, USER, PASSWORD, "steward", actor="benchmark")
    store.dispose()


def sign_in(client: httpx.Client) -> None:
    """The login form as a browser sends it: its CSRF cookie and hidden field."""
    form = client.get("/login")
    form.raise_for_status()
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if found is None:
        raise SystemExit("the login page has no csrf_token field")
    done = client.post(
        "/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": found.group(1), "next": "/"},
    )
    if done.status_code != 303 or "crmhub_session" not in client.cookies:
        raise SystemExit(f"sign-in failed: {done.status_code} {done.text[:200]}")


def timed(client: httpx.Client, url: str, **params: str) -> float:
    started = time.perf_counter()
    response = client.get(url, params=params or None)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url} {params}: {response.status_code} {response.text[:300]}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--golden", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)

    config = generate_store(args.golden, CACHE / f"golden-{args.golden}", make_demo(CACHE / "demo"))
    _ensure_user(config)
    _tokens, sample = prepare(config, 0)

    def ready(base_url: str) -> bool:
        return httpx.get(f"{base_url}/login").status_code == 200

    with served(config, args.workers, ready) as (server, base_url, startup):
        print(f"store: {args.golden:,} golden records; {args.workers} worker(s)")
        rss = _rss_mb(server.pid)
        print(f"crmhub serve ready in {startup:.1f} s (search index built), RSS {rss:.0f} MB")
        rng = random.Random(14)
        pages: dict[str, list[float]] = {}
        with httpx.Client(base_url=base_url, timeout=120) as client:
            sign_in(client)
            first = timed(client, "/")
            print(f"first home page after sign-in: {first * 1000:.0f} ms")
            for _ in range(args.rounds):
                name = _misspell(rng.choice(sample.names), rng)
                query = rng.choice(
                    [name, name, rng.choice(sample.emails), rng.choice(sample.phones)]
                )
                for label, url, params in (
                    ("home page", "/", {}),
                    ("search page", "/customers", {"q": query}),
                    ("search API", "/api/customers", {"q": query}),
                    ("dashboard API", "/api/dashboard", {}),
                    ("list by name", "/customers", {}),
                    ("list by update", "/customers", {"sort": "updated", "order": "desc"}),
                ):
                    pages.setdefault(label, []).append(timed(client, url, **params))
        print(f"\n{'page':<16}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  goal")
        out = {}
        for label, values in pages.items():
            row = {"p50": _pct(values, 0.5), "p95": _pct(values, 0.95), "max": max(values) * 1000}
            out[label] = row
            goal = ""
            if label in ("home page", "search page", "search API"):
                goal = f"≤ {GOAL_MS:.0f} ms: {'met' if row['p95'] <= GOAL_MS else 'NOT met'}"
            print(
                f"{label:<16}{len(values):>5}{row['p50']:>9.1f}{row['p95']:>9.1f}"
                f"{row['max']:>9.1f}  {goal}"
            )
        print(f"server RSS after the run: {_rss_mb(server.pid):.0f} MB")
        if args.json:
            print(json.dumps({"pages": out, "startup_s": startup}))


if __name__ == "__main__":
    main()
