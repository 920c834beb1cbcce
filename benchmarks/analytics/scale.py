"""Speed of `crmhub analyse` (`python -m benchmarks.analytics.scale --sizes 10000,100000`).

For each size, the generator's customers (about 12 interactions each: orders, refunds,
tickets, calls, complaints, payments, web events) are written once as Interaction JSON
Lines (cached under ~/.cache/crmhub/scale) and the batch contract is run on them in a
subprocess, exactly as a user runs it: `python -m hub analyse --interactions F --as-of
2024-01-01 --out DIR`. Figures per size: wall time, peak resident memory of that process
(from wait4), and interactions per second; then how time grows with interactions (the
exponent k of time ~ interactions^k between the two largest sizes). Goal: 1,000,000
customers / about 10,000,000 interactions in <= 5 minutes and <= 6 GB on 2 cores.
The naive baseline is linear growth from the smallest size.

Measured 2026-12-05 (shared 2-core machine, load average 10-11 from other work): 100,000
customers / 1,239,453 interactions 109 s wall, 19 s CPU, 0.88 GB; 1,000,000 / 12,409,951
552 s wall, 117 s CPU, 3.93 GB peak RSS (memory goal met; was 7.45 GB). The wall time
is the machine's load: the run itself costs 117 CPU seconds, under the 300 s goal even on
one core, but the goal is wall time and it was not met on the loaded machine.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.analytics.common import Figure, print_figures
from benchmarks.analytics.generator import AS_OF, generate

__all__ = ["dataset", "measure", "run"]

CACHE = Path.home() / ".cache" / "crmhub" / "scale"
BLOCK = 1_000_000  # customers generated at a time (seeds differ per block)
GOAL_SECONDS, GOAL_BYTES = 300.0, 6 * 1024**3


def _write(frame: pd.DataFrame, fh: object) -> None:
    frame = frame.assign(occurred_at=frame["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    text = frame.to_json(orient="records", lines=True, date_format="iso")
    fh.write(text if text.endswith("\n") else text + "\n")  # type: ignore[attr-defined]


def dataset(customers: int, cache: Path = CACHE) -> tuple[Path, int]:
    """The JSON Lines file for `customers` generated customers and its number of lines."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"interactions-{customers}.jsonl"
    count = cache / f"interactions-{customers}.count"
    if not (path.exists() and count.exists()):
        lines = 0
        with path.open("w") as fh:
            for start in range(0, customers, BLOCK):
                n = min(BLOCK, customers - start)
                data = generate(n, seed=1 + start // BLOCK)
                frame = data.interactions
                if start:
                    num = frame["customer_id"].str[1:].astype(int) + start
                    frame = frame.assign(customer_id="c" + num.astype(str).str.zfill(7))
                for lo in range(0, len(frame), 500_000):
                    _write(frame.iloc[lo : lo + 500_000], fh)
                lines += len(frame)
        count.write_text(str(lines))
    return path, int(count.read_text())


def measure(path: Path) -> tuple[float, int, str, float]:
    """Wall seconds, peak RSS bytes, the summary line and the CPU seconds (user + system)
    of one `crmhub analyse` run. CPU time is what the run itself costs; wall time also
    holds whatever else the machine was doing."""
    as_of = AS_OF.strftime("%Y-%m-%d")
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "analyse", "--interactions", str(path),
             "--as-of", as_of, "--out", out],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        summary = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"crmhub analyse failed on {path} (exit {proc.returncode})")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss * 1024, " ".join(summary.split()), cpu


def run(sizes: list[int]) -> tuple[list[Figure], dict[str, object]]:
    """Time and memory of `crmhub analyse` per size."""
    rows = []
    for size in sizes:
        path, lines = dataset(size)
        load = os.getloadavg()[0]
        seconds, rss, summary, cpu = measure(path)
        rows.append({"customers": size, "interactions": lines, "seconds": seconds,
                     "cpu_seconds": cpu, "load_average": load,
                     "peak_rss_gb": rss / 1024**3, "summary": summary})  # fmt: skip
    figures = []
    for row in rows:
        ok = None
        if row["customers"] >= 1_000_000:
            ok = row["seconds"] <= GOAL_SECONDS and row["peak_rss_gb"] * 1024**3 <= GOAL_BYTES
        figures.append(
            Figure(f"scale_{row['customers']}_seconds", row["seconds"],
                   "<= 300 s and <= 6 GB at 1,000,000 customers" if ok is not None else "", ok,
                   f"{row['interactions']:,} interactions, peak RSS {row['peak_rss_gb']:.2f} GB, "
                   f"{row['interactions'] / row['seconds']:,.0f} interactions/s; CPU "
                   f"{row['cpu_seconds']:.0f} s; load average {row['load_average']:.1f} "
                   "at the start")
        )  # fmt: skip
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        k = math.log(b["seconds"] / a["seconds"]) / math.log(b["interactions"] / a["interactions"])
        linear = rows[0]["seconds"] * b["interactions"] / rows[0]["interactions"]
        figures.append(
            Figure("scale_growth_exponent", k, "", None,
                   f"time ~ interactions^{k:.2f} from {a['interactions']:,} to "
                   f"{b['interactions']:,}; linear growth from the smallest size predicts "
                   f"{linear:.0f} s at the largest, measured {b['seconds']:.0f} s")
        )  # fmt: skip
    return figures, {"runs": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="customers, comma-separated")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures, extra = run([int(s) for s in args.sizes.split(",")])
    print_figures(figures, extra, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
