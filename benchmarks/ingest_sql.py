"""Ingest benchmark: a SQLite `sql` source into the hub store, against a plain-copy baseline.

    python -m benchmarks.ingest_sql --rows 200000      (from the repository root; `make bench`)
    python benchmarks/ingest_sql.py --rows 200000      (the file form works too)

Each measurement runs in its own child process (so peak memory is its own):
  * baseline — SQLAlchemy reads the source rows and `executemany`-inserts them into a table of
    the same shape in a fresh SQLite file, in batches: the least work any ingest can do;
  * hub — `crmhub sync` of the same table through the built-in `sql` connector into a fresh
    SQLite hub store: in the sync's process the singer-sdk tap, then schema validation,
    content hashing and mapping to CustomerRecord a batch at a time, handed over as columns;
    in the sync's writer process the raw + canonical upserts and state checkpoints.
  * tap — the `sql` tap alone with its messages discarded: the floor singer-sdk sets.
The hub is also run on a quarter of the rows: peak memory must not grow with the row count.
A run's peak memory is its process's plus its largest child's (the hub's writer process).
Each kind runs `--repeat` times, interleaved, and its best run counts (as `timeit` does): on a
shared machine the best run is the one least disturbed by others. CPU seconds (user + system,
the hub's writer process included) are printed per kind too, each kind's least, with their
ratio: on a loaded machine the wall time follows the CPU time, not the free cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a file: benchmarks/ would shadow packages (identity)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

COLUMNS = (
    "id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, phone TEXT, "
    "street TEXT, zip TEXT, city TEXT, country TEXT, birth_date TEXT, updated_at TEXT"
)
GIVEN = ["Anna", "István", "Katarzyna", "Łukasz", "Avraham", "William", "Emily", "Yael"]
FAMILY = ["Kovács", "Nagy", "Wójcik", "Nowak", "Cohen", "Smith", "Johnson", "Levi"]


def make_source(path: Path, rows: int) -> None:
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE customers ({COLUMNS})")
    db.executemany(
        "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            (
                i,
                GIVEN[i % 8],
                FAMILY[(i // 8) % 8],
                f"user{i}@example.com",
                f"+3630{i:07d}",
                f"{i % 97} Main Street",
                f"{1000 + i % 9000}",
                "Budapest",
                "HU",
                f"19{50 + i % 50}-0{1 + i % 9}-1{i % 9}",
                f"2026-01-01T00:00:{i % 60:02d}+00:00",
            )
            for i in range(1, rows + 1)
        ),
    )
    db.commit()
    db.close()


def run_baseline(source: Path, work: Path) -> None:
    src = sa.create_engine(f"sqlite:///{source}")
    dst = sa.create_engine(f"sqlite:///{work / 'baseline.db'}")
    with dst.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE customers ({COLUMNS})")
    names = [c.split()[0] for c in COLUMNS.split(", ")]
    insert = sa.text(
        f"INSERT INTO customers ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
    )
    with src.connect() as sconn:
        result = sconn.execution_options(stream_results=True, yield_per=5000).execute(
            sa.text("SELECT * FROM customers ORDER BY id")
        )
        for part in result.mappings().partitions(5000):
            with dst.begin() as dconn:
                dconn.execute(insert, [dict(r) for r in part])


HUB_YAML = """
store: {{url: "sqlite:///{work}/hub.db"}}
connectors:
  - name: erp
    type: sql
    config:
      url: "sqlite:///{source}"
      streams: [{{name: customers, table: customers, primary_keys: [id]}}]
    streams:
      customers:
        entity: customer
        mapping: {{given_name: first_name, family_name: last_name, postal_code: zip,
                   kind: {{const: person}}}}
"""


def run_tap_only(source: Path, work: Path) -> None:
    """The built-in `sql` tap alone, its messages discarded: singer-sdk's own record path."""
    from connectors.sql import TapSQL

    class Discard:
        def write_message(self, message: object) -> None:
            pass

    config = {
        "url": f"sqlite:///{source}",
        "streams": [{"name": "customers", "table": "customers"}],
    }
    TapSQL(config=config, message_writer=Discard()).sync_all()


