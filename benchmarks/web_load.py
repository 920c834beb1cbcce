"""Load benchmark of the steward API: N concurrent clients against a real `crmhub serve`.

    python -m benchmarks.web_load --clients 20 --seconds 60 [--golden 1000000]

Starts `crmhub serve` (uvicorn, its own process, loopback; `--workers N` as a production
deploy would run one per core) on a fresh copy of the demo store — or on a generated store
of `--golden` golden records (one source record each, with its raw record, the sync run and
some quarantine; cached under /tmp/crmhub-bench/ so it is generated once: bulk inserts
straight into a fresh SQLite store) — then, in the same run, one client alone for
`--baseline-seconds` and `--clients` clients at once for `--seconds`, each on its own API
token, a mix of: search by name (sometimes misspelt or in swapped order), e-mail, phone and
`source/id`; the customer page; the review list and a review item; and an override of a
golden field (a read of the customer's version, then the PUT; 409 from a concurrent edit is
counted apart, not as an error). Prints p50/p95/p99 and requests/s per endpoint, errors, the
concurrent/single p95 ratio, the server's start-up time (the search index is built then), its
RSS, and the CPU the server and the load generator used (they share the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

CACHE = Path(tempfile.gettempdir()) / "crmhub-bench"
GIVEN = [
    "Anna",
    "Éva",
    "Zsófia",
    "Katalin",
    "Ilona",
    "Mária",
    "Erzsébet",
    "Judit",
    "Ágnes",
    "Krisztina",
    "István",
    "László",
    "József",
    "János",
    "Zoltán",
    "Sándor",
    "Gábor",
    "Ferenc",
    "Attila",
    "Péter",
    "Tamás",
    "Katarzyna",
    "Agnieszka",
    "Małgorzata",
    "Łukasz",
    "Piotr",
    "Krzysztof",
    "Tomasz",
    "Paweł",
    "Avraham",
    "Yael",
    "David",
    "Noa",
    "Moshe",
    "Tamar",
    "William",
    "Emily",
    "James",
    "Olivia",
    "Mary",
    "John",
    "Robert",
    "Linda",
    "Michael",
    "Sarah",
    "Thomas",
    "Laura",
    "Daniel",
    "Sophie",
    "Lukas",
    "Lena",
]
_SYLLABLES = [
    "ko",
    "vacs",
    "na",
    "gy",
    "sza",
    "bo",
    "to",
    "th",
    "ho",
    "rva",
    "var",
    "ga",
    "ki",
    "ss",
    "mol",
    "nar",
    "bal",
    "az",
    "sim",
    "on",
    "wo",
    "jcik",
    "no",
    "wak",
    "ko",
    "wal",
    "ski",
    "le",
    "wan",
    "dow",
    "coh",
    "en",
    "le",
    "vi",
    "smi",
    "th",
    "john",
    "son",
    "mil",
    "ler",
    "ber",
    "ger",
    "mü",
    "ll",
    "schn",
    "ei",
    "der",
]


@dataclass
class Sample:
    """What the clients ask about: golden ids with a name, an e-mail, a phone, a key."""

    golden: list[str]
    names: list[str]
    emails: list[str]
    phones: list[str]
    keys: list[str]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    conflicts: int = 0
    examples: list[str] = field(default_factory=list)


def _family(rng: random.Random) -> str:
    word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
    return word.capitalize()


def generate_store(golden: int, folder: Path, demo_yaml: Path) -> Path:
    """A hub.yaml and SQLite store with `golden` golden records (cached by size)."""
    from hub.store.database import Store
    from hub.store.tables import crosswalk, customer_records, golden_records, match_candidates

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "hub.db"
    config = folder / "hub.yaml"
    text = demo_yaml.read_text()
    start = text.index("url:", text.index("store:"))
    end = text.index("\n", start)
    config.write_text(f"{text[:start]}url: sqlite:///{db}{text[end:]}")
    for name in ("data",):  # the demo's connectors read files relative to hub.yaml
        if not (folder / name).exists() and (demo_yaml.parent / name).exists():
            shutil.copytree(demo_yaml.parent / name, folder / name)
    if (folder / "done").exists():
        add_source_history(db, golden)
        return config
    db.unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    store.migrate()
    rng = random.Random(14)
    families = sorted({_family(rng) for _ in range(30_000)})
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    chunk = 50_000
    for offset in range(0, golden, chunk):
        goldens, sources, links = [], [], []
        for i in range(offset, min(offset + chunk, golden)):
            given, family = rng.choice(GIVEN), rng.choice(families)
            email = f"{given}.{family}.{i}@example.com".lower()
            phone = f"+36 30 {i // 1000 % 1000:03d} {i % 1000:04d}"
            record = {
                "kind": "person",
                "given_name": given,
                "family_name": family,
                "full_name": f"{given} {family}",
                "email": email,
                "phone": phone,
                "city": rng.choice(("Budapest", "Szeged", "Kraków", "London", "Haifa")),
                "country": "HU",
            }
            gid = f"G{i:016x}"
            goldens.append(
                {
                    "golden_id": gid,
                    "kind": "person",
                    "record": record,
                    "provenance": {},
                    "status": "active",
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            sources.append(
                {
                    "source": "erp",
                    "source_id": str(i),
                    "stream": "customers",
                    "extra": {},
                    "content_hash": f"{i:064x}",
                    "loaded_at": at,
                    "deleted": False,
                    **{k: v for k, v in record.items()},
                }
            )
            links.append(
                {
                    "source": "erp",
                    "source_id": str(i),
                    "golden_id": gid,
                    "match_score": None,
                    "assigned_by": "engine",
                    "assigned_at": at,
                }
            )
        with store.transaction() as conn:
            conn.execute(golden_records.insert(), goldens)
            conn.execute(customer_records.insert(), sources)
            conn.execute(crosswalk.insert(), links)
        print(f"  generated {offset + len(goldens):,} golden records", file=sys.stderr)
    with store.transaction() as conn:  # a review queue: 2,000 near pairs
        conn.execute(
            match_candidates.insert(),
            [
                {
                    "left_source": "erp",
                    "left_source_id": str(i),
                    "right_source": "erp",
                    "right_source_id": str(i + 1),
                    "score": 0.5 + (i % 40) / 100,
                    "weights": {},
                    "status": "open",
                    "created_at": at,
                }
                for i in range(0, min(golden - 1, 4000), 2)
            ],
        )
    store.dispose()
    print(f"  store generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    (folder / "done").write_text("ok")
    add_source_history(db, golden)
    return config


def add_source_history(db: Path, golden: int) -> None:
    """What a sync leaves besides the canonical records, so the home page counts real
    volumes: a raw record per source record (1 in 100 deleted at the source), the sync run,
    and 300 quarantined rows. Added once (a store generated before this step gets it too)."""
    from hub.store.database import Store
    from hub.store.tables import connector_runs, quarantine, raw_records

    done = db.parent / "raw-done"
    if done.exists():
        return
    store = Store(f"sqlite:///{db}")
    store.migrate()
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    with store.transaction() as conn:
        conn.execute(raw_records.delete())
        conn.execute(quarantine.delete())
        run = conn.execute(
            connector_runs.insert().values(
                connector="erp",
                status="succeeded",
                full_refresh=True,
                dry_run=False,
                started_at=at,
                finished_at=at + dt.timedelta(minutes=9),
                records_read=golden,
                records_inserted=golden,
                records_quarantined=300,
            )
        ).inserted_primary_key
        assert run is not None
        run_id = int(run[0])
        chunk = 50_000
        for offset in range(0, golden, chunk):
            conn.execute(
                raw_records.insert(),
                [
                    {
                        "source": "erp",
                        "stream": "customers",
                        "source_id": str(i),
                        "payload": {"id": i, "first_name": "x", "last_name": "y"},
                        "content_hash": f"{i:064x}",
                        "mapping_hash": "",
                        "first_seen_at": at,
                        "last_seen_at": at,
                        "last_seen_run_id": run_id,
                        "changed_run_id": run_id,
                        "deleted": i % 100 == 99,
                    }
                    for i in range(offset, min(offset + chunk, golden))
                ],
            )
        conn.execute(
            quarantine.insert(),
            [
                {
                    "source": "erp",
                    "stream": "customers",
                    "source_id": None,
                    "stage": "parse",
                    "reason": "unclosed quote",
                    "location": f"line {i}",
                    "raw": f'{i},"Anna,Kov',
                    "raw_hash": f"{i:064x}",
                    "first_run_id": run_id,
                    "last_run_id": run_id,
                    "created_at": at,
                }
                for i in range(300)
            ],
        )
    store.dispose()
    done.write_text("ok")
    print(f"  raw records added in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def make_demo(folder: Path) -> Path:
    if not (folder / "hub.yaml").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        crmhub = Path(sys.executable).with_name("crmhub")
        subprocess.run([str(crmhub), "demo", "--dir", str(folder)], check=True, cwd=folder.parent)
    return folder / "hub.yaml"


def fresh_demo(template: Path) -> Path:
    """A copy of the demo project for this run: every run's overrides add to the audit log
    and the customers' history, so a reused store would make each run slower than the last."""
    run = Path(tempfile.mkdtemp(prefix="demo-run-", dir=CACHE))
    shutil.copytree(template.parent, run, dirs_exist_ok=True)
    return run / "hub.yaml"


