"""`crmhub analyse` in process vs on Apache Spark, in one run on the same file.

    python -m benchmarks.analytics.spark_scale --sizes 200000
    python -m benchmarks.analytics.spark_scale --sizes 200000,1000000 --master 'local[2]' --json
    python -m benchmarks.analytics.spark_scale --sizes 200000 --store

Per size: the generated Interaction JSON Lines of `benchmarks.analytics.scale` (cached),
then the batch contract exactly as a user runs it, `python -m hub analyse --interactions F
--as-of 2024-01-01 --out DIR [--engine spark --spark-master M]`, once per engine, one after
the other, each in its own process. Measured per run from outside, by sampling the
process tree every 0.2 s: wall time, CPU seconds (user + system summed over the driver,
the JVM and the JVM's Python workers: what the run costs, which the machine's load
inflates far less than wall time), peak RSS of the driver's Python process and, for Spark,
of the JVM (in local[N] it is driver and executors) and of its Python workers; the load
average before and after. Then the ratios Spark / in process, and whether the two runs
wrote the same customers.csv and segments.csv (byte for byte).

Measured 2026-12-06 03:42-03:46 UTC (shared 2-core machine, load average 5.2-6.2),
`--sizes 200000` after the packed partitions (8fddbd0): 200,000 customers / 2,482,619
interactions, in process 52.4 s wall, 28.1 s CPU, driver peak RSS 1,354 MB; Spark
local[2] 132.0 s wall, 125.5 s CPU, driver 868 MB (JVM 2,761 MB, Python workers 1,114
MB): 2.52x wall, 4.47x CPU, 0.64x driver memory; customers.csv and segments.csv
byte-identical. Before packing (a5e17cc, 03:14-03:28, load 11-19): 93.4 s vs 528.3 s wall
(5.66x), 29.4 vs 171.8 s CPU (5.84x), driver 1,373 vs 872 MB, files identical.
`--sizes 1000000` at 901a985 (200k-row packed partitions on disk), 04:07-04:13 UTC, load
average 1.2-2.6: 1,000,000 customers / 12,409,951 interactions, in process 88.7 s wall,
102.0 s CPU, driver peak RSS 4,688 MB; Spark local[2] 294.8 s wall, 525.3 s CPU, driver
2,305 MB (JVM 2,687 MB, Python workers 1,175 MB): 3.32x wall, 5.15x CPU, 0.49x driver
memory; both files byte-identical. (With 500k-row partitions cached in memory the JVM's
2 GB heap ran out at this size.) The 200k figures above are from before that change.
Store mode (`--store`): the same generated customers and interactions (same blocks, same
seeds) loaded into a fresh SQLite hub store (`load_store`: one active golden record and
crosswalk entry per customer, the interactions as live rows), then `crmhub analyse
--config hub.yaml --as-of 2024-01-01 --engine local`, then `--engine spark` on the same
store, measured as above; "same" compares a digest of the profiles, segment values and
members and the profit curve each run left, and checks that the Spark run (the second
on the same day) appended no stage change. Measured 2026-12-06 06:15-06:32 UTC at 32ca330
(store built in 362 s), load average 10.6 -> 7.0 (local) and 6.4 -> 5.5 (Spark): 200,000
customers / 2,482,619 interactions, in process 224.2 s wall, 113.4 s CPU, driver peak RSS
2,844 MB; Spark local[2] 243.5 s wall, 227.5 s CPU, driver 1,502 MB (JVM 2,536 MB, Python
workers 1,126 MB): 1.09x wall, 2.01x CPU, 0.53x driver memory; results identical, no
stage change on the Spark run. (Both read the store through the driver: the local run
holds every interaction as Python objects, the Spark run 100,000 at a time.)
Where the CPU goes (50,000 customers / 622,896 interactions, per call in one session,
load ~10): reading and validating (Spark's JSON reader, `prepare` on 200k-row chunks,
the codes join, the repartition and the packing) ~16 s warm; then per pass traits 3.1 s,
summary 0.7, value 0.8, holdings 0.5 (an `analyse` makes about 18 passes: the 4 churn
snapshots each read a summary, the features and the label).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import psutil

from benchmarks.analytics.generator import AS_OF, Generated
from benchmarks.analytics.scale import dataset

if TYPE_CHECKING:
    from hub.store.database import Store

__all__ = ["TreeSampler", "compare", "load_store", "main", "measure", "measure_store"]


class TreeSampler:
    """Samples a process and its descendants: the last CPU seconds seen per process, and
    the peak RSS (MB) of the root ("driver"), of Java processes ("jvm") and of the others
    ("workers", summed at each sample)."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.root = psutil.Process(pid)
        self.cpu: dict[int, float] = {}
        self.peak: dict[str, float] = defaultdict(float)
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss: dict[str, float] = defaultdict(float)
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                processes = []
            for process in processes:
                try:
                    times = process.cpu_times()
                    kind = (
                        "driver"
                        if process.pid == self.root.pid
                        else "jvm"
                        if "java" in process.name()
                        else "workers"
                    )
                    rss[kind] += process.memory_info().rss / 2**20
                    self.cpu[process.pid] = times.user + times.system
                except psutil.Error:
                    continue
            for kind, mb in rss.items():
                self.peak[kind] = max(self.peak[kind], mb)
            self._stop.wait(self._interval)