def run_hub(source: Path, work: Path) -> None:
    from hub.core.retry import RetryPolicy
    from hub.store.database import Store
    from hub.sync.run import sync
    from schemas.config import load_config

    (work / "hub.yaml").write_text(HUB_YAML.format(work=work, source=source))
    config = load_config(work / "hub.yaml")
    store = Store.from_config(config)
    store.migrate()
    [result] = sync(config, store, retry=RetryPolicy(attempts=1))
    if not result.ok or result.counts.inserted == 0:
        raise SystemExit(f"hub sync failed: {result.error}")


RUNNERS = {"baseline": run_baseline, "tap": run_tap_only, "hub": run_hub}


def child(kind: str, source: Path, work: Path) -> None:
    if kind != "baseline":  # imports are start-up cost, not ingest work
        import connectors.sql  # noqa: F401
        import hub.sync.run  # noqa: F401
    before = _cpu()
    started = time.perf_counter()
    RUNNERS[kind](source, work)
    seconds = time.perf_counter() - started
    cpu, cpu_writer = _cpu() - before, _cpu(resource.RUSAGE_CHILDREN)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_kb += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the writer process
    peak_mb = peak_kb / 1024
    print(
        json.dumps({"seconds": seconds, "peak_mb": peak_mb, "cpu": cpu, "cpu_writer": cpu_writer})
    )


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    """CPU seconds (user + system) of this process, or of its ended children (the writer)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(kind: str, source: Path, rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.ingest_sql",
                "--child",
                kind,
                "--source",
                str(source),
                "--work",
                work,
            ],
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    figures["rows_per_s"] = rows / figures["seconds"]
    figures["cpu_total"] = figures["cpu"] + figures["cpu_writer"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each kind, interleaved; the best counts"
    )
    parser.add_argument("--child", choices=sorted(RUNNERS))
    parser.add_argument("--source", type=Path)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.source, args.work)
        return
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        small_rows = args.rows // 4
        big, small = Path(tmp) / "big.db", Path(tmp) / "small.db"
        make_source(big, args.rows)
        make_source(small, small_rows)
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "tap": [], "hub": []}
        for _ in range(args.repeat):  # interleaved, so a busy moment hits every kind alike
            for kind, found in runs.items():
                found.append(measure(kind, big, args.rows))
        base, tap, hub = (max(found, key=lambda f: f["rows_per_s"]) for found in runs.values())
        # CPU seconds: each kind's least (the run least slowed by sharing caches and cores)
        cpu = {kind: min(found, key=lambda f: f["cpu_total"]) for kind, found in runs.items()}
        hub_small = measure("hub", small, small_rows)
    ratio = hub["rows_per_s"] / base["rows_per_s"]
    cpu_ratio = cpu["baseline"]["cpu_total"] / cpu["hub"]["cpu_total"]
    growth = hub["peak_mb"] / hub_small["peak_mb"]
    print(f"load average before / after: {load_before} / {_load()}")
    print(
        f"baseline executemany copy: {base['rows_per_s']:>9,.0f} rows/s  "
        f"peak {base['peak_mb']:.0f} MB  CPU {cpu['baseline']['cpu_total']:.2f} s"
    )
    print(
        f"sql tap alone, no hub:     {tap['rows_per_s']:>9,.0f} rows/s  "
        f"peak {tap['peak_mb']:.0f} MB  CPU {cpu['tap']['cpu_total']:.2f} s  "
        f"(ratio {tap['rows_per_s'] / base['rows_per_s']:.2f})"
    )
    print(
        f"hub sync ({args.rows:,} rows):  {hub['rows_per_s']:>9,.0f} rows/s  "
        f"peak {hub['peak_mb']:.0f} MB  CPU {cpu['hub']['cpu_total']:.2f} s "
        f"(sync process {cpu['hub']['cpu']:.2f} s + writer process "
        f"{cpu['hub']['cpu_writer']:.2f} s)"
    )
    print(
        f"hub sync ({small_rows:,} rows):   {hub_small['rows_per_s']:>9,.0f} rows/s  "
        f"peak {hub_small['peak_mb']:.0f} MB"
    )
    print(
        f"ratio hub/baseline: {ratio:.2f} in rows/s (goal >= 0.5), {cpu_ratio:.2f} in CPU "
        f"seconds (baseline's / hub's, each kind's least); "
        f"peak memory {args.rows:,} vs {small_rows:,} rows: x{growth:.2f} (goal: flat)"
    )


def _load() -> str:
    """The 1-, 5- and 15-minute load averages (Linux), to say how busy the machine was."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