def _store_url(config: Path) -> str:
    from schemas.config import load_config

    return load_config(config).store.url


def prepare(config: Path, clients: int) -> tuple[list[str], Sample]:
    """One steward API token per client, and a sample of what to ask for."""
    from hub.steward import add_user, create_token
    from hub.store.database import Store
    from hub.store.tables import crosswalk, golden_records, users

    store = Store(_store_url(config), base_dir=config.parent)
    with store.transaction() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == "bench")).first() is None:
            add_user(conn, "bench", "bench-password-not-secret", "steward", actor="benchmark")
        tokens = [
            create_token(conn, "bench", f"load-{i}-{time.time_ns()}", actor="benchmark")
            for i in range(clients + 1)
        ]
    g, x = golden_records.c, crosswalk.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(g.golden_id, g.record).where(g.status == "active").limit(20_000)
        ).all()
        keys = [
            f"{r.source}/{r.source_id}"
            for r in conn.execute(sa.select(x.source, x.source_id).limit(20_000))
        ]
    store.dispose()
    rng = random.Random(7)
    rows = rng.sample(rows, min(len(rows), 2000))
    names = [
        " ".join(p for p in (r.record.get("given_name"), r.record.get("family_name")) if p)
        for r in rows
    ]
    return tokens, Sample(
        [r.golden_id for r in rows],
        [n for n in names if n],
        [r.record["email"] for r in rows if r.record.get("email")],
        [r.record["phone"] for r in rows if r.record.get("phone")],
        keys,
    )


