"""The identity engine embedded vs on Apache Spark, on the same generated CRM file.

    python -m benchmarks.identity.spark_scale --sizes 200000,1000000
    python -m benchmarks.identity.spark_scale --sizes 200000 --master 'local[2]' --out x.json
    python -m benchmarks.identity.spark_scale --sizes 200000,1000000 --baseline 163e824
    python -m benchmarks.identity.spark_scale --sizes 1000000 --native --engines local,spark_native

Per size: one generated file (`benchmarks.identity.run.prepare_dataset`, kept under
--work), then `crmhub resolve`'s batch run on each engine in its own process (so one's
memory does not count against the other), one after the other. Measured per run: wall
time, time and CPU seconds per pipeline step (from the run's progress; CPU summed over the
driver, the JVM and the Python workers, which the machine's load inflates far less than
wall time), peak RSS of the driver's Python
process and, for Spark, of its JVM (in `local[N]` the JVM is driver and executors) and of
its Python workers (sampled every 0.2 s), and Spark's own figures from its event log: per
stage of the backend (standardised, pairs, levels, …) its tasks' time, shuffle bytes
written and read. Then: the ratios Spark / embedded of the wall times and of the CPU
seconds, the load average, and the pairwise F1 between the two crosswalks (the same
answer?). `--salt-size` sets the Spark backend's salting (0: none).

`--baseline REV` adds, per size, a Spark run of the code at git revision REV (extracted with
`git archive` under --work, run as its own child process from there): an A/B of the Spark
backend before and after a change in one benchmark run, on the same file and machine load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

from benchmarks.identity.run import prepare_dataset

__all__ = ["main", "measure_one", "shuffle_per_stage"]


class PeakRSS:
    """Peak resident memory of this process, of its JVM child and of the JVM's Python
    workers, sampled in a thread (MB)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.peak: dict[str, float] = defaultdict(float)
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            found: dict[str, float] = defaultdict(float)
            try:
                found["driver_python"] = me.memory_info().rss
                for child in me.children(recursive=True):
                    kind = "jvm" if "java" in child.name() else "python_workers"
                    found[kind] += child.memory_info().rss
            except psutil.Error:
                pass
            for kind, rss in found.items():
                self.peak[kind] = max(self.peak[kind], rss / 2**20)
            self._stop.wait(self._interval)


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process, its children (the JVM, its Python
    workers) and the children they have waited for: a measure the machine's load inflates
    far less than wall time."""
    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def shuffle_per_stage(event_dir: Path) -> dict[str, dict[str, float]]:
    """Per backend stage (the job description the checkpoints set): task seconds, shuffle
    MB written and read, tasks — summed from Spark's JSON event log."""
    description: dict[int, str] = {}
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    logs = [
        p
        for p in sorted(event_dir.rglob("*"))
        if p.is_file() and not p.name.startswith((".", "appstatus"))
    ]
    for log in logs:
        for line in log.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerStageSubmitted":
                stage_id = event["Stage Info"]["Stage ID"]
                props = event.get("Properties") or {}
                description[stage_id] = props.get("spark.job.description") or "other"
            elif kind == "SparkListenerTaskEnd":
                name = description.get(event.get("Stage ID", -1), "other")
                metrics = event.get("Task Metrics") or {}
                read = metrics.get("Shuffle Read Metrics") or {}
                write = metrics.get("Shuffle Write Metrics") or {}
                row = out[name]
                row["tasks"] += 1
                row["task_seconds"] += metrics.get("Executor Run Time", 0) / 1000
                row["shuffle_write_mb"] += write.get("Shuffle Bytes Written", 0) / 2**20
                row["shuffle_read_mb"] += (
                    read.get("Remote Bytes Read", 0) + read.get("Local Bytes Read", 0)
                ) / 2**20
    return {k: {m: round(v, 2) for m, v in row.items()} for k, row in out.items()}


