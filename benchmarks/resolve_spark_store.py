"""A store's full resolve on Spark, the records through the driver against the records kept
in Spark (`identity.spark.driver_records`), with the in-process engine as the baseline, on
one generated hub store, in one run.

    python -m benchmarks.resolve_spark_store --entities 90000

Generates CRM records (`benchmarks.identity.crm_generator`, ~2.2 records an entity) into
a SQLite hub store as a sync writes them, copies the store once per engine and runs a first
`crmhub resolve` (a full run) on each copy in a fresh process:

- `local`: the in-process engine (the baseline);
- `spark_driver`: Spark, the records loaded on the driver and the outcome persisted from it;
- `spark_native`: Spark with `driver_records: 0` — a streamed export in, the outcome
  written back from Spark's output (`hub.resolve.spark_store`).

Prints one JSON document: per engine the wall seconds and the driver process's peak RSS
(the Python process; Spark's JVM is a child process and not counted), and whether the
three stores hold the same crosswalk.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.resolve_incremental import _put

__all__ = ["main"]

_SPARK = "  engine: spark\n  spark:\n    master: local[2]\n    driver_records: {}\n"
ENGINES = {
    "local": "",
    "spark_driver": _SPARK.format(1_000_000_000),
    "spark_native": _SPARK.format(0),
}


def _child(folder: Path) -> None:
    """One full resolve of the project in `folder`; prints seconds, peak RSS, summary."""
    from hub.resolve.run import resolve_store
    from hub.store.database import Store
    from schemas.config import load_config

    config = load_config(folder / "hub.yaml")
    store = Store.open(config)
    started = time.perf_counter()
    summary = resolve_store(config, store, actor="bench", full=True)
    seconds = time.perf_counter() - started
    store.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "seconds": round(seconds, 1),
        "driver_peak_rss_mb": round(peak),
        "summary": summary.line(),
    }
    print(json.dumps(out))


def _crosswalk(db: Path) -> dict[tuple[str, str], str]:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT source, source_id, golden_id FROM crosswalk")).all()
    engine.dispose()
    return {(r[0], r[1]): r[2] for r in rows}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=90_000, help="~2.2 records each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help=f"which to run, of {', '.join(ENGINES)}"
    )
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.child)
        return

    from benchmarks.identity.crm_generator import generate
    from hub.cli.example import write_example
    from hub.store.database import Store
    from schemas.config import load_config

    root = args.dir or Path(tempfile.mkdtemp(prefix="crmhub-spark-store-"))
    seed_folder = root / "seed"
    shutil.rmtree(seed_folder, ignore_errors=True)
    seed_folder.mkdir(parents=True)
    write_example(seed_folder)
    config = load_config(seed_folder / "hub.yaml")
    db = seed_folder / ".crmhub" / "hub.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(config)
    records, _ = generate(args.entities, args.seed)
    _put(store, records)
    store.dispose()
    out: dict[str, Any] = {"entities": args.entities, "records": len(records)}
    del records
    crosswalks = {}
    for name in args.engines.split(","):
        folder = root / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(seed_folder, folder)
        yaml = folder / "hub.yaml"
        yaml.write_text(yaml.read_text().replace("identity:\n", "identity:\n" + ENGINES[name], 1))
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.resolve_spark_store", "--child", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({name: out[name]}), file=sys.stderr, flush=True)
        crosswalks[name] = _crosswalk(folder / ".crmhub" / "hub.db")
    first = next(iter(crosswalks.values()))
    out["same_crosswalk"] = {name: xw == first for name, xw in crosswalks.items()}
    print(json.dumps(out, indent=2))
    if args.dir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