def _misspell(name: str, rng: random.Random) -> str:
    words = name.split()
    if rng.random() < 0.3:
        words.reverse()
    if rng.random() < 0.3 and len(words[-1]) > 4:
        w = words[-1]
        i = rng.randrange(1, len(w) - 1)
        words[-1] = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    return " ".join(words)


async def _client(
    http: httpx.AsyncClient, sample: Sample, stats: Stats, until: float, seed: int
) -> None:
    rng = random.Random(seed)
    ops = ["name", "email", "phone", "id", "customer", "review", "review_item", "override"]
    weights = [30, 10, 8, 7, 20, 10, 8, 7]
    items: list[int] = []
    while time.perf_counter() < until:
        op = rng.choices(ops, weights)[0]
        gid = rng.choice(sample.golden)
        if op in ("name", "email", "phone", "id"):
            pool = {
                "name": sample.names,
                "email": sample.emails,
                "phone": sample.phones,
                "id": sample.keys,
            }[op]
            query = rng.choice(pool) if pool else "anna"
            if op == "name":
                query = _misspell(query, rng)
            await _call(http, stats, f"search {op}", "GET", "/api/customers", params={"q": query})
        elif op == "customer":
            await _call(http, stats, "customer page", "GET", f"/api/customers/{gid}")
        elif op == "review":
            page = await _call(http, stats, "review list", "GET", "/api/review")
            if page is not None:
                items = [item["id"] for item in page.get("items", [])] or items
        elif op == "review_item" and items:
            item = rng.choice(items)
            await _call(http, stats, "review item", "GET", f"/api/review/{item}")
        elif op == "override":
            view = await _call(http, stats, "customer page", "GET", f"/api/customers/{gid}")
            if view is not None:
                body = {"value": f"Bench {rng.randrange(10**6)}", "version": view["version"]}
                await _call(
                    http, stats, "override", "PUT", f"/api/customers/{gid}/fields/city", json=body
                )