def measure(path: Path, engine: str, master: str) -> dict[str, Any]:
    """One `crmhub analyse` batch run of `path` on `engine`, measured."""
    out = Path(tempfile.mkdtemp(prefix=f"analyse-{engine}-"))
    command = [sys.executable, "-m", "hub", "analyse", "--interactions", str(path),
               "--as-of", AS_OF.strftime("%Y-%m-%d"), "--out", str(out), "--json"]  # fmt: skip
    if engine == "spark":
        command += ["--engine", "spark", "--spark-master", master]
    summary, figures = _measured(command, engine)
    return {**figures, "left_out": summary["left_out"], "out": str(out)}


def _measured(command: list[str], engine: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one `crmhub analyse` command: its JSON summary, and time, CPU and peak memory of
    its process tree with the machine's load before and after."""
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeSampler(proc.pid) as sampler:
        stdout, stderr = proc.communicate()
    seconds = time.monotonic() - started
    if proc.returncode:
        raise SystemExit(f"{engine}: crmhub analyse failed (exit {proc.returncode}):\n{stderr}")
    summary = json.loads(stdout)
    return summary, {
        "engine": engine,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(sum(sampler.cpu.values()), 1),
        "peak_rss_mb": {k: round(v) for k, v in sampler.peak.items()},
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "interactions": summary["interactions"],
        "customers": summary["customers"],
    }


def load_store(store: Store, data: Generated, batch: int = 20_000, prefix: str = "") -> None:
    """The generated customers as active golden records (each its own crosswalk entry,
    source `gen`) and their interactions as live store rows (the extra keys in `extra`):
    the hub store as `crmhub analyse` finds it after a sync and a resolve."""
    import datetime as dt

    from hub.store.tables import crosswalk, golden_records, interactions

    at = dt.datetime.now(dt.UTC)
    people = data.customers.astype(object).where(data.customers.notna(), None)
    with store.transaction() as conn:
        rows = [
            {"golden_id": c["customer_id"], "kind": "person", "status": "active",
             "record": {"birth_date": c["birth_date"], "kind": "person"}, "provenance": {},
             "created_at": at, "updated_at": at}
            for c in people.to_dict("records")
        ]  # fmt: skip
        for start in range(0, len(rows), batch):
            conn.execute(golden_records.insert(), rows[start : start + batch])
        links = [{"source": "gen", "source_id": r["golden_id"], "golden_id": r["golden_id"],
                  "assigned_by": "engine", "assigned_at": at} for r in rows]  # fmt: skip
        for start in range(0, len(links), batch):
            conn.execute(crosswalk.insert(), links[start : start + batch])
    frame = data.interactions
    extras = [c for c in ("category", "product", "margin", "days_late") if c in frame]
    for start in range(0, len(frame), batch):
        part = frame.iloc[start : start + batch]
        part = part.astype(object).where(part.notna(), None)
        out = []
        for n, r in enumerate(part.to_dict("records"), start=start):
            when = pd.Timestamp(r["occurred_at"]).to_pydatetime(warn=False)
            out.append(
                {"source": "gen", "source_id": f"{prefix}{n}", "stream": "events",
                 "extra": {k: r[k] for k in extras if r[k] is not None},
                 "content_hash": "", "loaded_at": at, "deleted": False,
                 "customer_source_id": r["customer_id"], "type": r["type"],
                 "occurred_at": when, "amount": r["amount"], "currency": r["currency"],
                 "status": r["status"], "channel": r["channel"], "subject": r["subject"]}
            )  # fmt: skip
        with store.transaction() as conn:
            conn.execute(interactions.insert(), out)


def store_dataset(customers: int, folder: Path) -> tuple[Path, int]:
    """A hub project in `folder` (hub.yaml, a SQLite store) holding the customers and
    interactions of `dataset(customers)` (same blocks, same seeds); its hub.yaml and the
    interactions' count."""
    from benchmarks.analytics.generator import generate
    from benchmarks.analytics.scale import BLOCK
    from hub.store.database import Store

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "hub.yaml"
    config.write_text(f"version: 1\nstore:\n  url: sqlite:///{folder / 'hub.db'}\n")
    store = Store.open(f"sqlite:///{folder / 'hub.db'}")
    lines = 0
    try:
        for start in range(0, customers, BLOCK):
            data = generate(min(BLOCK, customers - start), seed=1 + start // BLOCK)
            if start:

                def shift(ids: pd.Series, offset: int = start) -> pd.Series:
                    num = ids.str[1:].astype(int) + offset
                    return "c" + num.astype(str).str.zfill(7)

                data = Generated(
                    data.interactions.assign(customer_id=shift(data.interactions["customer_id"])),
                    data.truth,
                    data.customers.assign(customer_id=shift(data.customers["customer_id"])),
                )
            load_store(store, data, prefix=f"{start}-")
            lines += len(data.interactions)
    finally:
        store.dispose()
    return config, lines


def _results(config: Path) -> str:
    """A digest of what an analysis wrote: profiles, segment values and members, the
    profit curve (run ids left out)."""
    import hashlib

    import sqlalchemy as sa

    from hub.store.tables import customer_profiles, profit_lorenz, segment_members, segment_values

    url = config.read_text().split("url: ", 1)[1].strip()
    engine = sa.create_engine(url)
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in (customer_profiles, segment_values, segment_members, profit_lorenz):
            columns = [c for c in table.columns if c.name not in ("id", "run_id")]
            rows = conn.execute(sa.select(*columns)).all()
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
    engine.dispose()
    return digest.hexdigest()


def measure_store(config: Path, engine: str, master: str) -> dict[str, Any]:
    """One `crmhub analyse` store-mode run of the project `config` on `engine`, measured
    as `measure` does; with a digest of what it wrote to the store."""
    command = [sys.executable, "-m", "hub", "analyse", "--config", str(config),
               "--as-of", AS_OF.strftime("%Y-%m-%d"), "--json", "--engine", engine]  # fmt: skip
    if engine == "spark":
        command += ["--spark-master", master]
    summary, figures = _measured(command, engine)
    return {**figures, "stage_changes": summary["stage_changes"], "results": _results(config)}


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, bool]:
    """Whether the two runs wrote the same files."""
    return {
        name: (Path(a["out"]) / name).read_bytes() == (Path(b["out"]) / name).read_bytes()
        for name in ("customers.csv", "segments.csv")
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000", help="customers, comma-separated")
    parser.add_argument("--master", default="local[2]", help="the Spark master")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--store",
        action="store_true",
        help="store mode: the same data in a hub store (SQLite, built first in a temporary "
        "folder), `crmhub analyse --config` on each engine",
    )
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        if args.store:
            folder = Path(tempfile.mkdtemp(prefix=f"analyse-store-{size}-"))
            began = time.monotonic()
            config, lines = store_dataset(size, folder)
            print(f"store of {size:,} customers / {lines:,} interactions built in "
                  f"{time.monotonic() - began:.0f} s", file=sys.stderr)  # fmt: skip
            local = measure_store(config, "local", args.master)
            spark = measure_store(config, "spark", args.master)
            same = {
                "store_results": local["results"] == spark["results"],
                "no_stage_changes_on_spark": spark["stage_changes"] == 0,
            }
        else:
            path, lines = dataset(size)
            local = measure(path, "local", args.master)
            spark = measure(path, "spark", args.master)
            same = compare(local, spark)
        row = {
            "customers": size,
            "lines": lines,
            "local": local,
            "spark": spark,
            "wall_ratio": round(spark["seconds"] / local["seconds"], 2),
            "cpu_ratio": round(spark["cpu_seconds"] / local["cpu_seconds"], 2),
            "driver_rss_ratio": round(
                spark["peak_rss_mb"]["driver"] / local["peak_rss_mb"]["driver"], 2
            ),
            "same_files": same,
        }
        results.append(row)
        if not args.json:
            for run in (local, spark):
                rss = ", ".join(f"{k} {v:,} MB" for k, v in run["peak_rss_mb"].items())
                print(
                    f"{size:,} customers / {lines:,} interactions, {run['engine']}: "
                    f"{run['seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU, peak RSS "
                    f"{rss}; load average {run['load_average'][0]} -> {run['load_average'][1]}"
                )
            print(
                f"  Spark / in process: wall {row['wall_ratio']}x, CPU {row['cpu_ratio']}x, "
                f"driver peak RSS {row['driver_rss_ratio']}x; same files: {row['same_files']}"
            )
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
