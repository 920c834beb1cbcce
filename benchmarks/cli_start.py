"""CLI start-up benchmark: how long `crmhub --help` and `crmhub status` take, against the
interpreter's own start in the same run.

    python -m benchmarks.cli_start [--runs 15] [--json]

Every command runs as a fresh process (as a user, a shell script or an Airflow task starts it),
`--runs` times; the median and the 90th percentile wall times are reported, and the ratio of
each median to the baseline `python -c pass` median of the same run. `crmhub status` runs on
the demo project (`crmhub init` + `crmhub sync` in a temporary folder, SQLite store), so it
opens and checks the store as a user's first command of the day does.

Goals (issue 11): `crmhub --help` ≤ 0.5 s, `crmhub status` ≤ 1 s on the 2-core development
machine. Python is told nothing special: the measurement includes whatever bytecode the
installation left (the Makefile installs with `--compile-bytecode`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"crmhub --help": 0.5, "crmhub status": 1.0}


def crmhub() -> list[str]:
    """The installed console script beside this interpreter, else `python -m hub`."""
    script = Path(sys.executable).with_name("crmhub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hub"]


def timed(command: list[str], cwd: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def measure(runs: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="crmhub-cli-start-") as tmp:
        project = Path(tmp)
        env = {**os.environ, "CRMHUB_CONFIG": str(project / "hub.yaml")}
        for setup in (["init", str(project)], ["sync"]):
            subprocess.run(
                [*crmhub(), *setup], cwd=project, env=env, check=True, capture_output=True
            )
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "crmhub --help": [*crmhub(), "--help"],
            "crmhub status": [*crmhub(), "status", "-c", str(project / "hub.yaml")],
        }
        timed(commands["crmhub status"], project, 1)  # warm the file cache once
        results = {}
        for name, command in commands.items():
            times = sorted(timed(command, project, runs))
            results[name] = {
                "median_s": statistics.median(times),
                "p90_s": times[min(len(times) - 1, int(0.9 * len(times)))],
            }
    base = results["python -c pass (baseline)"]["median_s"]
    for figures in results.values():
        figures["ratio_to_baseline"] = figures["median_s"] / base
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="Runs per command (default 15).")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()
    results = measure(args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        goal = GOALS.get(name)
        verdict = ""
        if goal is not None:
            verdict = (
                f"  goal ≤ {goal:.1f} s: {'met' if figures['median_s'] <= goal else 'NOT met'}"
            )
        print(
            f"{name:<28} median {figures['median_s']:.3f} s  p90 {figures['p90_s']:.3f} s  "
            f"{figures['ratio_to_baseline']:.1f}x the baseline{verdict}"
        )


if __name__ == "__main__":
    main()