def measure_one(
    engine: str,
    source: Path,
    crosswalk: Path,
    master: str,
    salt_size: int | None = None,
    driver_records: int | None = None,
    broadcast_records: int | None = None,
) -> dict[str, Any]:
    """One batch run on `engine` in this process; its figures."""
    from hub.core.files import open_bytes
    from hub.resolve.batch import read_records, write_crosswalk
    from identity.model import ModelSpec, Settings
    from identity.resolve import run

    marks: list[tuple[str, float]] = [("reading", time.perf_counter())]  # step, its start
    cpu: list[float] = [cpu_seconds()]  # at each mark

    def mark(name: str) -> None:
        marks.append((name, time.perf_counter()))
        cpu.append(cpu_seconds())

    result: dict[str, Any] = {"engine": engine}
    with PeakRSS() as rss, tempfile.TemporaryDirectory() as events:
        records: Sequence[Mapping[str, Any]]
        if engine in ("spark_file", "spark_native"):  # Spark reads the file: no list here
            with open_bytes(source) as fh:
                size = sum(1 for line in fh if line.strip())
        else:
            records = read_records(source).records
            size = len(records)
        backend = None
        if engine in ("spark", "spark_file", "spark_native"):
            from identity.backends.spark import SparkBackend

            mark("spark session")
            options: dict[str, Any] = {} if salt_size is None else {"salt_size": salt_size}
            if driver_records is not None:
                options["driver_records"] = driver_records
            if broadcast_records is not None:
                options["broadcast_records"] = broadcast_records
            if engine == "spark_native":  # the whole run on the executors
                options["driver_records"] = 0
            backend = SparkBackend(
                master=master,
                **options,
                conf={
                    "spark.eventLog.enabled": "true",
                    "spark.eventLog.dir": f"file://{events}",
                    "spark.eventLog.compress": "false",  # plain JSON lines to read back
                    "spark.driver.memory": "3g",
                    "spark.sql.shuffle.partitions": str(max(8, size // 50_000)),
                },
            )
        if engine in ("spark_file", "spark_native") and backend is not None:
            from identity.backends.spark import SparkRecords

            mark("reading by spark")
            records = SparkRecords.read(backend.spark, source, scratch=backend.root)
        stats: dict[str, int]
        if engine == "spark_native" and backend is not None:
            from hub.resolve.batch import write_crosswalk_frame
            from identity.backends.spark import run_on_spark

            native = run_on_spark(
                records,  # type: ignore[arg-type]  # SparkRecords, read above
                ModelSpec.from_settings(Settings()),
                backend=backend,
                progress=lambda msg: mark(msg.split(" ")[0]),
                build_golden=False,
            )
            mark("writing")
            write_crosswalk_frame(native.crosswalk, crosswalk, backend.root)
            mark("end")
            stats = native.stats
            result["native_step_seconds"] = native.times
        else:
            resolution = run(
                records,
                ModelSpec.from_settings(Settings()),
                backend=backend,
                progress=lambda msg: mark(msg.split(" ")[0]),
                build_golden=False,
            )
            mark("end")
            write_crosswalk(resolution, crosswalk)
            stats = resolution.stats
        if backend is not None:
            result["spark_stage_seconds"] = backend.stage_times()
            backend.spark.stop()  # flushes the event log
            result["spark_stages"] = shuffle_per_stage(Path(events))
    result["wall_seconds"] = round(marks[-1][1] - marks[0][1], 1)
    result["step_seconds"] = {
        name: round(marks[i + 1][1] - start, 1) for i, (name, start) in enumerate(marks[:-1])
    }
    result["cpu_seconds"] = round(cpu[-1] - cpu[0], 1)
    result["step_cpu_seconds"] = {
        name: round(cpu[i + 1] - cpu[i], 1) for i, (name, _) in enumerate(marks[:-1])
    }
    result["peak_rss_mb"] = {k: round(v) for k, v in rss.peak.items()}
    result["stats"] = stats
    return result


def _pairs(path: Path) -> set[tuple[str, str]]:
    import csv
    from itertools import combinations

    groups: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            groups[row["golden_id"]].append(f"{row['source']}\x1f{row['source_id']}")
    return {p for members in groups.values() for p in combinations(sorted(members), 2)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200000,1000000", help="record counts, comma-separated")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "spark_bench")
    parser.add_argument("--out", type=Path, help="write the figures here (JSON)")
    parser.add_argument(
        "--salt-size", type=int, help="SparkBackend's salt_size (default: the backend's)"
    )
    parser.add_argument(
        "--baseline", help="also run the Spark backend of this git revision (A/B in one run)"
    )
    parser.add_argument(
        "--from-file",
        action="store_true",
        help="also run Spark reading the file itself (SparkRecords: no list on the driver)",
    )
    parser.add_argument(
        "--lean",
        action="store_true",
        help="also run Spark reading the file with driver_records=0 (spark_file_lean: the "
        "standardised table never collected to the driver), A/B against spark_file",
    )
    parser.add_argument(
        "--native",
        action="store_true",
        help="also run the whole run on Spark (spark_native: run_on_spark, records read "
        "by Spark, labels, ids and crosswalk as DataFrames; the driver holds no per-record "
        "structure)",
    )
    parser.add_argument("--driver-records", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--engines", help="only these runs, comma-separated (local, spark, spark_file, …)"
    )
    parser.add_argument(
        "--broadcast-records",
        type=int,
        help="SparkBackend's broadcast_records: up to this many records the table goes to "
        "every Python worker, above it pairs meet their records by joins",
    )
    parser.add_argument(
        "--one", choices=("local", "spark", "spark_file", "spark_native"), help=argparse.SUPPRESS
    )
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--crosswalk", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # the child process: one run, its figures on stdout
        figures = measure_one(
            args.one,
            args.input,
            args.crosswalk,
            args.master,
            args.salt_size,
            args.driver_records,
            args.broadcast_records,
        )
        print(json.dumps(figures))
        return
    rows = []
    engines: list[tuple[str, str, Path | None]] = [
        ("local", "local", None),
        ("spark", "spark", None),
    ]
    if args.baseline:
        engines.insert(1, ("spark_baseline", "spark", _checkout(args.baseline, args.work)))
    if args.from_file or args.lean:
        engines.append(("spark_file", "spark_file", None))
    if args.lean:
        engines.append(("spark_file_lean", "spark_file", None))
    if args.native:
        engines.append(("spark_native", "spark_native", None))
    if args.engines:
        engines = [e for e in engines if e[0] in args.engines.split(",")]
    for size in [int(s) for s in args.sizes.split(",")]:
        path = args.work / f"crm-{size}" / "records.jsonl.gz"
        if not path.exists():
            path = prepare_dataset("crm", args.work, records=size).records_path
        runs = {}
        for name, engine, code in engines:
            crosswalk = args.work / f"crm-{size}" / f"crosswalk-{name}.csv"
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.identity.spark_scale",
                    "--one",
                    engine,
                    "--input",
                    str(path.resolve()),
                    "--crosswalk",
                    str(crosswalk.resolve()),
                    "--master",
                    args.master,
                    *([] if args.salt_size is None else ["--salt-size", str(args.salt_size)]),
                    *(
                        []
                        if args.broadcast_records is None
                        else ["--broadcast-records", str(args.broadcast_records)]
                    ),
                    *(["--driver-records", "0"] if name.endswith("_lean") else []),
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=code,  # None: this checkout
            )
            runs[name] = json.loads(child.stdout.strip().splitlines()[-1])
            runs[name]["load_average_after"] = [round(x, 1) for x in psutil.getloadavg()]
            print(f"{size:,} records, {name}: {json.dumps(runs[name])}", flush=True)
        row: dict[str, Any] = {
            "records": size,
            "load_average": [round(x, 1) for x in psutil.getloadavg()],
            **runs,
        }
        if "local" in runs:  # each Spark run against the embedded one
            one = _pairs(args.work / f"crm-{size}" / "crosswalk-local.csv")
            for name in [k for k in runs if k != "local"]:
                other = _pairs(args.work / f"crm-{size}" / f"crosswalk-{name}.csv")
                f1 = 2 * len(one & other) / max(len(one) + len(other), 1)
                ratio = runs[name]["wall_seconds"] / runs["local"]["wall_seconds"]
                cpu_ratio = runs[name]["cpu_seconds"] / max(runs["local"]["cpu_seconds"], 1e-9)
                suffix = "" if name == "spark" else f"_{name}"
                row[f"ratio_spark_local{suffix}"] = round(ratio, 2)
                row[f"cpu_ratio_spark_local{suffix}"] = round(cpu_ratio, 2)
                row[f"pairwise_f1{suffix}"] = f1
                print(
                    f"{size:,} records: {name}/embedded {ratio:.2f}x wall, {cpu_ratio:.2f}x "
                    f"CPU, pairwise F1 {f1:.5f}, load {row['load_average']}",
                    flush=True,
                )
        peak = {k: r["peak_rss_mb"].get("driver_python") for k, r in runs.items()}
        print(f"{size:,} records: driver peak RSS MB {peak}", flush=True)
        rows.append(row)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


def _checkout(revision: str, work: Path) -> Path:
    """The repository's code at `revision`, extracted (once) under `work`."""
    root = Path(__file__).resolve().parents[2]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = work / f"code-{commit}"
    if not (target / "identity").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=root, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


if __name__ == "__main__":
    main()