async def _call(
    http: httpx.AsyncClient, stats: Stats, label: str, method: str, url: str, **kw: Any
) -> Any:
    started = time.perf_counter()
    try:
        response = await http.request(method, url, **kw)
    except httpx.HTTPError as error:
        stats.errors[label] += 1
        if len(stats.examples) < 5:
            stats.examples.append(f"{label}: {error!r}")
        return None
    stats.latencies[label].append(time.perf_counter() - started)
    if response.status_code == 409:
        stats.conflicts += 1
        return None
    if response.status_code >= 400:
        stats.errors[label] += 1
        if len(stats.examples) < 5:
            stats.examples.append(f"{label}: {response.status_code} {response.text[:200]}")
        return None
    return response.json()


async def run_load(
    base_url: str,
    tokens: list[str],
    sample: Sample,
    clients: int,
    seconds: float,
    probe: Callable[[], object] | None = None,
) -> tuple[Stats, float]:
    stats = Stats()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    https = [
        httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {tokens[i]}"},
            timeout=60,
            limits=limits,
        )
        for i in range(clients)
    ]
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_client(https[i], sample, stats, until, i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    if probe is not None:  # while the clients' connections are still open
        probe()
    for http in https:
        await http.aclose()
    return stats, elapsed


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _requests(stats: Stats) -> int:
    return sum(len(values) for values in stats.latencies.values())


def report(title: str, stats: Stats, elapsed: float) -> dict[str, dict[str, float]]:
    print(f"\n{title} ({elapsed:.0f} s)")
    print(
        f"{'endpoint':<16}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    out = {}
    total = 0
    for label in sorted(stats.latencies):
        values = stats.latencies[label]
        total += len(values)
        row = {
            "n": len(values),
            "rps": len(values) / elapsed,
            "p50": _pct(values, 0.5),
            "p95": _pct(values, 0.95),
            "p99": _pct(values, 0.99),
            "errors": stats.errors.get(label, 0),
        }
        out[label] = row
        print(
            f"{label:<16}{row['n']:>7}{row['rps']:>8.1f}{row['p50']:>9.1f}{row['p95']:>9.1f}"
            f"{row['p99']:>9.1f}{row['errors']:>8}"
        )
    searches = [v for k, vs in stats.latencies.items() if k.startswith("search") for v in vs]
    if searches:
        out["all searches"] = {
            "p50": _pct(searches, 0.5),
            "p95": _pct(searches, 0.95),
            "rps": len(searches) / elapsed,
        }
        print(
            f"{'all searches':<16}{len(searches):>7}{len(searches) / elapsed:>8.1f}"
            f"{_pct(searches, 0.5):>9.1f}{_pct(searches, 0.95):>9.1f}{_pct(searches, 0.99):>9.1f}"
        )
    print(f"total {total / elapsed:.1f} req/s, 409 conflicts {stats.conflicts}")
    for example in stats.examples:
        print(f"  error: {example}")
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    """Resident memory of the process and its children (the workers), in MB."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += _rss_mb(int(child))
    return total


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process and its children (the workers), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += _cpu_seconds(int(child))
    return total


def _children(pid: int) -> list[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    found = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return [c for c in found if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]


def _worker_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each worker process (`--workers N`), or of the server itself (one)."""
    return {child: _cpu_seconds(child) for child in _children(pid)} or {pid: _cpu_seconds(pid)}


def _wait_until_started(pid: int, workers: int, timeout: float = 1800) -> None:
    """Until every worker has finished starting. `ready` is answered by the first worker
    whose search index is built while the others may still be building theirs (a core
    each) and accept no connection: a run started then sent every connection to one worker
    (keep-alive keeps them there) and counted the others' build as request CPU. Started:
    as many worker processes as asked, none using more than 5 % of a core for a second."""
    deadline = time.perf_counter() + timeout
    before = _worker_cpu(pid)
    while time.perf_counter() < deadline:
        time.sleep(1.0)
        after = _worker_cpu(pid)
        quiet = all(after[w] - before.get(w, after[w]) < 0.05 for w in after)
        if len(after) >= workers and quiet and set(after) == set(before):
            return
        before = after


def _connections(pid: int, port: int) -> list[int]:
    """Established connections to `port` held by each worker process (by pid order)."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])  # the socket's inode
    counts = []
    for worker in sorted(_worker_cpu(pid)):
        inodes = set()
        for fd in Path(f"/proc/{worker}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        counts.append(len(inodes & established))
    return counts


@contextmanager
def served(
    config: Path, workers: int, ready: Callable[[str], bool]
) -> Iterator[tuple[subprocess.Popen[bytes], str, float]]:
    """`crmhub serve` on a free loopback port until the block ends: the process, its base URL
    and the seconds it took until `ready(base_url)` (the search index is built at start)."""
    port = _free_port()
    crmhub = Path(sys.executable).with_name("crmhub")
    started = time.perf_counter()
    command = [str(crmhub), "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(
        [*command, "--config", str(config)],
        cwd=config.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if ready(base_url):
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit(f"crmhub serve exited with {server.returncode}")
            time.sleep(0.2)
        _wait_until_started(server.pid, workers)
        yield server, base_url, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=60)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline-seconds", type=float, default=15)
    parser.add_argument("--golden", type=int, default=0, help="generated store size (0: demo)")
    parser.add_argument("--workers", type=int, default=1, help="crmhub serve --workers")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    # a SIGTERM (a timeout, a scheduler) ends the run as Ctrl-C does: the `finally` blocks
    # stop the `crmhub serve` it started instead of leaving it running
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    demo_yaml = make_demo(CACHE / "demo")
    if args.golden:
        config = generate_store(args.golden, CACHE / f"golden-{args.golden}", demo_yaml)
    else:
        config = fresh_demo(demo_yaml)
    tokens, sample = prepare(config, args.clients)
    me = {"Authorization": f"Bearer {tokens[-1]}"}

    def ready(base_url: str) -> bool:
        return httpx.get(f"{base_url}/api/me", headers=me).status_code == 200

    try:
        with served(config, args.workers, ready) as (server, base_url, startup):
            rss = _rss_mb(server.pid)
            store = f"{args.golden:,} generated golden records" if args.golden else "demo store"
            print(f"crmhub serve ready in {startup:.1f} s (search index built), RSS {rss:.0f} MB")
            print(f"store: {store}; {args.workers} worker(s); {os.cpu_count()} CPUs")
            first = httpx.get(
                f"{base_url}/api/customers",
                params={"q": sample.names[0]},
                headers=me,
                timeout=60,
            )
            print(f"first search after start: {first.elapsed.total_seconds() * 1000:.0f} ms")
            single, single_time = asyncio.run(
                run_load(base_url, tokens, sample, 1, args.baseline_seconds)
            )
            one = report("1 client", single, single_time)
            server_cpu, client_cpu = _cpu_seconds(server.pid), time.process_time()
            workers_cpu = _worker_cpu(server.pid)
            load_before = os.getloadavg()[0]
            port = int(base_url.rsplit(":", 1)[1])
            spread: list[list[int]] = []
            many, many_time = asyncio.run(
                run_load(
                    base_url,
                    tokens,
                    sample,
                    args.clients,
                    args.seconds,
                    probe=lambda: spread.append(_connections(server.pid, port)),
                )
            )
            server_cpu = _cpu_seconds(server.pid) - server_cpu
            workers_after = _worker_cpu(server.pid)
            client_cpu = time.process_time() - client_cpu
            lots = report(f"{args.clients} clients", many, many_time)
            print(
                f"CPU during the {args.clients}-client run: "
                f"server {server_cpu / many_time:.2f} cores "
                f"({server_cpu * 1000 / max(1, _requests(many)):.1f} ms a request), "
                f"load generator {client_cpu / many_time:.2f} cores (of {os.cpu_count()}); "
                f"machine load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
            )
            # a worker near 1.0 core while another idles: connections are unevenly spread
            # (each worker is one GIL); both well below 1.0: the server waits, not computes
            per_worker = ", ".join(
                f"{(workers_after[w] - workers_cpu.get(w, 0.0)) / many_time:.2f}"
                for w in sorted(workers_after)
            )
            print(f"CPU of each worker process: {per_worker} cores")
            if spread:
                print(f"client connections held by each worker: {spread[0]}")
            if "all searches" in one and "all searches" in lots:
                ratio = lots["all searches"]["p95"] / one["all searches"]["p95"]
                print(f"\nsearch p95 {args.clients} clients / 1 client: {ratio:.1f}x")
            print(f"server RSS after the run: {_rss_mb(server.pid):.0f} MB")
            if args.json:
                print(json.dumps({"single": one, "concurrent": lots, "startup_s": startup}))
    finally:
        if not args.golden:
            shutil.rmtree(config.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
